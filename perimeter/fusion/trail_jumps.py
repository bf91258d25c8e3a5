"""Where a track's trail is its object's path: the estimate's jumps cut off.

A trail point is where the filter put the track (kept while it locates it to 30 m,
:data:`.track_state.TRAIL_MAX_SIGMA_M`). A filter can be wrong by far more than it claims:
a track followed 150 m off its walker while claiming 11 m, then pulled onto it by a new
tower's bearing (``forest-infiltration``'s walker). The step from the last point before such a
correction to the first after is the estimate's jump, not motion: a motion window across it
read the walker at 7.6 m/s and dead straight, and that one window cost ``person`` 166 nats,
more than an hour of walking could give back. A step is a jump when it is longer than the
fastest object of the class model could go in its time (:func:`top_speed_mps`) by more than
:data:`JUMP_SIGMAS` of its own error (the two points' claimed errors, larger axes, in
quadrature); the motion classifier reads only the trail after the last jump, since the
points before it are where the estimate was, not where the object went.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

JUMP_SIGMAS = 3.0
"""A step this many of its own errors longer than any object could go is a jump."""
TOP_SPEED_SIGMAS = 3.0
"""The fastest object: the vehicles' log-normal speed this many log-sigmas above its median
(22 m/s for 3-15 m/s read as +/- 2 sigma)."""


def top_speed_mps(vehicle_median_mps: float, vehicle_log_sigma: float) -> float:
    """The speed no object of the class model keeps: the vehicles' log-normal at
    :data:`TOP_SPEED_SIGMAS`."""
    return vehicle_median_mps * math.exp(TOP_SPEED_SIGMAS * vehicle_log_sigma)


def own_trail(trail: Sequence[tuple[float, float, float]], sigmas_m: Sequence[float],
              top_mps: float) -> Sequence[tuple[float, float, float]]:
    """``trail`` from its last jump on (all of it without one). ``sigmas_m`` are the
    filter's claimed errors at the points (:attr:`.TrackState.trail_sigma_m`); a trail
    without them (not the filter's: its lengths differ) is taken whole."""
    if len(sigmas_m) != len(trail):
        return trail
    for i in range(len(trail) - 1, 0, -1):  # the last jump: from the end back
        (t0, x0, y0), (t1, x1, y1) = trail[i - 1], trail[i]
        reach_m = top_mps * max(t1 - t0, 0.0)
        error_m = math.hypot(sigmas_m[i - 1], sigmas_m[i])
        if math.hypot(x1 - x0, y1 - y0) > reach_m + JUMP_SIGMAS * error_m:
            return trail[i:]
    return trail
