"""Compiled (numba) kernels of initiation: the crossing search of a new bearing against the pool.

Split from :mod:`.kernels` (the tracker's per-scan kernels); compiled and cached the same way
(``cache=True``; ``NUMBA_CACHE_DIR`` moves the cache where the package is read-only).
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


# -- initiation: the crossing search of a new bearing against the pool ------------------------
# Bit for bit the numpy forms of ``triangulate.Initiator._pair`` (``geometry.intersect_pairs``,
# ``bearing_jacobian``, the crossings' covariance, the support einsum, ``np.sum``): IEEE
# arithmetic in numpy's operation order, ``sin``/``cos``/``%`` as numpy gives them on x86-64
# (libm). ``atan2`` is not: numpy's SIMD one differs from libm's in the last bit, so the
# bearings of the crossings from the pooled towers are taken with numpy between the two kernels.


@numba.njit(cache=True, nogil=True, error_model="numpy")
def crossings(x0_m: float, y0_m: float, b0_rad: float, pool_xy: FloatArray, pool_b: FloatArray,
              other: BoolArray, min_range_m: float, max_range_m: float, min_crossing_rad: float
              ) -> tuple[IntArray, FloatArray, FloatArray]:  # pragma: no cover - compiled
    """The valid crossings of bearing ``b0_rad`` from ``(x0_m, y0_m)`` with the pooled
    bearings of ``other`` towers (in front of both within range, crossing angle at least
    ``min_crossing_rad``): their pool indices, points ``(c, 2)`` and the offsets ``(c, n, 2)``
    of each point from every pooled tower."""
    n = pool_b.shape[0]
    s1, c1 = math.sin(b0_rad), math.cos(b0_rad)
    cands = np.empty(n, dtype=np.int64)
    pts = np.empty((n, 2))
    c = 0
    for j in range(n):
        if not other[j]:
            continue
        s2, c2 = math.sin(pool_b[j]), math.cos(pool_b[j])
        dx, dy = pool_xy[j, 0] - x0_m, pool_xy[j, 1] - y0_m
        det = -s1 * c2 + c1 * s2
        if abs(det) < 1e-12:
            continue  # parallel: NaN ranges fail every test
        r0 = (-dx * c2 + dy * s2) / det
        r1 = (s1 * dy - c1 * dx) / det
        a = abs((b0_rad - pool_b[j] + math.pi) % _TWO_PI - math.pi)
        angle = min(a, math.pi - a)
        if (r0 > min_range_m and r1 > min_range_m and r0 < max_range_m and r1 < max_range_m
                and angle >= min_crossing_rad):
            cands[c] = j
            pts[c, 0] = x0_m + r0 * s1
            pts[c, 1] = y0_m + r0 * c1
            c += 1
    offsets = np.empty((c, n, 2))
    for k in range(c):
        for j in range(n):
            offsets[k, j, 0] = pts[k, 0] - pool_xy[j, 0]
            offsets[k, j, 1] = pts[k, 1] - pool_xy[j, 1]
    return cands[:c], pts[:c], offsets


@numba.njit(cache=True, nogil=True)
def _pairwise_sum(a: FloatArray, n: int) -> float:  # pragma: no cover - compiled
    """``np.sum`` of ``a[:n]`` in numpy's order (pairwise, eight accumulators per block)."""
    if n < 8:
        s = -0.0
        for i in range(n):
            s += a[i]
        return s
    if n <= 128:
        r = a[:8].copy()
        i = 8
        while i < n - (n % 8):
            for j in range(8):
                r[j] += a[i + j]
            i += 8
        s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            s += a[i]
            i += 1
        return float(s)
    half = n // 2
    half -= half % 8
    return float(_pairwise_sum(a, half) + _pairwise_sum(a[half:], n - half))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def crossing_support(x0_m: float, y0_m: float, s0_rad2: float, tower0: int, thermal0: bool,
                     pool_xy: FloatArray, pool_b: FloatArray, pool_sig: FloatArray,
                     pool_tower: IntArray, pool_thermal: BoolArray, cands: IntArray,
                     pts: FloatArray, offsets: FloatArray, pred: FloatArray, gate_d2: float,
                     min_counts: IntArray
                     ) -> tuple[int, FloatArray, BoolArray]:  # pragma: no cover - compiled
    """The best crossing: each candidate's support (pooled bearings through it within the
    chi-square gate, its own always), the candidates with enough towers and detections
    (``min_counts``: towers, detections, detections of a pair, towers without two imagers)
    ranked by towers, then the smallest sum of ``d2``; first of equals. Returns its row
    (-1: none), ``d2 (c, n)`` and the support ``(c, n)``."""
    c, n = pred.shape
    d2 = np.empty((c, n))
    ok = np.zeros((c, n), dtype=np.bool_)
    size = tower0 + 1
    for j in range(n):
        size = max(size, pool_tower[j] + 1)
    mark = np.full(size, -1, dtype=np.int64)
    mark_thermal = np.full(size, -1, dtype=np.int64)
    chosen = np.empty(n + 1)
    best, best_towers, best_sum = -1, 0, 0.0
    for k in range(c):
        px, py = pts[k, 0], pts[k, 1]
        dx, dy = px - x0_m, py - y0_m
        r2 = max(dx * dx + dy * dy, 1.0)
        h0x, h0y = dy / r2, -dx / r2
        j0 = cands[k]
        dx, dy = px - pool_xy[j0, 0], py - pool_xy[j0, 1]
        r2 = max(dx * dx + dy * dy, 1.0)
        h1x, h1y = dy / r2, -dx / r2
        s1_2 = pool_sig[j0] * pool_sig[j0]
        i00 = h0x * h0x / s0_rad2 + h1x * h1x / s1_2
        i01 = h0x * h0y / s0_rad2 + h1x * h1y / s1_2
        i11 = h0y * h0y / s0_rad2 + h1y * h1y / s1_2
        det = i00 * i11 - i01 * i01
        if abs(det) < 1e-30:
            det = 1e-30
        cov00, cov11, cov01 = i11 / det, i00 / det, -i01 / det
        cov10 = cov01
        for j in range(n):
            dx, dy = offsets[k, j, 0], offsets[k, j, 1]
            r2 = max(dx * dx + dy * dy, 1.0)
            hx, hy = dy / r2, -dx / r2
            res = (pool_b[j] - pred[k, j] + math.pi) % _TWO_PI - math.pi
            hph = 0.0  # einsum "cni,cij,cnj->cn": i outer, j inner, left to right
            hph += hx * cov00 * hx
            hph += hx * cov01 * hy
            hph += hy * cov10 * hx
            hph += hy * cov11 * hy
            var = pool_sig[j] * pool_sig[j] + hph
            d2[k, j] = res * res / var
            ok[k, j] = d2[k, j] <= gate_d2
        ok[k, j0] = True
        towers, thermal_towers, count, m = 1, 1 if thermal0 else 0, 1, 0
        mark[tower0] = k
        if thermal0:
            mark_thermal[tower0] = k
        for j in range(n):
            if not ok[k, j]:
                continue
            count += 1
            chosen[m] = d2[k, j]
            m += 1
            t = pool_tower[j]
            if mark[t] != k:
                mark[t] = k
                towers += 1
            if pool_thermal[j] and mark_thermal[t] != k:
                mark_thermal[t] = k
                thermal_towers += 1
        enough = ((towers >= min_counts[0] and count >= min_counts[1])
                  or count >= min_counts[2])
        if not enough or (thermal_towers < 2 and towers < min_counts[3]):
            continue
        total = _pairwise_sum(chosen, m)
        if best < 0 or towers > best_towers or (towers == best_towers and -total > -best_sum):
            best, best_towers, best_sum = k, towers, total
    return best, d2, ok


