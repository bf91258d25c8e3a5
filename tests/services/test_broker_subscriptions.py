"""The embedded amqtt broker keeps every client connected while others subscribe as they
connect (as a dozen towers each watching its own status topic do at start-up)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest

from perimeter.bus import Message
from services.broker import SnapshotDict
from services.mqtt import MqttBus, MqttOptions
from tests.services.mqtt_helpers import subscriptions_active

if TYPE_CHECKING:
    from tests.conftest import BrokerHandle

N_CLIENTS = 16
ROUNDS = 3


def test_a_snapshot_dict_may_grow_while_it_is_iterated() -> None:
    subscriptions = SnapshotDict({"a/1": 1})
    for topic in subscriptions:
        subscriptions[f"{topic}/more"] = 2
    for topic, _ in subscriptions.items():
        subscriptions[f"{topic}/again"] = 3
    assert dict(subscriptions) == {"a/1": 1, "a/1/more": 2, "a/1/again": 3,
                                   "a/1/more/again": 3}


@pytest.mark.integration
def test_clients_subscribing_as_they_connect_drop_none(amqtt_broker: BrokerHandle) -> None:
    """Each client, with a retained last will, subscribes to a topic of its own and
    announces a retained status on it, all starting at once, with a watcher's wildcard and
    the earlier rounds' statuses retained: amqtt sends a connecting client the retained
    messages of every subscription, awaiting each, and before it iterated its subscriptions
    over a copy, a SUBSCRIBE meanwhile raised in that client's handler and dropped it."""
    watcher = MqttBus(MqttOptions(host=amqtt_broker.host, port=amqtt_broker.port,
                                  client_id="watcher"))
    watcher.subscribe("test/#", lambda _m: None)
    watcher.start(10.0)
    try:
        for i in range(N_CLIENTS):
            watcher.publish(Message(f"test/before/c{i}/status", b"online", retain=True, qos=1))
        assert watcher.flush(10.0)
        for round_ in range(ROUNDS):
            connect_at_once(amqtt_broker, round_)
    finally:
        watcher.close()


def connect_at_once(broker: BrokerHandle, round_: int) -> None:
    """``N_CLIENTS`` clients started together, each subscribed to its own status topic and
    announcing its status there; none may have been dropped."""
    topics = [f"test/r{round_}/c{i}/status" for i in range(N_CLIENTS)]
    buses = []
    for i, topic in enumerate(topics):
        bus = MqttBus(MqttOptions(host=broker.host, port=broker.port,
                                  client_id=f"r{round_}c{i}", subscribe_qos=0),
                      will=Message(topic, b"offline", retain=True, qos=1))
        bus.subscribe(topic, lambda _m: None)
        buses.append(bus)
    starts = [threading.Thread(target=bus.start, args=(20.0,)) for bus in buses]
    for thread in starts:
        thread.start()
    for thread in starts:
        thread.join(30.0)
    try:
        for bus, topic in zip(buses, topics, strict=True):
            bus.announce(Message(topic, b"online", retain=True, qos=1))
        for bus in buses:
            assert subscriptions_active(bus)
        dropped = {bus.options.client_id: bus.counters["disconnects"] for bus in buses
                   if bus.counters["disconnects"] or bus.counters["connects"] != 1}
        assert not dropped, f"round {round_}: clients dropped by the broker: {dropped}"
    finally:
        for bus in buses:
            bus.close()
