"""Compiled (numba) kernel of the revisit-spanning initiation: the constant-velocity fit.

:func:`.revisit_seed.cv_fit` is a small Gauss-Newton (four state parameters and one bias per
tower) run tens of thousands of times per hour of a scanning site's stream, almost all of them
on clutter that fails the test; in numpy each iteration was some thirty array calls of a few
microseconds. This is the same fit in one compiled loop (the same iterations, steps, stopping
rule, chi-square and checks; results equal to rounding, ``tests/fusion/test_revisit_kernels``).
Compiled and cached as :mod:`.kernels` (``cache=True``).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_TWO_PI = 2.0 * math.pi


@numba.njit(cache=True, nogil=True)
def _cholesky_solve(a: FloatArray, b: FloatArray, out: FloatArray) -> bool:  # pragma: no cover
    """Solve ``a x = b`` for a symmetric positive definite ``a`` into ``out``; False when
    ``a`` is not positive definite (singular to working precision)."""
    n = a.shape[0]
    low = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1):
            v = a[i, j]
            for k in range(j):
                v -= low[i, k] * low[j, k]
            if i == j:
                if not v > 0.0:
                    return False
                low[i, i] = math.sqrt(v)
            else:
                low[i, j] = v / low[j, j]
    y = np.empty(n)
    for i in range(n):
        v = b[i]
        for k in range(i):
            v -= low[i, k] * y[k]
        y[i] = v / low[i, i]
    for i in range(n - 1, -1, -1):
        v = y[i]
        for k in range(i + 1, n):
            v -= low[k, i] * out[k]
        out[i] = v / low[i, i]
    return True


@numba.njit(cache=True, nogil=True)
def _normal_equations(theta: FloatArray, t_s: FloatArray, xy: FloatArray, b_rad: FloatArray,
                      w: FloatArray, which: IntArray, t0_s: float, prior: FloatArray,
                      info: FloatArray, grad: FloatArray) -> None:  # pragma: no cover
    """``info = J' W J + diag(prior)`` and ``grad = J' W r - prior * theta`` at ``theta``."""
    n_par = theta.shape[0]
    info[:, :] = 0.0
    for k in range(n_par):
        info[k, k] = prior[k]
        grad[k] = -prior[k] * theta[k]
    jac = np.zeros(5)
    col = np.zeros(5, dtype=np.int64)
    for i in range(t_s.shape[0]):
        dt = t_s[i] - t0_s
        px = theta[0] + theta[2] * dt - xy[i, 0]
        py = theta[1] + theta[3] * dt - xy[i, 1]
        r2 = max(px * px + py * py, 1.0)
        res = (b_rad[i] - (math.atan2(px, py) + theta[4 + which[i]]) + math.pi) % _TWO_PI
        res -= math.pi
        jac[0], jac[1] = py / r2, -px / r2
        jac[2], jac[3] = jac[0] * dt, jac[1] * dt
        jac[4] = 1.0
        col[0], col[1], col[2], col[3], col[4] = 0, 1, 2, 3, 4 + which[i]
        for a in range(5):
            grad[col[a]] += jac[a] * res * w[i]
            for c in range(5):
                info[col[a], col[c]] += jac[a] * jac[c] * w[i]


@numba.njit(cache=True, nogil=True)
def cv_fit(t_s: FloatArray, xy: FloatArray, b_rad: FloatArray, sigma_rad: FloatArray,
           tower: IntArray, bias_sigma_rad: FloatArray, t0_s: float, start_xy: FloatArray,
           speed_sigma_mps: float, iterations: int
           ) -> tuple[bool, FloatArray, FloatArray, float, FloatArray, float]:  # pragma: no cover
    """:func:`.revisit_seed.cv_fit` compiled: ``(ok, state, covariance, chi-square, normalised
    residuals, checks)``; ``ok`` False where that returns None."""
    n = t_s.shape[0]
    which = np.empty(n, dtype=np.int64)
    towers = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):  # each bearing's tower's parameter, the towers in ascending order
        k = 0
        while k < m and towers[k] < tower[i]:
            k += 1
        if k == m or towers[k] != tower[i]:
            for j in range(m, k, -1):
                towers[j] = towers[j - 1]
            towers[k] = tower[i]
            m += 1
    for i in range(n):
        for k in range(m):
            if towers[k] == tower[i]:
                which[i] = k
    n_par = 4 + m
    prior = np.zeros(n_par)
    prior[2] = prior[3] = speed_sigma_mps**-2
    for i in range(n):  # the last bearing of a tower sets its prior, as numpy's assignment
        prior[4 + which[i]] = max(bias_sigma_rad[i], 1e-7) ** -2
    w = sigma_rad**-2
    theta = np.zeros(n_par)
    theta[0], theta[1] = start_xy[0], start_xy[1]
    info = np.eye(n_par)
    grad = np.zeros(n_par)
    step = np.zeros(n_par)
    fail = (False, np.zeros(4), np.zeros((4, 4)), 0.0, np.zeros(n), 0.0)
    for _ in range(iterations):
        _normal_equations(theta, t_s, xy, b_rad, w, which, t0_s, prior, info, grad)
        if not _cholesky_solve(info, grad, step):
            return fail
        theta += step
        for k in range(n_par):
            if not math.isfinite(theta[k]):
                return fail
        if not abs(theta[0]) + abs(theta[1]) < 1e7:
            return fail
        if abs(step[0]) + abs(step[1]) < 0.1 and abs(step[2]) + abs(step[3]) < 0.01:
            break
    norm = np.empty(n)
    total = 0.0
    for i in range(n):
        dt = t_s[i] - t0_s
        px = theta[0] + theta[2] * dt - xy[i, 0]
        py = theta[1] + theta[3] * dt - xy[i, 1]
        if px * px + py * py < 1.0:
            return fail
        res = (b_rad[i] - (math.atan2(px, py) + theta[4 + which[i]]) + math.pi) % _TWO_PI
        norm[i] = (res - math.pi) / sigma_rad[i]
        total += norm[i] * norm[i]
    for k in range(n_par):
        total += prior[k] * theta[k] * theta[k]
    inv = np.empty((n_par, n_par))
    unit = np.zeros(n_par)
    column = np.empty(n_par)
    for k in range(n_par):
        unit[:] = 0.0
        unit[k] = 1.0
        if not _cholesky_solve(info, unit, column):
            return fail
        inv[:, k] = column
    determined = 0.0
    for k in range(n_par):
        determined += inv[k, k] * prior[k]
    checks = n - (n_par - determined)
    cov = 0.5 * (inv[:4, :4] + inv[:4, :4].T)
    return True, theta[:4].copy(), cov, total, norm, checks


@numba.njit(cache=True, nogil=True)
def spanning_towers(t_s: FloatArray, tower: IntArray, span_s: float) -> int:  # pragma: no cover
    """How many towers among the bearings (``t_s``, ``tower``) looked at least ``span_s``
    apart (their last look less their first)."""
    n = t_s.shape[0]
    count = 0
    for i in range(n):
        first = True
        for j in range(i):
            if tower[j] == tower[i]:
                first = False
                break
        if not first:
            continue
        lo, hi = t_s[i], t_s[i]
        for j in range(i + 1, n):
            if tower[j] == tower[i]:
                lo, hi = min(lo, t_s[j]), max(hi, t_s[j])
        if hi - lo >= span_s:
            count += 1
    return count


@numba.njit(cache=True, nogil=True)
def spanning_towers_each(support: npt.NDArray[np.bool_], t_s: FloatArray, tower: IntArray,
                         span_s: float) -> IntArray:  # pragma: no cover
    """:func:`spanning_towers` of each row of ``support`` (the pool rows it selects)."""
    k_rows, n = support.shape
    n_towers = 0
    for j in range(n):
        n_towers = max(n_towers, tower[j] + 1)
    lo = np.empty(n_towers)
    hi = np.empty(n_towers)
    out = np.zeros(k_rows, dtype=np.int64)
    for k in range(k_rows):
        lo[:] = np.inf
        hi[:] = -np.inf
        for j in range(n):
            if support[k, j]:
                lo[tower[j]] = min(lo[tower[j]], t_s[j])
                hi[tower[j]] = max(hi[tower[j]], t_s[j])
        for q in range(n_towers):
            if hi[q] - lo[q] >= span_s:
                out[k] += 1
    return out


@numba.njit(cache=True, nogil=True)
def one_per_look(rows: IntArray, res: FloatArray, tower: IntArray, t_s: FloatArray
                 ) -> IntArray:  # pragma: no cover
    """Of ``rows`` (ascending), the one with the smallest ``res`` of each look (tower and
    time; the first of equals), ascending. ``tower`` and ``t_s`` are the rows' own."""
    n = rows.shape[0]
    keep = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        best = i
        for j in range(n):
            if tower[j] == tower[i] and t_s[j] == t_s[i] and (
                    res[j] < res[best] or (res[j] == res[best] and j < best)):
                best = j
        keep[best] = True
    return rows[keep]
