from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from scipy.linalg import expm

from perimeter.fusion import ekf, imm
from perimeter.fusion.track_state import TrackState
from perimeter.geometry import bearing_rad

TOWERS = np.array([[0.0, 0.0], [2000.0, 0.0]])
SIGMA_RAD = 0.5e-3
DT_S = 0.5  # one tower's bearing every half second, the towers in turn


def stop_and_go(rng: np.random.Generator, *, walk_s: float = 30.0, stop_s: float = 40.0,
                legs: int = 4, speed_mps: float = 1.2) -> tuple[np.ndarray, np.ndarray]:
    """Truth ``(k, 4)`` every :data:`DT_S` of a walker that stops and goes, and whether it is
    stopped at each step; each walk leg heads a new random way."""
    states, stopped = [], []
    pos = np.array([1000.0, 1500.0])
    for _ in range(legs):
        heading = rng.uniform(0.0, 2.0 * math.pi)
        v = speed_mps * np.array([math.sin(heading), math.cos(heading)])
        for _ in range(int(walk_s / DT_S)):
            pos = pos + v * DT_S
            states.append(np.concatenate([pos, v]))
            stopped.append(False)
        for _ in range(int(stop_s / DT_S)):
            pos = pos + rng.normal(0.0, 0.02, 2)  # a little shifting on the spot
            states.append(np.concatenate([pos, [0.0, 0.0]]))
            stopped.append(True)
    return np.array(states), np.array(stopped)


