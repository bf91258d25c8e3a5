"""A client that hears its own last will while it is up announces its status again.

A clustered broker can publish the will of a client's old session *after* the status
(birth) the client sent on reconnecting (docs/scale.md, "A broker node killed", (c)): the
retained status then says ``offline`` while the client runs, and everyone who subscribes
later is told so. :class:`WillWatch` subscribes its bus to the will's topic and, when a
message there is this client's will, byte for byte, while the bus is connected and its
latest announced status is not the will (the client did not say goodbye itself), has the
bus send its announced status again (:meth:`MqttBus.announce_soon`: retained, the birth's
QoS, from the drainer thread). Counted as ``will_corrected`` in the bus's counters.

Guards against fighting another writer forever:
- only the exact will payload is corrected: any other ``offline`` (an operator's, with a
  time or a detail) stands;
- a copy delivered on subscribing (retain flag set) is not corrected: the bus subscribes
  first on every connection and announces after, so that copy predates the announcement;
- at most ``max_corrections`` within any ``window_s`` (3 per 60 s); wills heard beyond
  that are counted as ``will_held`` and left standing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from perimeter.bus import Message
from services.mqtt import MqttBus

log = logging.getLogger(__name__)

MAX_CORRECTIONS = 3
WINDOW_S = 60.0


class WillWatch:
    """Watches ``bus``'s own will topic; call :meth:`watch` before ``bus.start()`` so the
    subscription precedes the first announcement."""

    def __init__(self, bus: MqttBus, *, max_corrections: int = MAX_CORRECTIONS,
                 window_s: float = WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if bus.will is None or not bus.will.retain:
            raise ValueError("WillWatch needs a bus with a retained last will")
        self.bus, self.will = bus, bus.will
        self.max_corrections, self.window_s, self._clock = max_corrections, window_s, clock
        self._recent_s: deque[float] = deque()
        self._lock = threading.Lock()
        bus.counters.setdefault("will_corrected", 0)
        bus.counters.setdefault("will_held", 0)

    def watch(self) -> None:
        """Subscribe to the will's topic (again on every reconnect, as every subscription)."""
        self.bus.subscribe(self.will.topic, self.on_status)

    def on_status(self, message: Message) -> None:
        """On paho's thread: correct a live copy of this client's own will."""
        if message.retain or message.payload != self.will.payload:
            return
        latest = self.bus.announced(self.will.topic)
        if latest is None or latest.payload == self.will.payload:
            return  # nothing announced yet, or the client itself said offline
        with self._lock:
            now_s = self._clock()
            while self._recent_s and self._recent_s[0] <= now_s - self.window_s:
                self._recent_s.popleft()
            if len(self._recent_s) >= self.max_corrections:
                self.bus.counters["will_held"] += 1
                log.warning("%s: own will heard again; %d corrections in %g s already, "
                            "left standing", self.will.topic, len(self._recent_s),
                            self.window_s)
                return
            if not self.bus.announce_soon():
                return
            self._recent_s.append(now_s)
            self.bus.counters["will_corrected"] += 1
        log.warning("%s: own will heard while connected; status announced again",
                    self.will.topic)
