"""Manage: track numbering, M-of-N confirmation, deletion (coasting, score, lost range)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from perimeter.fusion.duplicates import DuplicateConfig, find_duplicates
from perimeter.fusion.track import Track
from perimeter.fusion.triangulate import Seed
from perimeter.thresholds import Thresholds

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ManageConfig:
    tentative_coast_s: float = 6.0
    max_sigma_m: float = 4000.0
    duplicates: DuplicateConfig = field(default_factory=DuplicateConfig)
    confirm_llr: float = 8.0
    confirm_velocity_sigma_mps: float = 1.5
    triangulation_window_s: float = 10.0
    """A track counts as triangulated while two thermal imagers saw it within this window."""
    untriangulated_s: float = 30.0
    """A (multi-tower) track seen by fewer than two imagers for this long is dropped: its range
    is no longer observed (typically a ghost fed by one tower's bearings of another object)."""
    delete_tentative_llr: float = -6.0
    delete_confirmed_llr: float = -20.0


def m_of_n(hit_bins: list[int] | tuple[int, ...], now_bin: int, m: int, n: int) -> bool:
    """True when at least ``m`` of the last ``n`` one-second bins (to ``now_bin``) had hits."""
    return sum(1 for b in hit_bins if now_bin - n < b <= now_bin) >= m


class TrackManager:
    """Owns the live tracks; numbers them and decides their status."""

    def __init__(self, config: ManageConfig | None = None, first_number: int = 1) -> None:
        self.config = config or ManageConfig()
        self.tracks: list[Track] = []
        self._next = first_number

    def create(self, seed: Seed) -> Track:
        track = Track(number=self._next, x=seed.x.copy(), p=seed.p.copy(), t_s=seed.t_s,
                      first_t_s=seed.first_t_s, home_tower=seed.home_tower,
                      last_update_t_s=seed.t_s)
        self._next += 1
        for scan, _ in seed.detections:
            track.record_hit(scan.t_s, scan.tower_index, scan.sensor, counts=False)
        self.tracks.append(track)
        return track

    def confirmations(self, t_s: float, thresholds: Thresholds) -> list[Track]:
        """Tentative tracks that now meet M-of-N, seen by two thermal imagers: mark confirmed.

        Also needed: a track score of ``confirm_llr`` and a velocity known to
        ``confirm_velocity_sigma_mps`` (an object whose motion is not yet observed cannot be
        classified). Acoustic bearings (2-10 degrees) update tracks but cannot confirm one
        alone: their wide gates let them support ghosts.
        """
        now_bin = math.floor(t_s)
        out = []
        for track in self.tracks:
            if (track.status == "tentative" and track.home_tower is None
                    and track.recent_thermal_towers(t_s, self.config.triangulation_window_s) >= 2
                    and track.llr >= self.config.confirm_llr
                    and track.velocity_sigma_mps <= self.config.confirm_velocity_sigma_mps
                    and m_of_n(list(track.hit_bins), now_bin, thresholds.track_confirm_m,
                               thresholds.track_confirm_n)):
                track.status = "confirmed"
                track.confirmed_t_s = t_s
                out.append(track)
        return out

    def expire(self, t_s: float, thresholds: Thresholds) -> list[Track]:
        """Remove tracks that coasted too long or whose uncertainty exploded."""
        cfg = self.config
        dead = []
        for track in self.tracks:
            coast = thresholds.track_max_coast_s
            if track.status == "tentative":
                coast = min(coast, max(cfg.tentative_coast_s, float(thresholds.track_confirm_n)))
            big = max(float(track.p[0, 0]), float(track.p[1, 1])) > cfg.max_sigma_m**2
            broken = not (np.all(np.isfinite(track.x)) and np.all(np.isfinite(track.p))
                          and float(track.p[0, 0]) > 0.0 and float(track.p[1, 1]) > 0.0)
            floor = (cfg.delete_tentative_llr if track.status == "tentative"
                     else cfg.delete_confirmed_llr)
            lost_range = (track.home_tower is None
                          and t_s - track.first_t_s > cfg.untriangulated_s
                          and track.recent_thermal_towers(t_s, cfg.untriangulated_s) < 2)
            if (t_s - track.last_update_t_s > coast or (big and track.home_tower is None)
                    or track.llr < floor or lost_range or broken):
                track.deleted = True
                dead.append(track)
        if dead:
            self.tracks = [t for t in self.tracks if not t.deleted]
        return dead

    def merge_duplicates(self, t_s: float, towers_xy: FloatArray) -> list[Track]:
        """Drop tracks that duplicate or shadow another (see :mod:`.duplicates`)."""
        dropped = find_duplicates([t for t in self.tracks if t.home_tower is None], t_s,
                                  towers_xy, self.config.duplicates)
        for track in dropped:
            track.deleted = True
        if dropped:
            self.tracks = [t for t in self.tracks if not t.deleted]
        return dropped
