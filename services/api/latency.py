"""Alert latency on the wall clock: from the first report the API saw at or after an alert
event's data time to the event's arrival.

Fusion raises an alert on the report that completes it, so the event's ``t_s`` is that report's
time; the difference of *data* times between the newest report and the event is 0 by design (it
was what ``perimeter_alert_latency_seconds`` measured, and summed to 0). The real delay is wall
time: report published → fused → stored → event published → received here.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque

ARRIVALS_KEPT = 8192
"""Data-time advances remembered (a few minutes of reports at 12 towers)."""


class ReportArrivals:
    """When (wall clock, monotonic s) data time first reached each newest report time."""

    def __init__(self, kept: int = ARRIVALS_KEPT) -> None:
        self._t_s: deque[float] = deque(maxlen=kept)
        self._wall_s: deque[float] = deque(maxlen=kept)
        self._lock = threading.Lock()

    def seen(self, t_s: float, wall_s: float) -> None:
        """A report of data time ``t_s`` arrived at ``wall_s`` (only new highs are kept)."""
        with self._lock:
            if not self._t_s or t_s > self._t_s[-1]:
                self._t_s.append(t_s)
                self._wall_s.append(wall_s)

    def latency_s(self, event_t_s: float, wall_s: float) -> float | None:
        """Wall time from the first report at or after ``event_t_s`` to ``wall_s``; None when
        no such report is remembered (older than the window, or data time fusion estimated
        without a report)."""
        with self._lock:
            if not self._t_s or event_t_s < self._t_s[0]:
                return None
            i = bisect.bisect_left(self._t_s, event_t_s)
            if i == len(self._t_s):
                return None
            return max(0.0, wall_s - self._wall_s[i])
