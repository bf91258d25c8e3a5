"""Detection thresholds: one flat name → value mapping shared by API, MQTT, eval and tuning."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

ALERTABLE_CLASSES = ("person", "group", "vehicle", "animal", "unknown")


class ThresholdError(ValueError):
    """A threshold name or value the system refuses; the message names it and its range."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Limit:
    lo: float
    hi: float
    integer: bool = False

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        return f"{kind} in [{self.lo:g}, {self.hi:g}]"


LIMITS: dict[str, Limit] = {
    "thermal.min_snr_db": Limit(-10.0, 40.0),
    "acoustic.min_snr_db": Limit(-10.0, 40.0),
    "association.gate_probability": Limit(0.5, 0.99999),
    "track.confirm_m": Limit(1, 50, integer=True),
    "track.confirm_n": Limit(1, 50, integer=True),
    "track.max_coast_s": Limit(1.0, 600.0),
    "alert.min_confidence": Limit(0.0, 1.0),
}


class Thresholds(BaseModel):
    """The thresholds in force. Attribute names replace the dots of the public names."""

    model_config = ConfigDict(frozen=True)

    thermal_min_snr_db: float = 8.0
    acoustic_min_snr_db: float = 6.0
    association_gate_probability: float = 0.997
    track_confirm_m: int = 3
    track_confirm_n: int = 5
    track_max_coast_s: float = 30.0
    alert_min_confidence: float = 0.6
    alert_classes: tuple[str, ...] = Field(default=("person", "group", "vehicle"))

    def min_snr_db(self, sensor: str) -> float:
        """The SNR floor (dB) for a ``sensor``'s detections: the thermal one for "thermal",
        the acoustic one otherwise; fusion keeps a detection at or above it."""
        return self.thermal_min_snr_db if sensor == "thermal" else self.acoustic_min_snr_db

    def to_public(self) -> dict[str, Any]:
        """The flat public mapping, ``{"thermal.min_snr_db": 8.0, ...}``."""
        return {_public(name): (list(v) if isinstance(v, tuple) else v)
                for name, v in self.model_dump().items()}

    def patched(self, changes: Mapping[str, Any]) -> Thresholds:
        """A copy with ``changes`` (public names) applied; raises :class:`ThresholdError`."""
        values = self.model_dump()
        for name, value in changes.items():
            attr = _attr(name)
            values[attr] = _checked(name, value)
        merged = Thresholds.model_validate(values)
        if merged.track_confirm_m > merged.track_confirm_n:
            raise ThresholdError(
                "track.confirm_m",
                f"must not exceed track.confirm_n ({merged.track_confirm_n}), "
                f"got {merged.track_confirm_m}",
            )
        return merged

    @classmethod
    def from_public(cls, values: Mapping[str, Any]) -> Thresholds:
        return cls().patched(values)


def names() -> list[str]:
    return [*LIMITS, "alert.classes"]


def _public(attr: str) -> str:
    section, _, rest = attr.partition("_")
    return f"{section}.{rest}"


def _attr(name: str) -> str:
    if name not in LIMITS and name != "alert.classes":
        raise ThresholdError(name, f"unknown threshold; known: {', '.join(names())}")
    return name.replace(".", "_")


def _checked(name: str, value: Any) -> Any:
    if name == "alert.classes":
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ThresholdError(name, f"must be a list of classes from {list(ALERTABLE_CLASSES)}")
        unknown = sorted(set(value) - set(ALERTABLE_CLASSES))
        if unknown:
            valid = list(ALERTABLE_CLASSES)
            raise ThresholdError(name, f"unknown classes {unknown}; valid: {valid}")
        return tuple(dict.fromkeys(value))
    limit = LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ThresholdError(name, f"must be {limit.describe()}, got {value!r}")
    if limit.integer and float(value) != int(value):
        raise ThresholdError(name, f"must be {limit.describe()}, got {value!r}")
    if not limit.lo <= value <= limit.hi:
        raise ThresholdError(name, f"must be {limit.describe()}, got {value!r}")
    return int(value) if limit.integer else float(value)


def validate_thresholds(values: Mapping[str, Any]) -> Thresholds:
    """Parse a full or partial public mapping over the defaults."""
    try:
        return Thresholds.from_public(values)
    except ValidationError as exc:  # pragma: no cover - _checked guards every field first
        raise ThresholdError("thresholds", str(exc)) from None


def load_thresholds(path: str | Path) -> Thresholds:
    """Thresholds over the defaults from ``path``; raises :class:`ThresholdError` naming the file
    and the threshold at fault (JSON is read as YAML, of which it is a subset)."""
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThresholdError(str(file), f"cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ThresholdError(str(file), f"not valid YAML or JSON: {exc}") from None
    if data is None:
        return Thresholds()
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ThresholdError(str(file), "must hold one mapping of threshold names to values, "
                                        'e.g. {"thermal.min_snr_db": 9.0}')
    return validate_thresholds(data)
