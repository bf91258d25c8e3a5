"""One registration snapshot: a target's bearings from several towers over a few seconds,
its trajectory profiled out, leaving information on the towers' biases and clock offsets.

Tower ``k`` reports at its clock time ``t_i`` the bearing of where the target was at
``t_i - d_k``, turned by ``b_k``. About the track's straight-line state ``(x0, v)`` at ``t0``:

    z_i ~ h_k(x0 + v (t_i - t0)) + J_i dx + J_i (t_i - t0) dv - (J_i v) d_k + b_k + e_i

``dx`` and ``dv`` (the *nuisance*: four parameters, two when the bearings span less than
``velocity_span_s``) are found by Gauss-Newton and eliminated (Schur complement); what is left
is information on ``(b, d)`` (the profile likelihood of arXiv 1603.03450, with the target's
velocity profiled as well as its position).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from perimeter.geometry import wrap_pi

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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
    """A track's next snapshot starts at least this long after its last one ended."""
    frame_s: float = 0.45
    """Bearings closer in time than this belong to the same frame."""
    window_s: float = 15.0
    """A snapshot gathers a track's bearings over at most this long: scanning heads look at
    a point once every 5.5 s, so four towers rarely see it within one frame."""
    bearing_spacing_s: float = 1.0
    """At most one bearing per tower and this long in a snapshot (consecutive frames add
    little and share the mast's sway)."""
    full_bearings: int = 12
    """A snapshot that has this many bearings ends at the next frame (staring imagers fill
    it in a frame or two), else at ``window_s``."""
    min_dof: int = 3
    outlier_sigmas: float = 5.0
    min_outlier_deg: float = 0.3
    """A bearing departing from its tower's others in a snapshot by more than this many
    (variance-factor-scaled) sigmas, and this, is left out (a clutter blob in the gate)."""
    """Bearings beyond the trajectory's parameters a snapshot needs to be used."""
    velocity_span_s: float = 1.5
    """Bearings spanning this long have the target's velocity profiled out as well as its
    position (four parameters, not two)."""
    gate_probability: float = 0.999
    cauchy_scale: float = 3.0
    """Scale of the snapshots' Cauchy weights, in units of their median chi-square."""
    solve_every_s: float = 5.0
    min_snapshots: int = 3
    """... and rests on at least this many snapshots of the tower. 3 (was 10): on
    rain-vehicles four towers' 0.1-0.2° biases were known to 0.03-0.06° on 2-4 snapshots
    (and a landmark) and, unapplied, made their bearings disagree with the other towers' by
    several of their sigmas: one object got two tracks (docs/fusion.md, "A bias applied from
    three snapshots")."""
    apply_sigmas: float = 3.0
    """An estimate is applied to the bearings once it is this many sigmas from zero."""
    loo_window: int = 15
    loo_max_age_s: float = 300.0
    """Leave-one-out evidence older than this is dropped (the others' estimates moved)."""
    jump_sigmas: float = 5.0
    """The whole window's departure, in its errors, that flags a jump (``change_point``
    off)."""
    change_point: bool = False
    """Test the evidence since each split of the window as well as the whole (a change
    point): a knocked mast is flagged once ``jump_min_after`` snapshots follow the knock."""
    jump_min_after: int = 6
    """The fewest latest snapshots a split leaves (three tracks of two each)."""
    change_point_min_tracks: int = 3
    """Tracks whose evidence since a split departs, each on its own (every track there
    must depart, and those seen before the split must have moved): on ``crossover-group``
    two tracks a tower paired with hot spots (1-3 deg off, erratic) passed with two."""
    jump_false_flags_per_hour: float = 1e-3
    """Per tower and hour, the change-point test's false-flag rate on a healthy mast when
    the leave-one-out evidence is as the model has it (independent, its sigma as reported,
    scaled by the variance factor): a union bound over the checks (every
    ``solve_every_s``) and the splits tested. 1e-3 as for the landmark shift check."""
    min_jump_deg: float = 0.1
    jump_min_tracks: int = 2
    """A jump must be seen on this many tracks' leave-one-out evidence, each on its own
    (one target's evidence is not independent: a nearby hot spot paired in its place shifts
    all of it alike)."""
    jump_ready_deg: float = 0.05
    """Jumps are looked for once the tower's bias is known to this (1 sigma, against the
    others'), on leave-one-out evidence from snapshots whose other towers are as well known."""
    min_alert_s: float = 60.0
    """A bias-jump alert stays open at least this long."""
    converged_deg: float = 0.05
    """A flagged tower's alert closes once its bias is known to this again (1 sigma)."""
    landmark_every_s: float = 20.0
    """How often (data time) the landmarks are re-associated and their information redone."""
    landmark_search_s: float = 60.0
    """How often new landmarks are looked for among the free peaks."""
    shift_false_alarms_per_hour: float = 1e-3
    """Per tower and hour: how often the landmark shift check (``landmark_shift.py``) may
    find a shift by chance on a healthy mast. Each check (every ``landmark_every_s``) is
    held to its share; 1e-3 is one false flag in about 3.5 days of a 12-tower site, at
    most (three checks in a row are needed as well)."""
    min_landmarks: int = 2
    """A bias counts as resting on enough data with this many landmarks (or
    ``min_snapshots`` snapshots), or with one that is anchored (``anchored_landmark``)."""
    anchored_landmark: bool = False
    """One landmark is enough where it is placed without the tower by ``min_towers``
    towers that rest on enough data and the tower's peak there is its only peak within 3
    prior sigmas of the predicted bearing (``Landmarks.anchored``): the end towers of a
    line see one hot spot the others see (``line-abreast``'s T01, T02). Off: on the whole
    evaluation set its bias errors fall but unwanted alerts rise (docs/fusion.md)."""


