"""What the alert store hands out: alerts' current state (:class:`AlertRecord`), page cursors."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from perimeter.contract import (
    AlertEvent,
    Origin,
    Position,
    SensorKind,
    Severity,
    TargetClass,
    Velocity,
)

AlertStatus = Literal["open", "closed", "resolved"]
"""``open``/``closed`` follow fusion; ``resolved`` is an operator's, and stays."""
Workflow = Literal["new", "acknowledged", "resolved"]
Disposition = Literal["intrusion", "nuisance", "false_alarm", "test"]
DISPOSITIONS: tuple[Disposition, ...] = ("intrusion", "nuisance", "false_alarm", "test")
ActionKind = Literal["acknowledged", "resolved", "comment"]

_NUMBER_RE = re.compile(r"(\d+)$")


class StoreError(ValueError):
    """Bad input to the store; ``field`` names the argument, the message says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class UnknownAlertError(LookupError):
    """No alert with this id is stored."""

    def __init__(self, alert_id: str) -> None:
        super().__init__(f"no alert with id {alert_id!r}")
        self.alert_id = alert_id


class StoredEvent(BaseModel):
    """One stored alert event with its store sequence number."""

    model_config = ConfigDict(frozen=True)

    seq: int
    event: AlertEvent


class AlertAction(BaseModel):
    """One operator's step on an alert: when, by whom, what."""

    model_config = ConfigDict(frozen=True)

    id: int
    alert_id: str
    action: ActionKind
    by: str
    at_wall_s: Annotated[float, Field(description="the API server's clock (Unix s)")]
    at_t_s: Annotated[float | None, Field(
        description="data time: the newest report time the API had seen (null if none)")] = None
    disposition: Disposition | None = None
    text: str | None = Field(None, description="the comment (a resolution may carry one)")


_RECORD_EXAMPLE: JsonDict = {
    "alert_id": "a-000017", "status": "open", "track_id": "k-000042", "class": "person",
    "class_confidence": 0.91, "confidence": 0.97, "severity": "high",
    "position": {"x_m": 2310.0, "y_m": -420.0}, "velocity": {"vx_mps": -1.2, "vy_mps": 0.3},
    "origin": {"x_m": 3105.0, "y_m": -610.0, "t_s": 1768514401.0, "sigma_major_m": 35.0,
               "sigma_minor_m": 12.0, "orientation_deg": 80.0},
    "distance_to_perimeter_m": 1310.0, "towers": ["T03", "T04"],
    "sensors": ["thermal", "acoustic"], "first_t_s": 1768514460.0, "last_t_s": 1768514490.0,
    "updates": 4, "last_seq": 311, "run_id": "r-20260115T215955Z-3f9a1c", "acked": True,
    "acked_by": "alice", "acked_at_t_s": 1768514500.0, "acked_at_wall_s": 1796513101.2,
    "workflow": "acknowledged",
}


class AlertRecord(BaseModel):
    """An alert's current state: its latest event's fields plus lifecycle and acknowledgement.

    One clock per record: every ``*_t_s`` is data time (the reports' ``t_s``); the only
    wall-clock field is named so (``acked_at_wall_s``)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True,
                              json_schema_extra={"examples": [_RECORD_EXAMPLE]})

    alert_id: str
    status: AlertStatus
    track_id: str | None = None
    class_: TargetClass = Field(alias="class")
    class_confidence: float = 0.0
    confidence: float
    severity: Severity
    position: Position | None = None
    velocity: Velocity | None = None
    origin: Origin | None = None
    distance_to_perimeter_m: float | None = None
    towers: list[str] = []
    sensors: list[SensorKind] = []
    run_id: Annotated[str | None, Field(description="the fusion session that raised it")] = None
    fault: Annotated[str | None, Field(description="what failed, of a tower_fault")] = None
    reason: Annotated[str | None, Field(description="why it closed, once closed")] = None
    duplicate_of: Annotated[str | None, Field(
        description="of an alert closed as a duplicate: the same object's alert, raised "
                    "earlier on another track, that goes on")] = None
    first_t_s: Annotated[float, Field(description="t_s of the alert's first stored event")]
    last_t_s: Annotated[float, Field(description="t_s of the alert's latest event")]
    updates: Annotated[int, Field(ge=1, description="how many events the alert has had")]
    last_seq: Annotated[int, Field(description="store sequence number of the latest event")]
    acked: bool = False
    acked_by: str | None = None
    acked_at_t_s: Annotated[float | None, Field(
        description="data time of the acknowledgement (the newest report time the API had "
                    "seen; null when it had seen none)")] = None
    acked_at_wall_s: Annotated[float | None, Field(
        description="wall-clock time of the acknowledgement (Unix s, the API server's clock)")
    ] = None
    workflow: Annotated[Workflow, Field(
        description="new, acknowledged or resolved (an operator's progress)")] = "new"
    disposition: Disposition | None = None
    resolved_by: str | None = None
    resolved_at_t_s: Annotated[float | None, Field(
        description="data time of the resolution (as acked_at_t_s)")] = None
    resolved_at_wall_s: Annotated[float | None, Field(
        description="wall-clock time of the resolution (Unix s, the API server's clock)")
    ] = None
    history: list[StoredEvent] | None = None
    actions: Annotated[list[AlertAction] | None, Field(
        description="operators' steps (acknowledged, comment, resolved), oldest first; "
                    "in the one-alert answer")] = None

    @classmethod
    def from_latest(cls, latest: AlertEvent, **state: object) -> AlertRecord:
        """The record of an alert whose latest event is ``latest``, with lifecycle ``state``."""
        fields = latest.model_dump(by_alias=True, exclude={"event", "t_s"})
        return cls.model_validate({**fields, **state})

    @classmethod
    def from_stored(cls, latest_json: str | bytes, **state: object) -> AlertRecord:
        """The record from the stored JSON of its latest event (one validation pass)."""
        fields = json.loads(latest_json)
        fields.pop("event", None)
        fields.pop("t_s", None)
        fields.update(state)
        return cls.model_validate(fields)

    def to_payload(self) -> dict[str, object]:
        """The JSON-ready dict with ``class`` spelled as in the contract."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def alert_number(alert_id: str) -> int:
    """The trailing number of an alert or track id (``a-000017`` → 17), 0 without one."""
    match = _NUMBER_RE.search(alert_id)
    return int(match.group(1)) if match else 0


def encode_cursor(created_seq: int) -> str:
    """An opaque page cursor: resume listing below the alert created at ``created_seq``."""
    return base64.urlsafe_b64encode(f"v1:{created_seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The ``created_seq`` of a cursor from :func:`encode_cursor`; raises :class:`StoreError`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = raw.partition(":")
        if prefix != "v1" or not number.isdigit():
            raise ValueError(raw)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise StoreError("cursor", "not a cursor this API returned") from None