def crossing_search(x0_m: float, y0_m: float, b0_rad: float, s0_rad2: float, tower0: int,
                    thermal0: bool, pool: tuple[FloatArray, FloatArray, FloatArray, IntArray,
                                                BoolArray],
                    other: BoolArray, limits: tuple[float, float, float, float],
                    min_counts: IntArray) -> tuple[int, FloatArray, BoolArray, FloatArray] | None:
    """The best crossing of a new bearing with the pool (``pool``: towers' positions,
    bearings, sigmas, tower indices, imager or not; ``limits``: min and max range, min
    crossing angle, gate): its row, ``d2`` and support rows of every candidate, and the
    candidates' points; None when no crossing has enough support."""
    pool_xy, pool_b, pool_sig, pool_tower, pool_thermal = pool
    min_range_m, max_range_m, min_crossing_rad, gate = limits
    cands, pts, offsets = crossings(x0_m, y0_m, b0_rad, pool_xy, pool_b, other, min_range_m,
                                    max_range_m, min_crossing_rad)
    if cands.size == 0:
        return None
    pred = np.arctan2(offsets[..., 0], offsets[..., 1]) % _TWO_PI  # numpy's atan2 (see above)
    best, d2, ok = crossing_support(x0_m, y0_m, s0_rad2, tower0, thermal0, pool_xy, pool_b,
                                    pool_sig, pool_tower, pool_thermal, cands, pts, offsets,
                                    pred, gate, min_counts)
    return None if best < 0 else (best, d2, ok, pts)
