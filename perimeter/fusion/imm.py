"""Interacting multiple model (IMM) estimator of a track's motion, vectorised over tracks.

Blom & Bar-Shalom (1988); Bar-Shalom, Li & Kirubarajan, *Estimation with Applications to
Tracking and Navigation* (2001), ch. 11.6. Three modes share the state ``[x_m, y_m, vx_mps,
vy_mps]`` of :mod:`.ekf`:

0. ``standing``: the velocity is an Ornstein-Uhlenbeck process about zero (a person or animal
   standing, lying or grazing shifts a little and does not keep going);
1. ``walking``: constant velocity with a person's manoeuvre noise (walking or crawling);
2. ``driving``: constant velocity with a vehicle's manoeuvre noise.

A scan's cycle is: :func:`mix` the modes' posteriors with the Markov chain's transition
probabilities over the interval, :func:`predict_modes` each with its own model,
:func:`combine` them for gating (moment matching), and after the assignment
:func:`update_modes` each mode with the bearing, weighing the modes by their innovations'
likelihoods. The mode chain is a continuous-time Markov chain (mean sojourn times, then where
a mode goes when left), so its transition matrix ``expm(Λ dt)`` suits the tracker's
irregular intervals. Only forward intervals are predicted; retrodiction to a late or retarded
(acoustic) measurement uses each mode's constant-velocity form over the short gap.

Arrays carry a leading track axis and a mode axis: ``x (n, M, 4)``, ``p (n, M, 4, 4)``,
``mu (n, M)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.linalg import expm

from perimeter.fusion import ekf
from perimeter.fusion.track_state import ModeState, TrackState

FloatArray = npt.NDArray[np.float64]

MODES = ("standing", "walking", "driving")
STANDING, WALKING, DRIVING = range(3)


@dataclass(frozen=True, slots=True)
class ImmConfig:
    """The modes' models and the chain between them. Every value is an assumed nominal one
    (no measured motion statistics of intruders are at hand); the spread is what a tuning
    would explore, not a measured one.
    """

    standing_speed_sigma_mps: float = 0.1
    """Standing: the velocity's stationary spread (sway, a step, an animal grazing; assumed,
    0.05-0.3)."""
    standing_correlation_s: float = 2.0
    """Standing: how long a velocity lasts (assumed, 1-5 s): position diffuses by
    ``2 sigma² tau`` = 0.04 m²/s, i.e. 1.5 m in a minute."""
    walking_q: float = 0.05
    """Walking or crawling: white-acceleration density (m²/s³), the engine's person value."""
    driving_q: float = 1.0
    """Driving: white-acceleration density (m²/s³), the engine's vehicle value."""
    sojourn_s: tuple[float, float, float] = (20.0, 40.0, 120.0)
    """Mean time in each mode before leaving it (ASSUMED: a stop of tens of seconds, a walk
    between stops of under a minute, a drive of minutes; 2x either way is plausible)."""
    exits: tuple[tuple[float, float, float], ...] = (
        (0.0, 0.9, 0.1), (0.9, 0.0, 0.1), (0.5, 0.5, 0.0))
    """Where a mode goes when left, rows summing to 1 (ASSUMED: people and animals stop and
    go; a vehicle stops, or the track was a walker all along)."""
    prior: tuple[float, float, float] = (0.25, 0.5, 0.25)
    """Mode probabilities of a new track (assumed: most intruders walk)."""
    floor: float = 1e-3
    """Least mode probability kept after an update, so a mode can take over again within a few
    scans however long the others ruled (common practice; assumed)."""

    def generator(self) -> FloatArray:
        """The chain's rate matrix ``Λ`` (1/s): off-diagonal ``exits[i][j] / sojourn[i]``."""
        rates: FloatArray = (np.asarray(self.exits, dtype=np.float64)
                             / np.asarray(self.sojourn_s, dtype=np.float64)[:, None])
        np.fill_diagonal(rates, 0.0)
        np.fill_diagonal(rates, -rates.sum(axis=1))
        return rates

    @property
    def cv_q(self) -> FloatArray:
        """Each mode's white-acceleration density for its constant-velocity form (standing:
        the density whose diffusion matches its own, ``2 sigma²/tau``)."""
        s, tau = self.standing_speed_sigma_mps, self.standing_correlation_s
        return np.array([2.0 * s * s / tau, self.walking_q, self.driving_q])


def transition_matrix(config: ImmConfig, dt_s: FloatArray) -> FloatArray:
    """``Π (n, M, M)``, ``Π[i, j]`` the probability of mode ``j`` after ``dt_s`` from ``i``."""
    return _chain(config)(dt_s)


