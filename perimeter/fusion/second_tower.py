"""A second tower sees a single-tower track: re-triangulate it (range now observable)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from perimeter.fusion.scan import Scan
from perimeter.fusion.track import Track
from perimeter.fusion.triangulate import InitiatorConfig
from perimeter.geometry import crossing_angle_rad, fisher_information, intersect_pairs

FloatArray = npt.NDArray[np.float64]


def retriangulate(track: Track, home: FloatArray, x: FloatArray, p: FloatArray,
                  scan: Scan, d: int, cfg: InitiatorConfig) -> bool:
    """Restart ``track`` (predicted ``x``, ``p``; seen from the tower at ``home``) at the
    crossing of its home bearing with detection ``d`` of ``scan``, and make it a multi-tower
    track; False (track untouched) when the crossing is too shallow, too near or ill-posed."""
    b_home = math.atan2(x[0] - home[0], x[1] - home[1])
    b_new = float(scan.bearing_rad[d])
    if crossing_angle_rad(b_home, b_new) < math.radians(cfg.min_crossing_deg):
        return False
    xy, r0, r1 = intersect_pairs(home, np.array(b_home), scan.tower_xy, np.array(b_new))
    if not (r0 > cfg.min_range_m and r1 > cfg.min_range_m):
        return False
    rng = float(np.hypot(*(x[:2] - home)))
    s_home = math.sqrt(max(float(p[0, 0] + p[1, 1]), 0.0)) / max(rng, 1.0)
    s_home = min(max(s_home, float(scan.sigma_rad[d])), 0.05)
    info = fisher_information(np.vstack([home, scan.tower_xy]), xy,
                              np.array([s_home, float(scan.sigma_rad[d])]))
    try:
        cov = np.linalg.inv(info) * 2.0
    except np.linalg.LinAlgError:
        return False
    if not (np.all(np.isfinite(cov)) and np.all(np.isfinite(xy))
            and 0.0 < float(np.trace(cov)) < cfg.max_range_m**2):
        return False
    v = cfg.velocity_sigma_mps
    p_new = np.zeros((4, 4))
    p_new[:2, :2] = cov
    p_new[2, 2] = p_new[3, 3] = v * v
    track.state.restart(np.array([xy[0], xy[1], 0.0, 0.0]), p_new, scan.t_s)
    track.home_tower = None
    return True
