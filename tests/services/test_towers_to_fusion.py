"""Simulated towers → real broker → fusion service, against mosquitto and the embedded amqtt."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pytest

from perimeter import topics
from perimeter.bus import Message
from perimeter.config import SimSettings
from perimeter.contract import AlertEvent, DeadLetter, SensorReport, TowerStatus, parse_payload
from perimeter.fusion.runner import FusionRunner
from perimeter.thresholds import Thresholds
from services.fusion_service import FusionService
from services.mqtt import MqttBus, MqttOptions
from services.tower_publisher import MqttUplink, run_towers
from sim.scenario import load_scenario
from sim.uplink import MemoryUplink
from sim.world import World
from tests.services.mqtt_helpers import Inbox, wait_until

if TYPE_CHECKING:
    from tests.conftest import BrokerHandle

pytestmark = pytest.mark.integration


def bus_for(broker: BrokerHandle, client_id: str, will: Message | None = None) -> MqttBus:
    return MqttBus(MqttOptions(host=broker.host, port=broker.port, client_id=client_id,
                               reconnect_min_s=1, reconnect_max_s=2), will=will)


def test_crossing_alert_and_dead_letter(any_broker: BrokerHandle,
                                        crossing_scenario: dict[str, Any]) -> None:
    scenario = load_scenario(crossing_scenario)
    reference = MemoryUplink()
    World(scenario, reference).run()
    n_reports = sum(1 for m in reference.messages if not m.topic.endswith("/status"))
    watcher, inbox = bus_for(any_broker, "test-watcher"), Inbox()
    watcher.subscribe("perimeter/v1/#", inbox)
    watcher.start(10)
    fusion_bus = bus_for(any_broker, "test-fusion")
    stored: list[AlertEvent] = []
    service = FusionService(fusion_bus, lambda out: FusionRunner(scenario.site_model,
                                                                 Thresholds(), out),
                            stored.append)
    service.start()
    fusion_bus.start(10)
    try:
        settings = SimSettings(broker_url=any_broker.url, speed=20.0)
        sim = threading.Thread(target=run_towers, args=(settings, None, scenario))
        sim.start()
        assert wait_until(lambda: len(inbox.on(topics.sensor("T01", "thermal"))) > 5, 30.0)
        watcher.publish(Message(topics.sensor("T04", "thermal"), b"\xff\xfe not json"))
        sim.join(60.0)
        assert not sim.is_alive()
        # amqtt may deliver well behind the towers under load: wait for fusion to catch up
        assert wait_until(lambda: service.runner.counters["reports"] >= n_reports, 90.0), (
            service.counters(), n_reports)
        assert wait_until(lambda: any(e.event == "new" for e in stored), 20.0)
        assert service.wait_idle(20.0)
    finally:
        service.stop()
        fusion_bus.close()
    first = next(e for e in stored if e.event == "new")
    assert first.class_ == "vehicle"
    assert first.origin is not None
    assert abs(first.origin.x_m - 3500.0) < 200.0 and abs(first.origin.y_m + 2300.0) < 200.0
    assert wait_until(lambda: len(inbox.on(topics.ALERTS)) >= len(stored), 10.0)
    published = [parse_payload(AlertEvent, m.payload) for m in inbox.on(topics.ALERTS)]
    assert [e.alert_id for e in published][:len(stored)] == [e.alert_id for e in stored]
    assert wait_until(lambda: inbox.on(topics.DEADLETTER), 10.0)
    letters = [parse_payload(DeadLetter, m.payload) for m in inbox.on(topics.DEADLETTER)]
    assert [d.topic for d in letters] == [topics.sensor("T04", "thermal")]
    assert service.counters()["rejected_bad_payload"] == 1
    reports = [parse_payload(SensorReport, m.payload)
               for m in inbox.on("perimeter/v1/towers/+/thermal") if m.payload[:1] == b"{"]
    by_tower: dict[str, list[int]] = {}
    for report in reports:
        by_tower.setdefault(report.tower_id, []).append(report.seq)
    assert len(by_tower) == 12
    for seqs in by_tower.values():  # QoS 1, one client per tower: nothing lost, in order
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    # the towers stopped with the scenario: each one's retained status now says offline
    def offline() -> set[str]:
        statuses = [parse_payload(TowerStatus, m.payload)
                    for m in inbox.on("perimeter/v1/towers/+/status")]
        return {s.tower_id for s in statuses if s.state == "offline"}

    all_towers = {f"T{i:02d}" for i in range(1, 13)}
    assert wait_until(lambda: offline() == all_towers, 15.0), sorted(all_towers - offline())
    watcher.close()


def test_dropped_tower_will_fires(any_broker: BrokerHandle) -> None:
    watcher, inbox = bus_for(any_broker, "test-watcher-2"), Inbox()
    watcher.subscribe(topics.tower_status("T07"), inbox)
    watcher.start(10)
    uplink = MqttUplink(SimSettings(broker_url=any_broker.url))
    will = Message(topics.tower_status("T07"), b'{"tower_id":"T07","state":"offline"}',
                   retain=True)
    uplink.attach("T07", will)
    uplink.publish(Message(topics.tower_status("T07"), b'{"tower_id":"T07","state":"online"}',
                           retain=True))
    assert wait_until(lambda: len(inbox.on("#")) == 1, 10.0)
    uplink.drop("T07")
    assert wait_until(lambda: len(inbox.on("#")) == 2, 10.0)
    assert [parse_payload(TowerStatus, m.payload).state for m in inbox.on("#")] == [
        "online", "offline"]
    uplink.close()
    watcher.close()


def test_a_tower_announces_its_status_again_after_a_reconnect(
        any_broker: BrokerHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    """A broker may fire the will of a tower that is still running (a clustered broker's node
    dies): as soon as it is back, the tower's client sends its latest status again, so it
    reads online (before, only with the tower's next message: a tower with nothing to say
    stayed offline)."""
    monkeypatch.setattr("services.tower_publisher.REPLAY_WINDOW_S", 0.0)  # no resend of it
    watcher, inbox = bus_for(any_broker, "test-watcher-3"), Inbox()
    watcher.subscribe(topics.tower_status("T07"), inbox)
    watcher.start(10)
    uplink = MqttUplink(SimSettings(broker_url=any_broker.url))
    uplink.attach("T07", Message(topics.tower_status("T07"),
                                 b'{"tower_id":"T07","state":"offline"}', retain=True))
    uplink.publish(Message(topics.tower_status("T07"), b'{"tower_id":"T07","state":"online"}',
                           retain=True))
    assert wait_until(lambda: len(inbox.on("#")) == 1, 10.0)
    any_broker.restart()
    assert wait_until(lambda: uplink.counters["connects"] == 2 and watcher.connected.is_set(),
                      20.0)
    # sent again with nothing else from the tower (the watcher may get it live or, when it
    # resubscribes after it, retained: a broker that keeps retained messages over a restart
    # would give that copy anyway, so the count of announcements is the proof; a broker that
    # lost them: tests/services/test_mqtt_bus.py)
    assert wait_until(lambda: uplink.counters["announced"] == 1, 10.0)
    assert wait_until(lambda: len(inbox.on("#")) >= 2, 10.0)
    assert parse_payload(TowerStatus, inbox.on("#")[-1].payload).state == "online"
    uplink.close(announce_offline=False)
    watcher.close()
