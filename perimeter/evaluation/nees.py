"""Is a track's claimed position error honest? Its NEES against the truth, taken at the time
its estimate is of.

A track's state is of the time of its last update (``state.t_s``): a tower's next bearing may
come seconds later, and the reorder buffer holds scans back, so a probe at data time ``t``
finds estimates of ``t - age``. The truth must be read at ``state.t_s``: read at ``t``, the
object's own motion over the age counts as the filter's error (1.5 m/s over 3 s is 4.5 m,
ten sigma of a track that claims half a metre). The position NEES ``e' P^-1 e`` of a
consistent filter has mean 2 and median 1.39 (chi-square, 2 degrees of freedom) and exceeds
5.99 one time in twenty; ``z_along`` and ``z_across`` are the error along and across the
nearest mast's line of sight over the claimed sigma in that direction (RMS 1 when honest).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

CHI2_2DOF_95 = 5.991
"""The chi-square 95 % point with 2 degrees of freedom."""


@dataclass(frozen=True, slots=True)
class Consistency:
    """One estimate against the truth."""

    nees: float
    z_along: float
    """Error along the nearest mast's line of sight over the claimed sigma along it."""
    z_across: float
    """Error across that line of sight (what the mast's bearings, and their bias, move)."""
    mast_m: float
    """Distance from the true position to the nearest mast."""
    error_m: float


def consistency(x_m: FloatArray, p_m2: FloatArray, truth_xy_m: FloatArray,
                masts_xy_m: FloatArray) -> Consistency | None:
    """The position estimate ``x_m[:2]`` with covariance ``p_m2[:2, :2]`` against the true
    position ``truth_xy_m`` of the same time; None when the covariance is singular."""
    err = np.asarray(x_m[:2], dtype=np.float64) - np.asarray(truth_xy_m, dtype=np.float64)
    cov = np.asarray(p_m2, dtype=np.float64)[:2, :2]
    try:
        nees = float(err @ np.linalg.solve(cov, err))
    except np.linalg.LinAlgError:
        return None
    to_mast = np.hypot(*(np.asarray(masts_xy_m) - truth_xy_m).T)
    m = int(np.argmin(to_mast))
    sight = (truth_xy_m - masts_xy_m[m]) / max(float(to_mast[m]), 1e-6)
    across = np.array([-sight[1], sight[0]])
    return Consistency(
        nees, float(err @ sight) / math.sqrt(max(float(sight @ cov @ sight), 1e-12)),
        float(err @ across) / math.sqrt(max(float(across @ cov @ across), 1e-12)),
        float(to_mast[m]), float(np.hypot(*err)))


def nearest_at_state(state_t_s: float, x_m: FloatArray,
                     positions: list[Callable[[float], tuple[float, float]]],
                     max_m: float) -> int | None:
    """Which true object (``positions[k](t_s)`` its position) the estimate ``x_m`` of time
    ``state_t_s`` follows: the nearest at that time, if within ``max_m``."""
    if not positions:
        return None
    xy = np.array([position(state_t_s) for position in positions])
    dist = np.hypot(*(xy - np.asarray(x_m[:2])).T)
    k = int(np.argmin(dist))
    return k if dist[k] <= max_m else None