@dataclass(slots=True)
class Bearing:
    tower: int
    t_s: float
    z_rad: float
    sigma_rad: float


@dataclass(slots=True)
class Snapshot:
    """A snapshot being gathered: a track's paired bearings since ``t_s``."""

    t_s: float
    x: FloatArray
    """The track's state (position at ``t_s``, velocity) when the snapshot began."""
    t_last_s: float = -math.inf
    bearings: list[Bearing] = field(default_factory=list)
    last_s: dict[int, float] = field(default_factory=dict)
    """Each tower's latest bearing time in the snapshot."""
    track: int = -1
    """The number of the track the snapshot follows."""

    def add(self, bearing: Bearing) -> None:
        self.bearings.append(bearing)
        self.last_s[bearing.tower] = bearing.t_s
        self.t_last_s = max(self.t_last_s, bearing.t_s)

    def usable(self, c: RegistrationConfig) -> bool:
        """Enough towers with two bearings each, and bearings beyond the trajectory's."""
        towers = Counter(b.tower for b in self.bearings)
        paired = [n for n in towers.values() if n >= 2]
        nuisance = 4 if self.t_last_s - self.t_s >= c.velocity_span_s else 2
        return len(paired) >= c.min_towers and sum(paired) - nuisance >= c.min_dof

    def done(self, t_s: float, c: RegistrationConfig, tower: int | None = None) -> bool:
        """Whether a bearing of ``tower`` at ``t_s`` (or none by then) ends the snapshot: it
        is ``window_s`` long, or full and the tower already in it (or silent a frame)."""
        if t_s - self.t_s > c.window_s:
            return True
        if len(self.bearings) < c.full_bearings or not self.usable(c):
            return False
        return tower in self.last_s if tower is not None else t_s - self.t_last_s > c.frame_s


@dataclass(slots=True)
class SnapshotFit:
    """The linearised snapshot about its fitted trajectory, rows one per bearing."""

    towers: IntArray
    idx: IntArray
    """Columns of ``(b, d)`` the rows touch: biases then clocks of the distinct towers."""
    r: FloatArray
    """Residuals (bearing minus fitted trajectory's bearing) at the last linearisation."""
    w: FloatArray
    nuisance: FloatArray
    """``G``: d bearing / d(dx, dy[, dvx, dvy])."""
    cmat: FloatArray
    """``C``: d bearing / d(b, d) of the snapshot's towers (columns ``idx``)."""
    pinv: FloatArray
    """``(G' W G)^-1``."""

    @property
    def dof(self) -> int:
        return len(self.r) - int(self.nuisance.shape[1])

    def reduced(self) -> FloatArray:
        """``W - W G (G'WG)^-1 G'W``: the weights left once the trajectory is profiled out."""
        gw = self.nuisance.T * self.w
        return np.diag(self.w) - gw.T @ self.pinv @ gw

    def projected(self, e: FloatArray, cov: FloatArray) -> float:
        """Chi-square of residual ``e`` whose covariance is ``cov``, the trajectory profiled."""
        si = np.linalg.inv(cov)
        g = self.nuisance
        gs = g.T @ si
        proj = si - gs.T @ np.linalg.inv(gs @ g) @ gs
        return float(e @ proj @ e)

    def post_fit(self, e: FloatArray) -> float:
        """Weighted sum of squares of ``e`` after the best trajectory correction."""
        g = self.nuisance
        resid = e - g @ (self.pinv @ ((g.T * self.w) @ e))
        return float(resid @ (self.w * resid))

    def leave_one_out(self, e: FloatArray) -> list[tuple[int, float, float]]:
        """Per tower: the mean of its residuals ``e`` against the trajectory its snapshot's
        other towers give, and that mean's sigma; ``(tower, residual_rad, sigma_rad)``."""
        g, w = self.nuisance, self.w
        p = g.shape[1]
        full = (g.T * w) @ g
        rhs = (g.T * w) @ e
        out = []
        for k in np.unique(self.towers).tolist():
            mine = self.towers == k
            gk, wk = g[mine], w[mine]
            info = full - (gk.T * wk) @ gk
            if len(self.r) - int(mine.sum()) < p + 1 or np.linalg.cond(info) > 1e12:
                continue
            inv = np.linalg.inv(info)
            du = inv @ (rhs - (gk.T * wk) @ e[mine])
            a = wk / wk.sum()
            gbar = a @ gk
            mean = float(a @ (e[mine] - gk @ du))
            var = 1.0 / float(wk.sum()) + float(gbar @ inv @ gbar)
            out.append((int(k), mean, math.sqrt(var)))
        return out


