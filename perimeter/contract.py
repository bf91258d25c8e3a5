"""The public message contract (docs/contract.md) as validated pydantic v2 models.

Every payload that crosses MQTT or a recording is one of these models. Parsing goes through
:func:`parse_payload`, which raises :class:`ContractError` naming the offending field.
Optional fields beyond the contract are documented in docs/contract-extensions.md.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SensorKind = Literal["thermal", "acoustic"]
KindHint = Literal["footsteps", "voice", "engine", "tracks", "impulse", "unknown"]
TowerState = Literal["online", "degraded", "offline"]
SensorState = Literal["ok", "failed", "offline"]
AlertEventKind = Literal["new", "update", "closed"]
TargetClass = Literal["person", "group", "vehicle", "animal", "unknown", "tower_fault"]
Severity = Literal["low", "medium", "high", "critical"]

MAX_PAYLOAD_BYTES = 256 * 1024
"""Largest payload any consumer parses; bigger ones are rejected unread."""

MAX_DETECTIONS_PER_REPORT = 512

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Bearing = Annotated[float, Field(ge=0.0, lt=360.0, allow_inf_nan=False)]
TowerId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
RunId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
"""A fusion session (one run of ``perimeter up`` or of the fusion service)."""
ShardId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
"""A fusion shard of sharded fusion (``s1``, ``s2``, ...; docs/scale.md)."""
Word = Annotated[str, Field(min_length=1, max_length=128)]

CloseReason = Literal["reclassified", "track_lost", "superseded", "recovered", "stream_end",
                      "duplicate"]
"""Why an alert closed (``reason`` of a ``closed`` event); see docs/contract-extensions.md."""
MAX_SEQ = 2**63 - 1
"""Largest report ``seq`` (a signed 64-bit counter); a larger one is refused."""


class ContractError(ValueError):
    """A payload that does not satisfy the contract; ``field`` names where, ``reason`` why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


class _Model(BaseModel):
    """Base for contract models: immutable; unknown fields are kept (compatible extension)."""

    model_config = ConfigDict(frozen=True, extra="allow")


class Detection(_Model):
    """One detection in a sensor report: a bearing with its 1-sigma error and SNR."""

    bearing_deg: Bearing
    bearing_sigma_deg: Annotated[float, Field(gt=0.0, le=180.0, allow_inf_nan=False)]
    snr_db: Annotated[float, Field(ge=-60.0, le=200.0, allow_inf_nan=False)]
    # thermal extras
    elevation_deg: Annotated[float, Field(ge=-90.0, le=90.0, allow_inf_nan=False)] | None = None
    size_px: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] | None = None
    width_px: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] | None = None
    """The segmented blob's horizontal extent (pixels across the line of sight)."""
    height_px: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] | None = None
    """The segmented blob's vertical extent (pixels)."""
    contrast_k: FiniteFloat | None = None
    # acoustic extras
    level_db: FiniteFloat | None = None
    peak_hz: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] | None = None
    onset_t_s: FiniteFloat | None = None
    kind_hint: KindHint | None = None


class SensorReport(_Model):
    """One thermal frame's or acoustic window's report from one tower."""

    tower_id: TowerId
    sensor: SensorKind
    seq: Annotated[int, Field(ge=0, le=MAX_SEQ)]
    t_s: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    detections: Annotated[list[Detection], Field(max_length=MAX_DETECTIONS_PER_REPORT)] = []


class Position(_Model):
    x_m: FiniteFloat
    y_m: FiniteFloat


class SensorHealth(_Model):
    state: SensorState = "ok"
    detail: str | None = None


class TowerStatus(_Model):
    """Retained tower state; the tower's last will carries ``state: offline``."""

    tower_id: TowerId
    state: TowerState
    t_s: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] | None = None
    position: Position | None = None
    height_m: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] | None = None
    sensors: dict[SensorKind, SensorHealth] = {}


class Velocity(_Model):
    vx_mps: FiniteFloat
    vy_mps: FiniteFloat


class Origin(_Model):
    """Where and when the movement began, with its 1-sigma error ellipse."""

    x_m: FiniteFloat
    y_m: FiniteFloat
    t_s: FiniteFloat
    sigma_major_m: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    sigma_minor_m: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    orientation_deg: FiniteFloat
    observed: bool | None = None
    """``true``: the movement began in view, here; ``false``: the object entered view here,
    the point is where it was first seen and the ellipse covers where it may have come from
    along its track, out past the edge of view; absent from older producers."""
    view_back_m: FiniteFloat | None = None
    """With ``observed: false``: how far back along its track the view went (metres)."""