class _Exponential:
    """``expm(Λ dt)`` for many ``dt`` from one eigendecomposition of ``Λ`` (scipy's ``expm``
    where ``Λ`` is defective)."""

    def __init__(self, generator: FloatArray) -> None:
        self.generator = generator
        w, v = np.linalg.eig(generator)
        self.eig: tuple[npt.NDArray[np.complex128], npt.NDArray[np.complex128],
                        npt.NDArray[np.complex128]] | None = None
        if np.linalg.cond(v) < 1e8:
            self.eig = (w, v, np.linalg.inv(v))

    def __call__(self, dt_s: FloatArray) -> FloatArray:
        dt = np.maximum(np.asarray(dt_s, dtype=np.float64), 0.0)
        if self.eig is None:
            pi = np.asarray(expm(self.generator[None] * dt[:, None, None]), dtype=np.float64)
        else:
            w, v, vi = self.eig
            pi = np.einsum("ik,nk,kj->nij", v, np.exp(w[None] * dt[:, None]), vi).real
        pi = np.clip(pi, 0.0, 1.0)
        return np.asarray(pi / pi.sum(axis=2, keepdims=True), dtype=np.float64)


_CHAINS: dict[ImmConfig, _Exponential] = {}


def _chain(config: ImmConfig) -> _Exponential:
    chain = _CHAINS.get(config)
    if chain is None:
        chain = _CHAINS[config] = _Exponential(config.generator())
    return chain


