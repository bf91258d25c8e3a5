"""Registration: each tower's azimuth bias and clock offset, estimated online.

Batch alignment by maximum likelihood with the targets' trajectories profiled out (the
bearing-only registration of "Multisensor-Multitarget Bearing-Only Sensor Registration",
arXiv 1603.03450, recursively accumulated with fading memory). A *snapshot* is one confirmed,
well-located track's bearings over up to ``window_s`` (scanning heads look at a point every
5.5 s) from at least ``min_towers`` towers' imagers, two agreeing bearings each; its position
and velocity are profiled out (``registration_fit``), what is left is information on ``(b,
d)``, summed with exponential forgetting (``memory_s``) and a zero-mean prior. A snapshot
whose residual fails a chi-square test against the current estimate is left out (clutter, a
wrong pairing, a tower that just moved), the rest are Cauchy-weighted.

A rotation common to all towers is weakly observable from targets alone (for a target far
beyond the towers' baseline it barely moves the crossing of the lines of sight): the
zero-mean prior holds it, and a bias counts as known (applied, checked for jumps) on its sigma
against the others' (``relative_sigma_rad``), which is also what its correction adds to the
bearings' sigma.

A knocked mast is found from *leave-one-out* residuals (``registration_jumps.py``): its bias
is flagged as jumped, its old information dropped and a ``tower_fault`` alert (``fault:
bias_jump``) raised until it has re-converged.

Hot spots several towers see are registered on as well (``landmarks.py``): their positions
profiled out, their information on the biases is added to the snapshots' at every solve, and
a tower's shift against them acquires an unregistered tower and flags a knocked mast.

Bearings are paired with tracks into snapshots by ``registration_snapshots.py``, with its own
wide gate about the current estimate, not the tracker's.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

from perimeter.contract import AlertEvent, TowerRegistration
from perimeter.fusion.clutter import ClutterMap, ClutterMapConfig
from perimeter.fusion.landmark_shift import ShiftWatch
from perimeter.fusion.landmarks import LandmarkConfig, Landmarks
from perimeter.fusion.registration_fit import RegistrationConfig, Snapshot, fit_consistent
from perimeter.fusion.registration_jumps import BiasJumps
from perimeter.fusion.registration_snapshots import SnapshotCollector
from perimeter.fusion.scan import Scan
from perimeter.fusion.track import Track

__all__ = ["Registration", "RegistrationConfig"]

FloatArray = npt.NDArray[np.float64]


@lru_cache(maxsize=64)
def _chi2_quantile(probability: float, dof: int) -> float:
    return float(chi2.ppf(probability, dof))


class Registration:
    """Online estimates of every tower's azimuth bias and clock offset."""

    def __init__(self, towers_xy: FloatArray, tower_ids: Sequence[str],
                 config: RegistrationConfig | None = None,
                 next_alert_id: Callable[[], str] | None = None,
                 landmark_config: LandmarkConfig | None = None,
                 clutter_config: ClutterMapConfig | None = None) -> None:
        self.config = config or RegistrationConfig()
        self.towers_xy = np.asarray(towers_xy, dtype=np.float64)
        self.tower_ids = list(tower_ids)
        n = len(self.tower_ids)
        self._n = n
        self._info = np.zeros((2 * n, 2 * n))
        self._y = np.zeros(2 * n)
        c = self.config
        self._prior = np.concatenate([np.full(n, math.radians(c.bias_prior_deg)) ** -2,
                                      np.full(n, c.clock_prior_s) ** -2])
        self.theta = np.zeros(2 * n)
        self.cov = np.diag(1.0 / self._prior)
        self.applied_bias_rad = np.zeros(n)
        self.applied_clock_s = np.zeros(n)
        self.relative_sigma_rad = np.full(n, math.radians(c.bias_prior_deg))
        """Each bias's sigma against the mean of the registered towers' (common rotation
        left out): added to the bearings' sigma once applied."""
        self.snapshots = np.zeros(n, dtype=np.int64)
        self.rejected = 0
        self._ratios: deque[float] = deque(maxlen=501)
        self._variance_factor = 1.0
        self._solved_t_s: float | None = None
        self._faded_t_s: float | None = None
        self._collector = SnapshotCollector(self.towers_xy, self.config)
        self._jumps = BiasJumps(self.towers_xy, self.tower_ids, self.config, next_alert_id)
        self.landmarks = Landmarks(self.towers_xy, landmark_config, c.landmark_search_s)
        self._watch = ShiftWatch(n, search_rad=math.radians(3.0 * c.bias_prior_deg),
                                 tol_rad=math.radians(self.landmarks.config.gate_deg),
                                 min_jump_rad=math.radians(c.min_jump_deg),
                                 false_alarm=c.shift_false_alarms_per_hour
                                 * c.landmark_every_s / 3600.0)
        self._hot = ClutterMap(replace(clutter_config or ClutterMapConfig(), enabled=True,
                                       sensors=("thermal",)))
        """A clutter map of every thermal scan's raw bearings (the engine's learns from
        in-sequence scans only, and on corrected bearings): where peaks may start. Its cells,
        window and fading are the engine's (``clutter_config``); it is on whether or not the
        engine's is (the landmarks have their own switch)."""
        self._info_l = np.zeros((n, n))
        self._y_l = np.zeros(n)
        self.landmark_counts = np.zeros(n, dtype=np.int64)
        self.anchored = np.zeros(n, dtype=bool)
        """Towers whose one landmark counts as enough (``Landmarks.anchored``)."""
        self._landmark_t_s: float | None = None
        self._search_t_s: float | None = None

    # -- correction -------------------------------------------------------------------
    def correct(self, scan: Scan) -> Scan:
        """The scan with the applied bias taken off its bearings and offset off its time."""
        k = scan.tower_index
        b, d = float(self.applied_bias_rad[k]), float(self.applied_clock_s[k])
        if b == 0.0 and d == 0.0:
            return scan
        if b != 0.0 and scan.size:
            scan.bearing_rad = (scan.bearing_rad - b) % (2.0 * math.pi)
            scan.sigma_rad = np.hypot(scan.sigma_rad, float(self.relative_sigma_rad[k]))
        scan.t_s -= d
        scan.bias_rad, scan.clock_s = b, d
        return scan

    def unapplied_sigma_rad(self, k: int) -> float:
        """The bias error tower ``k``'s corrected bearings still carry and :meth:`correct`
        does not add to their sigma: 0 once its bias is applied (the relative sigma is added
        then); otherwise the root mean square of the bias about zero, its estimate and
        relative sigma (the prior's, ``bias_prior_deg``, while nothing is known)."""
        if self.applied_bias_rad[k] != 0.0:
            return 0.0
        return math.hypot(float(self.theta[k]), float(self.relative_sigma_rad[k]))

    @property
    def variance_factor(self) -> float:
        """How much larger the snapshots' residuals are than their reported sigmas say (the
        median of each post-fit chi-square over its median, at least 1; the median, as a
        few wrong pairings pass the gate): every sigma is scaled by it."""
        return self._variance_factor

    # -- observation ------------------------------------------------------------------
    def refresh(self, tracks: Sequence[Track], t_s: float) -> None:
        """Pick the tracks that may make snapshots now (run at housekeeping cadence)."""
        for group in self._collector.refresh(tracks, t_s):
            self._add_snapshot(group)

    def observe(self, scan: Scan) -> None:
        """Pair a (corrected) thermal scan's detections with candidate tracks, and add them
        to the hot-spot peaks (landmarks). Its raw bearings and time are rebuilt with the
        correction it was given (``scan.bias_rad``, ``scan.clock_s``), not the estimate in
        force now: a scan waits in the reorder buffer while a solve may change it."""
        if scan.sensor != "thermal" or scan.size == 0:
            return
        k = scan.tower_index
        t_raw = scan.t_s + scan.clock_s
        if self.landmarks.config.enabled:
            raw = (scan.bearing_rad + scan.bias_rad) % (2.0 * math.pi)
            self._hot.learn((k, "thermal"), raw, np.ones(scan.size, dtype=bool), t_raw)
            values = raw.tolist()
            self.landmarks.observe(k, values, self._hot.counts_at((k, "thermal"), values, t_raw),
                                   t_raw)
        if not self._collector.has_candidates:
            return  # late scans too: towers' clocks a few ms apart make most scans late
        z_raw = (scan.bearing_rad + scan.bias_rad).tolist()
        for group in self._collector.pair(k, t_raw, z_raw, scan.sigma_rad,
                                          float(self.theta[k])):
            self._add_snapshot(group)

    def _add_snapshot(self, group: Snapshot) -> None:
        """Profile out the snapshot's trajectory; add what is left to the information."""
        c = self.config
        b = group.bearings
        towers = np.array([x.tower for x in b])
        sigma = np.array([x.sigma_rad for x in b])
        outlier = np.maximum(c.outlier_sigmas * sigma * math.sqrt(self.variance_factor),
                             math.radians(c.min_outlier_deg))
        fit = fit_consistent(self.towers_xy, self._n, towers, np.array([x.t_s for x in b]),
                             np.array([x.z_rad for x in b]), sigma, group.t_s, group.x,
                             self.theta, c.velocity_span_s, outlier, c.min_towers, c.min_dof)
        if fit is None:
            self.rejected += 1
            return
        idx, cmat = fit.idx, fit.cmat
        e = fit.r - cmat @ self.theta[idx]
        # leave-one-out evidence counts once the snapshot's other towers are known (an
        # unsettled neighbour shifts it: a false jump at 135 s of the knocked-mast test)
        ready = math.radians(c.jump_ready_deg)
        for k, res, sig in fit.leave_one_out(e):
            others = fit.idx[:len(fit.idx) // 2]
            if all(self.relative_sigma_rad[j] <= ready for j in others.tolist() if j != k):
                self._jumps.add_evidence(k, res + float(self.theta[k]), sig, group.t_s,
                                        group.track)
        # the residual against the current estimate, with its uncertainty, profiled
        cov = (np.diag(1.0 / fit.w)
               + cmat @ self.cov[np.ix_(idx, idx)] @ cmat.T * self.variance_factor)
        if fit.projected(e, cov) > _chi2_quantile(c.gate_probability, fit.dof):
            self.rejected += 1
            return
        ratio = fit.post_fit(e) / _chi2_quantile(0.5, fit.dof)
        self._ratios.append(ratio)
        if len(self._ratios) >= 20:
            self._variance_factor = max(1.0, float(np.median(self._ratios)))
        # Cauchy weight (robust M-estimation): a snapshot far from the current estimate
        # counts less, so a wrong pairing that passed the gate barely moves it, while a
        # true bias still draws the estimate its way until its snapshots fit
        weight = 1.0 / (1.0 + ratio / (c.cauchy_scale ** 2 * self.variance_factor))
        reduced = fit.reduced() * weight
        self._info[np.ix_(idx, idx)] += cmat.T @ reduced @ cmat
        self._y[idx] += cmat.T @ reduced @ fit.r
        self.snapshots[idx[:len(idx) // 2]] += 1

    # -- estimation -------------------------------------------------------------------
    def maintain(self, t_s: float, tracks: Sequence[Track]) -> list[AlertEvent]:
        """Solve (every ``solve_every_s``), flag jumps, pick candidates; alert events due."""
        c = self.config
        events: list[AlertEvent] = []
        if self._solved_t_s is None or t_s - self._solved_t_s >= c.solve_every_s:
            if self._faded_t_s is not None:
                fade = math.exp(-max(t_s - self._faded_t_s, 0.0) / c.memory_s)
                self._info *= fade
                self._y *= fade
            self._faded_t_s = self._solved_t_s = t_s
            if self._landmark_t_s is None or t_s - self._landmark_t_s >= c.landmark_every_s:
                events += self._update_landmarks(t_s)
            self._solve()
            events += self._check_jumps(t_s)
        self.refresh(tracks, t_s)
        return events

    def _update_landmarks(self, t_s: float) -> list[AlertEvent]:
        """Check each tower's shift against the landmarks (acquisition, a knocked mast),
        re-associate the landmarks (and look for new ones every ``landmark_search_s``);
        their information on the biases replaces the last. Bias-jump events."""
        c = self.config
        self._landmark_t_s = t_s
        search = self._search_t_s is None or t_s - self._search_t_s >= c.landmark_search_s
        if search:
            self._search_t_s = t_s
        n = self._n
        mat = self.landmarks.mature(t_s)
        theta = self.theta[:n]
        ready = math.radians(c.jump_ready_deg)
        registered = [bool(self.landmark_counts[k] >= c.min_landmarks
                           and self.relative_sigma_rad[k] <= ready) for k in range(n)]
        events = []
        for k, shift in self._watch.check(self.landmarks, mat.active_tower, mat.active_rad,
                                          theta, registered, self.landmarks.config.min_towers):
            events += self._flag_jump(k, shift, t_s)
            registered[k] = False
        self.landmarks.update(mat, self._watch.association_theta(self.theta[:n], registered),
                              self.relative_sigma_rad, search)
        self._info_l, self._y_l, self.landmark_counts = self.landmarks.information(mat)
        if c.anchored_landmark:
            self.anchored = self.landmarks.anchored(
                mat, self._rests(), math.radians(3.0 * c.bias_prior_deg))
        return events

    def landmark_summary(self) -> str:
        """One line for benches: landmarks in use and their variance factor."""
        return (f"landmarks {len(self.landmarks.landmarks)} "
                f"vf {self.landmarks.variance_factor:.2f}")

    def _rests(self) -> npt.NDArray[np.bool_]:
        """Towers whose bias rests on enough data: ``min_snapshots`` snapshots or
        ``min_landmarks`` landmarks (an anchored one aside)."""
        return ((self.snapshots >= self.config.min_snapshots)
                | (self.landmark_counts >= self.config.min_landmarks))

    def _solve(self) -> None:
        n = self._n
        info = self._info + np.diag(self._prior)
        info[:n, :n] += self._info_l
        y = self._y.copy()
        y[:n] += self._y_l
        try:
            cov = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            return
        self.cov = 0.5 * (cov + cov.T)
        self.theta = self.cov @ y
        sig = np.sqrt(np.maximum(np.diag(self.cov) * self.variance_factor, 0.0))
        enough = np.concatenate([self._rests() | self.anchored,
                                 self.snapshots >= self.config.min_snapshots])
        seen = np.flatnonzero(enough[:n])
        if len(seen) >= 2:  # the biases' common rotation is weakly observable (see module
            # docstring): a tower's bias counts as known once known against the others
            centre = np.eye(len(seen)) - 1.0 / len(seen)
            diff = centre @ self.cov[np.ix_(seen, seen)] @ centre.T
            self.relative_sigma_rad[seen] = np.sqrt(
                np.maximum(np.diag(diff) * self.variance_factor, 0.0))
            sig[seen] = self.relative_sigma_rad[seen]
        sure = enough & (np.abs(self.theta) > self.config.apply_sigmas * sig)
        self.applied_bias_rad = np.where(sure[:n], self.theta[:n], 0.0)
        self.applied_clock_s = np.where(sure[n:], self.theta[n:], 0.0)

    def _check_jumps(self, t_s: float) -> list[AlertEvent]:
        """Close the alerts of re-converged towers; flag the tower whose leave-one-out bias
        departs most from its estimate, if any does. One at a time: a jumped tower also
        shifts its neighbours' leave-one-out evidence (it helped place their targets), so
        all of it is dropped after a flag."""
        events, worst, worst_shift = self._jumps.check(t_s, self.theta, self.relative_sigma_rad,
                                                       self.variance_factor)
        if worst < 0:
            return events
        return events + self._flag_jump(worst, worst_shift, t_s)

    def _flag_jump(self, k: int, shift_rad: float, t_s: float) -> list[AlertEvent]:
        """Tower ``k``'s bias jumped by ``shift_rad``: forget it, raise or update its alert."""
        events = self._jumps.flag(k, shift_rad, t_s)
        self._forget_bias(k)
        return events

    def _forget_bias(self, k: int) -> None:
        """Drop tower ``k``'s bias information: it is marginalised out of what the rest
        know (Schur complement, with its prior), and starts again from its prior."""
        a = self._info[:, k].copy()
        a[k] = 0.0
        ikk = float(self._info[k, k] + self._prior[k])
        self._info -= np.outer(a, a) / ikk
        self._y -= a * float(self._y[k]) / ikk
        self._info[k, :] = 0.0
        self._info[:, k] = 0.0
        self._y[k] = 0.0
        self.landmarks.forget_tower(k)
        self._info_l[k, :] = 0.0
        self._info_l[:, k] = 0.0
        self._y_l[k] = 0.0
        self.landmark_counts[k] = 0
        self.anchored[k] = False
        self._solve()

    def bias_sigma_deg(self, k: int) -> float:
        return math.degrees(math.sqrt(max(float(self.cov[k, k]) * self.variance_factor, 0.0)))

    def clock_sigma_s(self, k: int) -> float:
        i = k + self._n
        return math.sqrt(max(float(self.cov[i, i]) * self.variance_factor, 0.0))

    def status(self) -> dict[str, TowerRegistration]:
        """Per tower: the estimates, their sigma, snapshots used, and any bias jump."""
        n = self._n
        jumps = [self._jumps.jump(k) for k in range(n)]
        return {tid: TowerRegistration(
            azimuth_bias_deg=round(math.degrees(float(self.theta[k])), 5),
            azimuth_bias_sigma_deg=round(self.bias_sigma_deg(k), 5),
            clock_offset_s=round(float(self.theta[k + n]), 4),
            clock_offset_sigma_s=round(self.clock_sigma_s(k), 4),
            applied=bool(self.applied_bias_rad[k] != 0.0 or self.applied_clock_s[k] != 0.0),
            snapshots=int(self.snapshots[k]),
            landmarks=int(self.landmark_counts[k]),
            bias_jump_t_s=jumps[k][0], bias_jump_deg=jumps[k][1])
            for k, tid in enumerate(self.tower_ids)}

    def close_all(self, t_s: float) -> list[AlertEvent]:
        """Close every open bias-jump alert (the run ends)."""
        return self._jumps.close_all(t_s)
