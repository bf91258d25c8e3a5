from __future__ import annotations

import math

import numpy as np

from perimeter.evaluation import ellipse
from perimeter.fusion import ekf
from perimeter.fusion.origin import origin_of, rts_smooth, rts_smooth_first
from perimeter.fusion.track_state import History
from perimeter.geometry import bearing_rad
from tests.fusion.helpers import track_at

TOWERS = np.array([[0.0, -2500.0], [0.0, -500.0], [0.0, 1500.0]])


def filtered_run(rng: np.random.Generator) -> tuple[np.ndarray, History]:
    """Filter a straight walk from noisy bearings; return the truth at t=0 and the history."""
    sigma, q, dt = math.radians(0.3), 0.05, 0.5
    truth0 = np.array([4000.0, -400.0, -1.3, 0.2])
    x = (truth0 + np.array([rng.normal(0, 60), rng.normal(0, 20), 0.0, 0.0]))[None] * [1, 1, 0, 0]
    p = np.diag([80.0**2, 80.0**2, 9.0, 9.0])[None]
    hist = History()
    hist.append(0.0, x[0], p[0], q)
    for k in range(1, 120):
        t = k * dt
        pos = truth0[:2] + truth0[2:] * t
        x, p = ekf.predict(x, p, np.array([dt]), q)
        tower = TOWERS[k % 3]
        z = np.array([float(bearing_rad(tower, pos)) + rng.normal(0.0, sigma)])
        nu, _s, h = ekf.innovation(x, p, tower, z, np.array([sigma**2]))
        x, p = ekf.update(x, p, h, nu[:, 0], np.array([sigma**2]))
        hist.append(t, x[0], p[0], q)
    return truth0, hist


def test_rts_smoothing_reduces_the_first_state_error() -> None:
    rng = np.random.default_rng(5)
    filtered, smoothed = [], []
    for _ in range(20):
        truth0, hist = filtered_run(rng)
        xs, ps = rts_smooth(hist.t[:hist.n], hist.x[:hist.n], hist.p[:hist.n], hist.q[:hist.n])
        filtered.append(np.hypot(*(hist.x[0, :2] - truth0[:2])))
        smoothed.append(np.hypot(*(xs[0, :2] - truth0[:2])))
        assert np.trace(ps[0]) < np.trace(hist.p[0])
    assert np.mean(smoothed) < 0.5 * np.mean(filtered)


def test_origin_of_a_track_carries_back_to_the_first_detection() -> None:
    rng = np.random.default_rng(8)
    truth0, hist = filtered_run(rng)
    track = track_at(0, 0)
    track.state.history = hist
    track.first_t_s = -2.0  # first detection two seconds before the first filtered state
    origin = origin_of(track)
    assert origin is not None and origin.t_s == -2.0
    expected = truth0[:2] - truth0[2:] * 2.0
    assert math.hypot(origin.x_m - expected[0], origin.y_m - expected[1]) < 3 * origin.sigma_major_m
    assert origin.sigma_major_m >= origin.sigma_minor_m
    assert 0.0 <= origin.orientation_deg < 180.0


def test_the_first_smoothed_state_alone_equals_the_full_backward_pass() -> None:
    rng = np.random.default_rng(11)
    for _ in range(3):
        _truth0, hist = filtered_run(rng)
        for n in (1, 2, 3, 50, hist.n):  # odd and even lengths through the prefix scan
            args = (hist.t[:n], hist.x[:n], hist.p[:n], hist.q[:n])
            xs, ps = rts_smooth(*args)
            x0, p0 = rts_smooth_first(*args)
            np.testing.assert_allclose(x0, xs[0], rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(p0, ps[0], rtol=1e-7, atol=1e-9)


def test_the_reported_ellipse_holds_the_true_origin_as_the_evaluation_scores_it() -> None:
    """End to end on a case whose answer is known: the origin of a filtered straight walk,
    scored by ``perimeter.evaluation.ellipse`` against the true start, falls inside its 95 %
    ellipse about 95 % of the time (60 runs: at least 52, i.e. the ellipse is not too small)."""
    rng = np.random.default_rng(21)
    inside, d = 0, []
    for _ in range(60):
        truth0, hist = filtered_run(rng)
        track = track_at(0, 0)
        track.state.history = hist
        origin = origin_of(track)
        assert origin is not None
        d.append(ellipse.normalised_error(origin, (float(truth0[0]), float(truth0[1]))))
        inside += ellipse.inside_95(d[-1])
    assert inside >= 52
    assert 0.8 < float(np.median(d)) < 1.6