def fit_snapshot(towers_xy: FloatArray, n_towers: int, towers: IntArray, t_s: FloatArray,
                 z_rad: FloatArray, sigma_rad: FloatArray, t0_s: float, state: FloatArray,
                 theta: FloatArray, velocity_span_s: float) -> SnapshotFit | None:
    """Fit the snapshot's trajectory about ``state`` (position at ``t0_s``, velocity) given
    the current estimates ``theta`` (biases then clocks of all towers); None if singular."""
    m = len(towers)
    w = 1.0 / sigma_rad ** 2
    dt = t_s - t0_s
    with_velocity = float(dt.max() - dt.min()) >= velocity_span_s
    uniq, col = np.unique(towers, return_inverse=True)
    idx = np.concatenate([uniq, uniq + n_towers])
    cmat = np.zeros((m, 2 * len(uniq)))
    cmat[np.arange(m), col] = 1.0
    x0, v = state[:2].copy(), state[2:].copy()
    for _ in range(4):  # Gauss-Newton: a thermal bearing's sigma (~1e-4 rad) is as large as
        # the curvature of tens of metres of position error at 1.5 km
        d = x0 + v * dt[:, None] - towers_xy[towers]
        r2 = np.einsum("ij,ij->i", d, d)
        jac = np.stack([d[:, 1] / r2, -d[:, 0] / r2], axis=1)  # d bearing / d(x, y)
        g = np.hstack([jac, jac * dt[:, None]]) if with_velocity else jac
        cmat[np.arange(m), len(uniq) + col] = -(jac @ v)
        r = wrap_pi(z_rad - np.arctan2(d[:, 0], d[:, 1]))
        gw = g.T * w
        try:
            pinv = np.linalg.inv(gw @ g)
        except np.linalg.LinAlgError:
            return None
        step = pinv @ (gw @ (r - cmat @ theta[idx]))
        x0 += step[:2]
        if with_velocity:
            v += step[2:]
        if float(step[:2] @ step[:2]) < 0.01:
            break
    return SnapshotFit(towers, idx, r, w, g, cmat, pinv)


def fit_consistent(towers_xy: FloatArray, n_towers: int, towers: IntArray, t_s: FloatArray,
                   z_rad: FloatArray, sigma_rad: FloatArray, t0_s: float, state: FloatArray,
                   theta: FloatArray, velocity_span_s: float, outlier_rad: FloatArray,
                   min_towers: int, min_dof: int) -> SnapshotFit | None:
    """:func:`fit_snapshot` on the bearings that agree: a tower's bearings must agree with
    one another about the fitted trajectory (within ``outlier_rad``, per bearing) and each
    tower must keep two. A clutter blob inside the pairing gate rarely repeats at the
    target's bearing, and one bearing of a tower fits any bias of it."""
    keep = np.ones(len(towers), dtype=bool)
    for _ in range(len(towers)):
        counts = np.bincount(towers[keep], minlength=n_towers)
        keep &= counts[towers] >= 2
        if np.count_nonzero(counts >= 2) < min_towers:
            return None
        sel = np.flatnonzero(keep)
        fit = fit_snapshot(towers_xy, n_towers, towers[sel], t_s[sel], z_rad[sel],
                           sigma_rad[sel], t0_s, state, theta, velocity_span_s)
        if fit is None or fit.dof < min_dof:
            return None
        e = fit.r - fit.cmat @ theta[fit.idx]
        g = fit.nuisance
        resid = e - g @ (fit.pinv @ ((g.T * fit.w) @ e))
        _, col = np.unique(fit.towers, return_inverse=True)
        mean = np.bincount(col, resid * fit.w) / np.bincount(col, fit.w)
        excess = np.abs(resid - mean[col]) / outlier_rad[sel]
        worst = int(np.argmax(excess))
        if excess[worst] <= 1.0:
            return fit
        keep[sel[worst]] = False
    return None
