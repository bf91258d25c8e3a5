"""Tower health: offline status, failed sensors and silence become ``tower_fault`` alerts.

A tower is faulty while its retained status says ``offline`` (or a sensor ``failed`` /
``offline``) or while nothing has been heard from it for ``heartbeat_timeout_s`` of data
time. One alert per fault episode: ``new`` when it starts, ``update`` when what failed changes,
``closed`` when the tower is healthy again. Silence counts only while fusion is listening: from
its first check, and again from the end of a gap in data time longer than the timeout (fusion
was down, or heard nothing at all), so towers are not all found silent when data time jumps
ahead (a restart's retained statuses carry old times). A fault an earlier run left open is
taken over (:meth:`TowerHealth.resume`): the same alert continues, and closes once the tower is
healthy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from perimeter.contract import AlertEvent, AlertEventKind, Position, SensorKind, TowerStatus
from perimeter.site import Site


@dataclass(slots=True)
class _Tower:
    last_heard_t_s: float | None = None
    state: str = "online"
    failed_sensors: tuple[str, ...] = ()
    alert_id: str | None = None
    reason: str = ""
    silent_since_t_s: float | None = None  # a resumed silent fault: silent until heard after


class TowerHealth:
    """Tracks every site tower's health on data time and emits fault alert events."""

    def __init__(self, site: Site, next_alert_id: Callable[[], str],
                 heartbeat_timeout_s: float = 15.0) -> None:
        self.site = site
        self.timeout_s = heartbeat_timeout_s
        self._next_alert_id = next_alert_id
        self._towers = {t.id: _Tower() for t in site.towers}
        self._listening_from_s = -math.inf
        self._checked_t_s: float | None = None
        self._silence_held = False

    def heard(self, tower_id: str, t_s: float) -> None:
        """Any message from the tower at data time ``t_s``."""
        tower = self._towers[tower_id]
        if tower.silent_since_t_s is not None and t_s > tower.silent_since_t_s:
            tower.silent_since_t_s = None
        if tower.last_heard_t_s is None or t_s > tower.last_heard_t_s:
            tower.last_heard_t_s = t_s

    def status(self, status: TowerStatus, t_s: float) -> None:
        """A tower status message (retained state or last will)."""
        tower = self._towers[status.tower_id]
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
            tower.state = "offline"
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

    def start(self, t_s: float) -> None:
        """Start the silence clocks of towers never heard from."""
        for tower in self._towers.values():
            if tower.last_heard_t_s is None:
                tower.last_heard_t_s = t_s

    def check(self, t_s: float) -> list[AlertEvent]:
        """Fault events due at data time ``t_s``."""
        if self._checked_t_s is None or t_s - self._checked_t_s > self.timeout_s:
            self._listening_from_s = t_s  # first check, or nothing heard for a while
        self._checked_t_s = max(t_s, self._checked_t_s or t_s)
        events = []
        for tower_id, tower in self._towers.items():
            reason = self._reason(tower, t_s)
            if reason and tower.alert_id is None:
                tower.alert_id = self._next_alert_id()
                events.append(self._event("new", tower_id, tower, reason, t_s))
            elif reason and reason != tower.reason:
                events.append(self._event("update", tower_id, tower, reason, t_s))
            elif not reason and tower.alert_id is not None:
                events.append(self._event("closed", tower_id, tower, tower.reason, t_s))
                tower.alert_id = None
            tower.reason = reason
        return events

    def close_all(self, t_s: float) -> list[AlertEvent]:
        events = []
        for tower_id, tower in self._towers.items():
            if tower.alert_id is not None:
                events.append(self._event("closed", tower_id, tower, tower.reason, t_s))
                tower.alert_id = None
        return events

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
               t_s: float) -> AlertEvent:
        spec = self.site.tower(tower_id)
        sensors: list[SensorKind] = [s for s in ("thermal", "acoustic")
                                     if s in tower.failed_sensors]
        assert tower.alert_id is not None
        return AlertEvent.model_validate({
            "event": kind, "alert_id": tower.alert_id, "t_s": t_s, "class": "tower_fault",
            "class_confidence": 1.0, "confidence": 1.0,
            "severity": "high" if reason in ("offline", "silent") else "medium",
            "position": Position(x_m=spec.x_m, y_m=spec.y_m), "towers": [tower_id],
            "sensors": sensors, "fault": reason})
