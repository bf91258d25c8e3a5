"""A tower that hears its own will while it is up announces itself online again
(``services/will_watch.py``), against mosquitto and the embedded amqtt: the retained status
is ``online`` again within seconds, each correction is counted, and a writer that keeps
sending the will, or an ``offline`` that is not the tower's will, is not fought."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from perimeter import topics
from perimeter.bus import Message
from perimeter.config import SimSettings
from perimeter.contract import TowerStatus, dump_payload
from services.mqtt import MqttBus, MqttOptions
from services.tower_publisher import MqttUplink
from services.will_watch import MAX_CORRECTIONS
from tests.services.mqtt_helpers import Inbox, wait_until

if TYPE_CHECKING:
    from tests.conftest import BrokerHandle

pytestmark = pytest.mark.integration

TOWER = "T07"
TOPIC = topics.tower_status(TOWER)
WILL = dump_payload(TowerStatus(tower_id=TOWER, state="offline"))
ONLINE = dump_payload(TowerStatus(tower_id=TOWER, state="online", t_s=12.0))


def anonymous(broker: BrokerHandle, client_id: str) -> MqttBus:
    bus = MqttBus(MqttOptions(host=broker.host, port=broker.port, client_id=client_id,
                              session_expiry_s=0))
    bus.start(10.0)
    return bus


def retained(broker: BrokerHandle, client_id: str) -> bytes | None:
    """The retained status as someone subscribing now is told it."""
    inbox = Inbox()
    bus = MqttBus(MqttOptions(host=broker.host, port=broker.port, client_id=client_id,
                              session_expiry_s=0))
    bus.subscribe(TOPIC, inbox)
    bus.start(10.0)
    got = inbox.wait_for(1, 5.0)
    bus.close()
    return got[0].payload if got else None


@pytest.fixture
def tower(any_broker: BrokerHandle) -> Iterator[tuple[MqttUplink, Inbox]]:
    """T07 up (its will registered, ``online`` announced) and a watcher of its status."""
    watcher, inbox = anonymous(any_broker, "test-status-watcher"), Inbox()
    watcher.subscribe(TOPIC, inbox)
    uplink = MqttUplink(SimSettings(broker_url=any_broker.url))
    uplink.attach(TOWER, Message(TOPIC, WILL, retain=True, qos=1))
    uplink.publish(Message(TOPIC, ONLINE, retain=True, qos=1))
    assert wait_until(lambda: ONLINE in payloads(inbox), 10.0)
    try:
        yield uplink, inbox
    finally:
        uplink.close(announce_offline=False)
        watcher.close()


def payloads(inbox: Inbox) -> list[bytes]:
    return [m.payload for m in inbox.on(TOPIC)]


def test_a_will_heard_after_the_birth_is_set_right(any_broker: BrokerHandle,
                                                   tower: tuple[MqttUplink, Inbox]) -> None:
    uplink, inbox = tower
    late_will = anonymous(any_broker, "test-late-will")  # the old session's will, late
    late_will.publish(Message(TOPIC, WILL, retain=True, qos=1))
    assert late_will.flush(5.0)
    assert wait_until(lambda: payloads(inbox)[-2:] == [WILL, ONLINE], 10.0), payloads(inbox)
    assert retained(any_broker, "test-later-subscriber") == ONLINE
    assert uplink.counters["will_corrected"] == 1 and uplink.counters["will_held"] == 0
    late_will.close()


def test_a_writer_that_keeps_sending_the_will_is_not_fought(
        any_broker: BrokerHandle, tower: tuple[MqttUplink, Inbox]) -> None:
    uplink, inbox = tower
    writer = anonymous(any_broker, "test-stubborn-writer")
    for _ in range(60):
        writer.publish(Message(TOPIC, WILL, retain=True, qos=1))
        time.sleep(0.03)
    assert writer.flush(5.0)
    def heard() -> int:
        return uplink.counters["will_corrected"] + uplink.counters["will_held"]

    assert wait_until(lambda: heard() == 60 and payloads(inbox).count(WILL) >= 60, 20.0)
    time.sleep(1.0)  # a correction still on its way would come within this
    assert uplink.counters["will_corrected"] == MAX_CORRECTIONS
    assert uplink.counters["will_held"] == 60 - MAX_CORRECTIONS
    assert payloads(inbox).count(ONLINE) <= 1 + MAX_CORRECTIONS
    assert payloads(inbox)[-1] == WILL and retained(any_broker, "test-later-2") == WILL
    writer.close()


def test_an_offline_that_is_not_the_towers_will_stands(
        any_broker: BrokerHandle, tower: tuple[MqttUplink, Inbox]) -> None:
    uplink, inbox = tower
    operator = anonymous(any_broker, "test-operator")
    taken_down = dump_payload(TowerStatus(tower_id=TOWER, state="offline", t_s=30.0))
    operator.publish(Message(TOPIC, taken_down, retain=True, qos=1))
    assert operator.flush(5.0)
    assert wait_until(lambda: taken_down in payloads(inbox), 10.0)
    time.sleep(1.0)
    assert payloads(inbox)[-1] == taken_down
    assert retained(any_broker, "test-later-3") == taken_down
    assert uplink.counters["will_corrected"] == 0
    operator.close()


def test_the_towers_own_goodbye_stands(any_broker: BrokerHandle,
                                       tower: tuple[MqttUplink, Inbox]) -> None:
    uplink, inbox = tower
    uplink.close()  # the tower stops: it publishes its will itself, which it must not undo
    assert wait_until(lambda: payloads(inbox)[-1:] == [WILL], 10.0)
    time.sleep(1.0)
    assert payloads(inbox)[-1] == WILL and retained(any_broker, "test-later-4") == WILL
