"""What the API knows of each tower from the bus: retained status, and per sensor the last report,
its rate and the losses and repeats seen from ``seq``. Thread-safe (paho calls from its thread)."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

from perimeter.contract import SensorKind, SensorReport, TowerStatus

RATE_WINDOW = 32
"""Reports per sensor over which the report rate is measured (in data time)."""

SEQ_RESTART_GAP = 1000
"""A ``seq`` this far below the highest seen means the tower restarted its counter."""

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
    last_t_s: float | None = None
    last_received_unix_s: float | None = None
    missing: set[int] = field(default_factory=set)
    times_s: deque[float] = field(default_factory=lambda: deque(maxlen=RATE_WINDOW))

    def add(self, seq: int, t_s: float, received_unix_s: float) -> None:
        """Count one report: a gap in ``seq`` is loss until the missing report arrives late;
        a ``seq`` seen before is a duplicate."""
        self.reports += 1
        self.last_received_unix_s = received_unix_s
        if self.highest_seq >= 0 and seq < self.highest_seq - SEQ_RESTART_GAP:
            self.restarts += 1
            self.highest_seq = seq - 1
            self.missing.clear()
            self.times_s.clear()
        if seq > self.highest_seq:
            if self.highest_seq >= 0:
                gap = seq - self.highest_seq - 1
                self.lost += gap
                if gap <= SEQ_RESTART_GAP and len(self.missing) + gap <= MAX_MISSING:
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
            "seq_restarts": self.restarts,
        }


@dataclass(slots=True)
class TowerSeen:
    status: TowerStatus | None = None
    feeds: dict[SensorKind, SensorFeed] = field(default_factory=dict)


class TowersMonitor:
    """Towers by id: the retained status and each sensor's feed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._towers: dict[str, TowerSeen] = {}

    def on_status(self, status: TowerStatus) -> None:
        with self._lock:
            self._towers.setdefault(status.tower_id, TowerSeen()).status = status

    def on_report(self, report: SensorReport, received_unix_s: float | None = None) -> None:
        now_s = time.time() if received_unix_s is None else received_unix_s
        with self._lock:
            seen = self._towers.setdefault(report.tower_id, TowerSeen())
            feed = seen.feeds.setdefault(report.sensor, SensorFeed())
            feed.add(report.seq, report.t_s, now_s)

    def newest_report_t_s(self) -> float | None:
        """The newest report time over all towers (data time), or None before any report."""
        with self._lock:
            times = [f.last_t_s for t in self._towers.values() for f in t.feeds.values()
                     if f.last_t_s is not None]
        return max(times) if times else None

    def snapshot(self) -> dict[str, tuple[TowerStatus | None, dict[str, dict[str, object]]]]:
        """Each tower's status and its feeds' views, copied under the lock."""
        with self._lock:
            return {tid: (t.status, {k: f.view() for k, f in t.feeds.items()})
                    for tid, t in self._towers.items()}
