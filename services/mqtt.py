"""``MqttBus``: the :class:`perimeter.bus.Bus` over paho-mqtt 2.x.

QoS 1 by default; a bounded paho queue with an ordered overflow buffer (``publish`` never assumes
paho took a message); automatic reconnect with backoff and resubscription in ``on_connect``;
MQTT 5 with a persistent session (``SessionExpiryInterval``, ``clean_start=False``) where the
broker accepts it, else MQTT 3.1.1 (amqtt, NATS) with ``clean_session=False``. Given the nodes of
a clustered broker (:attr:`MqttOptions.fallbacks`), each connection attempt after a failure or
a lost connection goes to the next node in the list, so a client outlives its node; with a fixed
client id its session (subscriptions, QoS 1 messages not yet delivered) follows it there.
Handlers run on paho's network thread: they must be thread-safe or hand off to a queue.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.enums import MQTTProtocolVersion as Proto
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from perimeter.bus import Handler, Message, topic_matches
from services.mqtt_options import FailoverClient
from services.mqtt_options import MqttOptions as MqttOptions

log = logging.getLogger(__name__)

UNSUPPORTED_PROTOCOL = (0x84, 1)
"""CONNACK codes for an unsupported protocol version (MQTT 5 and 3.1.1 spellings)."""


CONNACK_WAIT_S = 2.0


@dataclass(frozen=True, slots=True)
class ReceivedMessage(Message):
    """A message as received, with what :meth:`MqttBus.ack` needs to acknowledge it later."""

    mid: int = 0
    connection: int = 0


class MqttConnectError(ConnectionError):
    """The broker could not be reached or refused the connection in time."""


class MqttBus:
    """A paho client as a :class:`~perimeter.bus.Bus`; ``start()`` connects, ``close()`` ends."""

    def __init__(self, options: MqttOptions, will: Message | None = None) -> None:
        self.options = options
        self.will = will
        self.protocol = Proto.MQTTv5 if options.prefer_mqtt5 else Proto.MQTTv311
        self.connected = threading.Event()
        self.counters: dict[str, int] = {"published": 0, "acked": 0, "buffered": 0,
                                         "dropped": 0, "received": 0, "handler_errors": 0,
                                         "connects": 0, "disconnects": 0, "replayed": 0,
                                         "announced": 0}
        self._subs: list[tuple[str, Handler]] = []
        self._subs_lock = threading.Lock()
        self._lock = threading.RLock()  # publish path only; never taken in paho callbacks
        self._pending: deque[Message] = deque()
        self._ack_lock = threading.Lock()  # guards the three mid sets; no paho call under it
        self._unacked: set[int] = set()  # QoS 1 handed to paho, PUBACK not yet in
        self._unwritten: set[int] = set()  # QoS 0 handed to paho, not yet written out
        self._early_acks: set[int] = set()  # on_publish came before _send noted the mid
        self._acked = threading.Event()
        self._recent: deque[tuple[float, Message]] = deque()  # sent, for replay_window_s
        self._births: dict[str, Message] = {}  # topic -> latest status (see announce)
        self._retained_lock = threading.RLock()  # births; held sending retained: before _lock
        self._announce_due = False  # set on a reconnect; the drainer announces them again
        self._lost_at_s: float | None = None  # when the connection was lost, until replayed
        self._connection = 0  # bumped on every connect: acks of an older one are void
        self._drainer: threading.Thread | None = None
        self._refused: ReasonCode | None = None
        self._attempted = threading.Event()
        self._closing = False
        self._started = False  # until connected, publish() buffers (the client may be replaced)
        self._node = 0  # index in options.addresses of the node to connect to next
        self._client = self._make_client()

    # -- lifecycle ------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        opts = self.options
        persistent = opts.session_expiry_s > 0 and bool(opts.client_id)
        v5 = self.protocol == Proto.MQTTv5
        client = FailoverClient(opts.addresses, self._node, CallbackAPIVersion.VERSION2,
                                client_id=opts.client_id, protocol=self.protocol,
                                clean_session=None if v5 else not persistent)
        client.max_queued_messages_set(opts.max_queued)
        client.manual_ack_set(opts.manual_ack)
        client.reconnect_delay_set(opts.reconnect_min_s, opts.reconnect_max_s)
        if opts.username is not None:
            client.username_pw_set(opts.username, opts.password)
        if self.will is not None:
            client.will_set(self.will.topic, self.will.payload, self.will.qos, self.will.retain)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        return client

    def _connect_args(self) -> tuple[bool | Literal[3], Properties | None]:
        if self.protocol != Proto.MQTTv5:
            return mqtt.MQTT_CLEAN_START_FIRST_ONLY, None
        persistent = self.options.session_expiry_s > 0 and bool(self.options.client_id)
        if not persistent:
            return True, None
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.options.session_expiry_s
        return False, props

    def start(self, timeout_s: float = 30.0) -> None:
        """Connect (retrying until ``timeout_s``), fall back to 3.1.1 if MQTT 5 is refused,
        and leave paho's network thread running; it reconnects on its own from then on."""
        deadline = time.monotonic() + timeout_s
        while True:
            outcome = self._try_connect(deadline)
            if outcome == "ok":
                break
            if outcome in ("unsupported", "no CONNACK") and self.protocol == Proto.MQTTv5:
                log.info("broker refused MQTT 5; using MQTT 3.1.1")
                self.protocol = Proto.MQTTv311
                self._client = self._make_client()
                continue
            if time.monotonic() >= deadline:
                nodes = ",".join(f"mqtt://{h}:{p}" for h, p in self.options.addresses)
                raise MqttConnectError(f"cannot connect to {nodes}: {outcome}")
            self._node = (self._node + 1) % len(self.options.addresses)  # the next node
            self._client = self._make_client()
            time.sleep(0.2)
        self._started = True
        self._drain_pending()
        self._drainer = threading.Thread(target=self._drain_loop, name="mqtt-drain", daemon=True)
        self._drainer.start()

    def _try_connect(self, deadline: float) -> str:
        clean_start, props = self._connect_args()
        self._refused = None
        self._attempted.clear()
        host, port = self.options.addresses[self._node]
        try:
            self._client.connect(host, port, keepalive=self.options.keepalive_s,
                                 clean_start=clean_start, properties=props)
        except OSError as exc:
            return f"{type(exc).__name__}: {exc}"
        self._client.loop_start()
        # amqtt neither parses nor refuses an MQTT 5 CONNECT with properties: it goes silent
        self._attempted.wait(min(CONNACK_WAIT_S, max(0.1, deadline - time.monotonic())))
        if self.connected.is_set():
            return "ok"
        refused = self._refused
        self._client.loop_stop()
        with contextlib.suppress(Exception):
            self._client.disconnect()
        self._client = self._make_client()  # a fresh client: paho's loop_start runs once
        if refused is not None and refused.value in UNSUPPORTED_PROTOCOL:
            return "unsupported"
        return f"refused: {refused}" if refused is not None else "no CONNACK"

    def close(self, timeout_s: float = 5.0) -> None:
        """Publish what is buffered (up to ``timeout_s``), then DISCONNECT (no will)."""
        self.flush(timeout_s)
        self._closing = True
        with contextlib.suppress(Exception):
            self._client.disconnect()
        self._client.loop_stop()
        self._acked.set()

    def abort(self) -> None:
        """Close the socket without DISCONNECT, so the broker publishes the last will."""
        self._closing = True
        self._acked.set()
        self._client.loop_stop()
        sock = self._client.socket()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.connected.clear()

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every message is acknowledged; False if some are still outstanding."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._drain_pending()
            if self.outstanding == 0:
                return True
            time.sleep(0.02)
        return False

    @property
    def outstanding(self) -> int:
        """Messages not yet acknowledged by the broker (buffered or in paho's queue)."""
        with self._ack_lock:
            return len(self._pending) + len(self._unacked)

    # -- Bus ------------------------------------------------------------------------------
    def publish(self, message: Message) -> None:
        """Hand a message to paho; if its queue is full, buffer it in order (bounded). A
        retained message on an announced topic takes the announced one's place
        (:meth:`announce`)."""
        if message.retain:  # in one order with re-sends of the same topic
            with self._retained_lock:
                if message.topic in self._births:
                    self._births[message.topic] = message
                self._send_or_buffer(message)
        else:
            self._send_or_buffer(message)

    def _send_or_buffer(self, message: Message) -> None:
        with self._lock:
            if not self._started or self._pending or not self._send(message):
                if len(self._pending) >= self.options.max_pending:
                    self._pending.popleft()
                    self.counters["dropped"] += 1
                    log.warning("mqtt buffer full: oldest message dropped")
                self._pending.append(message)
                self.counters["buffered"] += 1

    def announce(self, message: Message) -> None:
        """Publish ``message`` (a retained status: a birth message) now, and again after
        every reconnect, the latest one per topic: a last will the broker fired while the
        client was cut off (a dying cluster node fires live clients' wills), or a broker that
        lost its retained messages, is set right as soon as the client is back. Sent now on
        the caller's thread; the re-sends go from the drainer thread (paho's callbacks never
        take the publish path's lock).

        One slot per topic holds the latest status, and whatever sends it (this, a re-send
        after a reconnect, a retained :meth:`publish` on the topic, which replaces it: the
        ``offline`` a service publishes when it stops) holds one lock while it hands it on,
        so an older status is never sent after a newer one (a re-send that read the slot
        before a newer status came would otherwise go out after it, and an ``online`` re-sent
        during a stop would overtake its ``offline``)."""
        with self._retained_lock:
            self._births[message.topic] = message
            self._send_or_buffer(message)

    def announced(self, topic: str) -> Message | None:
        """The latest status announced on ``topic`` (None before any); safe on any thread."""
        return self._births.get(topic)

    def announce_soon(self) -> bool:
        """Send every announced status again, as after a reconnect, from the drainer thread
        (safe in a handler on paho's thread: :mod:`services.will_watch`); False (nothing
        sent) unless connected and not closing."""
        if not self.connected.is_set() or self._closing:
            return False
        self._announce_due = True
        self._acked.set()  # wakes the drainer
        return True

    def ack(self, message: Message) -> None:
        """Acknowledge a received QoS 1 message once processed (``manual_ack`` only), in the
        order received; one received on an earlier connection will be delivered again."""
        if (self.options.manual_ack and isinstance(message, ReceivedMessage)
                and message.qos > 0 and message.connection == self._connection):
            self._client.ack(message.mid, message.qos)

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        with self._subs_lock:
            self._subs.append((topic_filter, handler))
        if self.connected.is_set():
            self._client.subscribe(topic_filter, qos=self.options.subscribe_qos)

    def _send(self, message: Message) -> bool:
        info = self._client.publish(message.topic, message.payload, message.qos, message.retain)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            return False
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            reason = mqtt.error_string(info.rc)
            raise MqttConnectError(f"publish to {message.topic} failed: {reason}")
        self.counters["published"] += 1
        if message.qos > 0 and self.options.replay_window_s > 0:
            now = time.monotonic()
            self._recent.append((now, message))
            while self._recent[0][0] < now - self.options.replay_window_s:
                self._recent.popleft()
        with self._ack_lock:  # the PUBACK (QoS 0: the write) may already have come in
            if info.mid in self._early_acks:
                self._early_acks.discard(info.mid)
            else:
                (self._unacked if message.qos > 0 else self._unwritten).add(info.mid)
        return True

    def ack_state_size(self) -> int:
        """Message ids held for acknowledgement bookkeeping (bounded by what is in flight)."""
        with self._ack_lock:
            return len(self._unacked) + len(self._unwritten) + len(self._early_acks)

    def _drain_pending(self) -> None:
        with self._lock:
            while self._started and self._pending and self._send(self._pending[0]):
                self._pending.popleft()

    def _drain_loop(self) -> None:
        while not self._closing:
            self._acked.wait(0.2)
            self._acked.clear()
            if self._lost_at_s is not None and self.connected.is_set() and not self._closing:
                self._replay_recent()
            if self._announce_due and self.connected.is_set() and not self._closing:
                self._announce_again()
            if self._pending and not self._closing:
                self._drain_pending()

    def _replay_recent(self) -> None:
        """Send again what was sent in ``replay_window_s`` before the connection was lost
        (what was sent later waits in paho's queue and goes out on its own). A retained
        message is not sent again if a later one on its topic was sent or waits, nor an
        announced status (the latest is announced again): an old status must not follow a
        newer one."""
        with self._retained_lock, self._lock:
            lost_at_s, self._lost_at_s = self._lost_at_s, None
            if lost_at_s is None:
                return
            since_s = lost_at_s - self.options.replay_window_s
            sent = list(self._recent)
            last_retained = {m.topic: i for i, (_, m) in enumerate(sent) if m.retain}
            superseded = {m.topic for m in self._pending if m.retain} | set(self._births)
            again = [m for i, (t_s, m) in enumerate(sent) if since_s <= t_s <= lost_at_s
                     and not (m.retain and (m.topic in superseded
                                            or last_retained[m.topic] != i))]
            for message in again:
                self.publish(message)
            self.counters["replayed"] += len(again)

    def _announce_again(self) -> None:
        """After a reconnect: every announced message again (:meth:`announce`)."""
        self._announce_due = False
        with self._retained_lock:  # a newer status waits until these are handed on
            births = list(self._births.values())
            for message in births:
                self.publish(message)
        self.counters["announced"] += len(births)
        if births:
            log.info("mqtt reconnected: %d retained statuses announced again", len(births))

    # -- paho callbacks (network thread) ------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _userdata: object, flags: mqtt.ConnectFlags,
                    reason: ReasonCode, _props: Properties | None) -> None:
        if reason.is_failure:
            self._refused = reason
            self._attempted.set()
            log.info("mqtt connect refused: %s", reason)
            return
        self.counters["connects"] += 1
        self._connection += 1
        with self._ack_lock:  # QoS 0 not written on the lost connection never will be
            self._unwritten.clear()
        with self._subs_lock:
            filters = sorted({f for f, _ in self._subs})
        for topic_filter in filters:
            client.subscribe(topic_filter, qos=self.options.subscribe_qos)
        log.info("mqtt connected to %s:%s (session present: %s)", client.host, client.port,
                 flags.session_present)
        self.connected.set()
        self._attempted.set()
        if self.counters["connects"] > 1:  # a reconnect: the announced statuses again
            self._announce_due = True
            self._acked.set()  # wakes the drainer

    def _on_disconnect(self, _client: mqtt.Client, _userdata: object,
                       _flags: mqtt.DisconnectFlags, reason: ReasonCode,
                       _props: Properties | None) -> None:
        was_connected = self.connected.is_set()
        self.connected.clear()
        self._attempted.set()
        if was_connected:
            self.counters["disconnects"] += 1
            if self.options.replay_window_s > 0 and not self._closing:
                self._lost_at_s = time.monotonic()
            if not self._closing:
                log.warning("mqtt connection lost (%s); reconnecting", reason)

    def _on_publish(self, _client: mqtt.Client, _userdata: object, mid: int,
                    _reason: ReasonCode, _props: Properties) -> None:
        with self._ack_lock:
            if mid in self._unacked:
                self._unacked.discard(mid)
            elif mid in self._unwritten:
                self._unwritten.discard(mid)
            else:
                self._early_acks.add(mid)
            self.counters["acked"] += 1
        self._acked.set()

    def _on_message(self, _client: mqtt.Client, _userdata: object,
                    msg: mqtt.MQTTMessage) -> None:
        self.counters["received"] += 1
        message = ReceivedMessage(msg.topic, bytes(msg.payload), bool(msg.retain), int(msg.qos),
                                  mid=msg.mid, connection=self._connection)
        with self._subs_lock:
            handlers = [h for f, h in self._subs if topic_matches(f, msg.topic)]
        for handler in handlers:
            try:
                handler(message)
            except Exception:  # a consumer's bug must not kill paho's thread
                self.counters["handler_errors"] += 1
                log.exception("handler failed on %s", msg.topic)
