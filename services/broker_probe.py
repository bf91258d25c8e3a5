"""Is the broker moving QoS 1 messages? A probe a service sends to itself, once a second.

A clustered broker can stall while every client stays connected: when a NATS node dies, the
JetStream streams that carry every QoS 1 message elect new leaders, and for 5-10 s nothing is
delivered (docs/scale.md). Fusion must not read that as the towers' silence (nor a shard's
status going stale as the shard's death). :class:`BrokerProbe` publishes a QoS 1 message on
a topic of its own and watches it come back: :meth:`stalled` while the oldest unanswered probe
is older than ``stall_after_s``; :attr:`stalls` counts the stalls that ended, so a
:class:`~perimeter.link_watch.LinkWatch` fed ``connects + stalls`` grants its grace after one.
The probe topic (``perimeter/v1/probe/{client}``) is the service's own, not the contract's.
"""

from __future__ import annotations

import threading
import time

from perimeter import topics
from perimeter.bus import Bus, Message

PROBE_PREFIX = f"{topics.PREFIX}/probe"
MAX_UNANSWERED = 60
"""Probes outstanding at most (no more are sent until one comes back)."""


class BrokerProbe:
    """Round trips of a QoS 1 probe through the broker; all times wall seconds (monotonic)."""

    def __init__(self, bus: Bus, client: str, *, interval_s: float = 1.0,
                 stall_after_s: float = 3.0) -> None:
        self.bus, self.topic = bus, f"{PROBE_PREFIX}/{client}"
        self.interval_s, self.stall_after_s = interval_s, stall_after_s
        self.stalls = 0
        self._lock = threading.Lock()
        self._sent: dict[int, float] = {}  # probe number -> when sent, until it comes back
        self._next = 0
        self._last_sent_s = -float("inf")
        self._was_stalled = False

    def start(self) -> None:
        """Subscribe to the probe's own topic (before the bus starts)."""
        self.bus.subscribe(self.topic, self._echo)

    def tick(self, now_s: float | None = None) -> None:
        """Send the next probe if ``interval_s`` has passed since the last one."""
        now_s = time.monotonic() if now_s is None else now_s
        if now_s - self._last_sent_s < self.interval_s:
            return
        with self._lock:
            if len(self._sent) >= MAX_UNANSWERED:  # a broker gone a while: the oldest tells
                return
            number, self._next = self._next, self._next + 1
            self._sent[number] = now_s
        self._last_sent_s = now_s
        self.bus.publish(Message(self.topic, str(number).encode(), qos=1))

    def _echo(self, message: Message) -> None:
        try:
            number = int(message.payload)
        except ValueError:
            return
        with self._lock:
            for sent in [n for n in self._sent if n <= number]:
                del self._sent[sent]

    def stalled(self, now_s: float | None = None) -> bool:
        """Whether a probe sent more than ``stall_after_s`` ago is still unanswered."""
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            oldest = min(self._sent.values(), default=now_s)
        stalled = now_s - oldest > self.stall_after_s
        if self._was_stalled and not stalled:
            self.stalls += 1
        self._was_stalled = stalled
        return stalled
