"""Compiled (numba) kernels of the tracker's per-scan arithmetic on a handful of tracks.

A report meets 1-7 tracks, so numpy spent its time in per-call overhead (a dozen small array
operations per stage, ~1 µs each); each kernel here is one call with plain loops. They compute
the same formulas as the numpy forms they replace (``ekf.py``, ``associate.py``), in the same
operation order where it was known; numpy's batched matmul goes through OpenBLAS, whose
summation order and fused multiply-adds differ, so covariances may differ in the last bits.

Compiled once per machine and cached beside the module (``cache=True``; ``NUMBA_CACHE_DIR``
moves the cache where the package is read-only). Initiation's crossing search is in
:mod:`.crossing_kernels`.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

_TWO_PI = 2.0 * math.pi
INFEASIBLE = 1e9
"""Cost of a pair outside the gate (as ``associate`` gave it to the solver)."""


@numba.njit(cache=True, nogil=True)
def predict(x: FloatArray, p: FloatArray, dt_s: FloatArray,
            q: FloatArray) -> tuple[FloatArray, FloatArray]:  # pragma: no cover - compiled
    """Constant-velocity prediction ``F x``, ``F P Fᵀ + Q`` per track (white acceleration)."""
    n = x.shape[0]
    xp = np.empty((n, 4))
    pp = np.empty((n, 4, 4))
    fp = np.empty((4, 4))
    for k in range(n):
        d = dt_s[k]
        xp[k, 0] = x[k, 0] + d * x[k, 2]
        xp[k, 1] = x[k, 1] + d * x[k, 3]
        xp[k, 2] = x[k, 2]
        xp[k, 3] = x[k, 3]
        for j in range(4):  # F P: rows 0, 1 gain d times rows 2, 3
            fp[0, j] = p[k, 0, j] + d * p[k, 2, j]
            fp[1, j] = p[k, 1, j] + d * p[k, 3, j]
            fp[2, j] = p[k, 2, j]
            fp[3, j] = p[k, 3, j]
        for i in range(4):  # (F P) Fᵀ: columns 0, 1 gain d times columns 2, 3
            pp[k, i, 0] = fp[i, 0] + d * fp[i, 2]
            pp[k, i, 1] = fp[i, 1] + d * fp[i, 3]
            pp[k, i, 2] = fp[i, 2]
            pp[k, i, 3] = fp[i, 3]
        a = abs(d)
        qq = q[k]
        q3, q2, q1 = qq * a**3 / 3.0, qq * a**2 / 2.0, qq * a
        pp[k, 0, 0] += q3
        pp[k, 1, 1] += q3
        pp[k, 0, 2] += q2
        pp[k, 2, 0] += q2
        pp[k, 1, 3] += q2
        pp[k, 3, 1] += q2
        pp[k, 2, 2] += q1
        pp[k, 3, 3] += q1
    return xp, pp


@numba.njit(cache=True, nogil=True)
def innovation(x: FloatArray, p: FloatArray, tower_x_m: float, tower_y_m: float,
               z_rad: FloatArray, r_rad2: FloatArray
               ) -> tuple[FloatArray, FloatArray, FloatArray]:  # pragma: no cover - compiled
    """Bearing innovations ``nu (n, m)`` wrapped to [-π, π), variances ``S (n, m)``,
    ``H (n, 4)``."""
    n, m = x.shape[0], z_rad.shape[0]
    nu = np.empty((n, m))
    s = np.empty((n, m))
    h = np.zeros((n, 4))
    for k in range(n):
        dx = x[k, 0] - tower_x_m
        dy = x[k, 1] - tower_y_m
        r2 = max(dx * dx + dy * dy, 1.0)
        h0, h1 = dy / r2, -dx / r2
        h[k, 0], h[k, 1] = h0, h1
        zp = math.atan2(dx, dy)
        hph = (h0 * p[k, 0, 0] * h0 + h0 * p[k, 0, 1] * h1) + (
            h1 * p[k, 1, 0] * h0 + h1 * p[k, 1, 1] * h1)
        for j in range(m):
            w = (z_rad[j] - zp + math.pi) % _TWO_PI
            nu[k, j] = w - math.pi
            s[k, j] = hph + r_rad2[j]
    return nu, s, h


@numba.njit(cache=True, nogil=True)
def gate_costs(nu: FloatArray, s: FloatArray, gate: float
               ) -> tuple[BoolArray, FloatArray, int]:  # pragma: no cover - compiled
    """Pairs inside the gate (``nu²/S <= gate``), their costs ``nu²/S + log S`` (others
    :data:`INFEASIBLE`) and the flat index of the smallest cost, the first of equal ones
    (-1 when no pair is in a gate; -2, and nothing else computed, when some ``S`` is not
    positive and finite: the caller's masked form handles that). A non-finite ``nu`` fails
    the gate."""
    n, m = nu.shape
    ok = np.zeros((n, m), dtype=np.bool_)
    cost = np.empty((n, m))
    for i in range(n):
        for j in range(m):
            if not (0.0 < s[i, j] < math.inf):
                return ok, cost, -2
    best, best_k = INFEASIBLE, -1
    for i in range(n):
        for j in range(m):
            d2 = nu[i, j] * nu[i, j] / s[i, j]
            if d2 <= gate:
                ok[i, j] = True
                c = d2 + math.log(s[i, j])
                cost[i, j] = c
                if best_k < 0 or c < best:
                    best, best_k = c, i * m + j
            else:
                cost[i, j] = INFEASIBLE
    return ok, cost, best_k


@numba.njit(cache=True, nogil=True)
def update(x: FloatArray, p: FloatArray, h: FloatArray, nu: FloatArray,
           r_rad2: FloatArray) -> tuple[FloatArray, FloatArray]:  # pragma: no cover - compiled
    """Scalar EKF update per track in Joseph form, symmetrised."""
    n = x.shape[0]
    xn = np.empty((n, 4))
    pn = np.empty((n, 4, 4))
    ph = np.empty(4)
    kg = np.empty(4)
    a = np.empty((4, 4))
    ap = np.empty((4, 4))
    out = np.empty((4, 4))
    for t in range(n):
        for i in range(4):
            ph[i] = ((p[t, i, 0] * h[t, 0] + p[t, i, 1] * h[t, 1]) + p[t, i, 2] * h[t, 2]
                     ) + p[t, i, 3] * h[t, 3]
        s = ((h[t, 0] * ph[0] + h[t, 1] * ph[1]) + h[t, 2] * ph[2]) + h[t, 3] * ph[3]
        s += r_rad2[t]
        for i in range(4):
            kg[i] = ph[i] / s
            xn[t, i] = x[t, i] + kg[i] * nu[t]
        for i in range(4):
            for j in range(4):
                a[i, j] = (1.0 if i == j else 0.0) - kg[i] * h[t, j]
        for i in range(4):
            for j in range(4):
                ap[i, j] = ((a[i, 0] * p[t, 0, j] + a[i, 1] * p[t, 1, j])
                            + a[i, 2] * p[t, 2, j]) + a[i, 3] * p[t, 3, j]
        for i in range(4):
            for j in range(4):
                out[i, j] = (((ap[i, 0] * a[j, 0] + ap[i, 1] * a[j, 1]) + ap[i, 2] * a[j, 2])
                             + ap[i, 3] * a[j, 3]) + r_rad2[t] * kg[i] * kg[j]
        for i in range(4):
            for j in range(4):
                pn[t, i, j] = 0.5 * (out[i, j] + out[j, i])
    return xn, pn


@numba.njit(cache=True, nogil=True)
def update_with_gain(x: FloatArray, p: FloatArray, h_eff: FloatArray, nu: FloatArray,
                     s: FloatArray) -> tuple[FloatArray, FloatArray]:  # pragma: no cover
    """Scalar update with a given Jacobian and innovation variance (out-of-sequence use)."""
    n = x.shape[0]
    xn = np.empty((n, 4))
    pn = np.empty((n, 4, 4))
    kg = np.empty(4)
    for t in range(n):
        for i in range(4):
            ph = ((p[t, i, 0] * h_eff[t, 0] + p[t, i, 1] * h_eff[t, 1])
                  + p[t, i, 2] * h_eff[t, 2]) + p[t, i, 3] * h_eff[t, 3]
            kg[i] = ph / s[t]
            xn[t, i] = x[t, i] + kg[i] * nu[t]
        for i in range(4):
            for j in range(4):
                pn[t, i, j] = p[t, i, j] - s[t] * kg[i] * kg[j]
        for i in range(4):
            for j in range(i + 1, 4):
                v = 0.5 * (pn[t, i, j] + pn[t, j, i])
                pn[t, i, j] = v
                pn[t, j, i] = v
        for i in range(4):
            pn[t, i, i] = 0.5 * (pn[t, i, i] + pn[t, i, i])
    return xn, pn


# -- the out-of-sequence path: one call before the assignment, one after -----------------------


@numba.njit(cache=True, nogil=True)
def late_innovation(x: FloatArray, p: FloatArray, dt_s: FloatArray, q: FloatArray,
                    tower_x_m: float, tower_y_m: float, z_rad: FloatArray, r_rad2: FloatArray
                    ) -> tuple[FloatArray, FloatArray, FloatArray]:  # pragma: no cover
    """:func:`predict` back to a late scan's time, then :func:`innovation` (one call)."""
    xb, pb = predict(x, p, dt_s, q)
    return innovation(xb, pb, tower_x_m, tower_y_m, z_rad, r_rad2)


@numba.njit(cache=True, nogil=True)
def late_gate(x: FloatArray, p: FloatArray, dt_s: FloatArray, q: FloatArray,
              tower_x_m: float, tower_y_m: float, z_rad: FloatArray, r_rad2: FloatArray,
              gate: float) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray, FloatArray,
                                    int, BoolArray]:  # pragma: no cover - compiled
    """:func:`late_innovation`, then :func:`gate_costs` of its ``nu, S`` (one call), and
    which detections are in some track's gate (``ok.any(axis=0)``)."""
    nu, s, h = late_innovation(x, p, dt_s, q, tower_x_m, tower_y_m, z_rad, r_rad2)
    ok, cost, best = gate_costs(nu, s, gate)
    in_gate = np.zeros(ok.shape[1], dtype=np.bool_)
    for i in range(ok.shape[0]):
        for j in range(ok.shape[1]):
            if ok[i, j]:
                in_gate[j] = True
    return nu, s, h, ok, cost, best, in_gate


