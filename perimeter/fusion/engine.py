"""The tracker: one scan at a time through predict → associate → update → initiate → manage.

Each scan is one tower sensor's report (bearings from one known position), so every track
gets at most one scalar bearing update per scan. Track quality is a log-likelihood ratio
(detection likelihood against the tower sensor's clutter density, misses penalised), turned
into the track's existence probability.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from perimeter.fusion import ekf, evidence, imm, jpda
from perimeter.fusion.associate import (
    Assignment,
    ambiguous_tracks,
    assign,
    gate_d2,
    kept_from_initiation,
)
from perimeter.fusion.classify import refresh_class
from perimeter.fusion.clutter import ClutterMap
from perimeter.fusion.clutter_teach import ClutterTeacher
from perimeter.fusion.consider import ConsiderBiases
from perimeter.fusion.engine_config import DEFAULT_IFOV_RAD, EngineConfig
from perimeter.fusion.fast_vehicle import hear, score_late_vehicles
from perimeter.fusion.late import LateScans, mark_ambiguous
from perimeter.fusion.late_score import charge_misses, hit_gain, score_late
from perimeter.fusion.looks import Looks, in_frame
from perimeter.fusion.manage import TrackManager, per_look
from perimeter.fusion.scan import Scan
from perimeter.fusion.second_tower import retriangulate
from perimeter.fusion.track import Track
from perimeter.fusion.triangulate import Initiator, Seed
from perimeter.terrain import Dem
from perimeter.thresholds import Thresholds

__all__ = ["EngineConfig", "FusionEngine", "StepResult"]

FloatArray = npt.NDArray[np.float64]


_NOTHING = Assignment(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
                      np.zeros(0, dtype=bool))


@dataclass(slots=True)
class StepResult:
    confirmed: list[Track] = field(default_factory=list)
    deleted: list[Track] = field(default_factory=list)


class FusionEngine:
    """Composes the stages; owns the live tracks (via its :class:`TrackManager`)."""

    def __init__(self, towers_xy: FloatArray, thresholds: Thresholds,
                 config: EngineConfig | None = None, *, first_track_number: int = 1,
                 thermal_ifov_rad: FloatArray | None = None,
                 tower_height_m: FloatArray | None = None, dem: Dem | None = None) -> None:
        self.config = config or EngineConfig()
        self.towers_xy = np.asarray(towers_xy, dtype=np.float64)
        self.thermal_ifov_rad = (np.full(len(self.towers_xy), DEFAULT_IFOV_RAD)
                                 if thermal_ifov_rad is None else thermal_ifov_rad)
        self.tower_height_m = (np.full(len(self.towers_xy), 15.0)
                               if tower_height_m is None else tower_height_m)
        self._ifov = [float(v) for v in self.thermal_ifov_rad]
        self._height = [float(v) for v in self.tower_height_m]
        self.dem = dem
        """The site's relief: heights from elevation angles are taken over the ground under
        the track, not over flat ground at the tower's foot."""
        self.thresholds = thresholds
        self.initiator = Initiator(self.config.initiator)
        self.manager = TrackManager(self.config.manage, first_track_number)
        self.clutter_map = ClutterMap(self.config.clutter, self.config.fov_rad)
        self.teacher = ClutterTeacher(self.clutter_map, self.config)
        """What of each scan teaches the clutter map (:mod:`.clutter_teach`)."""
        self.imm = None if self.config.imm is None else imm.ImmTracker(self.config.imm)
        """The motion estimator: None for one constant velocity per track (:mod:`.ekf`)."""
        self.late = LateScans(self._initiate, self.config.seeds_beside)
        """The out-of-sequence path (:mod:`.late`)."""
        self.looks = Looks()
        self.initiator.revisit_source = self.looks.longest_learned_revisit_s
        """Each imager's revisit (:mod:`.looks`), learned when the revisit-aware score or the
        revisit-spanning initiator runs."""
        cfg = self.config  # the settings that read the revisit (fixed): learn it only for them
        self._per_look = per_look(cfg.manage)
        """Hits and misses scored per look (:mod:`.late_score`)."""
        self._hear = cfg.manage.fast_vehicle.enabled
        """Acoustic hints counted per tower, late reports scored for tracks with vehicle
        evidence (:mod:`.fast_vehicle`)."""
        self._observe_looks = self._per_look or cfg.manage.bias_allowance or \
            cfg.initiator.revisit.enabled or self._hear
        self.bias_sigma_rad: Callable[[int], float] | None = None
        """A tower's unapplied registration sigma (the runner's registration), read when
        ``manage.bias_allowance``."""
        self.consider_sigma_rad: Callable[[int], tuple[float, float]] | None = None
        """Tower ``k``'s residual bias sigma and the part of it already in its bearings'
        sigmas (the runner's registration), read when ``consider_bias``."""
        self.consider = ConsiderBiases(len(self.towers_xy)) if self.config.consider_bias \
            else None
        self._near_of: list[Track] = []
        self._near_xy = np.zeros((0, 2))
        self._near_until_s = -math.inf
        self._near_by_tower: dict[int, list[Track]] = {}

    @property
    def tracks(self) -> list[Track]:
        return self.manager.tracks

    @property
    def late_unassigned(self) -> int:
        """Detections of late scans too old to start tracks that no track explained."""
        return self.late.unassigned

    def step(self, scan: Scan) -> None:
        """Fuse one scan (in time order unless ``scan.late``); see :meth:`maintain`."""
        cfg = self.config.manage
        if scan.sensor == "thermal" and self._observe_looks:
            self.looks.observe((scan.tower_index, scan.sensor), scan.t_s,
                               scan.bearing_rad.tolist())
        if cfg.revisit_aware or cfg.bias_allowance:
            allow = self.bias_sigma_rad
            scan = in_frame(scan, self.late.newest_s,
                            cfg.same_frame_s if cfg.revisit_aware else -1.0,
                            allow(scan.tower_index) if cfg.bias_allowance and allow else 0.0)
        if scan.late:
            fused = self.late.fuse(scan, self.manager.tracks, self._qs,
                                   self.thresholds.association_gate_probability,
                                   self.config.late_initiation_s)
            if cfg.late_scored:
                score_late(scan, fused, self.manager.tracks, self.clutter_map, self.looks,
                           self.config.llr_max, self.config.miss_window_s)
            elif self._hear:
                score_late_vehicles(scan, fused, self.manager.tracks, self.clutter_map,
                                    self.looks, self.config.llr_max, self.config.miss_window_s,
                                    cfg.fast_vehicle, self.config.classes)
            if cfg.late_ambiguity and fused is not None:
                mark_ambiguous(fused, scan.t_s)
            if cfg.late_clutter:  # its detections but those of moving confirmed tracks
                self.teacher.learn(scan, fused.tracks if fused else [],
                                   fused.found if fused else _NOTHING)
            return
        self.late.newest_s = max(self.late.newest_s, scan.t_s)
        tracks = self._near(scan)
        lam = self.clutter_map.observe_mean((scan.tower_index, scan.sensor), scan.size)
        if scan.size == 0 or not tracks:
            self._penalise_misses(tracks, _NOTHING, scan)
            self.teacher.learn(scan, tracks, _NOTHING)
            if scan.size:
                self._initiate(scan, np.arange(scan.size))
            return
        x, p = self._predicted(tracks, scan.t_s)
        if scan.sensor == "acoustic":
            nu, s, h = self._heard(tracks, x, p, scan)
        else:
            nu, s, h = ekf.innovation(x, p, scan.tower_xy, scan.bearing_rad, scan.sigma_rad**2)
        found = assign(nu, s, gate_d2(self.thresholds.association_gate_probability))
        gated = found.gated
        assert gated is not None
        rivals = gated.sum(axis=0)
        soft = self._soft(tracks, x, p, h, nu, s, gated, scan, lam)
        self._update(tracks, x, p, h, nu, s, found, scan, lam, rivals, soft)
        if found.tracks.size:
            for t_idx in ambiguous_tracks(found, rivals).tolist():
                tracks[t_idx].evidence.ambiguous_t_s = scan.t_s
        for t_idx, (xs, ps) in soft.items():  # gated, not assigned: a share of the report
            track = tracks[t_idx]
            track.state.x, track.state.p, track.state.t_s = xs, ps, scan.t_s
            track.state.history.append(scan.t_s, xs, ps, self._q(track))  # origin smoothing
            track.evidence.ambiguous_t_s = scan.t_s
        self._penalise_misses(tracks, found, scan)
        self.teacher.learn(scan, tracks, found)
        self._initiate(scan, np.flatnonzero(~self._explained(tracks, found, rivals,
                                                             scan.sensor)))

    def _explained(self, tracks: list[Track], found: Assignment,
                   rivals: npt.NDArray[np.int64], scan_sensor: str) -> npt.NDArray[np.bool_]:
        """The detections kept from the initiator: those assigned, and those a multi-tower
        track gates, or (``seed_beside_tracks``) only those a multi-tower track that took
        none of this report's detections gates. One object makes at most one detection per
        report, so a bearing whose every gating track took another is another object's."""
        multi = np.array([t.home_tower is None for t in tracks], dtype=bool)
        if self.config.seeds_beside(scan_sensor):
            multi[found.tracks] = False  # tracks that took a bearing of this report
        elif multi.all():
            return rivals > 0  # every track counts; an assigned detection is gated
        return kept_from_initiation(found, multi)

    def _near(self, scan: Scan) -> list[Track]:
        """The live tracks within :attr:`EngineConfig.relevance_range_m` of the scan's tower.

        Positions are sampled once a second of data time (and whenever tracks come or go), so
        1 km is added to the range for the distance a track can move meanwhile.
        """
        tracks = self.manager.tracks
        if (tracks is not self._near_of or len(tracks) != len(self._near_xy)
                or scan.t_s >= self._near_until_s):
            self._near_of, self._near_until_s = tracks, scan.t_s + 1.0
            self._near_xy = np.array([t.state.x for t in tracks]).reshape(-1, 4)[:, :2]
            self._near_by_tower.clear()
            # every tower against every track at once (each tower reports within the second)
            d = self._near_xy[None, :, :] - self.towers_xy[:, None, :]
            reach2 = (self.config.relevance_range_m + 1000.0)**2
            self._near_rows = (np.einsum("tni,tni->tn", d, d) <= reach2).tolist()
        cached = self._near_by_tower.get(scan.tower_index)
        if cached is None:
            near = self._near_rows[scan.tower_index]
            cached = tracks if all(near) else [t for t, ok in zip(tracks, near, strict=True) if ok]
            self._near_by_tower[scan.tower_index] = cached
        return cached

    def maintain(self, t_s: float) -> StepResult:
        """Confirm and delete tracks at data time ``t_s`` (run at housekeeping cadence)."""
        result = StepResult()
        self.manager.revisit_s = self.looks.longest_revisit_s()
        result.confirmed = self.manager.confirmations(t_s, self.thresholds)
        result.deleted = self.manager.expire(t_s, self.thresholds)
        if self.consider is not None:
            self.consider.prune(self.manager.tracks)
        self.teacher.refresh_movers(self.manager.tracks, t_s)
        return result

    def _heard(self, tracks: list[Track], x: FloatArray, p: FloatArray,
               scan: Scan) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Innovations of an acoustic scan against the tracks' *retarded* states.

        The sound heard at ``t_s`` left the source ``r / c`` earlier, so its bearing points
        to where the object was then (docs/sensors.md): each track is predicted back by its
        own travel time ``tau = r / c`` (process noise of the gap added) and the present state
        is updated through ``H F(-tau)``, as for an out-of-sequence report. The shift is at
        most ``v / c`` radians (1 degree at 6 m/s), small beside acoustic bearing errors but
        a bias, not noise.
        """
        tau = np.hypot(x[:, 0] - scan.tower_xy[0], x[:, 1] - scan.tower_xy[1])
        tau /= self.config.sound_speed_mps
        q = np.array(self._qs(tracks))
        xb, pb = ekf.predict(x, p, -tau, q)
        nu, s, h = ekf.innovation(xb, pb, scan.tower_xy, scan.bearing_rad, scan.sigma_rad**2)
        h_eff = np.einsum("ni,nij->nj", h, ekf.transition(-tau))
        return nu, s, h_eff

    def _initiate(self, scan: Scan, indices: npt.NDArray[np.int64]) -> None:
        for seed in self.initiator.offer(scan, indices):
            self._start(seed)

    # -- stages -------------------------------------------------------------------------
    def _q(self, track: Track) -> float:
        return self._qs([track])[0]

    _prediction_cache: ekf.PredictionCache | None = None
    _near_rows: list[list[bool]]

    def _predicted(self, tracks: list[Track], t_s: float) -> tuple[FloatArray, FloatArray]:
        """Tracks predicted to ``t_s`` (shared arrays: read only), reused within a frame."""
        if not tracks:
            return np.zeros((0, 4)), np.zeros((0, 4, 4))
        if self.imm is not None:
            return self.imm.predicted([t.state for t in tracks], t_s)
        cache = self._prediction_cache
        if cache is None or cache.t_s != t_s:
            cache = self._prediction_cache = ekf.PredictionCache(t_s)
            everyone = self.manager.tracks
            if len(everyone) > len(tracks):  # the frame's other towers will need the rest
                cache.predict([t.state for t in everyone], self._qs(everyone))
        return cache.predict([t.state for t in tracks], self._qs(tracks))

    def _qs(self, tracks: list[Track]) -> list[float]:
        """Each track's process noise: its class's, once the class is fairly sure (one
        comprehension: it runs for every track per scan)."""
        by_class = self.config.q_by_class
        unknown = by_class["unknown"]
        return [unknown if t.evidence.label_probability < 0.6
                else by_class.get(t.evidence.label, unknown) for t in tracks]

    def _soft(self, tracks: list[Track], x: FloatArray, p: FloatArray, h: FloatArray,
              nu: FloatArray, s: FloatArray, gated: npt.NDArray[np.bool_], scan: Scan,
              lam: float) -> dict[int, tuple[FloatArray, FloatArray]]:
        """JPDA states of the tracks in ambiguous clusters (:mod:`.jpda`), when enabled."""
        if not self.config.jpda.enabled:
            return {}
        key = (scan.tower_index, scan.sensor)
        return jpda.soft_updates(
            x, p, h, nu, s, gated, scan.sigma_rad**2,
            lambda idx: np.array([jpda.detection_rate(tracks[i].score.looks.get(key))
                                  for i in idx.tolist()]),
            lambda: np.array(self.clutter_map.densities(key, scan.bearing_rad, lam, scan.t_s)),
            self.config.jpda)

    def _update(self, tracks: list[Track], x: FloatArray, p: FloatArray, h: FloatArray,
                nu: FloatArray, s: FloatArray, found: Assignment, scan: Scan,
                lam: float, rivals: npt.NDArray[np.int64],
                soft: dict[int, tuple[FloatArray, FloatArray]]) -> None:
        if found.tracks.size == 0:
            return
        ti, di = found.tracks, found.detections
        if ti.size == 1:  # the usual case: views of the pair's rows instead of copies
            t, d = int(ti[0]), int(di[0])
            xs, ps, hs = x[t:t + 1], p[t:t + 1], h[t:t + 1]
            nu_td, s_td, sigma = nu[t, d:d + 1], s[t, d:d + 1], scan.sigma_rad[d:d + 1]
        else:
            xs, ps, hs = x[ti], p[ti], h[ti]
            nu_td, s_td, sigma = nu[ti, di], s[ti, di], scan.sigma_rad[di]
        if self.imm is None and scan.sensor == "acoustic":
            # the gain of the S the gate and score use (with the travel gap's process noise)
            xn, pn = ekf.update_with_gain(xs, ps, hs, nu_td, s_td)
        elif self.imm is None and self.consider is not None and self.consider_sigma_rad:
            xn, pn = self.consider.update_many(
                [tracks[i].number for i in ti.tolist()], scan.t_s, xs, ps, hs, nu_td, sigma,
                scan.tower_index, *self.consider_sigma_rad(scan.tower_index))
        elif self.imm is None:
            xn, pn = ekf.update(xs, ps, hs, nu_td, sigma**2)
        else:  # the modes' own innovations (acoustic: of the state the sound left)
            back = (np.hypot(xs[:, 0] - scan.tower_xy[0], xs[:, 1] - scan.tower_xy[1])
                    / self.config.sound_speed_mps if scan.sensor == "acoustic" else None)
            xn, pn = self.imm.update([tracks[i].state for i in ti.tolist()], scan.tower_xy,
                                     scan.bearing_rad[di], sigma**2, back)
        key = (scan.tower_index, scan.sensor)
        # the clutter density at each bearing: the map's where it knows a hot spot
        lams = self.clutter_map.densities(key, scan.bearing_rad[di], lam, scan.t_s)
        if self._per_look:  # densities per report; a look is 1/revisit
            lams = [v * self.looks.frames(key) for v in lams]
        unique = (rivals[di] == 1).tolist()
        pairs = zip(ti.tolist(), di.tolist(), nu_td.tolist(), s_td.tolist(), strict=True)
        for k, (t_idx, d_idx, nu_k, s_k) in enumerate(pairs):
            track = tracks[t_idx]
            gain = hit_gain(lams[k], nu_k, s_k, track.score.look_hit(key))  # log(Pd N / λ)
            if (track.home_tower is not None and track.home_tower != scan.tower_index
                    and retriangulate(track, self.towers_xy[track.home_tower], x[t_idx],
                                      p[t_idx], scan, d_idx, self.config.initiator)):
                soft.pop(t_idx, None)
                self._after_update(track, scan, d_idx, 0.0, unique=False)
                continue
            track.state.x, track.state.p = soft.pop(t_idx, (xn[k], pn[k]))
            track.state.t_s = scan.t_s
            self._after_update(track, scan, d_idx, gain, unique=unique[k])
            if unique[k]:
                track.evidence.record_fix(scan.t_s, scan.tower_index, nu_k**2 / s_k)

    def _after_update(self, track: Track, scan: Scan, d: int, gain: float, *,
                      unique: bool) -> None:
        """Bookkeeping after an update; features only from detections no other track gates."""
        track.score.add_llr(gain, self.config.llr_max)
        track.state.history.append(scan.t_s, track.state.x, track.state.p, self._q(track))
        track.record_hit(scan.t_s, scan.tower_index, scan.sensor)
        track.evidence.sigma_by[(scan.tower_index, scan.sensor)] = float(scan.sigma_rad[d])
        if self._hear and scan.sensor == "acoustic":
            hear(track.evidence, scan.tower_index, int(scan.kind_hint[d]), unique=unique,
                 config=self.config.manage.fast_vehicle)
        if not unique:
            return
        tx, ty = scan.tower_xy.tolist()
        x0, y0 = track.state.x[:2].tolist()
        rng = float(np.hypot(x0 - tx, y0 - ty))
        if scan.sensor == "thermal":
            i = scan.tower_index
            eye_m = self._height[i] if self.dem is None else self.dem.eye_above_m(
                (tx, ty), self._height[i], x0, y0)
            slope = 0.0 if self.dem is None else evidence.ground_slope(self.dem, x0, y0)
            evidence.add_thermal(track, scan, d, rng, self._ifov[i], eye_m, slope)
        else:
            evidence.add_acoustic(track, scan, d, rng)

    def _penalise_misses(self, tracks: list[Track], found: Assignment, scan: Scan) -> None:
        """Score the tracks this tower sensor saw within ``miss_window_s`` but not now
        (revisit-aware: only when the report was a look at them, :meth:`.Looks.looked`)."""
        hit = set(found.tracks.tolist()) if found.tracks.size else ()
        charge_misses(tracks, hit, scan, self.config.miss_window_s,
                      self.looks if self._per_look else None)

    def _start(self, seed: Seed) -> None:
        track = self.manager.create(seed)
        track.score.llr = self.config.llr_init + 2.0 * (len(set(seed.towers)) - 2)
        track.state.history.append(track.state.t_s, track.state.x, track.state.p, self._q(track))

    def merge(self, t_s: float) -> list[Track]:
        """Drop duplicate and shadow tracks (run at housekeeping cadence)."""
        return self.manager.merge_duplicates(t_s, self.towers_xy)

    def reclassify(self, t_s: float) -> None:
        """Refresh the class probabilities of every track that changed, at data time ``t_s``."""
        model = self.config.classes
        for track in self.manager.tracks:
            refresh_class(track, t_s, model)
