"""The fusion runner's alert stage: what acts on the tracks after tracking (duplicate removal,
which reads alerts; alert decisions; the tracks snapshot), as hooks a subclass may run several
times (:class:`perimeter.tuning.shared_fusion.SharedRunner`: one alert stage per tune point).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Protocol

import numpy as np

from perimeter.contract import AlertEvent, DeadLetter, TracksSnapshot
from perimeter.fusion.alert import TrackAlerter
from perimeter.fusion.engine import FusionEngine
from perimeter.fusion.track import Track
from perimeter.site import Site
from perimeter.thresholds import Thresholds

Emit = Callable[[AlertEvent | None], None]
"""Where one alert stage's events go (``None``: no event)."""


class FusionOutput(Protocol):
    def alert(self, event: AlertEvent) -> None: ...
    def tracks(self, snapshot: TracksSnapshot) -> None: ...
    def reject(self, dead_letter: DeadLetter) -> None: ...


class AlertStage:
    """The :class:`.FusionRunner`'s alert-stage hooks (it sets these attributes)."""

    site: Site
    thresholds: Thresholds
    output: FusionOutput
    run_id: str | None
    counters: Counter[str]
    engine: FusionEngine
    alerter: TrackAlerter

    def _fault_ids(self) -> Callable[[], str]:
        """Where tower-fault alerts (health, registration) take their ids: the alerter's."""
        return self.alerter.next_alert_id

    def _merge(self, t_s: float) -> list[Track]:
        """Duplicate removal: the one tracker step that reads alerts (``duplicates.weaker``
        keeps the track with an alert)."""
        return self.engine.merge(t_s)

    def _track_deleted(self, track: Track, t_s: float, *, final: bool = False) -> None:
        self._deleted_to(self.alerter, self.thresholds, self._emit, track, t_s, final)

    def _track_alerts(self, t_s: float) -> None:
        self._alerts_to(self.alerter, self.thresholds, self._emit, t_s)

    def _expire(self, t_s: float, *, final: bool = False) -> None:
        self._expire_to(self.alerter, self.thresholds, self._emit, t_s, final)

    def _fault(self, event: AlertEvent) -> None:
        """A tower-fault event of health or registration."""
        self._emit(event)

    def _publish_tracks(self, t_s: float) -> None:
        self.output.tracks(tracks_snapshot(t_s, self.engine.tracks, self.site))

    def _emit(self, event: AlertEvent | None) -> None:
        if event is None:
            return
        kind = "faults" if event.class_ == "tower_fault" else "alerts"
        self.counters[f"{kind}_{event.event}"] += 1
        self._send(self.output, event)

    # -- one alert stage's steps, for the runner's own stage or a tune point's -----------
    def _deleted_to(self, alerter: TrackAlerter, thresholds: Thresholds, emit: Emit,
                    track: Track, t_s: float, final: bool) -> None:
        emit(alerter.on_deleted(track, t_s, thresholds, final=final))

    def _alerts_to(self, alerter: TrackAlerter, thresholds: Thresholds, emit: Emit,
                   t_s: float) -> None:
        for track in self.engine.tracks:
            emit(alerter.on_track(track, t_s, thresholds))

    def _expire_to(self, alerter: TrackAlerter, thresholds: Thresholds, emit: Emit,
                   t_s: float, final: bool) -> None:
        for event in alerter.expire(t_s, thresholds, final=final):
            emit(event)

    def _send(self, output: FusionOutput, event: AlertEvent | None) -> None:
        """An event to ``output``, stamped with the run id."""
        if event is None:
            return
        if self.run_id is not None and event.run_id is None:
            event = event.model_copy(update={"run_id": self.run_id})
        output.alert(event)


def tracks_snapshot(t_s: float, tracks: list[Track], site: Site) -> TracksSnapshot:
    """The tracks snapshot, validated in one call (``sigma_major_m`` as
    :func:`perimeter.geometry.ellipse` gives it: the eigenvalues of all tracks at once)."""
    if tracks:
        c = np.array([t.state.p[:2, :2] for t in tracks])
        vals = np.maximum(np.linalg.eigh(0.5 * (c + np.swapaxes(c, -1, -2)))[0], 0.0)
        majors = [math.sqrt(v) for v in vals[:, 1].tolist()]
    else:
        majors = []
    return TracksSnapshot.model_validate({"t_s": t_s, "tracks": [{
        "track_id": t.track_id, "status": t.score.status, "class": t.evidence.label,
        "class_confidence": round(t.evidence.label_probability, 4),
        "position": {"x_m": float(t.state.x[0]), "y_m": float(t.state.x[1])},
        "velocity": {"vx_mps": float(t.state.x[2]), "vy_mps": float(t.state.x[3])},
        "sigma_major_m": major, "towers": sorted(site.towers[i].id for i in t.evidence.towers),
        "alert_id": t.alert_id} for t, major in zip(tracks, majors, strict=True)]})
