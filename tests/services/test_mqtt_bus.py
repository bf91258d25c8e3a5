"""MqttBus against real brokers: round trip, bounded queue, will, reconnect and resubscribe,
announced statuses in order through reconnects."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt
import pytest

from perimeter.bus import Message
from services.mqtt import MqttBus, MqttConnectError, MqttOptions
from tests.services.mqtt_helpers import Inbox, subscriptions_active, wait_until

if TYPE_CHECKING:
    from tests.conftest import BrokerHandle

pytestmark = pytest.mark.integration


@pytest.fixture
def make_bus() -> Iterator[Callable[..., MqttBus]]:
    made: list[MqttBus] = []

    def make(broker: BrokerHandle, client_id: str, will: Message | None = None,
             max_queued: int = 10_000, replay_window_s: float = 0.0) -> MqttBus:
        bus = MqttBus(MqttOptions(host=broker.host, port=broker.port, client_id=client_id,
                                  reconnect_min_s=1, reconnect_max_s=2, max_queued=max_queued,
                                  replay_window_s=replay_window_s),
                      will=will)
        bus.start(timeout_s=10)
        made.append(bus)
        return bus

    yield make
    for bus in made:
        bus.close(timeout_s=1)


def test_round_trip_and_protocol(any_broker: BrokerHandle,
                                 make_bus: Callable[..., MqttBus]) -> None:
    sub = make_bus(any_broker, "sub-1")
    inbox = Inbox()
    sub.subscribe("perimeter/v1/towers/+/thermal", inbox)
    assert subscriptions_active(sub)
    pub = make_bus(any_broker, "pub-1")
    pub.publish(Message("perimeter/v1/towers/T01/thermal", b'{"n":1}'))
    pub.publish(Message("perimeter/v1/towers/T01/acoustic", b'{"n":2}'))
    pub.publish(Message("perimeter/v1/towers/T02/thermal", b'{"n":3}'))
    got = inbox.wait_for(2)
    assert [m.payload for m in got] == [b'{"n":1}', b'{"n":3}']
    assert all(m.qos == 1 for m in got)
    expected = mqtt.MQTTv5 if any_broker.impl == "mosquitto" else mqtt.MQTTv311
    assert pub.protocol == expected


def test_full_paho_queue_buffers_in_order(any_broker: BrokerHandle,
                                          make_bus: Callable[..., MqttBus]) -> None:
    sub = make_bus(any_broker, "sub-2")
    inbox = Inbox()
    sub.subscribe("t/q", inbox)
    assert subscriptions_active(sub)
    pub = make_bus(any_broker, "pub-2", max_queued=5)
    for i in range(300):
        pub.publish(Message("t/q", str(i).encode()))
    assert pub.counters["buffered"] > 0, "the tiny paho queue must overflow into the buffer"
    assert pub.flush(20.0)
    got = inbox.wait_for(300, 20.0)
    assert [int(m.payload) for m in got] == list(range(300))
    assert pub.counters["dropped"] == 0


def test_last_will_fires_on_abort(any_broker: BrokerHandle,
                                  make_bus: Callable[..., MqttBus]) -> None:
    watcher = make_bus(any_broker, "watch-3")
    inbox = Inbox()
    watcher.subscribe("t/status/+", inbox)
    assert subscriptions_active(watcher)
    will = Message("t/status/x", b'{"state":"offline"}', retain=True)
    tower = make_bus(any_broker, "tower-x", will=will)
    tower.publish(Message("t/status/x", b'{"state":"online"}', retain=True))
    assert tower.flush(5.0)
    tower.abort()
    got = inbox.wait_for(2, 10.0)
    assert [m.payload for m in got] == [b'{"state":"online"}', b'{"state":"offline"}']


def test_handler_error_does_not_stop_delivery(any_broker: BrokerHandle,
                                              make_bus: Callable[..., MqttBus]) -> None:
    sub = make_bus(any_broker, "sub-4")
    inbox = Inbox()

    def fragile(message: Message) -> None:
        if message.payload == b"boom":
            raise RuntimeError("consumer bug")

    sub.subscribe("t/h", fragile)
    sub.subscribe("t/h", inbox)
    assert subscriptions_active(sub)
    pub = make_bus(any_broker, "pub-4")
    pub.publish(Message("t/h", b"boom"))
    pub.publish(Message("t/h", b"fine"))
    assert [m.payload for m in inbox.wait_for(2)] == [b"boom", b"fine"]
    assert sub.counters["handler_errors"] == 1


def test_reconnects_resubscribes_and_keeps_session(mosquitto_broker: BrokerHandle,
                                                   make_bus: Callable[..., MqttBus]) -> None:
    sub = make_bus(mosquitto_broker, "sub-5")
    inbox = Inbox()
    sub.subscribe("t/r", inbox)
    assert subscriptions_active(sub)
    pub = make_bus(mosquitto_broker, "pub-5")
    pub.publish(Message("t/r", b"before"))
    inbox.wait_for(1)
    mosquitto_broker.restart()  # sessions persist: "during" waits in the subscriber's session
    pub.publish(Message("t/r", b"during"))  # queued by paho while disconnected
    assert wait_until(lambda: sub.counters["connects"] >= 2 and sub.connected.is_set())
    assert wait_until(lambda: pub.counters["connects"] >= 2 and pub.connected.is_set())
    pub.publish(Message("t/r", b"after"))
    assert wait_until(lambda: any(m.payload == b"after" for m in inbox.wait_for(0, 0.0)))
    got = [m.payload for m in inbox.wait_for(0, 0.0)]
    assert list(dict.fromkeys(got)) == [b"before", b"during", b"after"]  # QoS 1: may repeat


def test_resubscribes_after_broker_crash(mosquitto_broker: BrokerHandle,
                                         make_bus: Callable[..., MqttBus]) -> None:
    sub = make_bus(mosquitto_broker, "sub-6")
    inbox = Inbox()
    sub.subscribe("t/c", inbox)
    mosquitto_broker.kill()  # SIGKILL: sessions are gone, on_connect must subscribe again
    mosquitto_broker.start()
    pub = make_bus(mosquitto_broker, "pub-6")
    assert wait_until(lambda: sub.counters["connects"] >= 2 and sub.connected.is_set())
    assert subscriptions_active(sub)
    pub.publish(Message("t/c", b"after-crash"))
    assert [m.payload for m in inbox.wait_for(1, 10.0)] == [b"after-crash"]
    assert sub.counters["connects"] >= 2


def test_announced_status_is_sent_again_after_a_reconnect(
        mosquitto_broker: BrokerHandle, make_bus: Callable[..., MqttBus]) -> None:
    """A crashed broker that lost its retained messages (its store wiped): the client's
    announced status is back as soon as the client reconnects, with nothing else sent; a
    plain retained message is not."""
    bus = make_bus(mosquitto_broker, "announcer-7")
    bus.announce(Message("s/status", b"online", retain=True))
    bus.publish(Message("s/plain", b"plain", retain=True))
    assert bus.flush(5.0)
    mosquitto_broker.kill()
    for saved in mosquitto_broker.data_dir.glob("*.db"):
        saved.unlink()
    mosquitto_broker.start()
    assert wait_until(lambda: bus.counters["connects"] >= 2 and bus.connected.is_set())
    assert wait_until(lambda: bus.counters["announced"] >= 1 and bus.outstanding == 0)
    reader, inbox = make_bus(mosquitto_broker, "reader-7"), Inbox()
    reader.subscribe("s/#", inbox)
    assert subscriptions_active(reader)  # the retained ones of s/# came before its probe
    got = inbox.on("s/#")
    assert [(m.topic, m.payload, m.retain) for m in got] == [("s/status", b"online", True)]
    assert bus.counters["announced"] == 1


class HeldResend:
    """Holds the bus's first re-send of ``topic`` after a reconnect (on its drainer thread)
    until the test releases it (``hold_s``: only a deadline), to force the interleaving: the
    re-send has read what to send and another thread sends a newer status meanwhile."""

    def __init__(self, bus: MqttBus, topic: str, hold_s: float = 60.0) -> None:
        self.reached, self.release, self.sent = (threading.Event(), threading.Event(),
                                                 threading.Event())
        publish = bus.publish

        def held(message: Message) -> None:
            if (threading.current_thread().name == "mqtt-drain" and message.topic == topic
                    and not self.reached.is_set()):
                self.reached.set()
                self.release.wait(hold_s)
                publish(message)
                self.sent.set()
            else:
                publish(message)

        bus.publish = held  # type: ignore[method-assign]


def send_beside(hold: HeldResend, send: Callable[[], None]) -> None:
    """``send`` (a newer status) from another thread while the re-send is held: it must wait
    for the re-send (still blocked while held), and go out once that is released."""
    newer = threading.Thread(target=send, name="newer-status")
    newer.start()
    newer.join(0.5)
    assert newer.is_alive(), "the newer status did not wait for the re-send it would follow"
    hold.release.set()
    newer.join(10.0)
    assert not newer.is_alive() and hold.sent.is_set()


def retained(broker: BrokerHandle, make_bus: Callable[..., MqttBus], topic: str) -> bytes:
    """The retained payload the broker holds on ``topic`` (a new reader's first message)."""
    reader, inbox = make_bus(broker, f"reader-{uuid.uuid4().hex[:8]}"), Inbox()
    reader.subscribe(topic, inbox)
    assert subscriptions_active(reader)
    got = inbox.on(topic)
    assert got and got[0].retain
    return got[0].payload


def held_re_send(broker: BrokerHandle, make_bus: Callable[..., MqttBus], client_id: str,
                 first: bytes) -> tuple[MqttBus, HeldResend]:
    """A bus that announced ``first`` on ``s/status``, its broker restarted, and its drainer
    caught re-sending ``first`` after the reconnect (held until released)."""
    bus = make_bus(broker, client_id)
    bus.announce(Message("s/status", first, retain=True))
    assert bus.flush(5.0)
    hold = HeldResend(bus, "s/status")
    broker.restart()
    assert hold.reached.wait(15.0)
    return bus, hold


def test_a_re_announce_never_follows_a_newer_status(
        mosquitto_broker: BrokerHandle, make_bus: Callable[..., MqttBus]) -> None:
    """A reconnect's re-send of the announced status, caught between reading it and sending
    it while the service announces a newer one: the newer one is what the broker keeps."""
    bus, hold = held_re_send(mosquitto_broker, make_bus, "announcer-8", b"degraded")
    send_beside(hold, lambda: bus.announce(Message("s/status", b"online", retain=True)))
    assert bus.flush(5.0)
    assert retained(mosquitto_broker, make_bus, "s/status") == b"online"


def test_an_offline_at_stop_is_not_overtaken_by_a_re_sent_online(
        mosquitto_broker: BrokerHandle, make_bus: Callable[..., MqttBus]) -> None:
    """A service stopping while its bus re-sends its ``online`` after a reconnect publishes
    its retained ``offline`` (as FusionService.stop, ShardService and TowerPublisher.close
    do) and closes: ``offline`` is what the broker keeps."""
    bus, hold = held_re_send(mosquitto_broker, make_bus, "announcer-9", b"online")
    send_beside(hold, lambda: bus.publish(Message("s/status", b"offline", retain=True)))
    bus.close(5.0)
    assert retained(mosquitto_broker, make_bus, "s/status") == b"offline"


def test_a_replay_after_a_reconnect_never_resends_an_older_status(
        mosquitto_broker: BrokerHandle, make_bus: Callable[..., MqttBus]) -> None:
    """A tower's bus replays what it sent just before a lost connection: not its status
    from then (``degraded``) after the newer one it sent while cut off (``online``), neither
    an announced one nor a plain retained one; a watcher sees no step back."""
    watcher, inbox = make_bus(mosquitto_broker, "watcher-10"), Inbox()
    watcher.subscribe("s/#", inbox)
    assert subscriptions_active(watcher)
    bus = make_bus(mosquitto_broker, "tower-10", replay_window_s=30.0)
    bus.announce(Message("s/status", b"degraded", retain=True))
    bus.publish(Message("s/plain", b"degraded", retain=True))
    assert bus.flush(5.0)
    mosquitto_broker.stop()
    assert wait_until(lambda: not bus.connected.is_set())
    bus.announce(Message("s/status", b"online", retain=True))  # queued while cut off
    bus.publish(Message("s/plain", b"online", retain=True))
    mosquitto_broker.start()
    assert wait_until(lambda: bus.counters["connects"] >= 2 and bus.counters["announced"] >= 1
                      and bus.outstanding == 0)
    assert wait_until(lambda: watcher.counters["connects"] >= 2 and watcher.connected.is_set())
    assert subscriptions_active(watcher)
    for topic in ("s/status", "s/plain"):
        seen = [m.payload for m in inbox.on(topic)]
        assert b"online" in seen
        assert b"degraded" not in seen[seen.index(b"online"):], (topic, seen)
    assert retained(mosquitto_broker, make_bus, "s/status") == b"online"


def test_unreachable_broker_fails_clearly(free_port: Callable[[], int]) -> None:
    bus = MqttBus(MqttOptions(port=free_port(), client_id="nobody"))
    with pytest.raises(MqttConnectError, match="cannot connect"):
        bus.start(timeout_s=0.5)
