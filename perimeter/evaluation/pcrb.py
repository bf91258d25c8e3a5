"""Posterior Cramér-Rao bound of the origin under the tracker's constant-velocity model.

The state ``[x_m, y_m, vx_mps, vy_mps]`` at the target's start (its origin) is propagated by
the same white-acceleration model the tracker uses (:mod:`perimeter.fusion.ekf`, spectral
density ``q`` of the target's class). Every look of every tower (each published detection of
the target, with its ``bearing_sigma_deg``) in a window contributes ``H^T H / sigma^2`` at the
target's true position, ``H = [dy, -dx, 0, 0] / r^2`` the bearing's gradient. The information
is carried back to the start by the backward information recursion

    J_k = I_k + F_k^T (I + J_{k+1} Q_k)^-1 J_{k+1} F_k,

and the prior adds the tracker's initial velocity spread (position: no prior). The bound is
``sqrt(trace of the position block of J_0^-1)``: the RMS error of any estimate of the origin
from those looks, smoothing included (Tichavský, Muravchik and Nehorai, 1998, evaluated on the
true trajectory).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import numpy.typing as npt

from perimeter.evaluation.crb import Sighting
from perimeter.fusion.ekf import process_noise, transition
from perimeter.fusion.engine import EngineConfig
from perimeter.fusion.triangulate import InitiatorConfig

FloatArray = npt.NDArray[np.float64]
Point = tuple[float, float]

VELOCITY_PRIOR_SIGMA_MPS = InitiatorConfig().velocity_sigma_mps
"""The spread of a new track's velocity in the tracker (5 m/s): the bound's only prior."""


def class_q(class_: str) -> float:
    """The tracker's process noise (m^2/s^3) for a class (``unknown``'s when it has none)."""
    by_class = EngineConfig().q_by_class
    return float(by_class.get(class_, by_class["unknown"]))


def look_information(position_xy_m: Point, tower_xy_m: Point, sigma_deg: float) -> FloatArray:
    """Fisher information ``H^T H / sigma^2`` of one bearing on the state (4 x 4)."""
    if not sigma_deg > 0.0:
        raise ValueError(f"bearing_sigma_deg: must be positive, got {sigma_deg}")
    dx, dy = position_xy_m[0] - tower_xy_m[0], position_xy_m[1] - tower_xy_m[1]
    r2 = dx * dx + dy * dy
    if r2 == 0.0:
        raise ValueError(f"position_xy_m: coincides with a tower at {tower_xy_m}")
    h = np.array([dy / r2, -dx / r2, 0.0, 0.0])
    return np.outer(h, h) / math.radians(sigma_deg) ** 2


def origin_information(start_t_s: float, looks: Iterable[tuple[float, FloatArray]],
                       q: float, velocity_sigma_mps: float = VELOCITY_PRIOR_SIGMA_MPS,
                       ) -> FloatArray:
    """Information on the state at ``start_t_s`` from ``(t_s, information)`` looks at or after
    it, through the constant-velocity model with process noise ``q``, plus the velocity prior."""
    by_time: dict[float, FloatArray] = defaultdict(lambda: np.zeros((4, 4)))
    for t_s, info in looks:
        if t_s < start_t_s:
            raise ValueError(f"t_s: a look at {t_s} precedes the start {start_t_s}")
        by_time[t_s] = by_time[t_s] + info
    carried = np.zeros((4, 4))
    later_t_s: float | None = None
    for t_s in sorted({start_t_s, *by_time}, reverse=True):
        if later_t_s is not None:
            dt = np.array([later_t_s - t_s])
            f, qd = transition(dt)[0], process_noise(dt, q)[0]
            carried = f.T @ np.linalg.solve(np.eye(4) + carried @ qd, carried) @ f
        carried = carried + by_time.get(t_s, np.zeros((4, 4)))
        later_t_s = t_s
    prior = np.diag([0.0, 0.0, 1.0, 1.0]) / velocity_sigma_mps**2
    return 0.5 * (carried + carried.T) + prior


def position_bound_m(information: FloatArray) -> float:
    """``sqrt`` of the trace of the position block of ``information^-1``; inf if singular."""
    scale = float(np.max(np.abs(information))) or 1.0
    if np.linalg.matrix_rank(information / scale, tol=1e-12) < 4:
        return math.inf
    cov = np.linalg.inv(information)
    return float(math.sqrt(max(0.0, cov[0, 0] + cov[1, 1])))


def origin_pcrb_m(start_t_s: float, window_start_t_s: float, window_s: float,
                  sightings: Iterable[Sighting], position_at: Callable[[float], Point],
                  towers_xy_m: Mapping[str, Point], q: float) -> float:
    """The origin bound from every look in ``[window_start_t_s, + window_s]``; ``inf`` when
    those looks cannot fix the origin."""
    looks = [(s.t_s, look_information(position_at(s.t_s), towers_xy_m[s.tower_id],
                                      s.bearing_sigma_deg))
             for s in sightings
             if window_start_t_s <= s.t_s <= window_start_t_s + window_s
             and s.t_s >= start_t_s and s.tower_id in towers_xy_m]
    if not looks:
        return math.inf
    return position_bound_m(origin_information(start_t_s, looks, q))
