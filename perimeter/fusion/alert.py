"""Alert: one alert per track — ``new``, rate-limited ``update``s, ``closed`` — with severity.

A confirmed track alerts when its confidence (existence probability times the probability of
the classes in ``alert.classes``) reaches ``alert.min_confidence``. Severity rises with the
class, nearness to the perimeter line and the time to reach it at the current closing speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from perimeter.contract import AlertEvent, AlertEventKind, Origin, Position, Severity, Velocity
from perimeter.fusion.origin import origin_of
from perimeter.fusion.track import Track
from perimeter.geometry import Point, closing_speed_mps, distance_to_polyline
from perimeter.thresholds import Thresholds

SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")


@dataclass(frozen=True, slots=True)
class AlertConfig:
    update_interval_s: float = 5.0
    triangulation_window_s: float = 10.0
    origin_refresh_s: float = 120.0
    critical_distance_m: float = 250.0
    high_distance_m: float = 1000.0
    medium_distance_m: float = 3000.0
    critical_time_s: float = 180.0
    high_time_s: float = 1200.0


def severity(cls: str, distance_m: float, closing_mps: float,
             config: AlertConfig | None = None) -> Severity:
    """Severity from class, distance to the perimeter and closing speed."""
    c = config or AlertConfig()
    time_s = distance_m / closing_mps if closing_mps > 0.05 else float("inf")
    if distance_m <= c.critical_distance_m or time_s <= c.critical_time_s:
        level = 3
    elif distance_m <= c.high_distance_m or time_s <= c.high_time_s:
        level = 2
    elif distance_m <= c.medium_distance_m:
        level = 1
    else:
        level = 0
    if cls == "vehicle":
        level = min(level + 1, 3)
    return SEVERITIES[level]


def confidence(track: Track, thresholds: Thresholds) -> float:
    """Existence probability times the probability of an alerting class."""
    p_cls = sum(track.probabilities.get(c, 0.0) for c in thresholds.alert_classes)
    return max(0.0, min(1.0, track.existence * p_cls))


@dataclass(slots=True)
class _Open:
    alert_id: str
    last_t_s: float
    cls: str
    severity: Severity
    origin: Origin | None
    origin_t_s: float


class TrackAlerter:
    """Decides and builds the alert events of tracks."""

    def __init__(self, perimeter: Sequence[Point], tower_ids: Sequence[str],
                 config: AlertConfig | None = None, first_number: int = 1) -> None:
        self.config = config or AlertConfig()
        self.perimeter = list(perimeter)
        self.tower_ids = list(tower_ids)
        self._open: dict[int, _Open] = {}
        self._next = first_number

    def next_alert_id(self) -> str:
        alert_id = f"a-{self._next:06d}"
        self._next += 1
        return alert_id

    def on_track(self, track: Track, t_s: float, thresholds: Thresholds) -> AlertEvent | None:
        """A ``new`` or due ``update`` event for a live track, else None."""
        state = self._open.get(track.number)
        if state is None:
            if (track.status != "confirmed" or track.label not in thresholds.alert_classes
                    or confidence(track, thresholds) < thresholds.alert_min_confidence
                    or track.recent_thermal_towers(t_s, self.config.triangulation_window_s) < 2
                    or not (track.label == "vehicle" or track.motion_known)):
                return None
            track.alert_id = self.next_alert_id()
            state = _Open(track.alert_id, t_s, track.label, "low", origin_of(track), t_s)
            self._open[track.number] = state
            return self._event("new", track, t_s, thresholds, state)
        sev = self._severity(track)
        due = t_s - state.last_t_s >= self.config.update_interval_s
        if not due and track.label == state.cls and sev == state.severity:
            return None
        if (not track.history.full and track.confirmed_t_s is not None
                and t_s - track.confirmed_t_s <= self.config.origin_refresh_s):
            state.origin = origin_of(track) or state.origin
        return self._event("update", track, t_s, thresholds, state)

    def on_deleted(self, track: Track, t_s: float, thresholds: Thresholds) -> AlertEvent | None:
        """The ``closed`` event of a track that had an alert."""
        state = self._open.pop(track.number, None)
        if state is None:
            return None
        return self._event("closed", track, t_s, thresholds, state)

    def _severity(self, track: Track) -> Severity:
        point = (float(track.x[0]), float(track.x[1]))
        dist = distance_to_polyline(point, self.perimeter)
        closing = closing_speed_mps(point, (float(track.x[2]), float(track.x[3])), self.perimeter)
        return severity(track.label, dist, closing, self.config)

    def _event(self, kind: AlertEventKind, track: Track, t_s: float, thresholds: Thresholds,
               state: _Open) -> AlertEvent:
        point = (float(track.x[0]), float(track.x[1]))
        state.last_t_s, state.cls, state.severity = t_s, track.label, self._severity(track)
        return AlertEvent(
            event=kind, alert_id=state.alert_id, track_id=track.track_id, t_s=t_s,
            class_=track.label,
            class_confidence=round(track.label_probability, 4),
            confidence=round(confidence(track, thresholds), 4), severity=state.severity,
            position=Position(x_m=point[0], y_m=point[1]),
            velocity=Velocity(vx_mps=float(track.x[2]), vy_mps=float(track.x[3])),
            origin=state.origin,
            distance_to_perimeter_m=distance_to_polyline(point, self.perimeter),
            towers=sorted(self.tower_ids[i] for i in track.towers),
            sensors=sorted(track.sensors),
        )

    def open_tracks(self) -> list[int]:
        return list(self._open)
