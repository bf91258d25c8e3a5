"""``/api/v1/towers``: every tower of the site with its state and what its sensors sent."""

from __future__ import annotations

from fastapi import APIRouter

from perimeter.contract import Position
from services.api.deps import StateDep
from services.api.schemas import SensorFeedView, TowersAnswer, TowerView

router = APIRouter(prefix="/towers", tags=["towers"])


@router.get("", response_model=TowersAnswer)
def list_towers(state: StateDep) -> TowersAnswer:
    """The site's towers (then any other tower seen on the bus): state from the retained
    status (`unknown` before one arrives), last report time, report rate and losses per sensor
    from `seq`."""
    seen = state.live.towers.snapshot()
    items: list[TowerView] = []
    for spec in state.site.towers:
        status, feeds = seen.pop(spec.id, (None, {}))
        items.append(TowerView(
            tower_id=spec.id, state=status.state if status else "unknown",
            position=Position(x_m=spec.x_m, y_m=spec.y_m), height_m=spec.height_m,
            status_t_s=status.t_s if status else None,
            sensors=dict(status.sensors) if status else {},
            feeds={k: SensorFeedView.model_validate(v) for k, v in feeds.items()}))
    for tower_id, (status, feeds) in sorted(seen.items()):
        if status is None or status.position is None:
            continue  # not of this site and no position to draw it at
        items.append(TowerView(
            tower_id=tower_id, state=status.state, position=status.position,
            height_m=status.height_m or 0.0, status_t_s=status.t_s, sensors=dict(status.sensors),
            feeds={k: SensorFeedView.model_validate(v) for k, v in feeds.items()}))
    return TowersAnswer(items=items)
