"""``SplitBus``: a fusion shard's two MQTT sessions, the towers' reports on one, the rest on
the other (``perimeter fusion --shard``, the scale tests, ``bench/bench_scale.py``).

By default (``tower_qos=0``) the towers' session subscribes at QoS 0, one subscription per
tower the shard is fed (:meth:`SplitBus.subscribe_towers`, again after a takeover adds some).
NATS delivers a QoS 1 report to a QoS 0 subscriber as a plain NATS message the moment the
broker takes it: no JetStream consumer, no unacknowledged limit, no redelivery, and only the
towers the shard is fed. Why (docs/scale.md, pitfall 6): under load NATS 2.9.10 left QoS 1
reports with a shard's JetStream consumer, delivered and never acknowledged, re-sent by
JetStream every ``ack_wait`` and never reaching the client (the consumers' state proves it,
``bench/bench_scale.py`` prints it), and a QoS 1 subscription per tower is refused past 65 in
a session (65,535 unacknowledged in all). The cost: what is published while the shard is
disconnected (its node's death, a restart) is lost to it rather than kept in its session;
fusion holds tower silence while the link is down and for 15 s after, and reports that late
were dropped as too late to fuse anyway.

``tower_qos=1``: the towers' wildcard at QoS 1, still in a session of its own: a session's
unacknowledged QoS 1 messages are capped at ``max_ack_pending`` over all its subscriptions, a
message past the cap waits ``ack_wait`` (30 s) to be sent again, and with the reports in the
same session as the probe, the statuses, the alerts and the handovers, a backlog of reports
made those wait (a probe unanswered for 3 s reads as a stalled broker, a status 12 s old as a
dead shard). Publishing, the last will and the probe use the control session.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from perimeter import topics
from perimeter.bus import Handler, Message
from services.mqtt import MqttBus, MqttOptions


class SplitBus:
    """Two :class:`MqttBus` clients as one bus: ``towers`` (client id ``{id}-towers``) takes
    the towers' reports, ``control`` everything else and every publish."""

    def __init__(self, options: MqttOptions, will: Message | None = None, *,
                 tower_qos: int = 0) -> None:
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

    def announce(self, message: Message) -> None:
        """On the control session (whose will it replaces), again after its reconnects."""
        self.control.announce(message)

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
