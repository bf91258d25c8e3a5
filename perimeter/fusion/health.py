"""Tower health: offline status, failed sensors and silence become ``tower_fault`` alerts.

A tower is faulty while its retained status says ``offline`` and no report stamped after it
has come (or a sensor ``failed`` / ``offline``) or while nothing has been heard from it for
``heartbeat_timeout_s`` of data time. One alert per fault episode: ``new`` when it starts,
``update`` when what failed changes, ``closed`` (``reason: recovered``) when the tower is
healthy again.

A whole site down (every tower offline or silent) is one alert, not one per tower: ``fault:
site_silent``, every tower in ``towers``, closed when any tower is back. So that a site going
down tower by tower (statuses arrive one at a time) does not first raise a fault for each, a
tower's ``offline`` or ``silent`` fault is raised only once another, healthy tower has been heard
after the fault began (the site is alive: the fault is the tower's), or ``2 x`` the heartbeat
timeout after it began (by then every tower of a site that went down is silent). A failed
sensor is raised at once (its tower says so). Silence counts only while fusion is listening: from
its first check, and again from the end of a gap in data time longer than the timeout (fusion
was down, or heard nothing at all), so towers are not all found silent when data time jumps
ahead (a restart's retained statuses carry old times). A fault an earlier run left open is
taken over (:meth:`TowerHealth.resume`): the same alert continues, and closes once the tower is
healthy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from perimeter.contract import (
    AlertEvent,
    AlertEventKind,
    CloseReason,
    Position,
    SensorKind,
    TowerStatus,
)
from perimeter.site import Site


@dataclass(slots=True)
class _Tower:
    last_heard_t_s: float | None = None
    state: str = "online"
    failed_sensors: tuple[str, ...] = ()
    alert_id: str | None = None
    reason: str = ""
    silent_since_t_s: float | None = None  # a resumed silent fault: silent until heard after
    offline_since_t_s: float | None = None
    faulty_since_t_s: float | None = None  # when the current offline / silent episode began


SITE_FAULT = "site_silent"
STALE_OFFLINE_MARGIN_S = 2.0
"""A report refutes an ``offline`` status only if stamped this much after it arrived: four
times fusion's prior clock-offset sigma (0.5 s), so a report in flight when the tower went
down does not bring it back."""
_DOWN = ("offline", "silent")


class TowerHealth:
    """Tracks every site tower's health on data time and emits fault alert events."""

    def __init__(self, site: Site, next_alert_id: Callable[[], str],
                 heartbeat_timeout_s: float = 15.0, *,
                 towers: Iterable[str] | None = None) -> None:
        self.site = site
        self.timeout_s = heartbeat_timeout_s
        self._next_alert_id = next_alert_id
        watched = set(towers) if towers is not None else None
        self._towers = {t.id: _Tower() for t in site.towers
                        if watched is None or t.id in watched}
        """The towers watched (all the site's, or a fusion shard's own); others are ignored."""
        self._listening_from_s = -math.inf
        self._checked_t_s: float | None = None
        self._silence_held = False
        self._site_alert_id: str | None = None
        specs = [site.tower(t) for t in self._towers] or site.towers
        centre = (sum(t.x_m for t in specs) / len(specs), sum(t.y_m for t in specs) / len(specs))
        self._site_position = Position(x_m=centre[0], y_m=centre[1])

    @property
    def watched(self) -> frozenset[str]:
        """The towers whose faults this reports."""
        return frozenset(self._towers)

    def watch(self, tower_ids: Iterable[str], t_s: float | None) -> None:
        """Watch these towers as well (a shard took over sectors), silent from ``t_s``."""
        for tower_id in tower_ids:
            if tower_id not in self._towers:
                self.site.tower(tower_id)  # KeyError for a tower not in the site
                self._towers[tower_id] = _Tower(last_heard_t_s=t_s)

    def unwatch(self, tower_ids: Iterable[str]) -> None:
        """Stop watching these towers (a shard handed sectors back); an open fault of one is
        dropped without an event (the shard that watches the tower now continues it)."""
        for tower_id in tower_ids:
            self._towers.pop(tower_id, None)

    def heard(self, tower_id: str, t_s: float, *, stamped_t_s: float | None = None) -> None:
        """Any message from the tower at data time ``t_s``; ``stamped_t_s``: a report's own
        time. A report stamped well after the tower's ``offline`` status arrived refutes it:
        the tower is back (a broker may deliver a will after the birth that followed it)."""
        tower = self._towers.get(tower_id)
        if tower is None:
            return
        if (stamped_t_s is not None and tower.state == "offline"
                and tower.offline_since_t_s is not None
                and stamped_t_s > tower.offline_since_t_s + STALE_OFFLINE_MARGIN_S):
            tower.state, tower.offline_since_t_s = "online", None
        if tower.silent_since_t_s is not None and t_s > tower.silent_since_t_s:
            tower.silent_since_t_s = None
        if tower.last_heard_t_s is None or t_s > tower.last_heard_t_s:
            tower.last_heard_t_s = t_s

    def status(self, status: TowerStatus, t_s: float) -> None:
        """A tower status message (retained state or last will)."""
        tower = self._towers.get(status.tower_id)
        if tower is None:
            return
        if status.state == "offline" and tower.state != "offline":
            tower.offline_since_t_s = t_s
        tower.state = status.state
        tower.failed_sensors = tuple(sorted(k for k, h in status.sensors.items()
                                            if h.state != "ok"))
        if status.state != "offline":
            self.heard(status.tower_id, t_s)

    def resume(self, tower_id: str, alert_id: str, fault: str, t_s: float) -> bool:
        """Take over the open fault alert ``alert_id`` of an earlier run (fusion restarted).

        The tower is taken to be as that run last saw it until it says otherwise: ``offline``
        until a status says it is back, ``silent`` until it is heard after ``t_s`` (the
        alert's latest event; a retained status is older), its failed sensors
        until a status names them healthy. So a fault that lasts through the restart stays
        one alert, and the first check after the tower recovers closes it. False (nothing
        taken over) for an unknown tower, or one whose fault is already taken over."""
        tower = self._towers.get(tower_id)
        if tower is None or tower.alert_id is not None:
            return False
        tower.alert_id, tower.reason = alert_id, fault
        if fault == "offline":
            tower.state, tower.offline_since_t_s = "offline", t_s
        elif fault == "silent":
            tower.silent_since_t_s = t_s
        elif fault.startswith("sensor_fail:"):
            tower.failed_sensors = tuple(sorted(fault.removeprefix("sensor_fail:").split(",")))
        return True

    def hold_silence(self) -> None:
        """Fusion cannot hear the towers (its broker link is down, or just back): no tower
        becomes ``silent`` until :meth:`resume_silence`; a tower already silent stays so
        until heard."""
        self._silence_held = True

    def resume_silence(self, t_s: float) -> None:
        """Count silence again, from data time ``t_s``."""
        self._silence_held = False
        self._listening_from_s = max(self._listening_from_s, t_s)

    def resume_site(self, alert_id: str) -> bool:
        """Take over an open site fault of an earlier run: it closes once a tower is back."""
        if self._site_alert_id is not None:
            return False
        self._site_alert_id = alert_id
        return True

    def start(self, t_s: float) -> None:
        """Start the silence clocks of towers never heard from."""
        for tower in self._towers.values():
            if tower.last_heard_t_s is None:
                tower.last_heard_t_s = t_s

    def check(self, t_s: float) -> list[AlertEvent]:
        """Fault events due at data time ``t_s``."""
        if not self._towers:
            return []
        if self._checked_t_s is None or t_s - self._checked_t_s > self.timeout_s:
            self._listening_from_s = t_s  # first check, or nothing heard for a while
        self._checked_t_s = max(t_s, self._checked_t_s or t_s)
        reasons = {tower_id: self._reason(tower, t_s) for tower_id, tower in self._towers.items()}
        for tower, reason in zip(self._towers.values(), reasons.values(), strict=True):
            if reason not in _DOWN:
                tower.faulty_since_t_s = None
            elif tower.faulty_since_t_s is None:
                tower.faulty_since_t_s = self._began(tower, reason, t_s)
        down = all(reason in _DOWN for reason in reasons.values())
        events = self._site_event(down, t_s)
        for tower_id, tower in self._towers.items():
            reason = reasons[tower_id]
            if reason and tower.alert_id is None:
                if down or not self._confirmed(tower_id, reason, t_s):
                    continue
                tower.alert_id = self._next_alert_id()
                events.append(self._event("new", tower_id, tower, reason, t_s))
            elif reason and reason != tower.reason:
                events.append(self._event("update", tower_id, tower, reason, t_s))
            elif not reason and tower.alert_id is not None:
                events.append(self._event("closed", tower_id, tower, tower.reason, t_s,
                                          close="recovered"))
                tower.alert_id = None
            tower.reason = reason
        return events

    def close_all(self, t_s: float) -> list[AlertEvent]:
        """End of the stream: close every open fault (``reason: stream_end``)."""
        events = []
        for tower_id, tower in self._towers.items():
            if tower.alert_id is not None:
                events.append(self._event("closed", tower_id, tower, tower.reason, t_s,
                                          close="stream_end"))
                tower.alert_id = None
        if self._site_alert_id is not None:
            events.append(self._site("closed", self._site_alert_id, t_s, close="stream_end"))
            self._site_alert_id = None
        return events

    def _began(self, tower: _Tower, reason: str, t_s: float) -> float:
        """When the tower's offline or silent episode began (data time)."""
        if reason == "offline":
            return tower.offline_since_t_s if tower.offline_since_t_s is not None else t_s
        if tower.silent_since_t_s is not None:
            return tower.silent_since_t_s
        heard = tower.last_heard_t_s if tower.last_heard_t_s is not None else t_s
        return min(t_s, max(heard, self._listening_from_s) + self.timeout_s)

    def _confirmed(self, tower_id: str, reason: str, t_s: float) -> bool:
        """Whether the fault is the tower's own (see the module docstring)."""
        since = self._towers[tower_id].faulty_since_t_s
        if reason not in _DOWN or since is None or t_s - since >= 2.0 * self.timeout_s:
            return True
        return any(other.faulty_since_t_s is None and other.last_heard_t_s is not None
                   and other.last_heard_t_s > since
                   for other_id, other in self._towers.items() if other_id != tower_id)

    def _site_event(self, down: bool, t_s: float) -> list[AlertEvent]:
        """The site fault's ``new`` when every tower is down, ``closed`` when one is back."""
        if down and self._site_alert_id is None:
            self._site_alert_id = self._next_alert_id()
            return [self._site("new", self._site_alert_id, t_s)]
        if not down and self._site_alert_id is not None:
            closed = self._site("closed", self._site_alert_id, t_s, close="recovered")
            self._site_alert_id = None
            return [closed]
        return []

    def _site(self, kind: AlertEventKind, alert_id: str, t_s: float,
              close: CloseReason | None = None) -> AlertEvent:
        return AlertEvent.model_validate({
            "event": kind, "alert_id": alert_id, "t_s": t_s, "class": "tower_fault",
            "class_confidence": 1.0, "confidence": 1.0, "severity": "critical",
            "position": self._site_position, "towers": sorted(self._towers),
            "fault": SITE_FAULT, "reason": close})

    def _reason(self, tower: _Tower, t_s: float) -> str:
        if tower.state == "offline":
            return "offline"
        if tower.silent_since_t_s is not None:
            return "silent"
        if (tower.last_heard_t_s is not None
                and t_s - max(tower.last_heard_t_s, self._listening_from_s) > self.timeout_s
                and (not self._silence_held or tower.reason == "silent")):
            return "silent"
        if tower.failed_sensors:
            return "sensor_fail:" + ",".join(tower.failed_sensors)
        return ""

    def _event(self, kind: AlertEventKind, tower_id: str, tower: _Tower, reason: str,
               t_s: float, close: CloseReason | None = None) -> AlertEvent:
        spec = self.site.tower(tower_id)
        sensors: list[SensorKind] = [s for s in ("thermal", "acoustic")
                                     if s in tower.failed_sensors]
        assert tower.alert_id is not None
        return AlertEvent.model_validate({
            "event": kind, "alert_id": tower.alert_id, "t_s": t_s, "class": "tower_fault",
            "class_confidence": 1.0, "confidence": 1.0,
            "severity": "high" if reason in ("offline", "silent") else "medium",
            "position": Position(x_m=spec.x_m, y_m=spec.y_m), "towers": [tower_id],
            "sensors": sensors, "fault": reason, "reason": close})
