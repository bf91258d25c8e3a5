"""A track's NEES is taken at the time its estimate is of (perimeter.evaluation.nees)."""

from __future__ import annotations

import math

import numpy as np

from perimeter.evaluation.nees import consistency, nearest_at_state
from perimeter.fusion import ekf

MASTS = np.array([[0.0, 0.0], [3000.0, 0.0]])
SIGMA_RAD = math.radians(0.02)
VELOCITY = np.array([1.2, -0.9])  # a walker, 1.5 m/s


def _walker(t_s: float) -> tuple[float, float]:
    return (1500.0 + VELOCITY[0] * t_s, 1500.0 + VELOCITY[1] * t_s)


def _probe_nees(at_state: bool, runs: int = 40) -> float:
    """Mean NEES of a constant-velocity EKF following a steady walker 1.5 km from two masts
    (a bearing every 4 s, the masts in turn), probed 3.5 s after each update: with the truth
    at the estimate's own time, or at the probe's."""
    rng = np.random.default_rng(11)
    out = []
    for _ in range(runs):
        x = np.array([*_walker(0.0), *VELOCITY]) + np.array([8.0, -6.0, 0.3, 0.3])
        p = np.diag([100.0, 100.0, 0.25, 0.25])
        for step in range(1, 151):
            t_s = 4.0 * step
            mast = MASTS[step % 2]
            xp, pp = ekf.predict(x[None], p[None], np.array([4.0]), 1e-4)
            dx, dy = np.asarray(_walker(t_s)) - mast
            z = math.atan2(dx, dy) + rng.normal(0.0, SIGMA_RAD)
            nu, _, h = ekf.innovation(xp, pp, mast, np.array([z]), np.array([SIGMA_RAD**2]))
            xn, pn = ekf.update(xp, pp, h, nu[:, 0], np.array([SIGMA_RAD**2]))
            x, p = xn[0], pn[0]
            if step > 50:  # converged; the probe comes 3.5 s after the update
                truth = np.asarray(_walker(t_s if at_state else t_s + 3.5))
                c = consistency(x, p, truth, MASTS)
                assert c is not None
                out.append(c.nees)
    return float(np.mean(out))


def test_a_consistent_filter_is_consistent_at_its_estimates_time() -> None:
    # 2 degrees of freedom: mean 2 when honest
    assert 1.0 < _probe_nees(at_state=True) < 3.0  # 1.57: q a little above the walk's 0


def test_the_truth_at_the_probes_time_counts_the_objects_motion_as_error() -> None:
    # 3.5 s of walking is 5 m, against the sub-metre sigma of two masts' bearings
    assert _probe_nees(at_state=False) > 20.0


def test_along_and_across_the_nearest_masts_sight() -> None:
    x = np.array([1003.0, 4.0, 0.0, 0.0])  # 3 m beyond, 4 m beside the truth
    p = np.diag([9.0, 16.0, 1.0, 1.0])
    c = consistency(x, p, np.array([1000.0, 0.0]), MASTS)
    assert c is not None
    assert math.isclose(c.mast_m, 1000.0)  # mast 0 is nearer
    assert math.isclose(c.z_along, 1.0) and math.isclose(abs(c.z_across), 1.0)
    assert math.isclose(c.nees, 2.0) and math.isclose(c.error_m, 5.0)


def test_the_object_followed_is_the_nearest_at_the_estimates_time() -> None:
    positions = [lambda t: (10.0 * t, 0.0), lambda t: (100.0, 0.0)]
    # at t = 10 s the mover is at 100 m, beside the standing object: an estimate of t = 0
    # at the origin follows the mover, which was there then
    assert nearest_at_state(0.0, np.array([1.0, 0.0]), positions, 50.0) == 0
    assert nearest_at_state(10.0, np.array([1.0, 0.0]), positions, 50.0) is None
