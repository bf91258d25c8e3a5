"""Gate and threshold: SNR thresholds, duplicate and stale reports, and the reorder buffer.

Reports are held for ``reorder_lag_s`` of data time (default 0.1 s: the towers' clocks differ
by milliseconds, so a frame's reports do not share one ``t_s``) and released in ``t_s`` order.
A report older than what has been released (network reordering, or store and forward after a
link outage) is marked ``late`` and fused by the engine's out-of-sequence path, as long as it
is at most ``max_late_s`` old; older ones are rejected as stale.

Reports that share a ``t_s`` (a common frame grid, a tower's thermal and acoustic reports) are
fused in the order :func:`tie_key` gives them, not in the order they arrived: consecutive
reports of one time wait in a :class:`SameTimeHold` until a report of another time comes.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from perimeter.fusion.scan import Scan
from perimeter.thresholds import Thresholds


@dataclass(frozen=True, slots=True)
class GateConfig:
    reorder_lag_s: float = 0.1
    """Data time a report waits for older ones (docs/fusion.md "Late reports and the reorder
    hold"): with none, nine in ten of a frame's reports were late on the honest streams."""
    max_late_s: float = 120.0
    max_future_s: float = 300.0
    seq_memory: int = 4096


class GateRejectedError(ValueError):
    """A report refused by the gate; ``reason`` is the counter name."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DuplicateFilter:
    """Remembers recent ``(seq, t_s)`` per ``(tower, sensor)``; repeats are duplicates.

    Memory is bounded by count (``memory`` per sensor) and by time: a report more than
    ``horizon_s`` older than that sensor's newest is forgotten (the gate rejects such a
    report as stale before it gets here)."""

    def __init__(self, memory: int, horizon_s: float = np.inf) -> None:
        self._memory = memory
        self._horizon_s = horizon_s
        self._seen: dict[tuple[str, str], OrderedDict[int, float]] = {}
        self._newest: dict[tuple[str, str], float] = {}

    def check(self, tower_id: str, sensor: str, seq: int, t_s: float) -> bool:
        """True (and remembered) for a new report, False for a duplicate."""
        key = (tower_id, sensor)
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = OrderedDict()
        elif seen.get(seq) == t_s:
            return False
        seen[seq] = t_s
        newest = self._newest.get(key, t_s)
        if t_s > newest:
            newest = t_s
        self._newest[key] = newest
        if len(seen) > self._memory:
            seen.popitem(last=False)
        oldest = newest - self._horizon_s
        while seen and next(iter(seen.values())) < oldest:
            seen.popitem(last=False)
        return True

    def __len__(self) -> int:
        """Reports remembered, over every sensor."""
        return sum(len(seen) for seen in self._seen.values())


def apply_snr_threshold(scan: Scan, thresholds: Thresholds) -> Scan:
    """Keep only detections at or above the sensor's SNR threshold."""
    if scan.size == 0:
        return scan
    keep = scan.snr_db >= thresholds.min_snr_db(scan.sensor)
    return scan if bool(np.all(keep)) else scan.select(keep)


def tie_key(scan: Scan) -> tuple[float, str, str, int]:
    """The order scans are fused in: by time, and reports of one time by tower, sensor and
    sequence number (never by arrival, which the network decides)."""
    return (scan.t_s, scan.tower_id, scan.sensor, scan.seq)


class SameTimeHold:
    """Scans arriving one after another with one ``t_s``, held until a scan of another time
    comes and then released in :func:`tie_key` order, so that their fused result does not
    depend on the order they arrived in. Each scan thus waits for the next scan of another
    time (on a common frame grid, the next frame's first report)."""

    def __init__(self) -> None:
        self._held: list[Scan] = []

    def push(self, scan: Scan) -> list[Scan]:
        """Hold ``scan``; the scans held before it, in order, when its time is another."""
        out = self.release() if self._held and self._held[0].t_s != scan.t_s else []
        self._held.append(scan)
        return out

    def release(self, before_s: float = math.inf) -> list[Scan]:
        """The held scans, in order, if their time is before ``before_s`` (all by default)."""
        if not self._held or not self._held[0].t_s < before_s:
            return []
        out = sorted(self._held, key=tie_key)
        self._held = []
        return out

    def __len__(self) -> int:
        return len(self._held)


class ReorderBuffer:
    """Holds scans for a bounded lag of data time and releases them in :func:`tie_key`
    order."""

    def __init__(self, config: GateConfig) -> None:
        self.config = config
        self.clock_s: float | None = None
        self.released_s: float = -np.inf
        self._heap: list[tuple[tuple[float, str, str, int], int, Scan]] = []
        self._order = itertools.count()

    def admit(self, t_s: float) -> None:
        """Check a report time against the clock; raises :class:`GateRejectedError`."""
        if self.clock_s is not None:
            if t_s > self.clock_s + self.config.max_future_s:
                raise GateRejectedError("future_t_s")
            if t_s < self.clock_s - self.config.max_late_s:
                raise GateRejectedError("stale")

    def advance(self, t_s: float) -> None:
        """Move data time forward (never back)."""
        if self.clock_s is None or t_s > self.clock_s:
            self.clock_s = t_s

    def push(self, scan: Scan) -> Scan | None:
        """Buffer a scan; a scan older than what was released comes back marked late."""
        if scan.t_s < self.released_s:
            scan.late = True
            return scan
        heapq.heappush(self._heap, (tie_key(scan), next(self._order), scan))
        return None

    def release(self, *, flush: bool = False) -> list[Scan]:
        """Scans whose time is at least the lag behind the clock (all when ``flush``)."""
        if self.clock_s is None:
            return []
        horizon = np.inf if flush else self.clock_s - self.config.reorder_lag_s
        out = []
        while self._heap and self._heap[0][0][0] <= horizon:
            scan = heapq.heappop(self._heap)[2]
            self.released_s = max(self.released_s, scan.t_s)
            out.append(scan)
        return out

    def __len__(self) -> int:
        return len(self._heap)
