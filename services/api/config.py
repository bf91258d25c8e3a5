"""``/api/v1/config/thresholds``: read, tune live (published retained for fusion), audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict

from services.api.deps import AdminCaller, StateDep
from services.api.errors import ApiError, error_responses
from services.api.schemas import ThresholdHistory

router = APIRouter(prefix="/config", tags=["config"])

_EXAMPLE = {"thermal.min_snr_db": 9.0, "track.confirm_m": 3}


@router.get("/thresholds", response_model=dict[str, Any],
            responses={200: {"content": {"application/json": {"example": _EXAMPLE}}}})
def get_thresholds(state: StateDep) -> dict[str, Any]:
    """Every threshold in force, as one flat object of public names to values."""
    return state.thresholds.current().to_public()


@router.patch("/thresholds", response_model=dict[str, Any],
              responses=error_responses(401, 403, 422))
def patch_thresholds(
    state: StateDep,
    caller: AdminCaller,
    changes: Annotated[dict[str, Any], Body(examples=[_EXAMPLE])],
) -> dict[str, Any]:
    """Change any subset (admins); the result is published retained on
    ``perimeter/v1/config/thresholds`` (fusion applies it live) and kept in the audit log under
    the caller's name. A value out of range gets a 422 naming the threshold and its range."""
    if not changes:
        raise ApiError(422, "give at least one threshold to change", field="body")
    merged, _change = state.thresholds.patch(changes, caller.name)
    return merged.to_public()


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_change_id: int


@router.post("/thresholds/rollback", response_model=dict[str, Any],
             responses=error_responses(401, 403, 404, 422))
def rollback_thresholds(state: StateDep, caller: AdminCaller,
                        body: RollbackRequest) -> dict[str, Any]:
    """Put back the thresholds in force after the audited change ``to_change_id`` (admins):
    the values that differ now are changed back, audited as a new change by the caller."""
    target = state.store.thresholds_audit.get(body.to_change_id)
    if target is None:
        raise ApiError(404, f"no thresholds change with id {body.to_change_id}",
                       field="to_change_id")
    now = state.thresholds.current().to_public()
    changes = {k: v for k, v in target.result.items() if now.get(k) != v}
    if not changes:
        return now
    merged, _change = state.thresholds.patch(changes, caller.name)
    return merged.to_public()


@router.get("/thresholds/history", response_model=ThresholdHistory)
def thresholds_history(state: StateDep,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100) -> ThresholdHistory:
    """Accepted changes, newest first: when, by whom (the caller's name), what, the result."""
    return ThresholdHistory(items=state.store.thresholds_audit.history(limit))
