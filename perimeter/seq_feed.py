"""One sensor's report stream as seen by ``seq`` and ``t_s``: reports, losses, late reports,
repeats, counter restarts and jumps, with every count bounded.

A forward gap of up to :data:`MAX_GAP` reports is loss (until a missing report arrives late);
a larger one is a *jump* (counted as such, not as loss) and the feed resynchronises on it, so one
spoofed report with a huge ``seq`` cannot leave a huge loss count. A ``seq`` more than
:data:`MAX_GAP` below the highest seen is a counter restart (also what follows a spoofed jump:
the genuine stream carries on below it).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

RATE_WINDOW = 32
"""Reports per sensor over which the report rate is measured (in data time)."""

MAX_GAP = 1000
"""The largest gap in ``seq`` counted as loss (500 s of thermal frames at 2 Hz)."""

MAX_MISSING = 4096
"""Gaps remembered per sensor, so that a late report is not counted as a duplicate."""


@dataclass(slots=True)
class SensorFeed:
    """One sensor's report stream as seen by ``seq`` and ``t_s``."""

    reports: int = 0
    highest_seq: int = -1
    lost: int = 0
    late: int = 0
    duplicates: int = 0
    restarts: int = 0
    jumps: int = 0
    last_t_s: float | None = None
    last_received_unix_s: float | None = None
    missing: set[int] = field(default_factory=set)
    times_s: deque[float] = field(default_factory=lambda: deque(maxlen=RATE_WINDOW))

    def add(self, seq: int, t_s: float, received_unix_s: float) -> None:
        """Count one report: a gap in ``seq`` is loss until the missing report arrives late;
        a ``seq`` seen before is a duplicate."""
        self.reports += 1
        self.last_received_unix_s = received_unix_s
        if self.highest_seq >= 0 and seq < self.highest_seq - MAX_GAP:
            self.restarts += 1
            self._resync(seq)
        elif self.highest_seq >= 0 and seq > self.highest_seq + 1 + MAX_GAP:
            self.jumps += 1
            self._resync(seq)
        if seq > self.highest_seq:
            if self.highest_seq >= 0:
                gap = seq - self.highest_seq - 1
                self.lost += gap
                if len(self.missing) + gap <= MAX_MISSING:
                    self.missing.update(range(self.highest_seq + 1, seq))
            self.highest_seq = seq
            self.last_t_s = t_s if self.last_t_s is None else max(self.last_t_s, t_s)
            self.times_s.append(t_s)
        elif seq in self.missing:
            self.missing.discard(seq)
            self.lost -= 1
            self.late += 1
        else:
            self.duplicates += 1

    def _resync(self, seq: int) -> None:
        self.highest_seq = seq - 1
        self.missing.clear()
        self.times_s.clear()

    def rate_hz(self) -> float | None:
        """Reports per second of data time over the last :data:`RATE_WINDOW` reports."""
        if len(self.times_s) < 2:
            return None
        span_s = self.times_s[-1] - self.times_s[0]
        return (len(self.times_s) - 1) / span_s if span_s > 0 else None

    def view(self) -> dict[str, object]:
        expected = self.reports - self.duplicates + self.lost
        return {
            "last_report_t_s": self.last_t_s, "last_seq": self.highest_seq,
            "last_received_unix_s": self.last_received_unix_s, "reports": self.reports,
            "rate_hz": self.rate_hz(), "lost": self.lost, "late": self.late,
            "duplicates": self.duplicates,
            "loss_ratio": self.lost / expected if expected > 0 else 0.0,
            "seq_restarts": self.restarts, "seq_jumps": self.jumps,
        }
