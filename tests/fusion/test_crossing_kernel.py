"""The compiled crossing search against the numpy form it replaced (kept here as the reference).

Bit for bit, not to a tolerance: the search ranks crossings by sums of ``d2`` and gates at a
threshold, so a last-bit difference could pick another seed; the kernel keeps numpy's operation
order and takes ``atan2`` from numpy.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from perimeter import geometry
from perimeter.fusion import crossing_kernels as kernels
from perimeter.fusion.triangulate import InitiatorConfig

FloatArray = npt.NDArray[np.float64]
Found = tuple[int, FloatArray, npt.NDArray[np.bool_], FloatArray] | None
Pool = tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.int64], npt.NDArray[np.bool_]]


def _pair_cov(xy0: FloatArray, s0: float, xy1: FloatArray, s1: FloatArray,
              points: FloatArray) -> FloatArray:
    """Covariances ``(c, 2, 2)`` of two-bearing crossings (inverse Fisher information)."""
    h0 = geometry.bearing_jacobian(xy0, points)
    h1 = geometry.bearing_jacobian(xy1, points)
    info = (np.einsum("ci,cj->cij", h0, h0) / s0**2
            + np.einsum("ci,cj->cij", h1, h1) / (s1**2)[:, None, None])
    det = info[:, 0, 0] * info[:, 1, 1] - info[:, 0, 1] ** 2
    det = np.where(np.abs(det) < 1e-30, 1e-30, det)
    inv = np.empty_like(info)
    inv[:, 0, 0] = info[:, 1, 1] / det
    inv[:, 1, 1] = info[:, 0, 0] / det
    inv[:, 0, 1] = inv[:, 1, 0] = -info[:, 0, 1] / det
    return np.asarray(inv, dtype=np.float64)


def _search_ref(cfg: InitiatorConfig, txy: FloatArray, tower0: int, b0: float, s0: float,
                thermal0: bool, pool: Pool) -> Found:
    """``Initiator._pair``'s numpy form before the kernel (up to the chosen crossing)."""
    pxy, pb, psig, ptow, pth = pool
    other = ptow != tower0
    xy, r0, r1 = geometry.intersect_pairs(txy, np.full(pb.shape, b0), pxy, pb)
    with np.errstate(invalid="ignore"):
        valid = (other & (r0 > cfg.min_range_m) & (r1 > cfg.min_range_m)
                 & (r0 < cfg.max_range_m) & (r1 < cfg.max_range_m)
                 & (geometry.crossing_angle_rad(b0, pb) >= math.radians(cfg.min_crossing_deg)))
    cands = np.flatnonzero(valid)
    if cands.size == 0:
        return None
    pts = xy[cands]
    h = geometry.bearing_jacobian(pxy[None, :, :], pts[:, None, :])
    res = geometry.wrap_pi(pb[None, :] - geometry.bearing_rad(pxy[None, :, :], pts[:, None, :]))
    cov = _pair_cov(txy, s0, pxy[cands], psig[cands], pts)
    d2 = res * res / (psig[None, :] ** 2 + np.einsum("cni,cij,cnj->cn", h, cov, h))
    ok = d2 <= cfg.gate_d2
    best: tuple[int, float, int] | None = None
    for k, j in enumerate(cands):
        ok[k, j] = True
        score = len({int(t) for t in ptow[ok[k]]} | {tower0})
        thermal_towers = {int(t) for t in ptow[ok[k] & pth]} | ({tower0} if thermal0 else set())
        count = int(ok[k].sum()) + 1
        enough = ((score >= cfg.min_towers and count >= cfg.min_detections)
                  or count >= cfg.min_pair_detections)
        if not enough or (len(thermal_towers) < 2 and score < cfg.fix_min_towers):
            continue
        key = (score, -float(d2[k, ok[k]].sum()))
        if best is None or key > best[:2]:
            best = (score, key[1], k)
    return None if best is None else (best[2], d2, ok, pts)


def _pool(rng: np.random.Generator, max_n: int) -> tuple[FloatArray, Pool, FloatArray]:
    """Towers, a pool of bearings at a few targets (40 % clutter), the targets."""
    towers = np.column_stack([rng.uniform(-6000, 6000, 12), rng.uniform(-300, 300, 12)])
    targets = np.column_stack([rng.uniform(-5000, 5000, 3), rng.uniform(300, 6000, 3)])
    n = int(rng.integers(1, max_n))
    ptow = rng.integers(0, len(towers), n).astype(np.int64)
    psig = np.where(rng.random(n) < 0.7, rng.uniform(2e-4, 2e-3, n), rng.uniform(0.01, 0.05, n))
    pb = (geometry.bearing_rad(towers[ptow], targets[rng.integers(0, 3, n)])
          + rng.normal(size=n) * psig)
    clutter = rng.random(n) < 0.4
    pb[clutter] = rng.uniform(-1.5, 1.5, int(clutter.sum()))
    return towers, (np.ascontiguousarray(towers[ptow]), pb, psig, ptow, psig < 0.005), targets


@pytest.mark.parametrize("max_n", [12, 40, 200])
def test_crossing_search_is_the_numpy_form_bit_for_bit(max_n: int) -> None:
    rng = np.random.default_rng(max_n)
    cfg = InitiatorConfig()
    counts = np.array([cfg.min_towers, cfg.min_detections, cfg.min_pair_detections,
                       cfg.fix_min_towers])
    limits = (cfg.min_range_m, cfg.max_range_m, math.radians(cfg.min_crossing_deg), cfg.gate_d2)
    found = 0
    for trial in range(150):
        towers, pool, targets = _pool(rng, max_n)
        tower0 = int(rng.integers(0, len(towers)))
        s0 = float(rng.choice([5e-4, 0.03]))
        b0 = float(geometry.bearing_rad(towers[tower0], targets[0]) + rng.normal() * s0)
        if trial % 7 == 0:
            b0 = float(pool[1][0])  # a parallel or identical bearing
        other = pool[3] != tower0
        if not other.any():
            continue
        want = _search_ref(cfg, towers[tower0], tower0, b0, s0, s0 < 0.005, pool)
        got = kernels.crossing_search(float(towers[tower0, 0]), float(towers[tower0, 1]), b0,
                                      s0**2, tower0, s0 < 0.005, pool, other, limits, counts)
        assert (got is None) == (want is None)
        if got is None or want is None:
            continue
        found += 1
        assert got[0] == want[0]
        for a, b in zip(got[1:], want[1:], strict=True):
            assert a.shape == b.shape and a.tobytes() == b.tobytes()
    assert found > 30  # the pools do make crossings with enough support


def test_pairwise_sum_is_numpys() -> None:
    rng = np.random.default_rng(7)
    for n in [1, 2, 7, 8, 9, 15, 16, 17, 127, 128, 129, 300, 1031]:
        a = rng.exponential(size=n) * 10.0 ** rng.integers(-3, 3, size=n)
        assert kernels._pairwise_sum(a, n) == float(np.sum(a))
