"""The 3-node NATS cluster as the services' MQTT broker: QoS 1 and retained messages cross
nodes, MQTT 5 is refused and the client falls back to 3.1.1, and a client whose node dies
reconnects to the next one with its session, losing and repeating nothing."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import replace

import pytest
from paho.mqtt.enums import MQTTProtocolVersion as Proto

from perimeter.bus import Message
from perimeter.config import FusionSettings
from services.mqtt import MqttBus, MqttOptions
from services.nats_cluster import NatsCluster
from tests.services.mqtt_helpers import Inbox, subscriptions_active, wait_until

pytestmark = pytest.mark.integration


def node_bus(cluster: NatsCluster, first_node: int, client_id: str, **kw: object) -> MqttBus:
    """A client that starts on ``first_node`` and knows every node, as the services do."""
    settings = FusionSettings(broker_url=",".join(cluster.urls))
    options = MqttOptions.from_settings(settings, client_id, first_node=first_node)
    return MqttBus(replace(options, reconnect_min_s=1, reconnect_max_s=2, **kw))  # type: ignore[arg-type]


def test_qos1_and_retained_messages_cross_nodes(nats_cluster: NatsCluster) -> None:
    subscriber, inbox = node_bus(nats_cluster, 1, "sub-n2"), Inbox()
    subscriber.subscribe("test/+/report", inbox)
    subscriber.start(10)
    assert subscriber.protocol == Proto.MQTTv311, "NATS refuses MQTT 5: fell back to 3.1.1"
    assert subscriptions_active(subscriber)
    publisher = node_bus(nats_cluster, 0, "pub-n1")
    publisher.start(10)
    for i in range(200):
        publisher.publish(Message(f"test/{i % 4}/report", json.dumps({"i": i}).encode()))
    publisher.publish(Message("test/config", b"kept", retain=True))
    assert publisher.flush(20), "every QoS 1 message acknowledged by node 1"
    got = inbox.wait_for(201, 20)  # 200 and the probe of subscriptions_active
    assert sorted(json.loads(m.payload)["i"] for m in got if m.topic.endswith("/report")) \
        == list(range(200))

    late, kept = node_bus(nats_cluster, 2, "late-n3"), Inbox()
    late.subscribe("test/config", kept)
    late.start(10)
    assert [(m.payload, m.retain) for m in kept.wait_for(1, 15)] == [(b"kept", True)]
    for bus in (subscriber, publisher, late):
        bus.close()


def test_clients_outlive_their_node_with_their_sessions(nats_cluster: NatsCluster) -> None:
    """The publisher's node dies mid-stream, then (the first back) the subscriber's."""
    received: Counter[int] = Counter()
    lock = threading.Lock()
    subscriber = node_bus(nats_cluster, 1, "sub", manual_ack=True)

    def take(message: Message) -> None:
        with lock:
            received[json.loads(message.payload)["i"]] += 1
        subscriber.ack(message)

    subscriber.subscribe("test/+/report", take)
    subscriber.start(10)
    assert subscriptions_active(subscriber)
    publisher = node_bus(nats_cluster, 0, "pub")
    publisher.start(10)
    sent = 0

    def publish_for(seconds: float, rate_hz: float = 100.0) -> None:
        nonlocal sent
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            publisher.publish(Message("test/a/report", json.dumps({"i": sent}).encode()))
            sent += 1
            time.sleep(1.0 / rate_hz)

    publish_for(2.0)
    nats_cluster.kill(0)  # the publisher's node
    publish_for(3.0)
    assert wait_until(lambda: publisher.counters["connects"] >= 2, 30.0), \
        "the publisher moved to another node"
    nats_cluster.restart(0)
    nats_cluster.kill(1)  # the subscriber's node
    publish_for(3.0)
    assert publisher.flush(60.0), "every message acknowledged in the end"
    assert wait_until(lambda: len(received) >= sent, 60.0)
    with lock:
        lost = set(range(sent)) - set(received)
        repeats = sum(received.values()) - len(received)
    assert not lost, f"{len(lost)} of {sent} messages lost"
    # at least once: what was in flight on a dying node may come twice (fusion drops it by
    # seq), never more than paho keeps in flight (20) per client
    assert repeats <= 40, f"{repeats} repeats"
    assert subscriber.counters["connects"] >= 2, "the subscriber moved to another node"
    for bus in (subscriber, publisher):
        bus.close()
