"""The tracker: one scan at a time through predict → associate → update → initiate → manage.

Each scan is one tower sensor's report (bearings from one known position), so every track
gets at most one scalar bearing update per scan. Track quality is a log-likelihood ratio
(detection likelihood against the tower sensor's clutter density, misses penalised), turned
into the track's existence probability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from perimeter.fusion import ekf
from perimeter.fusion.associate import Assignment, assign, gate_d2
from perimeter.fusion.classify import ClassModel, classify, label
from perimeter.fusion.manage import ManageConfig, TrackManager
from perimeter.fusion.scan import Scan
from perimeter.fusion.track import Track
from perimeter.fusion.triangulate import Initiator, InitiatorConfig, Seed
from perimeter.geometry import crossing_angle_rad, fisher_information, intersect_pairs
from perimeter.thresholds import Thresholds

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class EngineConfig:
    initiator: InitiatorConfig = field(default_factory=InitiatorConfig)
    manage: ManageConfig = field(default_factory=ManageConfig)
    classes: ClassModel = field(default_factory=ClassModel)
    pd: dict[str, float] = field(default_factory=lambda: {"thermal": 0.8, "acoustic": 0.4})
    q_by_class: dict[str, float] = field(default_factory=lambda: {
        "person": 0.05, "group": 0.05, "animal": 0.05, "vehicle": 1.0, "unknown": 0.3})
    llr_init: float = -4.0
    llr_max: float = 40.0
    miss_window_s: float = 5.0
    fov_rad: float = math.pi
    thermal_ifov_rad: float = 17e-6 / 0.150


@dataclass(slots=True)
class StepResult:
    confirmed: list[Track] = field(default_factory=list)
    deleted: list[Track] = field(default_factory=list)


class FusionEngine:
    """Composes the stages; owns the live tracks (via its :class:`TrackManager`)."""

    def __init__(self, towers_xy: FloatArray, thresholds: Thresholds,
                 config: EngineConfig | None = None, *, first_track_number: int = 1) -> None:
        self.config = config or EngineConfig()
        self.towers_xy = np.asarray(towers_xy, dtype=np.float64)
        self.thresholds = thresholds
        self.initiator = Initiator(self.config.initiator)
        self.manager = TrackManager(self.config.manage, first_track_number)
        self._clutter: dict[tuple[int, str], float] = {}
        self.late_unassigned = 0

    @property
    def tracks(self) -> list[Track]:
        return self.manager.tracks

    def step(self, scan: Scan) -> StepResult:
        """Fuse one scan (in time order unless ``scan.late``)."""
        if scan.late:
            self._late(scan)
            return StepResult()
        tracks = self.manager.tracks
        lam = self._observe_clutter(scan)
        x, p = self._predicted(tracks, scan.t_s)
        nu, s, h = ekf.innovation(x, p, scan.tower_xy, scan.bearing_rad, scan.sigma_rad**2)
        gate = gate_d2(self.thresholds.association_gate_probability)
        found = assign(nu, s, gate)
        self._update(tracks, x, p, h, nu, s, found, scan, lam)
        self._penalise_misses(tracks, found, scan)
        multi = np.array([t.home_tower is None for t in tracks], dtype=bool)
        near = (nu * nu / s <= gate)[multi].any(axis=0) if multi.any() else np.zeros(scan.size,
                                                                                     dtype=bool)
        near[found.detections] = True
        for seed in self.initiator.offer(scan, np.flatnonzero(~near)):
            self._start(seed)
        return self._maintain(scan.t_s)

    # -- stages -------------------------------------------------------------------------
    def _q(self, track: Track) -> float:
        if track.label_probability < 0.6:
            return self.config.q_by_class["unknown"]
        return self.config.q_by_class.get(track.label, self.config.q_by_class["unknown"])

    def _predicted(self, tracks: list[Track], t_s: float) -> tuple[FloatArray, FloatArray]:
        if not tracks:
            return np.zeros((0, 4)), np.zeros((0, 4, 4))
        x = np.stack([t.x for t in tracks])
        p = np.stack([t.p for t in tracks])
        dt = np.array([t_s - t.t_s for t in tracks])
        q = np.array([self._q(t) for t in tracks])
        return ekf.predict(x, p, dt, q)

    def _observe_clutter(self, scan: Scan) -> float:
        key = (scan.tower_index, scan.sensor)
        ema = self._clutter.get(key, float(scan.size))
        ema = 0.95 * ema + 0.05 * scan.size
        self._clutter[key] = ema
        return max(ema, 0.05) / self.config.fov_rad

    def _update(self, tracks: list[Track], x: FloatArray, p: FloatArray, h: FloatArray,
                nu: FloatArray, s: FloatArray, found: Assignment, scan: Scan,
                lam: float) -> None:
        if found.tracks.size == 0:
            return
        ti, di = found.tracks, found.detections
        r = scan.sigma_rad[di] ** 2
        xn, pn = ekf.update(x[ti], p[ti], h[ti], nu[ti, di], r)
        pd = self.config.pd.get(scan.sensor, 0.5)
        s_td, nu_td = s[ti, di], nu[ti, di]
        gains = (math.log(pd / lam) - 0.5 * nu_td**2 / s_td
                 - 0.5 * np.log(2 * math.pi * s_td))
        for k, (t_idx, d_idx) in enumerate(zip(ti.tolist(), di.tolist(), strict=True)):
            track = tracks[t_idx]
            if (track.home_tower is not None and track.home_tower != scan.tower_index
                    and self._upgrade(track, x[t_idx], p[t_idx], scan, d_idx)):
                self._after_update(track, scan, d_idx, 0.0)
                continue
            track.x, track.p, track.t_s = xn[k], pn[k], scan.t_s
            self._after_update(track, scan, d_idx, float(gains[k]))

    def _after_update(self, track: Track, scan: Scan, d: int, gain: float) -> None:
        track.llr = min(track.llr + gain, self.config.llr_max)
        track.history.append(scan.t_s, track.x, track.p, self._q(track))
        track.record_hit(scan.t_s, scan.tower_index, scan.sensor)
        rng = float(np.hypot(*(track.x[:2] - scan.tower_xy)))
        feats = track.features
        if scan.sensor == "thermal":
            feats.thermal_hits += 1
            if not math.isnan(scan.size_px[d]) and scan.size_px[d] > 0:
                feats.size_m_sum += float(scan.size_px[d]) * rng * self.config.thermal_ifov_rad
                feats.size_n += 1
            if not math.isnan(scan.contrast_k[d]):
                feats.contrast_k_sum += float(scan.contrast_k[d])
                feats.contrast_n += 1
        else:
            feats.acoustic_hits += 1
            if scan.kind_hint[d] >= 0:
                feats.hint_counts[scan.kind_hint[d]] += 1
            if not math.isnan(scan.level_db[d]):
                feats.source_db_sum += float(scan.level_db[d]) + 20 * math.log10(max(rng, 1.0))
                feats.source_n += 1

    def _upgrade(self, track: Track, x: FloatArray, p: FloatArray, scan: Scan, d: int) -> bool:
        """A second tower sees a single-tower track: re-triangulate it (range now observable)."""
        home = self.towers_xy[track.home_tower]
        b_home = math.atan2(x[0] - home[0], x[1] - home[1])
        b_new = float(scan.bearing_rad[d])
        if crossing_angle_rad(b_home, b_new) < math.radians(self.config.initiator.min_crossing_deg):
            return False
        xy, r0, r1 = intersect_pairs(home, np.array(b_home), scan.tower_xy, np.array(b_new))
        if not (r0 > self.config.initiator.min_range_m and r1 > self.config.initiator.min_range_m):
            return False
        rng = float(np.hypot(*(x[:2] - home)))
        s_home = math.sqrt(max(float(p[0, 0] + p[1, 1]) - 0.0, 0.0)) / max(rng, 1.0)
        s_home = min(max(s_home, float(scan.sigma_rad[d])), 0.05)
        info = fisher_information(np.vstack([home, scan.tower_xy]), xy,
                                  np.array([s_home, float(scan.sigma_rad[d])]))
        v = self.config.initiator.velocity_sigma_mps
        track.x = np.array([xy[0], xy[1], 0.0, 0.0])
        track.p = np.zeros((4, 4))
        track.p[:2, :2] = np.linalg.inv(info) * 2.0
        track.p[2, 2] = track.p[3, 3] = v * v
        track.t_s = scan.t_s
        track.home_tower = None
        track.history.reset()
        return True

    def _penalise_misses(self, tracks: list[Track], found: Assignment, scan: Scan) -> None:
        hit = set(found.tracks.tolist())
        miss = math.log(1.0 - self.config.pd.get(scan.sensor, 0.5))
        key = (scan.tower_index, scan.sensor)
        for i, track in enumerate(tracks):
            last = track.last_seen_by.get(key)
            if i not in hit and last is not None and scan.t_s - last <= self.config.miss_window_s:
                track.llr += miss

    def _start(self, seed: Seed) -> None:
        track = self.manager.create(seed)
        track.llr = self.config.llr_init + 2.0 * (len(set(seed.towers)) - 2)
        track.history.append(track.t_s, track.x, track.p, self._q(track))

    def _maintain(self, t_s: float) -> StepResult:
        result = StepResult()
        result.confirmed = self.manager.confirmations(t_s, self.thresholds)
        result.deleted = self.manager.expire(t_s, self.thresholds)
        return result

    def merge(self) -> list[Track]:
        """Drop duplicate tracks of one object (run at housekeeping cadence)."""
        return self.manager.merge_duplicates()

    def reclassify(self) -> None:
        """Refresh every track's class probabilities."""
        for track in self.manager.tracks:
            track.probabilities = classify(track, self.config.classes)
            track.label, track.label_probability = label(track.probabilities)

    def _late(self, scan: Scan) -> None:
        """Out-of-sequence scan: retrodict each track to the scan time and update the present."""
        tracks = self.manager.tracks
        if not tracks or scan.size == 0:
            return
        x = np.stack([t.x for t in tracks])
        p = np.stack([t.p for t in tracks])
        dt = np.array([scan.t_s - t.t_s for t in tracks])
        q = np.array([self._q(t) for t in tracks])
        xb, pb = ekf.predict(x, p, dt, q)
        nu, s, h = ekf.innovation(xb, pb, scan.tower_xy, scan.bearing_rad, scan.sigma_rad**2)
        found = assign(nu, s, gate_d2(self.thresholds.association_gate_probability))
        self.late_unassigned += scan.size - int(found.tracks.size)
        if found.tracks.size == 0:
            return
        ti, di = found.tracks, found.detections
        h_eff = np.einsum("ni,nij->nj", h[ti], ekf.transition(dt[ti]))
        xn, pn = ekf.update_with_gain(x[ti], p[ti], h_eff, nu[ti, di], s[ti, di])
        for k, t_idx in enumerate(ti.tolist()):
            track = tracks[t_idx]
            track.x, track.p = xn[k], pn[k]
            track.record_hit(scan.t_s, scan.tower_index, scan.sensor)
