"""Request and answer bodies of the API (alert records come from :mod:`perimeter.store`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from perimeter.contract import Position, SensorHealth, TowerRegistration, TrackState
from perimeter.store import AlertRecord, ThresholdChange

TowerShownState = Literal["online", "degraded", "offline", "unknown"]


class AlertPage(BaseModel):
    items: list[AlertRecord]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next (older) page; null on the last page.")


class AckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: Annotated[str | None, Field(max_length=64, deprecated=True, description=(
        "Ignored: the bearer token names who acknowledges."))] = None


class SensorFeedView(BaseModel):
    """One sensor's reports as the API saw them on the bus."""

    last_report_t_s: float | None
    last_seq: int
    last_received_unix_s: float | None
    reports: int
    rate_hz: float | None
    lost: int = Field(description="Reports missing from the seq sequence (not arrived late).")
    late: int
    duplicates: int
    loss_ratio: float
    seq_restarts: int
    seq_jumps: int = 0
    """Forward gaps in ``seq`` too large to be loss (the feed resynchronised on them)."""


class TowerView(BaseModel):
    tower_id: str
    state: TowerShownState = Field(
        description="From the retained status; `unknown` when the tower never reported.")
    position: Position
    height_m: float
    status_t_s: float | None = None
    sensors: dict[str, SensorHealth] = {}
    feeds: dict[str, SensorFeedView] = {}
    registration: TowerRegistration | None = Field(
        default=None, description="Fusion's azimuth bias and clock offset estimates with "
        "their 1-sigma errors (from its retained status); null before fusion reports them.")


class TowersAnswer(BaseModel):
    items: list[TowerView]


class TracksAnswer(BaseModel):
    t_s: float | None = Field(description="Data time of the snapshot; null before the first.")
    tracks: list[TrackState]


class ThresholdHistory(BaseModel):
    items: list[ThresholdChange]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, bool]
