"""Origin: Rauch-Tung-Striebel smoothing of a track back to its first detection, and whether
the movement began there (observed) or entered view there (:func:`honest_origin`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from perimeter.contract import Origin
from perimeter.fusion.ekf import process_noise, transition
from perimeter.fusion.reach import Reach, size_group
from perimeter.fusion.track import Track
from perimeter.fusion.track_state import History
from perimeter.geometry import ellipse

FloatArray = npt.NDArray[np.float64]


def rts_smooth(t_s: FloatArray, x: FloatArray, p: FloatArray,
               q: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Smoothed states and covariances from filtered ones (``q[k]`` drove step k-1 → k)."""
    n = t_s.shape[0]
    xs, ps = x.copy(), p.copy()
    if n < 2:
        return xs, ps
    dt = np.diff(t_s)
    f = transition(dt)
    pp = f @ p[:-1] @ np.swapaxes(f, -1, -2) + process_noise(dt, q[1:])
    xp = np.einsum("nij,nj->ni", f, x[:-1])
    try:  # smoother gains C_k = P_k F_k^T Pp_k^-1, all at once
        gains = p[:-1] @ np.swapaxes(f, -1, -2) @ np.linalg.inv(pp)
    except np.linalg.LinAlgError:
        gains = None
    for k in range(n - 2, -1, -1):
        if gains is None:
            try:
                c = np.linalg.solve(pp[k].T, (p[k] @ f[k].T).T).T
            except np.linalg.LinAlgError:
                continue
        else:
            c = gains[k]
        xs[k] = x[k] + c @ (xs[k + 1] - xp[k])
        pk = p[k] + c @ (ps[k + 1] - pp[k]) @ c.T
        ps[k] = 0.5 * (pk + pk.T)
    return xs, ps


