"""FusionService on an in-memory bus: worker hand-off, outputs, dead letters, status."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import pytest

from perimeter import topics
from perimeter.bus import InMemoryBus, Message
from perimeter.contract import AlertEvent, DeadLetter, FusionStatus, parse_payload
from perimeter.fusion.runner import FusionRunner
from perimeter.thresholds import Thresholds
from services.fusion_service import BusOutput, FusionService
from sim.scenario import load_scenario
from sim.uplink import MemoryUplink
from sim.world import World


class Collector:
    def __init__(self, bus: InMemoryBus, topic_filter: str) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        bus.subscribe(topic_filter, self._add)

    def _add(self, message: Message) -> None:
        with self._lock:
            self.messages.append(message)


def make_service(bus: InMemoryBus, stored: list[AlertEvent], scenario: Any) -> FusionService:
    def factory(output: BusOutput) -> FusionRunner:
        return FusionRunner(scenario.site_model, Thresholds(), output)

    return FusionService(bus, factory, stored.append, status_interval_s=0.1)


def test_fuses_a_crossing_and_dead_letters_bad_input(crossing_scenario: dict[str, Any]) -> None:
    scenario = load_scenario(crossing_scenario)
    uplink = MemoryUplink()
    World(scenario, uplink).run()
    bus = InMemoryBus()
    alerts = Collector(bus, topics.ALERTS)
    dead = Collector(bus, topics.DEADLETTER)
    tracks = Collector(bus, topics.TRACKS)
    stored: list[AlertEvent] = []
    service = make_service(bus, stored, scenario)
    service.start()
    half = len(uplink.messages) // 2
    for message in uplink.messages[:half]:
        bus.publish(message)
    bus.publish(Message(topics.sensor("T03", "thermal"), b'{"tower_id": "T03", "seq": "x"'))
    bus.publish(Message(topics.sensor("T99", "thermal"), b"{}"))
    for message in uplink.messages[half:]:
        bus.publish(message)
    assert service.wait_idle(30.0)
    service.stop()

    events = [parse_payload(AlertEvent, m.payload) for m in alerts.messages]
    assert events and events[0].event == "new"
    assert events[0].class_ == "vehicle"
    origin = events[0].origin
    assert origin is not None
    assert abs(origin.x_m - 3500.0) < 150.0 and abs(origin.y_m + 2300.0) < 150.0
    assert [e.alert_id for e in stored] == [e.alert_id for e in events]
    letters = [parse_payload(DeadLetter, m.payload) for m in dead.messages]
    assert [d.topic for d in letters] == [topics.sensor("T03", "thermal"),
                                          topics.sensor("T99", "thermal")]
    assert letters[0].reason.startswith("bad_payload")
    assert letters[1].reason.startswith("unknown_tower")
    assert tracks.messages, "track snapshots are published"
    counters = service.counters()
    assert counters["rejected_bad_payload"] == 1 and counters["rejected_unknown_tower"] == 1
    assert counters["reports"] > 100
    status = parse_payload(FusionStatus, bus.retained[topics.FUSION_STATUS].payload)
    assert status.state == "offline" and status.counters["rejected_bad_payload"] == 1


def test_a_failing_store_does_not_stop_alerts(crossing_scenario: dict[str, Any]) -> None:
    scenario = load_scenario(crossing_scenario)
    uplink = MemoryUplink()
    World(scenario, uplink).run(until_s=20)
    bus = InMemoryBus()
    alerts = Collector(bus, topics.ALERTS)

    def broken_store(_event: AlertEvent) -> None:
        raise OSError("disk full")

    service = FusionService(bus, lambda out: FusionRunner(scenario.site_model, Thresholds(),
                                                          out), broken_store)
    service.start()
    for message in uplink.messages:
        bus.publish(message)
    assert service.wait_idle(30.0)
    service.stop()
    assert alerts.messages
    assert service.counters()["store_errors"] == len(alerts.messages)


def test_status_is_retained_online_while_running() -> None:
    scenario = load_scenario("night-crossing")
    bus = InMemoryBus()
    service = make_service(bus, [], scenario)
    service.start()
    bus.publish(Message(topics.THRESHOLDS, json.dumps({"thermal.min_snr_db": 11.0}).encode()))
    assert service.wait_idle(5.0)
    service.publish_status()
    status = parse_payload(FusionStatus, bus.retained[topics.FUSION_STATUS].payload)
    assert status.state == "online"
    assert status.counters["thresholds_applied"] == 1
    assert sorted(status.registration) == sorted(t.id for t in service.runner.site.towers)
    assert all(r.azimuth_bias_sigma_deg > 0.0 for r in status.registration.values())
    assert service.runner.thresholds.thermal_min_snr_db == 11.0
    service.stop()


def test_late_drops_are_in_the_status_and_warned_of_when_they_grow(
        caplog: pytest.LogCaptureFixture) -> None:
    scenario = load_scenario("night-crossing")
    bus = InMemoryBus()

    def factory(output: BusOutput) -> FusionRunner:
        return FusionRunner(scenario.site_model, Thresholds(), output, run_id="r-late")

    service = FusionService(bus, factory, status_interval_s=60.0)
    service.start()

    def report(seq: int, t_s: float) -> Message:
        payload = {"tower_id": "T03", "sensor": "thermal", "seq": seq, "t_s": t_s}
        return Message(topics.sensor("T03", "thermal"), json.dumps(payload).encode())

    bus.publish(report(1, 10_000.0))
    for seq in (2, 3):  # far older than max_late_s behind data time: dropped
        bus.publish(report(seq, 100.0 + seq))
    assert service.wait_idle(5.0)
    with caplog.at_level(logging.WARNING, logger="services.fusion_service"):
        service.publish_status()
        service.publish_status()  # no growth since: no second warning
    status = parse_payload(FusionStatus, bus.retained[topics.FUSION_STATUS].payload)
    assert status.run_id == "r-late" and status.counters["late_dropped"] == 2
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "2 reports dropped as too late" in warning
    bus.publish(report(4, 104.0))
    assert service.wait_idle(5.0)
    with caplog.at_level(logging.WARNING, logger="services.fusion_service"):
        service.publish_status()
    assert "1 reports dropped as too late" in caplog.records[-1].getMessage()
    service.stop()