def bearings(rng: np.random.Generator, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    towers = np.arange(len(truth)) % 2
    z = np.array([float(bearing_rad(TOWERS[k], s[:2])) for k, s in zip(towers, truth,
                                                                        strict=True)])
    return towers, z + rng.normal(0.0, SIGMA_RAD, len(z))


def start_state(truth0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([[truth0[0] + 3.0, truth0[1] - 3.0, 0.0, 0.0]])
    p = np.diag([5.0**2, 5.0**2, 1.5**2, 1.5**2])[None]
    return x, p


def run_cv(truth: np.ndarray, towers: np.ndarray, z: np.ndarray, q: float) -> np.ndarray:
    x, p = start_state(truth[0])
    out = []
    r = np.array([SIGMA_RAD**2])
    for k in range(len(truth)):
        if k:
            x, p = ekf.predict(x, p, np.array([DT_S]), q)
        nu, _s, h = ekf.innovation(x, p, TOWERS[towers[k]], z[k:k + 1], r)
        x, p = ekf.update(x, p, h, nu[:, 0], r)
        out.append(x[0].copy())
    return np.array(out)


def run_imm(truth: np.ndarray, towers: np.ndarray, z: np.ndarray, config: imm.ImmConfig
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Combined states, covariances and mode probabilities after every update."""
    x, p = start_state(truth[0])
    xm, pm, mu = imm.start(x, p, config)
    xs, ps, mus = [], [], []
    r = np.array([SIGMA_RAD**2])
    for k in range(len(truth)):
        xp, pp, cbar = imm.predict(xm, pm, mu, np.array([DT_S if k else 0.0]), config)
        xm, pm, mu = imm.update_modes(xp, pp, cbar, TOWERS[towers[k]], z[k:k + 1], r, config)
        xc, pc = imm.combine(xm, pm, mu)
        xs.append(xc[0])
        ps.append(pc[0])
        mus.append(mu[0])
    return np.array(xs), np.array(ps), np.array(mus)


def test_transition_matrix_is_the_chains_exponential() -> None:
    config = imm.ImmConfig()
    pi = imm.transition_matrix(config, np.array([0.0, 0.7, 3.0, 3.7]))
    assert np.allclose(pi.sum(axis=2), 1.0)
    assert np.allclose(pi[0], np.eye(3))
    assert np.allclose(pi[1] @ pi[2], pi[3])  # Chapman-Kolmogorov: irregular steps compose
    assert np.allclose(pi[2], expm(config.generator() * 3.0))
    # over a short step, leaving a mode takes dt / its sojourn time
    small = imm.transition_matrix(config, np.array([0.01]))[0]
    assert np.allclose(1.0 - np.diag(small), 0.01 / np.array(config.sojourn_s), rtol=1e-2)


def test_mixing_with_no_switching_keeps_each_mode() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 10.0, (2, 3, 4))
    a = rng.normal(0.0, 1.0, (2, 3, 4, 4))
    p = a @ np.swapaxes(a, -1, -2) + np.eye(4)
    mu = np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])
    x0, p0, cbar = imm.mix(x, p, mu, np.repeat(np.eye(3)[None], 2, axis=0))
    assert np.allclose(x0, x) and np.allclose(p0, p) and np.allclose(cbar, mu)


def test_combined_covariance_is_psd_and_covers_the_spread() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 10.0, (50, 3, 4))
    a = rng.normal(0.0, 1.0, (50, 3, 4, 4))
    p = a @ np.swapaxes(a, -1, -2)
    mu = rng.dirichlet(np.ones(3), 50)
    xc, pc = imm.combine(x, p, mu)
    assert np.all(np.linalg.eigvalsh(pc) > -1e-9)
    # the combination is at least as uncertain as the modes' average covariance
    mean_p = np.einsum("nj,njab->nab", mu, p)
    assert np.all(np.linalg.eigvalsh(pc - mean_p) > -1e-9)
    assert np.allclose(xc, np.einsum("nj,nja->na", mu, x))


def test_standing_prediction_forgets_velocity_and_holds_position() -> None:
    config = imm.ImmConfig()
    x = np.array([[0.0, 0.0, 1.0, 0.0]])
    p = np.diag([1.0, 1.0, 0.01, 0.01])[None]
    xp, pp = imm.standing_predict(x, p, np.array([60.0]), config)
    tau = config.standing_correlation_s
    assert xp[0, 2] < 1e-6 and xp[0, 0] == pytest.approx(tau, rel=1e-3)  # coasts ~tau metres
    assert pp[0, 2, 2] == pytest.approx(config.standing_speed_sigma_mps**2, rel=1e-3)
    # zero interval: nothing changes
    x0, p0 = imm.standing_predict(x, p, np.array([0.0]), config)
    assert np.allclose(x0, x) and np.allclose(p0, p)


def test_likelihoods_pick_the_mode_the_bearing_agrees_with() -> None:
    config = imm.ImmConfig()
    tower = np.array([0.0, 0.0])
    x = np.array([[[0.0, 1000.0, 0.0, 0.0], [20.0, 1000.0, 1.0, 0.0], [60.0, 1000.0, 0, 0]]])
    p = np.repeat(np.diag([4.0, 4.0, 0.1, 0.1])[None, None], 3, axis=1)
    cbar = np.array([[0.3, 0.4, 0.3]])
    z = np.array([math.atan2(20.0, 1000.0)])
    _xn, _pn, mu = imm.update_modes(x, p, cbar, tower, z, np.array([SIGMA_RAD**2]), config)
    assert mu[0, imm.WALKING] > 0.99
    assert mu[0].sum() == pytest.approx(1.0)
    assert mu.min() >= config.floor / (1.0 + 3 * config.floor)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stop_and_go_is_tracked_better_than_one_constant_velocity(seed: int) -> None:
    """Against one constant velocity with the person's noise (the engine's for a person)."""
    rng = np.random.default_rng(seed)
    truth, stopped = stop_and_go(rng)
    towers, z = bearings(rng, truth)
    config = imm.ImmConfig()
    cv = run_cv(truth, towers, z, config.walking_q)
    xs, _ps, mus = run_imm(truth, towers, z, config)
    err_cv = np.hypot(*(cv[:, :2] - truth[:, :2]).T)
    err_imm = np.hypot(*(xs[:, :2] - truth[:, :2]).T)
    restart = np.zeros(len(truth), dtype=bool)
    starts = np.flatnonzero(np.diff(stopped.astype(int)) == -1) + 1
    for s in starts:
        restart[s:s + int(10.0 / DT_S)] = True

    def rmse(e: np.ndarray, mask: np.ndarray) -> float:
        return float(np.sqrt(np.mean(e[mask] ** 2)))

    everywhere = np.ones(len(truth), dtype=bool)
    assert rmse(err_imm, stopped) < 0.8 * rmse(err_cv, stopped)
    assert rmse(err_imm, everywhere) < 0.95 * rmse(err_cv, everywhere)
    # the price: in the first seconds of a restart 'standing' still holds part of the
    # estimate back (seeds 1-6: +9 % over the 10 s); bounded, not hidden
    assert rmse(err_imm, restart) < 1.2 * rmse(err_cv, restart)
    # 'standing' takes over during a stop, and lets go while walking
    late_stop = stopped & np.roll(stopped, int(10.0 / DT_S))
    walking = ~stopped & ~restart
    walking[: int(10.0 / DT_S)] = False
    assert np.median(mus[late_stop, imm.STANDING]) > 0.8
    assert np.median(mus[walking, imm.STANDING]) < 0.2


def test_nees_is_near_the_state_dimension_on_a_constant_velocity_truth() -> None:
    rng = np.random.default_rng(11)
    config = imm.ImmConfig()
    f = ekf.transition(np.array([DT_S]))[0]
    qd = ekf.process_noise(np.array([DT_S]), config.walking_q)[0]
    truth = [np.array([1000.0, 1500.0, 0.8, -0.9])]
    for _ in range(1200):
        truth.append(f @ truth[-1] + rng.multivariate_normal(np.zeros(4), qd))
    t = np.array(truth)
    towers, z = bearings(rng, t)
    xs, ps, mus = run_imm(t, towers, z, config)
    e = xs[200:] - t[200:]
    nees = np.einsum("ka,kab,kb->k", e, np.linalg.inv(ps[200:]), e)
    assert np.mean(nees) == pytest.approx(4.0, rel=0.35)
    assert np.median(mus[200:, imm.WALKING]) > 0.5


def test_tracker_keeps_modes_on_the_state_and_restarts_them_after_another_estimate() -> None:
    rng = np.random.default_rng(4)
    truth, _stopped = stop_and_go(rng, legs=1)
    towers, z = bearings(rng, truth)
    config = imm.ImmConfig()
    x, p = start_state(truth[0])
    state = TrackState(x[0], p[0], 0.0)
    tracker = imm.ImmTracker(config)
    r = np.array([SIGMA_RAD**2])
    for k in range(len(truth)):
        tracker.predicted([state], k * DT_S)
        xc, pc = tracker.update([state], TOWERS[towers[k]], z[k:k + 1], r)
        state.x, state.p, state.t_s = xc[0], pc[0], k * DT_S
    xs, _ps, mus = run_imm(truth, towers, z, config)
    mode_probability = state.mode_probability
    assert mode_probability is not None
    assert np.allclose(state.x, xs[-1]) and np.allclose(mode_probability, mus[-1])
    assert state.modes is not None and state.modes.describes(state.x, state.t_s)
    # another path re-estimates the track: its modes restart there, probabilities kept
    state.x = state.x + np.array([5.0, 0.0, 0.0, 0.0])
    before = state.modes.mu.copy()
    assert not np.allclose(before, config.prior)  # so a reset to the prior would show
    xp, _pp = tracker.predicted([state], state.t_s)
    assert np.allclose(xp[0], state.x)
    restarted_mu = tracker._rows[id(state)][3]  # the modes it predicted from (no time passed)
    assert np.allclose(restarted_mu, before)


def _driving_nees(xhat: npt.NDArray[np.float64], p: npt.NDArray[np.float64],
                  tower: npt.NDArray[np.float64], z: npt.NDArray[np.float64], sigma_rad: float,
                  back_s: npt.NDArray[np.float64], truth: npt.NDArray[np.float64],
                  config: imm.ImmConfig) -> npt.NDArray[np.float64]:
    """Every mode starts at ``xhat, p`` with equal weights, takes the acoustic bearings ``z``
    heard ``back_s`` late; the driving mode's NEES against ``truth``, per case."""
    n, m = len(z), len(imm.MODES)
    xm = np.repeat(np.repeat(xhat[None, None], n, axis=0), m, axis=1)
    pm = np.repeat(np.repeat(p[None, None], n, axis=0), m, axis=1)
    cbar = np.full((n, m), 1.0 / m)
    xn, pn, _mu = imm.update_modes(xm, pm, cbar, tower, z, np.full(n, sigma_rad**2), config,
                                   back_s)
    e = truth - xn[:, imm.DRIVING]
    return np.einsum("ni,ni->n", e, np.linalg.solve(pn[:, imm.DRIVING], e[..., None])[..., 0])


def test_acoustic_update_gain_allows_for_the_travel_gaps_process_noise() -> None:
    """A sound heard now left the source ``r / c`` ago: the bearing is of a state the present
    one reaches only through the gap's process noise. The mode-matched update must weigh the
    bearing by the innovation variance that includes it (the likelihood's ``S``), or a sharp
    bearing pins the present state to a line the target has since left: the updated
    covariance would not cover the error (NEES far above the state dimension)."""
    rng = np.random.default_rng(5)
    config = imm.ImmConfig()
    n = 4000
    tower = np.array([0.0, 0.0])
    back_s = np.full(n, 6.0)  # 2 km at 337 m/s
    sigma_rad = 1e-4  # a sharp bearing beside the gap's ~8 m (driving) across 2 km
    xhat = np.array([0.0, 2000.0, 10.0, 0.0])
    p0 = np.diag([10.0**2, 10.0**2, 2.0**2, 2.0**2])
    truth = rng.multivariate_normal(xhat, p0, n)
    q_gap = ekf.process_noise(back_s, config.driving_q)
    w = np.array([rng.multivariate_normal(np.zeros(4), q) for q in q_gap])
    left = np.einsum("nij,nj->ni", ekf.transition(-back_s), truth - w)
    z = bearing_rad(tower, left[:, :2]) + rng.normal(0.0, sigma_rad, n)
    nees = _driving_nees(xhat, p0, tower, z, sigma_rad, back_s, truth, config)
    assert 3.5 < float(nees.mean()) < 4.6


def test_acoustic_update_gain_holds_when_the_prediction_crossed_the_gap() -> None:
    """The physical case, not the update's own model: the source's state when the sound left
    is what the track knew then; the target drives on through the gap to the present, and the
    track's prediction to now carries that gap's process noise in its covariance already. The
    bearing is of the state at emission: without the gap's noise in the gain the update would
    pin the present state to the old line of sight (NEES in the hundreds); with it, about
    the state dimension (a little over: the retrodiction ignores the cross-covariance)."""
    rng = np.random.default_rng(6)
    config = imm.ImmConfig()
    n = 4000
    tower = np.array([0.0, 0.0])
    back_s = np.full(n, 6.0)
    sigma_rad = 1e-4
    x_then = np.array([0.0, 1940.0, 10.0, 0.0])
    p_then = np.diag([10.0**2, 10.0**2, 2.0**2, 2.0**2])
    f = ekf.transition(back_s[:1])[0]
    q_gap = ekf.process_noise(back_s[:1], config.driving_q)[0]
    then = rng.multivariate_normal(x_then, p_then, n)  # the state the sound left from
    truth = then @ f.T + rng.multivariate_normal(np.zeros(4), q_gap, n)
    z = bearing_rad(tower, then[:, :2]) + rng.normal(0.0, sigma_rad, n)
    xhat, p_now = f @ x_then, f @ p_then @ f.T + q_gap  # predicted through the gap
    nees = _driving_nees(xhat, p_now, tower, z, sigma_rad, back_s, truth, config)
    assert 3.5 < float(nees.mean()) < 5.0