def rts_smooth_first(t_s: FloatArray, x: FloatArray, p: FloatArray,
                     q: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The first smoothed state and covariance of :func:`rts_smooth`, without its loop.

    Unrolled, the backward pass ``xs_k = c_k + C_k xs_{k+1}`` (``c_k = x_k - C_k xp_k``) gives
    ``xs_0 = sum M_k c_k`` with ``M_k = C_0 ... C_{k-1}``, and likewise
    ``Ps_0 = sum M_k D_k M_k^T`` with ``D_k = P_k - C_k Pp_k C_k^T``; the prefix products
    ``M_k`` take log2(n) batched matrix products (Hillis-Steele scan) instead of n small steps.
    """
    n = t_s.shape[0]
    if n < 2:
        return x[0].copy(), p[0].copy()
    dt = np.diff(t_s)
    f = transition(dt)
    pp = f @ p[:-1] @ np.swapaxes(f, -1, -2) + process_noise(dt, q[1:])
    xp = np.einsum("nij,nj->ni", f, x[:-1])
    try:
        gains = p[:-1] @ np.swapaxes(f, -1, -2) @ np.linalg.inv(pp)
    except np.linalg.LinAlgError:
        xs, ps = rts_smooth(t_s, x, p, q)
        return xs[0], ps[0]
    prefix, shift = gains.copy(), 1
    while shift < prefix.shape[0]:
        prefix[shift:] = prefix[:-shift] @ prefix[shift:]
        shift *= 2
    m = np.concatenate([np.eye(4)[None], prefix])  # M_0 = I, M_k = C_0 ... C_{k-1}
    c = np.concatenate([x[:-1] - np.einsum("nij,nj->ni", gains, xp), x[-1:]])
    d = np.concatenate([p[:-1] - gains @ pp @ np.swapaxes(gains, -1, -2), p[-1:]])
    x0 = np.einsum("nij,nj->i", m, c)
    p0 = np.einsum("nij,njk,nlk->il", m, d, m)
    return x0, 0.5 * (p0 + p0.T)


def smoothed_first_state(history: History) -> tuple[float, FloatArray, FloatArray] | None:
    """Time, state and covariance at the first filtered state, smoothed over the history."""
    n = history.n
    if n == 0:
        return None
    x0, p0 = rts_smooth_first(history.t[:n], history.x[:n], history.p[:n], history.q[:n])
    return float(history.t[0]), x0, p0


def origin_of(track: Track) -> Origin | None:
    """The track's origin: its smoothed first state carried back to its first detection."""
    first = smoothed_first_state(track.state.history)
    if first is None:
        return None
    t0, x0, p0 = first
    back_s = t0 - track.first_t_s
    x_origin = x0[:2] - x0[2:] * back_s
    f = transition(np.array([-back_s]))[0]
    cov = (f @ p0 @ f.T)[:2, :2]
    major, minor, orientation = ellipse(cov)
    return Origin(x_m=float(x_origin[0]), y_m=float(x_origin[1]), t_s=track.first_t_s,
                  sigma_major_m=major, sigma_minor_m=minor, orientation_deg=orientation)


CHI2_95_2DOF = 5.991464547107979
"""The 95 % point of chi-square with 2 degrees of freedom: a 1-sigma ellipse scaled by its
square root holds 95 % of a Gaussian."""


@dataclass(frozen=True, slots=True)
class OriginConfig:
    moving_mps: float = 0.2
    """A track surely faster than this (speed - 2 sigma) was moving when first seen."""
    seen_within_s: float = 20.0
    """Movement in view is detected and tracked within this (a track's first detections
    take a few seconds; a crawler's glimpses longer) ..."""
    seen_margin_m: float = 100.0
    """... plus this: a track whose view goes back further than that began here."""
    start_lag_s: float = 3.0
    """Time from the start of the movement to the first detection, added along the track
    (1 sigma) to an observed origin's ellipse."""
    beyond_s: float = 300.0
    """Travel time allowed beyond the edge of view for where an entering object came from."""
    beyond_min_m: float = 150.0
    spread: float = 0.35
    """Sideways spread (1 sigma) of where it came from, per metre back (heading changes)."""


def honest_origin(track: Track, reach: Reach, config: OriginConfig | None = None
                  ) -> Origin | None:
    """The track's origin, saying whether its movement began in view.

    A track still (or nearly) when first seen began moving there: ``observed``. A moving
    one began there only if the view goes back along its track further than it would have
    moved before being tracked (``seen_within_s``): had it been moving there, it would have
    been seen. Otherwise it **entered** view: the origin is the first-seen point, and its
    ellipse is stretched along the track, symmetric about that point as the contract's
    ellipse is, so that its 95 % ellipse reaches back over the view behind it and the
    ground out of view beyond, to where the view resumes (it would have been seen crossing
    that: a forest's far side), or by ``beyond_s`` of travel when the view does not resume
    (out of reach); it widens by ``spread`` per metre.
    """
    c = config or OriginConfig()
    first = smoothed_first_state(track.state.history)
    if first is None:
        return None
    t0, x0, p0 = first
    back_s = t0 - track.first_t_s
    f = transition(np.array([-back_s]))[0]
    x = f @ x0
    cov = (f @ p0 @ f.T)
    speed = math.hypot(float(x[2]), float(x[3]))
    v_sigma = math.sqrt(max(float(cov[2, 2] + cov[3, 3]) / 2.0, 0.0))
    pos = cov[:2, :2].copy()
    observed = True
    view_back_m: float | None = None
    velocity = x[2:]
    if not speed - 2.0 * v_sigma > c.moving_mps and speed + 2.0 * v_sigma > c.moving_mps:
        # the first velocity is not known well enough to say: the present one says more
        # (an object keeps its heading more often than it starts from rest when first seen)
        velocity = track.state.x[2:]
        speed = math.hypot(float(velocity[0]), float(velocity[1]))
        v_sigma = track.state.velocity_sigma_mps
    if speed - 2.0 * v_sigma > c.moving_mps:
        ahead = velocity / speed
        view_back_m, unseen_m = reach.behind(x[:2], -ahead, size_group(track.evidence.label))
        observed = view_back_m > speed * c.seen_within_s + c.seen_margin_m
        if observed:
            lag = speed * c.start_lag_s
            pos = pos + lag * lag * np.outer(ahead, ahead)
        else:
            beyond = (max(speed * c.beyond_s, c.beyond_min_m) if unseen_m is None
                      else unseen_m)
            along = (view_back_m + beyond) / math.sqrt(CHI2_95_2DOF)
            side = c.spread * along
            across = np.array([ahead[1], -ahead[0]])
            pos = (pos + along * along * np.outer(ahead, ahead)
                   + side * side * np.outer(across, across))
    major, minor, orientation = ellipse(pos)
    return Origin(x_m=float(x[0]), y_m=float(x[1]), t_s=track.first_t_s,
                  sigma_major_m=major, sigma_minor_m=minor, orientation_deg=orientation,
                  observed=observed, view_back_m=None if observed else view_back_m)
