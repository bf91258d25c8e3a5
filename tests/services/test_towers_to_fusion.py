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
from tests.services.mqtt_helpers import CuttableLink, Inbox, subscriptions_active, wait_until

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


def test_a_cut_tower_link_fires_its_will_and_the_tower_announces_itself_again(
        any_broker: BrokerHandle, crossing_scenario: dict[str, Any]) -> None:
    """A running tower's connection dies abruptly (its link cut, no DISCONNECT): the broker
    publishes the tower's will and fusion takes the tower for offline; as soon as the
    tower's client is back it sends its latest status again, so fusion sees it online (before
    that re-send, only with the tower's next message: a tower with nothing to say stayed
    offline)."""
    site = load_scenario(crossing_scenario).site_model
    seen: list[str] = []  # T07's states as fusion's tower health is told them

    def runner(out: Any) -> FusionRunner:
        made = FusionRunner(site, Thresholds(), out)
        told = made.health.status

        def status(status: TowerStatus, t_s: float) -> None:
            if status.tower_id == "T07":
                seen.append(status.state)
            told(status, t_s)

        made.health.status = status  # type: ignore[method-assign]
        return made

    def states() -> list[str]:  # repeats of one state (a retained copy) collapsed
        now = list(seen)
        return [s for i, s in enumerate(now) if i == 0 or now[i - 1] != s]

    fusion_bus = bus_for(any_broker, "test-fusion-3")
    service = FusionService(fusion_bus, runner, lambda _event: None)
    service.start()
    fusion_bus.start(10)
    link = CuttableLink(any_broker.host, any_broker.port)
    uplink = MqttUplink(SimSettings(broker_url=link.url))
    try:
        assert subscriptions_active(fusion_bus)
        uplink.attach("T07", Message(topics.tower_status("T07"),
                                     b'{"tower_id":"T07","state":"offline"}', retain=True))
        uplink.publish(Message(topics.tower_status("T07"),
                               b'{"tower_id":"T07","state":"online"}', retain=True))
        assert wait_until(lambda: states() == ["online"], 10.0), seen
        link.cut()
        assert wait_until(lambda: states() == ["online", "offline", "online"], 20.0), seen
        # the tower sent nothing after the cut: its client re-sent the status on its own
        assert uplink.counters["connects"] == 2 and uplink.counters["announced"] == 1
        # the will, heard again on subscribing after the reconnect, is the re-send's to undo
        assert uplink.counters["will_corrected"] == 0
    finally:
        uplink.close(announce_offline=False)
        link.close()
        service.stop()
        fusion_bus.close()
