"""A simulated tower: publishes its status and its sensors' reports through its link; faults
reach its processes as ``simpy.Interrupt``."""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import Any

import simpy

from perimeter import topics
from perimeter.bus import Message
from perimeter.contract import (
    Position,
    SensorHealth,
    SensorKind,
    SensorReport,
    TowerState,
    TowerStatus,
    dump_payload,
)
from perimeter.site import TowerSpec
from sim.link import StoreForwardLink
from sim.sensors.errors import Clock
from sim.sensors.frames import FrameOut
from sim.truth import DetectionTag
from sim.uplink import TowerUplink

SENSORS: tuple[SensorKind, ...] = ("thermal", "acoustic")
FrameSource = Mapping[SensorKind, Callable[[int], list[FrameOut]]]
"""``source[sensor](k)``: every tower's output for frame/window ``k`` (index by tower)."""


class Tower:
    """One tower's processes (one per sensor) and state; the world drives its faults."""

    def __init__(self, env: simpy.Environment, spec: TowerSpec, index: int,
                 uplink: TowerUplink, source: FrameSource, periods_s: dict[SensorKind, float],
                 epoch_s: float, tags: list[DetectionTag], clock: Clock | None = None) -> None:
        self.env, self.spec, self.index = env, spec, index
        self.uplink, self.source = uplink, source
        self.periods_s, self.epoch_s, self.tags = periods_s, epoch_s, tags
        self.clock = clock or Clock()
        self.link = StoreForwardLink(env, uplink, published_tags=tags)
        self.powered = True
        self.link_faults = 0
        self._attach_pending = False  # powered on while the link was down
        self.failed: dict[SensorKind, int] = {s: 0 for s in SENSORS}
        self.seq: dict[SensorKind, int] = {s: 0 for s in SENSORS}
        self._changed: simpy.Event = env.event()
        self._topics = {s: topics.sensor(spec.id, s) for s in SENSORS}
        self._status_topic = topics.tower_status(spec.id)
        self._last_status: tuple[str, ...] | None = None
        self.processes = {s: env.process(self._sensor_loop(s)) for s in SENSORS}

    # -- messages --------------------------------------------------------------------------
    def will(self) -> Message:
        """The retained ``offline`` status the broker publishes if the tower is lost."""
        payload = dump_payload(TowerStatus(tower_id=self.spec.id, state="offline"))
        return Message(self._status_topic, payload, retain=True, qos=1)

    def state(self) -> TowerState:
        if not self.powered:
            return "offline"
        return "degraded" if any(self.failed.values()) else "online"

    def publish_status(self, force: bool = False) -> None:
        """Send the retained status if it changed (or ``force``)."""
        health = {s: ("failed" if self.failed[s] else "ok") for s in SENSORS}
        key = (self.state(), *health.values())
        if not force and key == self._last_status:
            return
        self._last_status = key
        status = TowerStatus(
            tower_id=self.spec.id, state=self.state(), t_s=self.local_time(self.env.now),
            position=Position(x_m=self.spec.x_m, y_m=self.spec.y_m), height_m=self.spec.height_m,
            sensors={s: SensorHealth(state=h, detail="sensor fault" if h == "failed" else None)
                     for s, h in health.items()})
        self.link.send(Message(self._status_topic, dump_payload(status), retain=True, qos=1))

    def start(self) -> None:
        """Connect (registering the will) and announce ``online``."""
        self.uplink.attach(self.spec.id, self.will())
        self.publish_status(force=True)

    # -- faults (called by the world's fault processes) -------------------------------------
    def _notify(self, cause: str) -> None:
        self._changed.succeed()
        self._changed = self.env.event()
        for proc in self.processes.values():
            if proc.is_alive:
                proc.interrupt(cause)

    def power_off(self) -> None:
        """Abrupt loss: the will fires, measuring stops, queued messages are lost."""
        if not self.powered:
            return
        self.powered = False
        self.link.go_down()
        self.link.clear()
        self._last_status = None
        self.uplink.drop(self.spec.id)
        self._notify("offline")

    def power_on(self) -> None:
        """Back: reconnect with the will, announce the status, resume measuring."""
        if self.powered:
            return
        self.powered = True
        if self.link_faults == 0:
            self.uplink.attach(self.spec.id, self.will())
            self.link.come_up()
        else:  # it connects when the link returns
            self._attach_pending = True
        self.publish_status(force=True)
        self._notify("online")

    def link_down(self) -> None:
        self.link_faults += 1
        self.link.go_down()

    def link_up(self) -> None:
        self.link_faults = max(0, self.link_faults - 1)
        if self.link_faults == 0 and self.powered:
            if self._attach_pending:
                self._attach_pending = False
                self.uplink.attach(self.spec.id, self.will())
            self.link.come_up()

    def fail_sensor(self, sensor: SensorKind) -> None:
        self.failed[sensor] += 1
        if self.powered:
            self.publish_status()
        self._notify(f"{sensor} failed")

    def repair_sensor(self, sensor: SensorKind) -> None:
        self.failed[sensor] = max(0, self.failed[sensor] - 1)
        if self.powered:
            self.publish_status()
        self._notify(f"{sensor} repaired")

    # -- measuring ---------------------------------------------------------------------------
    def _measuring(self, sensor: SensorKind) -> bool:
        return self.powered and not self.failed[sensor]

    def _sensor_loop(self, sensor: SensorKind) -> Generator[simpy.Event, Any, None]:
        period = self.periods_s[sensor]
        k = 1
        while True:
            try:
                if not self._measuring(sensor):
                    yield self._changed
                    k = max(k, int(self.env.now / period + 1e-9) + 1)
                    continue
                yield self.env.timeout(k * period - self.env.now)
                self._emit(sensor, k)
                k += 1
            except simpy.Interrupt:
                k = max(k, int(self.env.now / period - 1e-9) + 1)

    def local_time(self, sim_s: float) -> float:
        """What the tower's own clock reads at simulated time ``sim_s`` (Unix seconds)."""
        return self.clock.local(self.epoch_s + sim_s, self.epoch_s)

    def _emit(self, sensor: SensorKind, k: int) -> None:
        out = self.source[sensor](k)[self.index]
        seq = self.seq[sensor]
        self.seq[sensor] = seq + 1
        tid = self.spec.id
        detections = out.detections
        if self.clock.offset_s or self.clock.drift_ppm:  # onsets are stamped by this clock too
            detections = [d if "onset_t_s" not in d else
                          {**d, "onset_t_s": round(self.clock.local(float(d["onset_t_s"]),
                                                                    self.epoch_s), 3)}
                          for d in detections]
        report = SensorReport(tower_id=tid, sensor=sensor, seq=seq,
                              t_s=self.local_time(k * self.periods_s[sensor]),
                              detections=detections)
        tags = [DetectionTag(tid, sensor, seq, i, target)
                for i, target in enumerate(out.tags)] if out.tags else None
        self.link.send(Message(self._topics[sensor], dump_payload(report), False, 1), tags)
