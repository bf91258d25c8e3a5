"""What the API knows of each site tower from the bus: retained status, and per sensor the last
report, its rate and the losses and repeats seen from ``seq`` (:class:`SensorFeed`). Towers not
of the site are counted, never stored, so fake tower ids cannot grow the API's memory.
Thread-safe (paho calls from its thread)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from perimeter.contract import SensorKind, SensorReport, TowerStatus
from perimeter.seq_feed import SensorFeed


@dataclass(slots=True)
class TowerSeen:
    status: TowerStatus | None = None
    feeds: dict[SensorKind, SensorFeed] = field(default_factory=dict)


class TowersMonitor:
    """The site's towers by id: the retained status and each sensor's feed."""

    def __init__(self, tower_ids: Iterable[str]) -> None:
        self._lock = threading.Lock()
        self._towers: dict[str, TowerSeen] = {tid: TowerSeen() for tid in tower_ids}

    def on_status(self, status: TowerStatus) -> bool:
        """Keep a site tower's status; False (nothing kept) for another tower."""
        with self._lock:
            seen = self._towers.get(status.tower_id)
            if seen is None:
                return False
            seen.status = status
            return True

    def on_report(self, report: SensorReport, received_unix_s: float | None = None) -> bool:
        """Count a site tower's report in its feed; False for another tower."""
        now_s = time.time() if received_unix_s is None else received_unix_s
        with self._lock:
            seen = self._towers.get(report.tower_id)
            if seen is None:
                return False
            feed = seen.feeds.setdefault(report.sensor, SensorFeed())
            feed.add(report.seq, report.t_s, now_s)
            return True

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
