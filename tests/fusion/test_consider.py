"""The consider update keeps the towers' common biases in the covariance (fusion.consider)."""

from __future__ import annotations

import math

import numpy as np

from perimeter.fusion import ekf
from perimeter.fusion.consider import ConsiderBiases

TOWERS = np.array([[0.0, 0.0], [3000.0, 0.0]])
NOISE_RAD = math.radians(0.02)
BIAS_RAD = math.radians(0.1)


def _mean_nees(consider: bool, runs: int = 60) -> float:
    """A walker 1.5 km from both masts, 300 s of 0.5 s frames from each, each mast's bearings
    off by its own bias drawn once per run (sigma BIAS_RAD, known to the filter); azimuths
    clockwise from north."""
    rng = np.random.default_rng(7)
    nees = []
    for _ in range(runs):
        bias = rng.normal(0.0, BIAS_RAD, size=2)
        truth = np.array([1500.0, 1500.0, 0.8, -0.6])
        x = truth + np.array([20.0, -15.0, 0.5, 0.5])
        p = np.diag([400.0, 400.0, 1.0, 1.0])
        filt = ConsiderBiases(2)
        t_s = 0.0
        for step in range(600):
            t_s += 0.5
            truth = truth + np.array([0.5 * truth[2], 0.5 * truth[3], 0.0, 0.0])
            xp, pp = ekf.predict(x[None], p[None], np.array([0.5]), 0.01)
            k = step % 2
            dx, dy = truth[:2] - TOWERS[k]
            z = math.atan2(dx, dy) + bias[k] + rng.normal(0.0, NOISE_RAD)
            if consider:  # noise only in r; the bias in the consider term
                nu, _, h = ekf.innovation(xp, pp, TOWERS[k], np.array([z]),
                                          np.array([NOISE_RAD**2]))
                x, p = filt.update(0, t_s, xp[0], pp[0], h[0], float(nu[0, 0]),
                                   NOISE_RAD**2, k, BIAS_RAD**2)
            else:  # the bias's variance added to each bearing's, as if independent
                r = np.array([NOISE_RAD**2 + BIAS_RAD**2])
                nu, _, h = ekf.innovation(xp, pp, TOWERS[k], np.array([z]), r)
                xn, pn = ekf.update(xp, pp, h, nu[:, 0], r)
                x, p = xn[0], pn[0]
        err = x[:2] - truth[:2]
        nees.append(float(err @ np.linalg.solve(p[:2, :2], err)))
    return float(np.mean(nees))


def test_common_bias_is_consistent_only_with_the_consider_term() -> None:
    # 2 degrees of freedom: a consistent filter's mean NEES is 2 (60 runs: 1.5-2.6 at 95 %)
    assert 1.3 < _mean_nees(consider=True) < 3.0
    assert _mean_nees(consider=False) > 5.0  # 8.9: the bias does not average out


def test_cross_covariance_follows_the_state_between_updates() -> None:
    filt = ConsiderBiases(1)
    h = np.array([0.0, 1.0 / 1000.0, 0.0, 0.0])
    p = np.diag([100.0, 100.0, 1.0, 1.0])
    filt.update(3, 0.0, np.zeros(4), p, h, 0.0, 1e-8, 0, 1e-6)
    c0 = filt.at(3, 0.0)
    c2 = filt.at(3, 2.0)
    assert np.allclose(c2[:, :2], c0[:, :2] + 2.0 * c0[:, 2:])
    assert c0[0, 1] < 0.0  # the estimate leans with the bias it took in
