"""Motion features of a track's trail: speed along the path and straightness.

People and vehicles head somewhere; animals wander and pause. Over the last ``window_s`` the
trail is cut into ``chord_s`` chords: the path speed is their summed length over the span, the
straightness the net displacement over that length (1 for a straight walk, far less for a
random walk). Chords of several seconds average out the filter's position noise.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Motion:
    speed_mps: float
    straightness: float
    span_s: float


def motion_of(trail: Sequence[tuple[float, float, float]], *, window_s: float = 60.0,
              chord_s: float = 10.0, min_span_s: float = 20.0) -> Motion | None:
    """Path speed and straightness over the recent trail ``[(t_s, x_m, y_m), ...]``."""
    if len(trail) < 2:
        return None
    t_end = trail[-1][0]
    recent = [p for p in trail if t_end - p[0] <= window_s]
    span = recent[-1][0] - recent[0][0]
    if span < min_span_s:
        return None
    chords = [recent[0]]
    for point in recent[1:]:
        if point[0] - chords[-1][0] >= chord_s:
            chords.append(point)
    if chords[-1] is not recent[-1]:
        chords.append(recent[-1])
    path = sum(math.hypot(b[1] - a[1], b[2] - a[2]) for a, b in itertools.pairwise(chords))
    net = math.hypot(recent[-1][1] - recent[0][1], recent[-1][2] - recent[0][2])
    straightness = net / path if path > 1e-6 else 0.0
    return Motion(speed_mps=path / span, straightness=min(straightness, 1.0), span_s=span)
