"""Manage: track numbering, M-of-N confirmation, deletion after coasting, duplicate merging."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from perimeter.fusion.track import Track
from perimeter.fusion.triangulate import Seed
from perimeter.thresholds import Thresholds


@dataclass(frozen=True, slots=True)
class ManageConfig:
    tentative_coast_s: float = 6.0
    max_sigma_m: float = 4000.0
    merge_distance_m: float = 60.0
    merge_d2: float = 13.28  # chi-square 4 dof, 99 %
    confirm_llr: float = 8.0
    confirm_velocity_sigma_mps: float = 1.5
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
                    and len(track.thermal_towers) >= 2 and track.llr >= self.config.confirm_llr
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
            big = float(np.sqrt(max(track.p[0, 0], track.p[1, 1]))) > cfg.max_sigma_m
            floor = (cfg.delete_tentative_llr if track.status == "tentative"
                     else cfg.delete_confirmed_llr)
            if (t_s - track.last_update_t_s > coast or (big and track.home_tower is None)
                    or track.llr < floor):
                track.deleted = True
                dead.append(track)
        if dead:
            self.tracks = [t for t in self.tracks if not t.deleted]
        return dead

    def merge_duplicates(self) -> list[Track]:
        """Drop the weaker of two tracks that follow the same object."""
        cfg = self.config
        live = [t for t in self.tracks if t.home_tower is None]
        if len(live) < 2:
            return []
        xy = np.stack([t.x[:2] for t in live])
        diff = xy[:, None, :] - xy[None, :, :]
        close = np.einsum("ijk,ijk->ij", diff, diff) <= cfg.merge_distance_m**2
        dropped: list[Track] = []
        for i, j in zip(*np.nonzero(np.triu(close, k=1)), strict=True):
            a, b = live[int(i)], live[int(j)]
            if a.deleted or b.deleted or not _same_state(a, b, cfg.merge_d2):
                continue
            loser = _weaker(a, b)
            loser.deleted = True
            dropped.append(loser)
        if dropped:
            self.tracks = [t for t in self.tracks if not t.deleted]
        return dropped


def _same_state(a: Track, b: Track, gate_d2: float) -> bool:
    """Whether two tracks' states (position and velocity) agree within their uncertainty."""
    d = a.x - b.x
    cov = a.p + b.p + np.diag([25.0, 25.0, 0.04, 0.04])
    try:
        return float(d @ np.linalg.solve(cov, d)) <= gate_d2
    except np.linalg.LinAlgError:
        return False


def _weaker(a: Track, b: Track) -> Track:
    """The track to drop: keep the one with an alert, else the confirmed, else the older."""
    if (a.alert_id is None) != (b.alert_id is None):
        return a if a.alert_id is None else b
    if (a.status == "confirmed") != (b.status == "confirmed"):
        return a if a.status != "confirmed" else b
    return b if a.number < b.number else a
