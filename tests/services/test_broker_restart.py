"""A broker restart mid-scenario: towers buffer, every client reconnects and resubscribes, the
persistent sessions deliver what was sent meanwhile, and fusion loses no report."""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from perimeter import topics
from perimeter.bus import Message
from perimeter.config import SimSettings
from perimeter.contract import AlertEvent
from perimeter.fusion.runner import FusionRunner
from perimeter.thresholds import Thresholds
from services.fusion_service import FusionService
from services.mqtt import MqttBus, MqttOptions
from services.tower_publisher import run_towers
from sim.scenario import load_scenario
from sim.uplink import MemoryUplink
from sim.world import World
from tests.services.mqtt_helpers import wait_until

if TYPE_CHECKING:
    from tests.conftest import BrokerHandle

pytestmark = pytest.mark.integration


def report_keys(messages: list[Message]) -> set[tuple[str, int]]:
    keys = set()
    for message in messages:
        parsed = topics.parse_tower_topic(message.topic)
        if parsed is not None and parsed.channel is not topics.TowerChannel.STATUS:
            keys.add((message.topic, int(json.loads(message.payload)["seq"])))
    return keys


def test_no_report_lost_across_a_broker_restart(mosquitto_broker: BrokerHandle,
                                                crossing_scenario: dict[str, Any]) -> None:
    scenario = load_scenario(crossing_scenario)
    reference = MemoryUplink()
    World(scenario, reference).run()
    expected = report_keys(reference.messages)

    bus = MqttBus(MqttOptions(host=mosquitto_broker.host, port=mosquitto_broker.port,
                              client_id="test-fusion-restart", reconnect_min_s=1,
                              reconnect_max_s=2))
    received: list[Message] = []
    lock = threading.Lock()

    def record(message: Message) -> None:
        with lock:
            received.append(message)

    bus.subscribe(topics.TOWER_WILDCARD, record)
    stored: list[AlertEvent] = []
    service = FusionService(bus, lambda out: FusionRunner(scenario.site_model, Thresholds(),
                                                          out), stored.append)
    service.start()
    bus.start(10)
    settings = SimSettings(broker_url=mosquitto_broker.url, speed=8.0)
    sim = threading.Thread(target=run_towers, args=(settings, None, scenario))
    sim.start()
    assert wait_until(lambda: len(received) >= 24, 30.0), "reports flow before the restart"
    mosquitto_broker.restart()  # clean stop (sessions saved) and start on the same port
    sim.join(90)
    assert not sim.is_alive()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with lock:
            if expected <= report_keys(received):
                break
        time.sleep(0.2)
    assert service.wait_idle(20.0)
    service.stop()
    bus.close()
    with lock:
        got = report_keys(received)
    assert expected - got == set(), f"{len(expected - got)} of {len(expected)} reports lost"
    assert bus.counters["connects"] >= 2, "the fusion client reconnected"
    assert any(e.event == "new" and e.class_ == "vehicle" for e in stored)
