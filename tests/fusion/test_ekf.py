from __future__ import annotations

import math

import numpy as np
import pytest

from perimeter.fusion import ekf
from perimeter.geometry import bearing_rad


def test_predict_moves_state_and_grows_covariance() -> None:
    x = np.array([[100.0, 200.0, 1.0, -2.0]])
    p = np.eye(4)[None] * 4.0
    xp, pp = ekf.predict(x, p, np.array([10.0]), 0.1)
    assert np.allclose(xp[0], [110.0, 180.0, 1.0, -2.0])
    assert pp[0, 0, 0] == pytest.approx(4.0 + 100 * 4.0 + 0.1 * 1000 / 3)
    assert np.allclose(pp[0], pp[0].T)


def test_bearing_update_shrinks_cross_range_not_range() -> None:
    tower = np.array([0.0, 0.0])
    x = np.array([[1000.0, 0.0, 0.0, 0.0]])  # due east
    p = np.diag([100.0**2, 100.0**2, 1.0, 1.0])[None]
    z = np.array([math.radians(90.5)])
    r = np.array([math.radians(0.1)]) ** 2
    nu, _s, h = ekf.innovation(x, p, tower, z, r)
    xn, pn = ekf.update(x, p, h, nu[:, 0], r)
    assert math.sqrt(pn[0, 1, 1]) < 5.0  # cross-range (north) pinned by the bearing
    assert math.sqrt(pn[0, 0, 0]) == pytest.approx(100.0, rel=1e-3)  # range untouched
    assert xn[0, 1] == pytest.approx(-1000.0 * math.tan(math.radians(0.5)), rel=0.05)


def test_filter_tracks_a_crossing_target_consistently() -> None:
    rng = np.random.default_rng(11)
    towers = np.array([[0.0, -2000.0], [0.0, 0.0], [0.0, 2000.0]])
    sigma = math.radians(0.2)
    truth = np.array([4000.0, 500.0, -1.4, -0.3])
    x = truth[None].copy() + np.array([[80.0, -60.0, 1.0, 1.0]])
    p = np.diag([150.0**2, 150.0**2, 4.0, 4.0])[None]
    nees = []
    dt, q = 0.5, 0.01
    f, qd = ekf.transition(np.array([dt]))[0], ekf.process_noise(np.array([dt]), q)[0]
    for k in range(1, 600):
        truth = f @ truth + rng.multivariate_normal(np.zeros(4), qd)
        x, p = ekf.predict(x, p, np.array([dt]), q)
        tower = towers[k % 3]
        z = np.array([float(bearing_rad(tower, truth[:2])) + rng.normal(0.0, sigma)])
        nu, _s, h = ekf.innovation(x, p, tower, z, np.array([sigma**2]))
        x, p = ekf.update(x, p, h, nu[:, 0], np.array([sigma**2]))
        if k > 200:
            e = x[0] - truth
            nees.append(float(e @ np.linalg.solve(p[0], e)))
    assert np.hypot(*(x[0, :2] - truth[:2])) < 20.0
    assert np.mean(nees) == pytest.approx(4.0, rel=0.5)  # consistent: NEES ~ state dimension


def test_out_of_sequence_update_moves_the_present_state() -> None:
    tower = np.array([0.0, 0.0])
    x = np.array([[1000.0, 0.0, 0.0, 1.0]])
    p = np.diag([50.0**2, 50.0**2, 0.5, 0.5])[None]
    dt = np.array([-10.0])
    xb, pb = ekf.predict(x, p, dt, 0.05)
    z = np.array([math.radians(90.0) - 0.02])
    nu, s, h = ekf.innovation(xb, pb, tower, z, np.array([1e-6]))
    h_eff = np.einsum("ni,nij->nj", h, ekf.transition(dt))
    xn, pn = ekf.update_with_gain(x, p, h_eff, nu[:, 0], s[:, 0])
    assert xn[0, 1] > x[0, 1]  # the old bearing said "further north than we thought"
    assert np.trace(pn[0]) < np.trace(p[0])


class _T:
    def __init__(self, x: np.ndarray, p: np.ndarray, t_s: float) -> None:
        self.x, self.p, self.t_s = x, p, t_s


def _tracks(rng: np.random.Generator, n: int, t_s: float) -> list[_T]:
    out = []
    for _ in range(n):
        a = rng.normal(0.0, 1.0, (4, 4))
        out.append(_T(rng.normal(0.0, 1000.0, 4), a @ a.T + np.eye(4), t_s - rng.uniform(0, 2)))
    return out


def test_prediction_cache_gives_exactly_what_predict_gives() -> None:
    rng = np.random.default_rng(4)
    tracks, q = _tracks(rng, 5, 100.0), [0.05, 1.0, 0.3, 0.05, 0.05]

    def direct(ts: list[_T], qs: list[float]) -> tuple[np.ndarray, np.ndarray]:
        return ekf.predict(np.array([t.x for t in ts]), np.array([t.p for t in ts]),
                           np.array([100.0 - t.t_s for t in ts]), np.array(qs))

    cache = ekf.PredictionCache(100.0)
    for want, got in zip(direct(tracks, q), cache.predict(tracks, q), strict=True):
        assert np.array_equal(want, got)
    # a track updated at the frame time (new arrays) and another's process noise changed
    tracks[1].x, tracks[1].p, tracks[1].t_s = tracks[1].x + 5.0, tracks[1].p * 0.5, 100.0
    q[3] = 0.3
    subset = [tracks[4], tracks[1], tracks[3]]
    for want, got in zip(direct(subset, [q[4], q[1], q[3]]),
                         cache.predict(subset, [q[4], q[1], q[3]]), strict=True):
        assert np.array_equal(want, got)
    again = cache.predict(subset, [q[4], q[1], q[3]])
    assert again[0] is cache.predict(subset, [q[4], q[1], q[3]])[0]  # nothing changed: reused


def test_prediction_over_no_time_is_the_state_itself() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(0.0, 100.0, (3, 4))
    p = np.array([np.eye(4), np.diag([4.0, 4.0, 1.0, 1.0]), np.full((4, 4), -0.0) + np.eye(4)])
    xp, pp = ekf.predict(x, p, np.zeros(3), 0.3)
    assert np.array_equal(xp, x) and np.array_equal(pp, p)
    assert not np.signbit(pp).any()  # -0.0 comes out as 0.0, as the cache's + 0.0 gives
