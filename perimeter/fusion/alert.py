"""Alert: one alert per track — ``new``, rate-limited ``update``s, ``closed`` — with severity.

A track lost for less than ``reacquire_s`` and picked up again where the object could have got
to (:mod:`.reacquire`'s gate, a compatible class, one no longer possibly an animal) keeps its
alert: the new track continues it with ``update`` events, its origin the first one.

A confirmed track alerts when its confidence (existence probability times the probability of
the classes in ``alert.classes``) reaches ``alert.min_confidence``. Severity rises with the
class, nearness to the perimeter line and the time to reach it at the current closing speed.
An open alert whose track is reclassified out of ``alert.classes`` (its confidence below a fifth
of ``alert.min_confidence``, for hysteresis) is closed with ``reason: "reclassified"``; one whose
track was lost and not reacquired within ``reacquire_s`` with ``reason: "track_lost"``; at the
end of a stream (:meth:`TrackAlerter.on_deleted` / :meth:`TrackAlerter.expire` with ``final``)
with ``reason: "stream_end"``.

Sharded fusion (:mod:`perimeter.shard`) sets an :class:`AlertPolicy`: which tracks may open or
keep an alert in this shard's sectors; an alert that leaves them is released (handed over), not
closed, and one that comes from another shard is :meth:`TrackAlerter.adopt`-ed by a track.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from perimeter.contract import (
    AlertEvent,
    AlertEventKind,
    CloseReason,
    Origin,
    Position,
    Severity,
    Velocity,
)
from perimeter.fusion.alert_config import AlertConfig
from perimeter.fusion.alert_join import LiveJoin
from perimeter.fusion.alert_policy import AlertPolicy
from perimeter.fusion.alert_ride import host_of
from perimeter.fusion.alert_waiting import (
    AlertState,
    Dormant,
    OpenAlert,
    Seen,
    dismount,
    held,
    reacquire,
    resumed,
    stand_in,
)
from perimeter.fusion.clutter import moved
from perimeter.fusion.origin import origin_of
from perimeter.fusion.reacquire import wait_s
from perimeter.fusion.track import Track
from perimeter.geometry import Point, Polyline
from perimeter.thresholds import Thresholds

__all__ = ["AlertConfig", "AlertPolicy", "AlertState", "OpenAlert", "TrackAlerter", "confidence",
           "severity"]

SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")


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
    p_cls = sum(track.evidence.probabilities.get(c, 0.0) for c in thresholds.alert_classes)
    return max(0.0, min(1.0, track.score.existence * p_cls))


class TrackAlerter:
    """Decides and builds the alert events of tracks."""

    def __init__(self, perimeter: Sequence[Point], tower_ids: Sequence[str],
                 config: AlertConfig | None = None, first_number: int = 1, *,
                 id_prefix: str = "a-") -> None:
        self.config = config or AlertConfig()
        self._perimeter = Polyline(perimeter)
        self.distance_and_closing: Callable[[Point, Point], tuple[float, float]] = \
            self._perimeter.distance_and_closing
        """A point's distance to the perimeter and closing speed (a tune's alert stages share
        one memo of it: :mod:`perimeter.tuning.shared_fusion`)."""
        self.tower_ids = list(tower_ids)
        self.origin_of: Callable[[Track], Origin | None] = origin_of
        """How a track's origin is found (the runner's says whether it was observed)."""
        self._open: dict[int, AlertState] = {}
        self._dormant: list[Dormant] = []
        self._join = LiveJoin(self.config)
        self._next = first_number
        self.id_prefix = id_prefix
        """Alert ids are ``{id_prefix}{number:06d}`` (a shard's: ``a-s2-``)."""
        self.policy: AlertPolicy | None = None

    def next_alert_id(self) -> str:
        alert_id = f"{self.id_prefix}{self._next:06d}"
        self._next += 1
        return alert_id

    def blocker(self, track: Track, t_s: float, thresholds: Thresholds) -> str | None:
        """The first condition for opening an alert on a triangulated confirmed track that
        ``track`` fails now (``label``, ``confidence``, ``windows``, ``ambiguous``,
        ``mislocated``, ``animal``, ``not_moved``), None when it meets them all."""
        ev, cfg = track.evidence, self.config
        if ev.label not in thresholds.alert_classes:
            return "label"
        if confidence(track, thresholds) < thresholds.alert_min_confidence:
            return "confidence"
        animal = ev.probabilities.get("animal", 0.0)
        corroborated = ev.vehicle_corroborated and (
            cfg.corroborated_own_s <= 0.0 or t_s - ev.ambiguous_t_s >= cfg.corroborated_own_s)
        if not ((ev.label == "vehicle" and corroborated)
                or ev.class_windows >= cfg.min_motion_windows
                or (cfg.early_max_animal_probability > 0.0 and ev.class_windows >= 1
                    and animal <= cfg.early_max_animal_probability)):
            return "windows"
        if (cfg.own_window_s > 0.0 and ev.label in cfg.own_window_labels
                and t_s - ev.ambiguous_t_s < cfg.own_window_s):
            return "ambiguous"
        if cfg.max_height_m > 0.0 and abs(ev.features.height_m[0]) > cfg.max_height_m:
            return "mislocated"  # a NaN (fewer than five readings) compares False
        if self._maybe_animal(track):
            return "animal"
        if cfg.require_motion and not moved(track, t_s, cfg.motion_min_age_s,
                                            cfg.motion_probability):
            return "not_moved"
        return None

    def on_track(self, track: Track, t_s: float, thresholds: Thresholds) -> AlertEvent | None:
        """A ``new`` or due ``update`` event for a live track, else None."""
        state = self._open.get(track.number)
        ev = track.evidence
        if state is not None:
            self._join.live[track.number] = track
        same = self._join.same_as(track, state, self._open, t_s)
        if state is None:
            if (track.score.status != "confirmed"
                    or not track.triangulated(t_s, self.config.triangulation_window_s)):
                return None
            if self.policy is not None and not self.policy.admits(track, t_s):
                return None
            if self._unbelieved(track, thresholds):
                return None  # neither continues an alert nor opens one where it is not
            resumed = self._reacquire(track, t_s, thresholds)
            if resumed is not None:
                track.alert_id = resumed.alert_id
                self._open[track.number] = resumed
                self._join.live[track.number] = track
                return self._event("update", track, t_s, thresholds, resumed)
            if held(self._dormant, track, self.config):
                return None  # its class may yet turn to a waiting alert's: not raised yet
            if self.blocker(track, t_s, thresholds) is not None:
                return None
            if self.policy is not None and not self.policy.opens(track, t_s):
                return None
            if same is not None:
                return None  # the object's alert is open on another live track: not raised
            track.alert_id = self.next_alert_id()
            state = AlertState(track.alert_id, t_s, ev.label, "low", self.origin_of(track), t_s)
            self._open[track.number] = state
            self._join.live[track.number] = track
            return self._event("new", track, t_s, thresholds, state)
        if self.policy is not None and not self.policy.keeps(track, t_s):
            del self._open[track.number]
            track.alert_id = None
            self.policy.released(track, t_s, state)
            return None
        if self._unbelieved(track, thresholds):
            # the track no longer shows where its object is: its alert waits, as a lost
            # track's does, at the last position it reported, for a track that does
            self._wait(track, state, t_s)
            return None
        if same is not None:
            # another live track, alerted first, is the same object: its alert goes on
            del self._open[track.number]
            track.alert_id = None
            return self._event("closed", track, t_s, thresholds, state, reason="duplicate",
                               duplicate_of=self._open[same].alert_id)
        low = self._low(track, thresholds)
        hold_s = self.config.reclassify_hold_s
        if not low:
            state.doubted_t_s = None  # above the close threshold again: the alert goes on
        elif hold_s > 0.0:
            if state.doubted_t_s is None:
                state.doubted_t_s = t_s
            if t_s - state.doubted_t_s < hold_s:
                return None  # held without events while the class is in doubt
        if low and self.config.doubt_waits:
            # in doubt past the hold: the track no longer shows an object of an alerting
            # class; the alert keeps its identity and waits where it last showed the object,
            # for a track of an alerting class (this one back above the threshold, or the
            # object's next), and closes ``reclassified`` when its wait is over
            self._wait(track, state, t_s)
            return None
        if low:
            del self._open[track.number]
            track.alert_id = None
            return self._event("closed", track, t_s, thresholds, state, reason="reclassified")
        place = self._place(track)
        due = t_s - state.last_t_s >= self.config.update_interval_s
        if not due and ev.label == state.cls and place[1] == state.severity:
            return None
        confirmed_t_s = track.score.confirmed_t_s
        if (not state.adopted and not track.state.history.full and confirmed_t_s is not None
                and t_s - confirmed_t_s <= self.config.origin_refresh_s):
            state.origin = self.origin_of(track) or state.origin
        return self._event("update", track, t_s, thresholds, state, place)

    def _unbelieved(self, track: Track, thresholds: Thresholds) -> bool:
        """The track no longer shows where its object is: its last thermal elevation reading
        was impossible at its range (:attr:`.TrackEvidence.mislocated`), or its existence
        fell below the close threshold (``close_confidence_ratio`` of
        ``alert.min_confidence``: its detections no longer hold it)."""
        return (track.evidence.mislocated
                or track.score.existence
                < self.config.close_confidence_ratio * thresholds.alert_min_confidence)

    def on_deleted(self, track: Track, t_s: float, thresholds: Thresholds, *,
                   final: bool = False) -> AlertEvent | None:
        """A track ended: its alert waits ``reacquire_s`` for the object to be tracked again
        (one alert per object through a short loss), or closes now when ``final``. One held
        in doubt (:attr:`.AlertState.doubted_t_s`) waits too: the loss does not settle its
        class; only a track above the close threshold continues it (:meth:`_reacquire`)."""
        self._join.ended(track.number)
        state = self._open.pop(track.number, None)
        if state is None:
            return None
        if final:
            return self._event("closed", track, t_s, thresholds, state,
                               reason=_close_reason(state, final=True))
        waiting = self._waiting(state, track, t_s)
        if self.config.ride_host:
            waiting.host = host_of(track, state.cls, self._holders(), self.config)
        self._dormant.append(waiting)
        return None

    def expire(self, t_s: float, thresholds: Thresholds, *, final: bool = False
               ) -> list[AlertEvent]:
        """``closed`` events of lost tracks that were not reacquired in time (all if ``final``)."""
        due: list[Dormant] = []
        keep: list[Dormant] = []
        riding = not final and any(d.host is not None for d in self._dormant)
        holders = {id(t) for t in self._holders()} if riding else set()
        for d in self._dormant:
            if d.host is not None and not final:
                if id(d.host) in holders:
                    keep.append(d)  # rides a track that holds its alert: no wait runs
                    continue
                dismount(d, t_s, self.config)
            (due if final or t_s - d.lost_t_s > d.wait_s else keep).append(d)
        self._dormant = keep
        return [self._event("closed", d.track, t_s, thresholds, d.state,
                            reason=_close_reason(d.state, final=final)) for d in due]

    def resume(self, alert: OpenAlert) -> bool:
        """Take over an alert an earlier run left open (fusion restarted): it waits, like a
        lost track's, ``reacquire_s`` for the object's new track to continue it, then closes.
        Tower faults and alerts without a position are not resumed (False)."""
        waiting = resumed(alert, self.tower_ids, self.config)
        if waiting is None:
            return False
        self._dormant.append(waiting)
        return True

    def release_dormant(self, keep: Callable[[Track], bool]) -> list[tuple[Track, AlertState]]:
        """Take out the alerts waiting for their object whose lost track ``keep`` rejects
        (sharded fusion: its sector is another shard's now); their lost tracks and states."""
        kept: list[Dormant] = []
        out: list[Dormant] = []
        for d in self._dormant:
            (kept if keep(d.track) else out).append(d)
        self._dormant = kept
        return [(d.track, d.state) for d in out]

    def adopt(self, track: Track, state: AlertState) -> bool:
        """``track`` continues an open alert that came from elsewhere (handed over by, or
        taken over from, another shard): no ``new`` event, its next events are updates with
        the alert's id, its origin kept. False when the track holds an alert already."""
        if track.number in self._open:
            return False
        state.adopted = True
        track.alert_id = state.alert_id
        self._open[track.number] = state
        return True

    def _wait(self, track: Track, state: AlertState, t_s: float) -> None:
        """The alert ``state`` leaves the live ``track`` and waits, from ``t_s``, as a
        stand-in where it last showed the object (:func:`.alert_waiting.stand_in`)."""
        del self._open[track.number]
        track.alert_id = None
        self._dormant.append(self._waiting(state, stand_in(track, state), t_s, track))

    def _waiting(self, state: AlertState, track: Track, t_s: float,
                 live: Track | None = None) -> Dormant:
        """The alert ``state`` waiting, from ``t_s``, for a track of the object ``track``
        last showed (:func:`.reacquire.wait_s` long)."""
        return Dormant(state, track, t_s, wait_s(track, self.config), live)

    def _holders(self) -> list[Track]:
        """The live tracks that hold an open alert."""
        return [t for n, t in self._join.live.items()
                if (held := self._open.get(n)) is not None and held.alert_id == t.alert_id]

    def _maybe_animal(self, track: Track) -> bool:
        """A track of another class that may still be an animal (its animal probability
        above ``max_animal_probability``): it neither raises an alert nor, with
        ``settled_continues``, continues a waiting one."""
        ev = track.evidence
        return (ev.label != "animal"
                and ev.probabilities.get("animal", 0.0) > self.config.max_animal_probability)

    def _low(self, track: Track, thresholds: Thresholds) -> bool:
        """The track's class is outside ``alert.classes`` and its confidence below the close
        threshold (``close_confidence_ratio`` of ``alert.min_confidence``)."""
        return (track.evidence.label not in thresholds.alert_classes
                and confidence(track, thresholds)
                < self.config.close_confidence_ratio * thresholds.alert_min_confidence)

    def _reacquire(self, track: Track, t_s: float, thresholds: Thresholds) -> AlertState | None:
        """The waiting alert this new track continues, if any (:func:`.alert_waiting.reacquire`);
        one whose track was lost in doubt only if this one is above the close threshold."""
        waiting = self._dormant
        if not waiting or (self.config.settled_continues and self._maybe_animal(track)):
            return None  # one that may still be an animal waits, as it would to raise one
        if self._low(track, thresholds):
            waiting = [d for d in waiting if d.state.doubted_t_s is None]
        partner = self._join.joined.get(track.number)
        # the alert of the live track this one was judged the same object as
        found = (None if partner is None
                 else next((d for d in waiting if d.track.number == partner), None))
        if found is None:
            found = reacquire(waiting, track, self.config,
                              settles_doubt=track.evidence.label in thresholds.alert_classes)
        if found is None:
            return None
        self._dormant.remove(found)
        state = found.state
        state.adopted = True
        state.doubted_t_s = None
        return state

    def _place(self, track: Track) -> tuple[float, Severity]:
        """The track's distance to the perimeter and its severity there."""
        point = (float(track.state.x[0]), float(track.state.x[1]))
        velocity = (float(track.state.x[2]), float(track.state.x[3]))
        dist, closing = self.distance_and_closing(point, velocity)
        return dist, severity(track.evidence.label, dist, closing, self.config)

    def _event(self, kind: AlertEventKind, track: Track, t_s: float, thresholds: Thresholds,
               state: AlertState, place: tuple[float, Severity] | None = None, *,
               reason: CloseReason | None = None, duplicate_of: str | None = None
               ) -> AlertEvent:
        """The event of ``track`` now (``place``: its :meth:`_place`, when already known;
        ``reason``: why a ``closed`` event closes)."""
        dist, sev = place or self._place(track)
        point = (float(track.state.x[0]), float(track.state.x[1]))
        state.last_t_s, state.cls, state.severity = t_s, track.evidence.label, sev
        state.seen = Seen(track.state.x.copy(), track.state.p.copy(), track.state.t_s)
        return AlertEvent(
            event=kind, alert_id=state.alert_id, track_id=track.track_id, t_s=t_s,
            class_=track.evidence.label,
            class_confidence=round(track.evidence.label_probability, 4),
            confidence=round(confidence(track, thresholds), 4), severity=state.severity,
            position=Position(x_m=point[0], y_m=point[1]),
            velocity=Velocity(vx_mps=float(track.state.x[2]), vy_mps=float(track.state.x[3])),
            origin=state.origin,
            distance_to_perimeter_m=dist,
            towers=sorted(self.tower_ids[i] for i in track.evidence.towers),
            sensors=sorted(track.evidence.sensors), reason=reason, duplicate_of=duplicate_of,
        )


def _close_reason(state: AlertState, *, final: bool) -> CloseReason:
    """Why a lost track's alert closes: its class in doubt to the last, or the stream's end,
    or the loss."""
    if state.doubted_t_s is not None:
        return "reclassified"
    return "stream_end" if final else "track_lost"
