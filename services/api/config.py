"""``/api/v1/config/thresholds``: read, tune live (published retained for fusion), audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query

from services.api.deps import StateDep, Writer
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
    _writer: Writer,
    changes: Annotated[dict[str, Any], Body(examples=[_EXAMPLE])],
    x_operator: Annotated[str | None, Header(max_length=64)] = None,
) -> dict[str, Any]:
    """Change any subset; the result is published retained on ``perimeter/v1/config/thresholds``
    (fusion applies it live) and kept in the audit log. A value out of range gets a 422 naming
    the threshold and its range."""
    if not changes:
        raise ApiError(422, "give at least one threshold to change", field="body")
    merged, _change = state.thresholds.patch(changes, x_operator or "api")
    return merged.to_public()


@router.get("/thresholds/history", response_model=ThresholdHistory)
def thresholds_history(state: StateDep,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100) -> ThresholdHistory:
    """Accepted changes, newest first: when, by whom (``X-Operator``), what, and the result."""
    return ThresholdHistory(items=state.store.thresholds_audit.history(limit))
