"""``SplitBus``: a fusion shard's two MQTT sessions, the towers' reports on one, the rest on
the other (``perimeter fusion --shard``, the scale tests, ``bench/bench_scale.py``).

Why two (docs/scale.md, pitfall 6): NATS' MQTT listener lets a *session* hold at most
``max_ack_pending`` unacknowledged QoS 1 messages over all its subscriptions, and a message
that arrives past that is not sent at all: it waits for JetStream to send it again after
``ack_wait`` (30 s). Each subscription's own JetStream consumer stops at ``max_ack_pending``
too. A shard acknowledges a message only once fused; with the towers' wildcard in the same
session as the probe, the statuses, the alerts and the handovers, a backlog of reports fills
the session and those messages wait 30 s (a probe unanswered for 3 s reads as a stalled
broker, a status 12 s old as a dead shard), and so do reports whenever the others hold a few.
Alone in its session, the towers' subscription is held back by its consumer before the session
limit is reached, so nothing waits for ``ack_wait``; the control session's few messages never
fill it. Publishing, the last will and the probe use the control session.

``tower_qos=0``: the towers' session subscribes with QoS 0, one subscription per tower fed
(:meth:`SplitBus.subscribe_towers`). NATS then delivers each report as a plain NATS message the
moment it is published, with no JetStream consumer, no unacknowledged limit and no
redelivery, and only the towers a shard is fed (a QoS 1 subscription per tower is refused past
65 per session). What is published while the shard is disconnected (its node's death, a
restart) is lost to it, where QoS 1 keeps it in the session: docs/scale.md weighs the two.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from perimeter import topics
from perimeter.bus import Handler, Message
from services.mqtt import MqttBus, MqttOptions


class SplitBus:
    """Two :class:`MqttBus` clients as one bus: ``towers`` (client id ``{id}-towers``) takes
    the towers' wildcard, ``control`` everything else and every publish."""

    def __init__(self, options: MqttOptions, will: Message | None = None, *,
                 tower_qos: int = 1) -> None:
        self.control = MqttBus(options, will=will)
        self.towers = MqttBus(replace(options, client_id=f"{options.client_id}-towers",
                                      subscribe_qos=tower_qos))
        self.tower_qos = tower_qos
        self._subscribed: set[str] = set()  # tower ids (QoS 0), or the wildcard (QoS 1)

    @property
    def options(self) -> MqttOptions:
        return self.control.options

    @property
    def connected(self) -> threading.Event:
        """Set only while both sessions are connected (the one that is not, else control's)."""
        return self.towers.connected if not self.towers.connected.is_set() \
            else self.control.connected

    @property
    def counters(self) -> dict[str, int]:
        """Both clients' counters added up (``connects`` counts either's reconnection)."""
        out = dict(self.control.counters)
        for key, value in self.towers.counters.items():
            out[key] = out.get(key, 0) + value
        return out

    def _bus_for(self, topic: str) -> MqttBus:
        return self.towers if topics.parse_tower_topic(topic) is not None else self.control

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        bus = self.towers if topic_filter == topics.TOWER_WILDCARD else self.control
        bus.subscribe(topic_filter, handler)

    def subscribe_towers(self, tower_ids: frozenset[str], handler: Handler) -> None:
        """Receive the reports of ``tower_ids`` (more may come): with QoS 1 the towers'
        wildcard once, with QoS 0 a subscription for each tower not yet subscribed."""
        if self.tower_qos > 0:
            wanted = {topics.TOWER_WILDCARD}
        else:
            wanted = {f"{topics.PREFIX}/towers/{tower_id}/+" for tower_id in tower_ids}
        for topic_filter in sorted(wanted - self._subscribed):
            self.towers.subscribe(topic_filter, handler)
        self._subscribed |= wanted

    def publish(self, message: Message) -> None:
        self.control.publish(message)

    def ack(self, message: Message) -> None:
        self._bus_for(message.topic).ack(message)

    def start(self, timeout_s: float = 30.0) -> None:
        self.control.start(timeout_s)
        self.towers.start(timeout_s)

    def flush(self, timeout_s: float = 5.0) -> bool:
        return self.control.flush(timeout_s)

    def close(self, timeout_s: float = 5.0) -> None:
        self.towers.close(1.0)
        self.control.close(timeout_s)

    def abort(self) -> None:
        """Both sockets closed without DISCONNECT (control's will fires)."""
        self.towers.abort()
        self.control.abort()
