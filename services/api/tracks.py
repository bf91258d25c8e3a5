"""``/api/v1/tracks``: the live tracks of fusion's latest snapshot."""

from __future__ import annotations

from fastapi import APIRouter

from services.api.deps import StateDep
from services.api.schemas import TracksAnswer

router = APIRouter(prefix="/tracks", tags=["tracks"])


@router.get("", response_model=TracksAnswer, response_model_by_alias=True)
def list_tracks(state: StateDep) -> TracksAnswer:
    """The latest ``perimeter/v1/tracks`` snapshot (empty before fusion publishes one)."""
    snapshot = state.live.tracks
    if snapshot is None:
        return TracksAnswer(t_s=None, tracks=[])
    return TracksAnswer(t_s=snapshot.t_s, tracks=list(snapshot.tracks))
