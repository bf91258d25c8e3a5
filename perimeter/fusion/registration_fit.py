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
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def wrap(a: FloatArray | float) -> FloatArray:
    return np.asarray((np.asarray(a) + math.pi) % (2.0 * math.pi) - math.pi, dtype=np.float64)


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
        r = wrap(z_rad - np.arctan2(d[:, 0], d[:, 1]))
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
