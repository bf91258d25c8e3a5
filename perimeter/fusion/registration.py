"""Registration: each tower's azimuth bias and clock offset, estimated online.

Batch alignment by maximum likelihood with the target positions profiled out (the
bearing-only registration of "Multisensor-Multitarget Bearing-Only Sensor Registration",
arXiv 1603.03450, recursively accumulated with fading memory). A *snapshot* is one confirmed,
well-located track seen by at least three towers' thermal imagers within one frame. Tower
``k`` reports, at its own clock time ``t``, the bearing of where the target was at ``t - d_k``,
rotated by ``b_k``:

    z_k = h_k(x(t - d_k)) + b_k + e_k  ~  h_k(x_lin(t)) + J_k dx - (J_k v) d_k + b_k + e_k

with ``x_lin`` the track's state, ``dx`` the snapshot's unknown position error and ``J_k v`` the
bearing rate. Eliminating ``dx`` (Schur complement) leaves information on ``(b, d)`` alone,
summed over snapshots with exponential forgetting (``memory_s``) and a zero-mean prior. A
snapshot whose residual fails a chi-square test against the current estimate is left out of
the sum (clutter, a wrong pairing, a tower that just moved).

A knocked mast is found from *leave-one-out* residuals: each tower's bearing against the
position the snapshot's other towers give (so the tower's own error does not hide in ``dx``).
When the median of a tower's recent leave-one-out residuals departs from zero by more than
its error (and ``min_jump_deg``), its bias is flagged as jumped, its old information dropped
and a ``tower_fault`` alert (``fault: bias_jump``) raised until it has re-converged.

Bearings are paired with tracks by this module's own wide gate (``window_deg`` about the
current estimate, one detection and one track only), not the tracker's: a biased tower's
bearings fall outside the tracker's gate, which is why they must be registered.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

from perimeter.contract import AlertEvent, AlertEventKind, Position, TowerRegistration
from perimeter.fusion.scan import Scan
from perimeter.fusion.track import Track

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class RegistrationConfig:
    bias_prior_deg: float = 1.0
    """Prior spread of a tower's north alignment (no published figure was found; a mast
    surveyed to a degree is assumed)."""
    clock_prior_s: float = 0.5
    """Prior spread of a tower's clock offset (NTP over a LAN keeps milliseconds; a tower
    whose sync failed drifts much further)."""
    window_deg: float = 3.0
    """Half-width of the registration gate about the current bias estimate."""
    memory_s: float = 1800.0
    """Time constant of the fading memory (biases drift slowly)."""
    min_towers: int = 4
    """Towers per snapshot: with three, a ghost (lines of sight of different objects) or a
    wrong pairing fits some bias pattern as well as the truth (measured on `default`)."""
    max_track_sigma_m: float = 30.0
    min_range_m: float = 200.0
    snapshot_every_s: float = 2.0
    """One snapshot per track at most this often (consecutive frames add little)."""
    frame_s: float = 0.45
    """Bearings within this of a snapshot's first belong to the same snapshot."""
    gate_probability: float = 0.999
    cauchy_scale: float = 3.0
    """Scale of the snapshots' Cauchy weights, in units of their median chi-square."""
    solve_every_s: float = 5.0
    min_snapshots: int = 30
    """... and rests on at least this many snapshots of the tower."""
    apply_sigmas: float = 3.0
    """An estimate is applied to the bearings once it is this many sigmas from zero."""
    loo_window: int = 31
    loo_max_age_s: float = 300.0
    """Leave-one-out evidence older than this is dropped (the others' estimates moved)."""
    jump_sigmas: float = 5.0
    min_jump_deg: float = 0.1
    jump_ready_deg: float = 0.05
    """Jumps are looked for only once the tower's bias is known to this (1 sigma)."""
    min_alert_s: float = 60.0
    """A bias-jump alert stays open at least this long."""
    converged_deg: float = 0.05
    """A flagged tower's alert closes once its bias is known to this again (1 sigma)."""


