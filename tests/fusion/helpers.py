"""Small builders shared by the fusion unit tests."""

from __future__ import annotations

import math

import numpy as np

from perimeter.fusion.scan import KIND_HINTS, Scan
from perimeter.fusion.track import Track
from perimeter.fusion.track_score import TrackScore
from perimeter.fusion.track_state import TrackState
from perimeter.geometry import bearing_rad

PERIMETER = [(1000.0, -3000.0), (1000.0, 3000.0)]
"""The alert tests' perimeter: 2 km west of their tracks."""


def scan_of(tower_index: int, tower_xy: tuple[float, float], t_s: float,
            points: list[tuple[float, float]], *, sigma_deg: float = 0.1,
            sensor: str = "thermal", size_px: float = math.nan,
            hint: str | None = None) -> Scan:
    """A scan with exact bearings from a tower to ``points``."""
    xy = np.asarray(tower_xy, dtype=float)
    n = len(points)
    b = np.array([float(bearing_rad(xy, np.asarray(p, dtype=float))) for p in points])
    kind = KIND_HINTS.index(hint) if hint else -1
    return Scan(f"T{tower_index:02d}", tower_index, xy, sensor, 0, t_s, b,
                np.full(n, math.radians(sigma_deg)), np.full(n, 20.0), np.full(n, size_px),
                np.full(n, math.nan), np.full(n, math.nan), np.full(n, kind, dtype=np.int64))


def track_at(x: float, y: float, vx: float = 0.0, vy: float = 0.0, *, number: int = 1,
             t_s: float = 0.0, sigma_m: float = 5.0) -> Track:
    p = np.diag([sigma_m**2, sigma_m**2, 0.04, 0.04])
    return Track(number=number, first_t_s=t_s, state=TrackState(np.array([x, y, vx, vy]), p, t_s),
                 score=TrackScore(last_update_t_s=t_s))
