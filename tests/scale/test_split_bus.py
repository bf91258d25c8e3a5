"""A shard's two sessions on the NATS cluster (services/split_bus.py): the towers' reports on
one, everything else on the other; at QoS 0, only the towers subscribed, more after a
takeover."""

from __future__ import annotations

import json

import pytest

from perimeter import topics
from perimeter.bus import Message
from perimeter.config import FusionSettings
from services.mqtt import MqttBus, MqttOptions
from services.nats_cluster import NatsCluster
from services.split_bus import SplitBus
from tests.services.mqtt_helpers import Inbox, subscriptions_active

pytestmark = pytest.mark.integration


def report(tower_id: str, seq: int) -> Message:
    return Message(f"{topics.PREFIX}/towers/{tower_id}/thermal",
                   json.dumps({"seq": seq}).encode(), qos=1)


def test_qos0_towers_subscribed_one_by_one(nats_cluster: NatsCluster) -> None:
    settings = FusionSettings(broker_url=",".join(nats_cluster.urls))
    options = MqttOptions.from_settings(settings, "split-shard", first_node=1)
    bus, towers, alerts = SplitBus(options, tower_qos=0), Inbox(), Inbox()
    bus.subscribe_towers(frozenset({"T001"}), towers)
    bus.subscribe(topics.ALERTS, alerts)
    bus.start(10)
    assert subscriptions_active(bus) and subscriptions_active(bus.towers)
    assert bus.towers.options.client_id == "split-shard-towers"
    publisher = MqttBus(MqttOptions.from_settings(settings, "split-pub", first_node=0))
    publisher.start(10)
    for seq in range(20):
        publisher.publish(report("T001", seq))
        publisher.publish(report("T002", seq))
    publisher.publish(Message(topics.ALERTS, b"{}", qos=1))
    assert publisher.flush(20)
    got = towers.wait_for(20, 15)
    assert sorted(json.loads(m.payload)["seq"] for m in got if "/T001/" in m.topic) \
        == list(range(20))
    assert not [m for m in got if "/T002/" in m.topic], "T002 is not this shard's"
    assert [m.topic for m in alerts.wait_for(1, 15) if m.topic == topics.ALERTS] \
        == [topics.ALERTS], "the alerts come on the control session"

    bus.subscribe_towers(frozenset({"T001", "T002"}), towers)  # a takeover adds T002
    assert subscriptions_active(bus.towers)
    publisher.publish(report("T002", 99))
    assert publisher.flush(20)
    assert any("/T002/" in m.topic for m in towers.wait_for(21, 15))
    for client in (publisher, bus):
        client.close()