def mix(x: FloatArray, p: FloatArray, mu: FloatArray,
        pi: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mixed initial conditions ``x0 (n, M, 4)``, ``P0 (n, M, 4, 4)`` and the predicted mode
    probabilities ``c̄ (n, M)`` (Bar-Shalom et al. 11.6.6, step 1)."""
    cbar = np.einsum("ni,nij->nj", mu, pi)
    w = mu[:, :, None] * pi / np.maximum(cbar, 1e-300)[:, None, :]  # w[n, i, j] = mu_{i|j}
    x0 = np.einsum("nij,nia->nja", w, x)
    d = x[:, None, :, :] - x0[:, :, None, :]  # [n, j, i, a]: x_i - x0_j
    p0 = np.einsum("nij,niab->njab", w, p) + np.einsum("nij,njia,njib->njab", w, d, d)
    return x0, p0, cbar


def standing_predict(x: FloatArray, p: FloatArray, dt_s: FloatArray,
                     config: ImmConfig) -> tuple[FloatArray, FloatArray]:
    """Ornstein-Uhlenbeck velocity prediction over ``dt_s >= 0`` of states ``(k, 4)``."""
    dt = np.maximum(np.asarray(dt_s, dtype=np.float64), 0.0)
    beta = 1.0 / config.standing_correlation_s
    s2 = config.standing_speed_sigma_mps ** 2
    a = np.exp(-beta * dt)
    b = (1.0 - a) / beta  # position gained per unit of the starting velocity
    f = np.zeros((dt.shape[0], 4, 4))
    f[:, 0, 0] = f[:, 1, 1] = 1.0
    f[:, 0, 2] = f[:, 1, 3] = b
    f[:, 2, 2] = f[:, 3, 3] = a
    q = np.zeros_like(f)
    qxx = s2 / beta**2 * (2.0 * beta * dt - 3.0 + 4.0 * a - a * a)
    qxv = s2 / beta * (1.0 - a) ** 2
    qvv = s2 * (1.0 - a * a)
    q[:, 0, 0] = q[:, 1, 1] = np.maximum(qxx, 0.0)
    q[:, 0, 2] = q[:, 2, 0] = q[:, 1, 3] = q[:, 3, 1] = qxv
    q[:, 2, 2] = q[:, 3, 3] = qvv
    xp = np.einsum("kab,kb->ka", f, x)
    pp = f @ p @ np.swapaxes(f, -1, -2) + q
    return xp, 0.5 * (pp + np.swapaxes(pp, -1, -2))


def predict_modes(x0: FloatArray, p0: FloatArray, dt_s: FloatArray,
                  config: ImmConfig) -> tuple[FloatArray, FloatArray]:
    """Each mode's prediction of the mixed states over ``dt_s (n,)`` (forward only)."""
    n = x0.shape[0]
    dt = np.maximum(np.asarray(dt_s, dtype=np.float64), 0.0)
    xp, pp = np.empty_like(x0), np.empty_like(p0)
    xp[:, STANDING], pp[:, STANDING] = standing_predict(x0[:, STANDING], p0[:, STANDING], dt,
                                                        config)
    cv = [WALKING, DRIVING]
    q = np.repeat(config.cv_q[cv][None], n, axis=0).ravel()
    xs, ps = ekf.predict(x0[:, cv].reshape(-1, 4), p0[:, cv].reshape(-1, 4, 4),
                         np.repeat(dt, len(cv)), q)
    xp[:, cv], pp[:, cv] = xs.reshape(n, len(cv), 4), ps.reshape(n, len(cv), 4, 4)
    return xp, pp


def combine(x: FloatArray, p: FloatArray, mu: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The moment-matched Gaussian of the mixture: ``x (n, 4)``, ``P (n, 4, 4)``."""
    xc = np.einsum("nj,nja->na", mu, x)
    d = x - xc[:, None, :]
    pc = np.einsum("nj,njab->nab", mu, p) + np.einsum("nj,nja,njb->nab", mu, d, d)
    return xc, 0.5 * (pc + np.swapaxes(pc, -1, -2))


def bearing_innovation(x: FloatArray, p: FloatArray, tower_xy: FloatArray, z_rad: FloatArray,
                       r_rad2: FloatArray, back_s: FloatArray | None = None,
                       q: FloatArray | None = None
                       ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """One bearing per state row ``(k, 4)``: innovation ``nu (k,)`` wrapped to [-π, π),
    variance ``S (k,)`` and Jacobian ``H (k, 4)`` (as :func:`.ekf.innovation` forms them).

    ``back_s`` (with ``q``, each row's density): the bearing is of the state that long ago
    (sound's travel time), retrodicted at constant velocity; ``H`` is then ``H F(-back_s)``
    and ``S`` includes the process noise of the gap (as the engine's acoustic path)."""
    xb, pb = x, p
    if back_s is not None:
        assert q is not None
        xb, pb = ekf.predict(x, p, -np.asarray(back_s, dtype=np.float64), q)
    dx = xb[:, 0] - tower_xy[0]
    dy = xb[:, 1] - tower_xy[1]
    r2 = np.maximum(dx * dx + dy * dy, 1.0)
    h = np.zeros((x.shape[0], 4))
    h[:, 0], h[:, 1] = dy / r2, -dx / r2
    nu = (z_rad - np.arctan2(dx, dy) + math.pi) % (2.0 * math.pi) - math.pi
    s = np.einsum("ka,kab,kb->k", h, pb, h) + r_rad2
    if back_s is not None:
        h = np.einsum("ki,kij->kj", h, ekf.transition(-np.asarray(back_s, dtype=np.float64)))
    return nu, s, h


def update_modes(x: FloatArray, p: FloatArray, cbar: FloatArray, tower_xy: FloatArray,
                 z_rad: FloatArray, r_rad2: FloatArray, config: ImmConfig,
                 back_s: FloatArray | None = None
                 ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mode-matched bearing updates of predicted modes ``x (n, M, 4)`` with one bearing per
    track (``z_rad, r_rad2 (n,)``) and the posterior mode probabilities ``mu (n, M)`` from
    the innovations' likelihoods (Bar-Shalom et al. 11.6.6, steps 3-4)."""
    n, m = x.shape[:2]
    xf, pf = x.reshape(-1, 4), p.reshape(-1, 4, 4)
    z = np.repeat(np.asarray(z_rad, dtype=np.float64), m)
    r = np.repeat(np.asarray(r_rad2, dtype=np.float64), m)
    back = None if back_s is None else np.repeat(np.asarray(back_s, dtype=np.float64), m)
    q = np.tile(config.cv_q, n)
    nu, s, h = bearing_innovation(xf, pf, tower_xy, z, r, back, q)
    if back is None:
        xn, pn = ekf.update(xf, pf, h, nu, r)
    else:  # the gain of the innovation variance the likelihood uses: the gap's noise in it
        xn, pn = ekf.update_with_gain(xf, pf, h, nu, s)
    log_l = (-0.5 * (nu * nu / s + np.log(2.0 * math.pi * s))).reshape(n, m)
    mu = posterior_probabilities(log_l, cbar, config.floor)
    return xn.reshape(n, m, 4), pn.reshape(n, m, 4, 4), mu


def posterior_probabilities(log_likelihood: FloatArray, cbar: FloatArray,
                            floor: float) -> FloatArray:
    """``mu_j ∝ Λ_j c̄_j`` (log-sum-exp), then floored at ``floor`` and renormalised."""
    a = log_likelihood + np.log(np.maximum(cbar, 1e-300))
    a -= a.max(axis=1, keepdims=True)
    mu = np.exp(a)
    mu /= mu.sum(axis=1, keepdims=True)
    mu = np.maximum(mu, floor)
    return np.asarray(mu / mu.sum(axis=1, keepdims=True), dtype=np.float64)


def start(x: FloatArray, p: FloatArray, config: ImmConfig,
          mu: FloatArray | None = None) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Modes of new (or externally re-estimated) tracks ``x (n, 4)``: every mode at the given
    estimate, with probabilities ``mu`` (kept from before) or the prior."""
    n, m = x.shape[0], len(MODES)
    xm = np.repeat(x[:, None, :], m, axis=1)
    pm = np.repeat(p[:, None, :, :], m, axis=1)
    if mu is None:
        mu = np.repeat(np.asarray(config.prior, dtype=np.float64)[None], n, axis=0)
    return xm, pm, mu


def predict(x: FloatArray, p: FloatArray, mu: FloatArray, dt_s: FloatArray,
            config: ImmConfig) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mix and predict: each mode's predicted state and covariance and ``c̄``."""
    x0, p0, cbar = mix(x, p, mu, transition_matrix(config, dt_s))
    xp, pp = predict_modes(x0, p0, dt_s, config)
    return xp, pp, cbar


class ImmTracker:
    """The IMM run on the engine's tracks: predictions to a scan's time (kept while a track's
    estimate is unchanged, as :class:`.ekf.PredictionCache`) and the assigned tracks'
    updates. Each track's modes live on its state (:class:`.ModeState`); the combined
    estimate is the track's ``x, p``, which every other stage reads as before."""

    def __init__(self, config: ImmConfig) -> None:
        self.config = config
        self.t_s = math.nan
        self._rows: dict[int, tuple[FloatArray, FloatArray, FloatArray, FloatArray,
                                    FloatArray, FloatArray]] = {}
        """id(state) -> (state.x it was predicted from, modes' x, p, c̄, combined x, P)."""

    def _start(self, states: list[TrackState]) -> tuple[FloatArray, FloatArray, FloatArray]:
        """The tracks' modes, restarted from the estimate where it is not theirs."""
        n, m = len(states), len(MODES)
        x, p, mu = np.empty((n, m, 4)), np.empty((n, m, 4, 4)), np.empty((n, m))
        prior = np.asarray(self.config.prior, dtype=np.float64)
        for k, state in enumerate(states):
            modes = state.modes
            if modes is not None and modes.describes(state.x, state.t_s):
                x[k], p[k], mu[k] = modes.x, modes.p, modes.mu
            else:
                x[k], p[k] = state.x, state.p
                mu[k] = prior if modes is None else modes.mu
        return x, p, mu

    def predicted(self, states: list[TrackState], t_s: float) -> tuple[FloatArray, FloatArray]:
        """The combined predictions ``(n, 4)``, ``(n, 4, 4)`` of ``states`` at ``t_s``."""
        if t_s != self.t_s:
            self.t_s, self._rows = t_s, {}
        rows = self._rows
        stale = [s for s in states if (r := rows.get(id(s))) is None or r[0] is not s.x]
        if stale:
            x, p, mu = self._start(stale)
            dt = np.array([t_s - s.t_s for s in stale])
            xm, pm, cbar = predict(x, p, mu, dt, self.config)
            xc, pc = combine(xm, pm, cbar)
            for k, s in enumerate(stale):
                rows[id(s)] = (s.x, xm[k], pm[k], cbar[k], xc[k], pc[k])
        return (np.array([rows[id(s)][4] for s in states]),
                np.array([rows[id(s)][5] for s in states]))

    def update(self, states: list[TrackState], tower_xy: FloatArray, z_rad: FloatArray,
               r_rad2: FloatArray, back_s: FloatArray | None = None
               ) -> tuple[FloatArray, FloatArray]:
        """Update the (predicted, :meth:`predicted`) ``states`` with one bearing each; their
        modes are kept on the states and the combined estimates ``(n, 4)``, ``(n, 4, 4)``
        returned for the engine to write."""
        rows = [self._rows[id(s)] for s in states]
        xm = np.array([r[1] for r in rows])
        pm = np.array([r[2] for r in rows])
        cbar = np.array([r[3] for r in rows])
        xn, pn, mu = update_modes(xm, pm, cbar, tower_xy, z_rad, r_rad2, self.config, back_s)
        xc, pc = combine(xn, pn, mu)
        for k, s in enumerate(states):
            s.modes = ModeState(xn[k], pn[k], mu[k], xc[k].copy(), self.t_s)
        return xc, pc