@numba.njit(cache=True, nogil=True)
def late_update(x: FloatArray, p: FloatArray, h: FloatArray, dt_s: FloatArray, nu: FloatArray,
                s: FloatArray, tracks: IntArray, detections: IntArray
                ) -> tuple[FloatArray, FloatArray]:  # pragma: no cover - compiled
    """:func:`update_with_gain` of the assigned pairs with ``H F(dt)`` (as numpy's einsum
    ``ni,nij->nj`` sums it: from 0, over ``i`` in order)."""
    m = tracks.shape[0]
    xs = np.empty((m, 4))
    ps = np.empty((m, 4, 4))
    h_eff = np.empty((m, 4))
    nus = np.empty(m)
    ss = np.empty(m)
    f = np.eye(4)
    for k in range(m):
        t, d = tracks[k], detections[k]
        f[0, 2] = f[1, 3] = dt_s[t]
        for j in range(4):
            acc = 0.0
            for i in range(4):
                acc += h[t, i] * f[i, j]
            h_eff[k, j] = acc
            xs[k, j] = x[t, j]
            for i in range(4):
                ps[k, j, i] = p[t, j, i]
        nus[k] = nu[t, d]
        ss[k] = s[t, d]
    return update_with_gain(xs, ps, h_eff, nus, ss)


