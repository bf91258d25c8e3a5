"""The compiled revisit fit against the numpy form it replaced (kept here as the reference)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from perimeter import geometry
from perimeter.fusion import revisit_kernels
from perimeter.fusion.revisit_seed import cv_fit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def reference_cv_fit(t_s: FloatArray, xy: FloatArray, b_rad: FloatArray, sigma_rad: FloatArray,
                     tower: IntArray, bias_sigma_rad: FloatArray, t0_s: float,
                     start_xy: FloatArray, speed_sigma_mps: float, iterations: int = 8
                     ) -> tuple[FloatArray, FloatArray, float, FloatArray, float] | None:
    """The numpy Gauss-Newton fit as it was before it was compiled."""
    towers, which = np.unique(tower, return_inverse=True)
    m = towers.size
    bias_sig = np.zeros(m)
    bias_sig[which] = np.maximum(bias_sigma_rad, 1e-7)
    n_par = 4 + m
    theta = np.zeros(n_par)
    theta[:2] = start_xy
    dt = t_s - t0_s
    prior = np.concatenate([[0.0, 0.0], np.full(2, speed_sigma_mps**-2), bias_sig**-2])
    w = sigma_rad**-2
    rows = np.arange(t_s.size)
    info = np.eye(n_par)
    for _ in range(iterations):
        px = theta[0] + theta[2] * dt - xy[:, 0]
        py = theta[1] + theta[3] * dt - xy[:, 1]
        r2 = np.maximum(px * px + py * py, 1.0)
        res = geometry.wrap_pi(b_rad - (np.arctan2(px, py) + theta[4 + which]))
        jac = np.zeros((t_s.size, n_par))
        jac[:, 0], jac[:, 1] = py / r2, -px / r2
        jac[:, 2], jac[:, 3] = jac[:, 0] * dt, jac[:, 1] * dt
        jac[rows, 4 + which] = 1.0
        info = jac.T @ (jac * w[:, None]) + np.diag(prior)
        grad = jac.T @ (res * w) - prior * theta
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            return None
        theta = theta + step
        if not (np.all(np.isfinite(theta)) and abs(theta[0]) + abs(theta[1]) < 1e7):
            return None
        if abs(step[0]) + abs(step[1]) < 0.1 and abs(step[2]) + abs(step[3]) < 0.01:
            break
    px = theta[0] + theta[2] * dt - xy[:, 0]
    py = theta[1] + theta[3] * dt - xy[:, 1]
    if np.any(px * px + py * py < 1.0):
        return None
    res = geometry.wrap_pi(b_rad - (np.arctan2(px, py) + theta[4 + which]))
    norm = res / sigma_rad
    total = float(np.sum(norm**2) + np.sum(prior * theta**2))
    try:
        inv = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return None
    checks = t_s.size - (n_par - float(np.sum(np.diag(inv) * prior)))
    cov = inv[:4, :4]
    return theta[:4], 0.5 * (cov + cov.T), total, norm, checks


def _problem(rng: np.random.Generator, towers: int, looks: int, bias_deg: float
             ) -> tuple[FloatArray, ...]:
    """A car's bearings from ``towers`` towers, ``looks`` each a revisit apart, with biases."""
    tower_xy = rng.uniform(-3000.0, 3000.0, (towers, 2)) + np.array([0.0, -4000.0])
    start = rng.uniform(-1000.0, 1000.0, 2)
    v = rng.normal(0.0, 8.0, 2)
    t = np.concatenate([k * 5.5 + rng.uniform(0.0, 5.5, towers) for k in range(looks)])
    tower = np.tile(np.arange(towers), looks)
    xy = tower_xy[tower]
    truth = start[None, :] + t[:, None] * v[None, :]
    bias = np.radians(rng.normal(0.0, bias_deg, towers))[tower]
    b = geometry.bearing_rad(xy, truth) + bias + rng.normal(0.0, math.radians(0.025), t.size)
    sigma = np.full(t.size, math.radians(0.025))
    return t, xy, b, sigma, tower, np.full(t.size, math.radians(bias_deg)), truth


@pytest.mark.parametrize("seed", range(40))
def test_compiled_fit_equals_the_numpy_fit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    towers, looks = int(rng.integers(2, 6)), int(rng.integers(1, 4))
    bias_deg = float(rng.choice([0.0, 0.2, 1.0]))
    t, xy, b, sigma, tower, bias_sigma, truth = _problem(rng, towers, looks, bias_deg)
    t0 = float(t.max())
    start = truth[np.argmax(t)] + rng.normal(0.0, 100.0, 2)
    if seed % 5 == 0:  # some fits that do not converge or lose the target
        start = start + rng.normal(0.0, 3000.0, 2)
    want = reference_cv_fit(t, xy, b, sigma, tower, bias_sigma, t0, start, 8.0)
    got = cv_fit(t, xy, b, sigma, tower, bias_sigma, t0, start, 8.0)
    assert (got is None) == (want is None)
    if got is None or want is None:
        return
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)


def reference_spanning(t_s: FloatArray, tower: IntArray, span_s: float) -> int:
    """Towers whose looks span ``span_s``, as the search counted them in Python."""
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    for k, t in zip(tower.tolist(), t_s.tolist(), strict=True):
        first[k] = min(first.get(k, t), t)
        last[k] = max(last.get(k, t), t)
    return sum(last[k] - first[k] >= span_s for k in first)


def reference_one_per_look(rows: IntArray, res: FloatArray, tower: IntArray,
                           t_s: FloatArray) -> IntArray:
    best: dict[tuple[int, float], tuple[float, int]] = {}
    for j, e, k, t in zip(rows.tolist(), res.tolist(), tower.tolist(), t_s.tolist(),
                          strict=True):
        if (k, t) not in best or e < best[(k, t)][0]:
            best[(k, t)] = (e, j)
    return np.array(sorted(j for _, j in best.values()), dtype=np.int64)


@pytest.mark.parametrize("seed", range(20))
def test_compiled_look_counts_equal_the_python_ones(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 25))
    tower = rng.integers(0, 5, n).astype(np.int64)
    t_s = np.round(rng.uniform(0.0, 12.0, n) * 2.0) / 2.0  # frames: repeated looks
    span = 5.5 * 0.9
    assert revisit_kernels.spanning_towers(t_s, tower, span) == reference_spanning(
        t_s, tower, span)
    support = rng.random((7, n)) < 0.5
    each = revisit_kernels.spanning_towers_each(support, t_s, tower, span)
    assert each.tolist() == [reference_spanning(t_s[s], tower[s], span) for s in support]
    rows = np.sort(rng.choice(100, n, replace=False)).astype(np.int64)
    res = np.round(rng.uniform(0.0, 1.0, n), 1)  # ties: the first of equals is kept
    got = revisit_kernels.one_per_look(rows, res, tower, t_s)
    assert got.tolist() == reference_one_per_look(rows, res, tower, t_s).tolist()
