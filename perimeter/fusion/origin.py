"""Origin: Rauch-Tung-Striebel smoothing of a track back to its first detection, and whether
the movement began there (observed) or entered view there (:func:`honest_origin`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from perimeter.contract import Origin
from perimeter.fusion.ekf import predict_back, process_noise, transition
from perimeter.fusion.reach import Reach, size_group
from perimeter.fusion.retrodict import Retrodicted
from perimeter.fusion.track import Track
from perimeter.fusion.track_state import History
from perimeter.geometry import ellipse

FloatArray = npt.NDArray[np.float64]
Retrodiction = Callable[[float, FloatArray, FloatArray, float, str], Retrodicted | None]
"""Extends a state ``(t_s, x, P)`` with process noise ``q`` of an object of a size group
back through earlier reports (:func:`.retrodict.retrodict` over the runner's history)."""


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


def carried_back(track: Track) -> tuple[FloatArray, FloatArray] | None:
    """The smoothed first state and covariance carried back to the first detection, with the
    process noise of that interval (the object may have accelerated before it was tracked)."""
    first = smoothed_first_state(track.state.history)
    if first is None:
        return None
    t0, x0, p0 = first
    back_s = max(t0 - track.first_t_s, 0.0)
    return predict_back(x0, p0, back_s, float(track.state.history.q[0]))


def origin_of(track: Track) -> Origin | None:
    """The track's origin: its smoothed first state carried back to its first detection."""
    back = carried_back(track)
    if back is None:
        return None
    x, cov = back
    major, minor, orientation = ellipse(cov[:2, :2])
    return Origin(x_m=float(x[0]), y_m=float(x[1]), t_s=track.first_t_s,
                  sigma_major_m=major, sigma_minor_m=minor, orientation_deg=orientation)


CHI2_95_2DOF = 5.991464547107979
"""The 95 % point of chi-square with 2 degrees of freedom: a 1-sigma ellipse scaled by its
square root holds 95 % of a Gaussian."""


@dataclass(frozen=True, slots=True)
class OriginConfig:
    moving_mps: float = 0.2
    """A track surely faster than this (speed - 2 sigma) was moving when first seen."""
    seen_within_s: float = 600.0
    """Movement in view is followed by a track that alerts within this (measured: the tracks
    whose alerts reported origins began a median ~400 s and up to ~600 s after the coverage
    model first covered their target; docs/fusion.md, "Origin") ..."""
    seen_margin_m: float = 100.0
    """... plus this: a track whose view goes back further than that began here."""
    start_lag_s: float = 3.0
    """Time from the start of the movement to the first detection, added along the track
    (1 sigma) to an observed origin's ellipse."""
    turn_deg: float = 45.0
    """Where an entering object came from: back along headings within this of its reversed
    heading (its path may have turned while it went untracked)."""
    rays: int = 9
    """Headings walked back (all around, twice as many, when the heading is unknown)."""
    beyond_s: float = 600.0
    """Travel time allowed back along a heading that never meets the edge of a watch zone."""
    beyond_min_m: float = 150.0


def came_from(reach: Reach, xy: FloatArray, heading_xy: FloatArray | None, speed_mps: float,
              config: OriginConfig) -> FloatArray:
    """The 2x2 covariance, centred on ``xy``, whose 95 % ellipse holds every point an object
    first seen at ``xy`` may have come from: along each walked-back heading, out to where it
    leaves the site's watch zones (:meth:`Reach.to_edge`), or ``beyond_s`` of its speed."""
    c = config
    if heading_xy is None:
        angles = np.linspace(-math.pi, math.pi, 2 * c.rays, endpoint=False)
        base = np.array([0.0, 1.0])
    else:
        angles = np.radians(np.linspace(-c.turn_deg, c.turn_deg, c.rays))
        base = -heading_xy
    cos, sin = np.cos(angles), np.sin(angles)
    dirs = np.stack([cos * base[0] + sin * base[1], -sin * base[0] + cos * base[1]], axis=1)
    lengths = reach.to_edge(xy, dirs)
    lengths = np.where(np.isnan(lengths), max(speed_mps * c.beyond_s, c.beyond_min_m), lengths)
    lengths = np.maximum(lengths, c.beyond_min_m)
    fractions = (np.arange(32) + 1.0) / 32.0
    points = (lengths[:, None, None] * fractions[None, :, None]
              * dirs[:, None, :]).reshape(-1, 2)  # offsets from xy, uniform along each ray
    spread = points.T @ points / len(points)
    d2 = np.einsum("ni,ij,nj->n", points, np.linalg.inv(spread), points)
    return np.asarray(spread * (float(np.max(d2)) / CHI2_95_2DOF), dtype=np.float64)


def _heading(x: FloatArray, cov: FloatArray, track: Track, moving_mps: float
             ) -> tuple[FloatArray | None, float, bool]:
    """Unit heading and speed of the movement (the first velocity when surely moving, else
    the present one: a track first seen still may have stopped there), and whether the track
    was and is still (estimated slower than ``moving_mps``, and surely moving at neither)."""
    speed = math.hypot(float(x[2]), float(x[3]))
    sigma = math.sqrt(max(float(cov[2, 2] + cov[3, 3]) / 2.0, 0.0))
    if speed - 2.0 * sigma > moving_mps:
        return x[2:] / speed, speed, False
    now = track.state
    if now.speed_mps - 2.0 * now.velocity_sigma_mps > moving_mps:
        return now.x[2:] / now.speed_mps, now.speed_mps, False
    still = speed < moving_mps and now.speed_mps < moving_mps
    return None, max(speed, now.speed_mps), still


def honest_origin(track: Track, reach: Reach, config: OriginConfig | None = None,
                  retro: Retrodiction | None = None) -> Origin | None:
    """The track's origin, saying whether its movement began in view.

    A track still when first seen and still now began there: ``observed``. A moving one
    (first, or now: it may have stopped where it was first seen) began there only if the
    view, once learned (:meth:`Reach.learned`), goes back along its heading further than it
    would have moved in view, at the faster of its first and present speeds, before a track
    followed it (``seen_within_s``). Otherwise it **entered** view: the origin is the
    first-seen point, and its ellipse, symmetric about that point as the contract's ellipse
    is, holds in its 95 % contour every point back along headings within ``turn_deg`` of the
    reversed heading (all around when no heading is known) out to where they leave the site's
    watch zones (:func:`came_from`). With ``retro``, the start is first extended back
    through the reports received before the track began (:mod:`.retrodict`): the origin is
    then the earliest linked state, at its time.
    """
    c = config or OriginConfig()
    back = carried_back(track)
    if back is None:
        return None
    x, cov = back
    t_s = track.first_t_s
    if retro is not None:
        linked = retro(t_s, x, cov, float(track.state.history.q[0]),
                       size_group(track.evidence.label))
        if linked is not None:
            t_s, x, cov = linked.t_s, linked.x, linked.p
    pos = cov[:2, :2].copy()
    heading, speed, still = _heading(x, cov, track, c.moving_mps)
    observed = still
    view_back_m: float | None = None
    if heading is not None:
        group = size_group(track.evidence.label)
        view_back_m, _ = reach.behind(x[:2], -heading, group)
        fastest = max(speed, track.state.speed_mps)  # a young track's speed runs low
        observed = (reach.learned(group)
                    and view_back_m > fastest * c.seen_within_s + c.seen_margin_m)
        if observed:
            lag = speed * c.start_lag_s
            pos = pos + lag * lag * np.outer(heading, heading)
    if not observed:
        pos = pos + came_from(reach, x[:2], heading, speed, c)
    major, minor, orientation = ellipse(pos)
    return Origin(x_m=float(x[0]), y_m=float(x[1]), t_s=t_s,
                  sigma_major_m=major, sigma_minor_m=minor, orientation_deg=orientation,
                  observed=observed, view_back_m=None if observed else view_back_m)