# -- duplicate removal: the shadow and separability tests over the near pairs -----------------


@numba.njit(cache=True, nogil=True)
def shadow_pairs(rows: IntArray, cols: IntArray, owners: IntArray, b_track: FloatArray,
                 b_other: FloatArray, tolerance: FloatArray, n: int, min_imagers: int
                 ) -> tuple[IntArray, IntArray, BoolArray, BoolArray,
                            BoolArray]:  # pragma: no cover - compiled
    """:func:`.duplicates.find_duplicates`' pair tests in one call. Sighting ``k`` (rows of
    ``b_other``, grouped by ``owners``, non-decreasing) is a thermal imager that recently saw
    track ``owners[k]`` along ``b_track[k]``; ``b_other[k, j]`` is its bearing to track ``j``.
    Track ``i`` is a shadow of ``j`` when every such imager of ``i`` sees ``j`` on that bearing
    (``|wrap_pi(b_track - b_other)| <= tolerance``) and at least ``min_imagers`` saw ``i``.
    Of the near pairs ``(rows, cols)``, those that may drop a track (a shadow either way, or no
    imager that saw one of them sees the other off its bearing): their rows, columns, whether
    each is the other's shadow, and whether an imager separates them."""
    seen = np.zeros(n, dtype=np.bool_)
    imagers = np.zeros(n, dtype=np.int64)
    on = np.zeros((n, n), dtype=np.bool_)
    for k in range(owners.shape[0]):
        i = owners[k]
        first = not seen[i]
        seen[i] = True
        imagers[i] += 1
        for j in range(n):
            w = (b_track[k] - b_other[k, j] + math.pi) % _TWO_PI - math.pi
            ok = abs(w) <= tolerance[k]
            on[i, j] = ok if first else (on[i, j] and ok)
    m = rows.shape[0]
    out_i = np.empty(m, dtype=np.int64)
    out_j = np.empty(m, dtype=np.int64)
    a_sh = np.empty(m, dtype=np.bool_)
    b_sh = np.empty(m, dtype=np.bool_)
    apart = np.empty(m, dtype=np.bool_)
    c = 0
    for q in range(m):
        i, j = rows[q], cols[q]
        a = on[i, j] and imagers[i] >= min_imagers
        b = on[j, i] and imagers[j] >= min_imagers
        sep = (seen[i] and not on[i, j]) or (seen[j] and not on[j, i])
        if a or b or not sep:
            out_i[c], out_j[c], a_sh[c], b_sh[c], apart[c] = i, j, a, b, sep
            c += 1
    return out_i[:c], out_j[:c], a_sh[:c], b_sh[:c], apart[:c]
