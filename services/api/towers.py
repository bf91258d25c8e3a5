"""``/api/v1/towers``: every tower of the site with its state and what its sensors sent."""

from __future__ import annotations

from fastapi import APIRouter

from perimeter.contract import Position
from services.api.deps import StateDep
from services.api.schemas import SensorFeedView, TowersAnswer, TowerView

router = APIRouter(prefix="/towers", tags=["towers"])


@router.get("", response_model=TowersAnswer)
def list_towers(state: StateDep) -> TowersAnswer:
    """The site's towers (messages from any other tower are refused and counted in
    `perimeter_messages_rejected_total{reason="unknown_tower"}`): state from the retained
    status (`unknown` before one arrives), last report time, report rate and losses per sensor
    from `seq`, and fusion's registration estimates (azimuth bias, clock offset) per tower."""
    seen = state.live.towers.snapshot()
    fusion = state.live.fusion
    registered = fusion.registration if fusion is not None else {}
    items: list[TowerView] = []
    for spec in state.site.towers:
        status, feeds = seen.pop(spec.id, (None, {}))
        items.append(TowerView(
            tower_id=spec.id, state=status.state if status else "unknown",
            position=Position(x_m=spec.x_m, y_m=spec.y_m), height_m=spec.height_m,
            status_t_s=status.t_s if status else None,
            sensors=dict(status.sensors) if status else {},
            feeds={k: SensorFeedView.model_validate(v) for k, v in feeds.items()},
            registration=registered.get(spec.id)))
    return TowersAnswer(items=items)