class AlertEvent(_Model):
    """An alert's lifecycle event: ``new``, ``update`` or ``closed``."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    event: AlertEventKind
    alert_id: str
    track_id: str | None = None
    t_s: FiniteFloat
    class_: TargetClass = Field(alias="class")
    class_confidence: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    confidence: Annotated[float, Field(ge=0.0, le=1.0)]
    severity: Severity
    position: Position | None = None
    velocity: Velocity | None = None
    origin: Origin | None = None
    distance_to_perimeter_m: FiniteFloat | None = None
    towers: list[str] = []
    sensors: list[SensorKind] = []
    run_id: RunId | None = None
    """The fusion session that raised the alert."""
    fault: Word | None = None
    """Of a ``tower_fault``: ``offline``, ``silent``, ``sensor_fail:<sensors>``,
    ``site_silent`` (every tower silent or offline) or ``bias_jump`` (its azimuth bias
    jumped: a knocked mast; fusion re-registers it, see docs/fusion.md)."""
    reason: Word | None = None
    """Of a ``closed`` event: a :data:`CloseReason`."""
    superseded_by: RunId | None = None
    """Of a ``closed`` event with reason ``superseded``: the run that closed it."""
    duplicate_of: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    """Of a ``closed`` event with reason ``duplicate``: the alert, raised earlier on another
    live track, that fusion judged the same object's; it goes on (docs/fusion.md "Alerts")."""
    shard_id: ShardId | None = None
    """Sharded fusion: the shard that emitted this event (an alert handed over between
    shards keeps its ``alert_id``; its events then come from the new holder)."""

    def to_payload(self) -> dict[str, object]:
        """The JSON-ready dict with ``class`` spelled as in the contract."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class TrackState(_Model):
    track_id: str
    status: Literal["tentative", "confirmed"]
    class_: TargetClass = Field(alias="class", default="unknown")
    class_confidence: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    position: Position
    velocity: Velocity
    sigma_major_m: Annotated[float, Field(ge=0.0)] = 0.0
    towers: list[str] = []
    alert_id: str | None = None

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)


class TracksSnapshot(_Model):
    t_s: FiniteFloat
    tracks: list[TrackState] = []


class TowerRegistration(_Model):
    """Fusion's estimate of one tower's azimuth bias and clock offset (1-sigma errors);
    ``applied`` once fusion corrects the tower's reports with them; the snapshots (targets) and
    landmarks (hot spots) they rest on; a bias jump (a knocked mast) with its time and size."""

    azimuth_bias_deg: FiniteFloat = 0.0
    azimuth_bias_sigma_deg: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    clock_offset_s: FiniteFloat = 0.0
    clock_offset_sigma_s: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    applied: bool = False
    snapshots: Annotated[int, Field(ge=0)] = 0
    landmarks: Annotated[int, Field(ge=0)] = 0
    bias_jump_t_s: FiniteFloat | None = None
    bias_jump_deg: FiniteFloat | None = None


class FusionStatus(_Model):
    state: Literal["online", "offline"]
    t_s: FiniteFloat | None = None
    counters: dict[str, int] = {}
    run_id: RunId | None = None
    registration: dict[str, TowerRegistration] = {}


REJECTED_COUNTER_PREFIX = "rejected_"
"""Fusion status counters of refused messages are ``rejected_<reason>``: fusion publishes
them (:func:`status_counter_name`), the API reads them into
``perimeter_messages_rejected_total{service="fusion"}``."""


def status_counter_name(name: str) -> str:
    """A fusion runner counter's name in :class:`FusionStatus` (``rejected:x`` ->
    ``rejected_x``)."""
    return name.replace(":", "_")


Covariance4 = Annotated[list[Annotated[list[FiniteFloat], Field(min_length=4, max_length=4)]],
                        Field(min_length=4, max_length=4)]


class Handover(_Model):
    """Sharded fusion: an alert's track passed from the shard that held it to the shard whose
    sector it entered (``perimeter/v1/fusion/handover``). The receiver continues the alert
    under the same ``alert_id`` with its own track of the object (docs/scale.md)."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    alert_id: str
    from_shard: ShardId
    to_shard: ShardId
    t_s: FiniteFloat
    """Data time of the state."""
    position: Position
    velocity: Velocity
    covariance: Covariance4
    """Covariance of ``(x_m, y_m, vx_mps, vy_mps)`` (m², m²/s, m²/s²)."""
    class_: TargetClass = Field(alias="class")
    severity: Severity
    origin: Origin | None = None
    track_id: str | None = None
    """The sender's track (track ids are per shard)."""
    towers: list[str] = []
    run_id: RunId | None = None


ShardState = Literal["active", "standby", "offline"]


class ShardStatus(_Model):
    """Sharded fusion: one shard's retained state (``perimeter/v1/fusion/shards/{shard_id}/
    status``); the last will carries ``state: offline``."""

    shard_id: ShardId
    state: ShardState
    sectors: list[Annotated[int, Field(ge=0)]] = []
    """The sectors it owns (see the sector plan, docs/scale.md)."""
    towers: Annotated[int, Field(ge=0)] = 0
    """How many towers it is fed."""
    taken_over: list[ShardId] = []
    """Shards whose sectors it took over."""
    t_s: FiniteFloat | None = None
    run_id: RunId | None = None


class DeadLetter(_Model):
    topic: str
    reason: str
    first_bytes: str
    t_s: FiniteFloat | None = None


M = TypeVar("M", bound=BaseModel)


def _field_path(error_loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in error_loc)


def parse_payload(model: type[M], payload: bytes | str) -> M:
    """Parse a JSON payload into ``model``; raise :class:`ContractError` naming the field."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ContractError("", f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    try:
        # the model's validator itself: what model_validate_json calls, without its wrapper
        return cast(M, model.__pydantic_validator__.validate_json(payload))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            raise ContractError("", f"not valid JSON: {first['msg']}") from None
        raise ContractError(_field_path(first["loc"]), first["msg"]) from None
    except UnicodeDecodeError as exc:
        raise ContractError("", f"not UTF-8: {exc.reason}") from None


def dump_payload(model: BaseModel) -> bytes:
    """Serialise a contract model to compact UTF-8 JSON with contract spellings."""
    return model.model_dump_json(by_alias=True, exclude_none=True).encode()
