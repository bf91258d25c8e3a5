"""Whether fusion may count a tower's silence as the tower's fault: not while its own broker
link is down, nor for ``grace_s`` of wall time after the link comes back (the towers reconnect
on their own back-off, up to 10 s, and then send what they held meanwhile; until they do, their
silence is the outage's, not theirs). The first connection needs no grace.
"""

from __future__ import annotations


class LinkWatch:
    """Fed the link's state (connected now, connections made so far) and the wall clock."""

    def __init__(self, grace_s: float = 15.0) -> None:
        self.grace_s = grace_s
        self._connects = 0
        self._back_at_s: float | None = None

    def listening(self, connected: bool, connects: int, now_s: float) -> bool:
        """Whether silence counts now. A rise in ``connects`` after the first is a reconnect,
        even when the outage fell between two calls."""
        if connects > self._connects:
            if self._connects > 0:
                self._back_at_s = now_s
            self._connects = connects
        if self._connects == 0:
            return True  # never connected: nothing heard, nothing to hold
        if not connected:
            return False
        return self._back_at_s is None or now_s - self._back_at_s >= self.grace_s