@dataclass(slots=True)
class _Bearing:
    tower: int
    t_s: float
    z_rad: float
    sigma_rad: float


@dataclass(slots=True)
class _Group:
    t_s: float
    x: FloatArray
    bearings: list[_Bearing] = field(default_factory=list)


@dataclass(slots=True)
class _TowerFlag:
    alert_id: str | None = None
    jump_t_s: float | None = None
    jump_deg: float = 0.0
    loo: deque[tuple[float, float, float]] = field(default_factory=lambda: deque(maxlen=31))
    """Recent leave-one-out bias evidence ``(bias_rad, sigma_rad, t_s)``."""


@lru_cache(maxsize=64)
def _chi2_quantile(probability: float, dof: int) -> float:
    return float(chi2.ppf(probability, dof))


def _wrap(a: FloatArray | float) -> FloatArray:
    return np.asarray((np.asarray(a) + math.pi) % (2.0 * math.pi) - math.pi, dtype=np.float64)


class Registration:
    """Online estimates of every tower's azimuth bias and clock offset."""

    def __init__(self, towers_xy: FloatArray, tower_ids: Sequence[str],
                 config: RegistrationConfig | None = None,
                 next_alert_id: Callable[[], str] | None = None) -> None:
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
        self.snapshots = np.zeros(n, dtype=np.int64)
        self.rejected = 0
        self._ratios: deque[float] = deque(maxlen=501)
        self._solved_t_s: float | None = None
        self._faded_t_s: float | None = None
        self._groups: dict[int, _Group] = {}
        self._next_snapshot: dict[int, float] = {}
        self._cands: list[Track] = []
        self._cand_x = np.zeros((0, 4))
        self._cand_t = np.zeros(0)
        self._flags = [_TowerFlag(loo=deque(maxlen=self.config.loo_window)) for _ in range(n)]
        self._next_alert_id = next_alert_id

    # -- correction -------------------------------------------------------------------
    def correct(self, scan: Scan) -> Scan:
        """The scan with the applied bias taken off its bearings and offset off its time."""
        k = scan.tower_index
        b, d = float(self.applied_bias_rad[k]), float(self.applied_clock_s[k])
        if b == 0.0 and d == 0.0:
            return scan
        if b != 0.0 and scan.size:
            scan.bearing_rad = np.asarray(_wrap(scan.bearing_rad - b) % (2.0 * math.pi))
            scan.sigma_rad = np.hypot(scan.sigma_rad, math.sqrt(self.cov[k, k]))
        scan.t_s -= d
        return scan

    @property
    def variance_factor(self) -> float:
        """How much larger the snapshots' residuals are than their reported sigmas say (the
        median of each post-fit chi-square over its median, at least 1; the median, as a
        few wrong pairings pass the gate): every sigma is scaled by it."""
        if len(self._ratios) < 20:
            return 1.0
        return max(1.0, float(np.median(self._ratios)))

    # -- observation ------------------------------------------------------------------
    def refresh(self, tracks: Sequence[Track], t_s: float) -> None:
        """Pick the tracks that may make snapshots now (run at housekeeping cadence)."""
        c = self.config
        limit = c.max_track_sigma_m ** 2
        cands = [t for t in tracks
                 if t.score.status == "confirmed" and t.home_tower is None and not t.deleted
                 and len(t.evidence.thermal_towers) >= 2
                 and t_s >= self._next_snapshot.get(t.number, -math.inf)
                 and float(t.state.p[0, 0] + t.state.p[1, 1]) <= limit]
        self._cands = cands
        self._cand_x = np.array([t.state.x for t in cands]).reshape(-1, 4)
        self._cand_t = np.array([t.state.t_s for t in cands])
        live = {t.number for t in tracks}
        for number in [n for n in self._groups if n not in live]:
            del self._groups[number]
        for number, group in list(self._groups.items()):
            if t_s - group.t_s > 2 * c.frame_s:
                self._flush(number, group)

    def observe(self, scan: Scan) -> None:
        """Pair a (corrected) thermal scan's detections with candidate tracks."""
        if not self._cands or scan.sensor != "thermal" or scan.size == 0 or scan.late:
            return
        c = self.config
        k = scan.tower_index
        t_raw = scan.t_s + float(self.applied_clock_s[k])
        z_raw = scan.bearing_rad + float(self.applied_bias_rad[k])
        pos = self._cand_x[:, :2] + self._cand_x[:, 2:] * (t_raw - self._cand_t)[:, None]
        d = pos - self.towers_xy[k]
        rng = np.hypot(d[:, 0], d[:, 1])
        h = np.arctan2(d[:, 0], d[:, 1])
        res = _wrap(z_raw[None, :] - h[:, None] - self.theta[k])
        inside = (np.abs(res) < math.radians(c.window_deg)) & (rng[:, None] > c.min_range_m)
        if not inside.any():
            return
        rows, cols = inside.sum(axis=1), inside.sum(axis=0)
        for i, j in np.argwhere(inside).tolist():
            if rows[i] != 1 or cols[j] != 1:
                continue
            track = self._cands[i]
            bearing = _Bearing(k, t_raw, float(z_raw[j]), float(scan.sigma_rad[j]))
            group = self._groups.get(track.number)
            if group is not None and (t_raw - group.t_s > c.frame_s
                                      or any(b.tower == k for b in group.bearings)):
                self._flush(track.number, group)
                group = None
            if group is None:
                state = np.concatenate([pos[i], self._cand_x[i, 2:]])
                group = self._groups[track.number] = _Group(t_raw, state)
            group.bearings.append(bearing)

    def _flush(self, number: int, group: _Group) -> None:
        del self._groups[number]
        if len({b.tower for b in group.bearings}) < self.config.min_towers:
            return
        self._next_snapshot[number] = group.t_s + self.config.snapshot_every_s
        self._add_snapshot(group)

    def _add_snapshot(self, group: _Group) -> None:
        """Profile out the snapshot's position error; add what is left to the information."""
        n = self._n
        towers = np.array([b.tower for b in group.bearings])
        t = np.array([b.t_s for b in group.bearings])
        z = np.array([b.z_rad for b in group.bearings])
        w = 1.0 / np.array([b.sigma_rad for b in group.bearings]) ** 2
        v = group.x[2:]
        m = len(towers)
        idx = np.concatenate([towers, towers + n])
        cmat = np.zeros((m, 2 * m))
        cmat[np.arange(m), np.arange(m)] = 1.0
        offset = np.zeros(2)
        for _ in range(3):  # Gauss-Newton on the position: a thermal bearing's sigma is
            # ~1e-4 rad, the curvature of 30 m of position error at 1.5 km is as large
            pos = group.x[:2] + offset + v * (t - group.t_s)[:, None]
            d = pos - self.towers_xy[towers]
            r2 = np.einsum("ij,ij->i", d, d)
            jac = np.stack([d[:, 1] / r2, -d[:, 0] / r2], axis=1)  # d bearing / d(x, y)
            cmat[np.arange(m), m + np.arange(m)] = -(jac @ v)
            r = _wrap(z - np.arctan2(d[:, 0], d[:, 1]))
            jw = jac.T * w
            try:
                pinv = np.linalg.inv(jw @ jac)
            except np.linalg.LinAlgError:
                return
            step = pinv @ (jw @ (r - cmat @ self.theta[idx]))
            offset += step
            if float(step @ step) < 0.01:
                break
        self._leave_one_out(towers, r - cmat @ self.theta[idx], jac, w, group.t_s)
        # the residual against the current estimate, with its uncertainty, profiled
        s = np.diag(1.0 / w) + cmat @ self.cov[np.ix_(idx, idx)] @ cmat.T * self.variance_factor
        si = np.linalg.inv(s)
        proj = si - si @ jac @ np.linalg.inv(jac.T @ si @ jac) @ jac.T @ si
        e = r - cmat @ self.theta[idx]
        stat = float(e @ proj @ e)
        if stat > _chi2_quantile(self.config.gate_probability, m - 2):
            self.rejected += 1
            return
        post = r - cmat @ self.theta[idx]
        resid = post - jac @ (pinv @ (jw @ post))
        ratio = float(resid @ (w * resid)) / _chi2_quantile(0.5, m - 2)
        self._ratios.append(ratio)
        # Cauchy weight (robust M-estimation): a snapshot far from the current estimate
        # counts less, so a wrong pairing that passed the gate barely moves it, while a
        # true bias still draws the estimate its way until its snapshots fit
        weight = 1.0 / (1.0 + ratio / (self.config.cauchy_scale ** 2 * self.variance_factor))
        # Schur complement: W - W J (J'WJ)^-1 J'W, applied to C
        reduced = (np.diag(w) - jw.T @ pinv @ jw) * weight
        self._info[np.ix_(idx, idx)] += cmat.T @ reduced @ cmat
        self._y[idx] += cmat.T @ reduced @ r
        self.snapshots[towers] += 1

    def _leave_one_out(self, towers: npt.NDArray[np.int64], r: FloatArray, jac: FloatArray,
                       w: FloatArray, t_s: float) -> None:
        """Each tower's bias as the others see it: its bearing against the position the
        other towers' (corrected) bearings give, with its own bias estimate added back."""
        outer = jac[:, :, None] * jac[:, None, :] * w[:, None, None]
        info = outer.sum(axis=0)[None] - outer  # without each tower in turn
        ty = (jac.T * w) @ r
        rhs = ty[None] - jac * (w * r)[:, None]
        det = info[:, 0, 0] * info[:, 1, 1] - info[:, 0, 1] * info[:, 1, 0]
        ok = np.abs(det) > 1e-9 * np.maximum(info[:, 0, 0] * info[:, 1, 1], 1e-300)
        det = np.where(ok, det, 1.0)
        inv = np.stack([np.stack([info[:, 1, 1], -info[:, 0, 1]], -1),
                        np.stack([-info[:, 1, 0], info[:, 0, 0]], -1)], 1) / det[:, None, None]
        dx = np.einsum("nij,nj->ni", inv, rhs)
        e = r - np.einsum("ni,ni->n", jac, dx) + self.theta[towers]
        var = 1.0 / w + np.einsum("ni,nij,nj->n", jac, inv, jac)
        for k, ek, vk, good in zip(towers.tolist(), e.tolist(), var.tolist(), ok.tolist(),
                                   strict=True):
            if good and vk > 0.0:
                self._flags[k].loo.append((ek, math.sqrt(vk), t_s))

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
            self._solve()
            events = self._check_jumps(t_s)
        self.refresh(tracks, t_s)
        return events

    def _solve(self) -> None:
        try:
            cov = np.linalg.inv(self._info + np.diag(self._prior))
        except np.linalg.LinAlgError:
            return
        self.cov = 0.5 * (cov + cov.T)
        self.theta = self.cov @ self._y
        sig = np.sqrt(np.maximum(np.diag(self.cov) * self.variance_factor, 0.0))
        enough = np.tile(self.snapshots >= self.config.min_snapshots, 2)
        sure = enough & (np.abs(self.theta) > self.config.apply_sigmas * sig)
        n = self._n
        self.applied_bias_rad = np.where(sure[:n], self.theta[:n], 0.0)
        self.applied_clock_s = np.where(sure[n:], self.theta[n:], 0.0)

    def _check_jumps(self, t_s: float) -> list[AlertEvent]:
        """Close the alerts of re-converged towers; flag the tower whose leave-one-out bias
        departs most from its estimate, if any does. One at a time: a jumped tower also
        shifts its neighbours' leave-one-out evidence (it helped place their targets), so
        all of it is dropped after a flag."""
        c = self.config
        events = []
        worst, worst_ratio, worst_shift = -1, 1.0, 0.0
        for k, flag in enumerate(self._flags):
            sigma_deg = self.bias_sigma_deg(k)
            if (flag.alert_id is not None and sigma_deg <= c.converged_deg
                    and flag.jump_t_s is not None and t_s - flag.jump_t_s >= c.min_alert_s):
                events.append(self._event("closed", k, t_s))
                flag.alert_id = None
            while flag.loo and t_s - flag.loo[0][2] > c.loo_max_age_s:
                flag.loo.popleft()
            if len(flag.loo) < c.loo_window or sigma_deg > c.jump_ready_deg:
                continue
            res = np.array(flag.loo)
            median = float(np.median(res[:, 0]))
            spread = max(float(np.sqrt(np.mean(res[:, 1] ** 2))),
                         1.4826 * float(np.median(np.abs(res[:, 0] - median))))
            # the median's standard error (1.2533 sigma / sqrt n) and the estimate's own
            err = math.hypot(1.2533 * spread / math.sqrt(len(res)), math.radians(sigma_deg))
            shift = median - float(self.theta[k])
            ratio = abs(shift) / max(c.jump_sigmas * err, math.radians(c.min_jump_deg))
            if ratio > worst_ratio:
                worst, worst_ratio, worst_shift = k, ratio, shift
        if worst < 0:
            return events
        flag = self._flags[worst]
        flag.jump_t_s, flag.jump_deg = t_s, math.degrees(worst_shift)
        for other in self._flags:
            other.loo.clear()
        self._forget_bias(worst)
        if self._next_alert_id is not None and flag.alert_id is None:
            flag.alert_id = self._next_alert_id()
            events.append(self._event("new", worst, t_s))
        elif flag.alert_id is not None:
            events.append(self._event("update", worst, t_s))
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
        self._solve()

    def bias_sigma_deg(self, k: int) -> float:
        return math.degrees(math.sqrt(max(float(self.cov[k, k]) * self.variance_factor, 0.0)))

    def clock_sigma_s(self, k: int) -> float:
        i = k + self._n
        return math.sqrt(max(float(self.cov[i, i]) * self.variance_factor, 0.0))

    def status(self) -> dict[str, TowerRegistration]:
        """Per tower: the estimates, their sigma, snapshots used, and any bias jump."""
        n = self._n
        return {tid: TowerRegistration(
            azimuth_bias_deg=round(math.degrees(float(self.theta[k])), 5),
            azimuth_bias_sigma_deg=round(self.bias_sigma_deg(k), 5),
            clock_offset_s=round(float(self.theta[k + n]), 4),
            clock_offset_sigma_s=round(self.clock_sigma_s(k), 4),
            applied=bool(self.applied_bias_rad[k] != 0.0 or self.applied_clock_s[k] != 0.0),
            snapshots=int(self.snapshots[k]),
            bias_jump_t_s=self._flags[k].jump_t_s,
            bias_jump_deg=(round(self._flags[k].jump_deg, 4)
                           if self._flags[k].jump_t_s is not None else None))
            for k, tid in enumerate(self.tower_ids)}

    def _event(self, kind: AlertEventKind, k: int, t_s: float) -> AlertEvent:
        flag = self._flags[k]
        x, y = self.towers_xy[k].tolist()
        return AlertEvent.model_validate({
            "event": kind, "alert_id": flag.alert_id, "t_s": t_s, "class": "tower_fault",
            "class_confidence": 1.0, "confidence": 1.0, "severity": "medium",
            "position": Position(x_m=x, y_m=y), "towers": [self.tower_ids[k]],
            "sensors": ["thermal"], "fault": "bias_jump",
            "bias_jump_deg": round(flag.jump_deg, 4)})

    def close_all(self, t_s: float) -> list[AlertEvent]:
        events = []
        for k, flag in enumerate(self._flags):
            if flag.alert_id is not None:
                events.append(self._event("closed", k, t_s))
                flag.alert_id = None
        return events
