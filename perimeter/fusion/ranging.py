"""One-tower ranging: a bearing and an elevation angle cast onto the site's terrain model.

Commercial camera towers range a target from one mast this way. Along the bearing, a point
``h`` above the ground at range ``r`` is seen from the eye (mast top over its own ground) at
elevation ``e(r) = atan((g(r) + h - c(r) - z_eye) / r)`` (``c`` the earth's curvature less
refraction, :func:`perimeter.terrain.curvature_drop_m`). The range is the first ``r`` where
``e(r)`` reaches the measured elevation: the sightline's first contact with the ground, raised
by the target's centre height. Its error is the elevation's sigma (and the unknown centre
height's, ``h_sigma / r`` in angle) over the slope ``de/dr`` there, which the local terrain
slope steepens (ground rising towards the viewer's sightline) or flattens: over flat ground
from a 15 m mast at 3 km, ``de/dr`` is ~1.7e-6 rad/m, so a pixel (0.23 mrad) is ~140 m; a 5 %
slope up to the target makes it ~14 m. Where ``de/dr`` is too small (grazing sightlines, the
ray never meeting the ground in range) there is no fix: the geometry does not allow it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from perimeter.terrain import Dem, curvature_drop_m

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class RangingConfig:
    min_range_m: float = 150.0
    max_range_m: float = 8000.0
    step_m: float = 10.0
    centre_height_m: float = 0.6
    """An unclassified object's centre above ground (animals 0.2-0.8 m, people 0.8-1.05 m) ..."""
    centre_height_sigma_m: float = 0.3
    max_relative_sigma: float = 0.25
    """No fix when the range's sigma exceeds this share of the range."""


@dataclass(frozen=True, slots=True)
class RangeFix:
    range_m: float
    sigma_m: float
    slope: float
    """The ground's slope along the sightline at the fix (rise per metre away from the mast)."""


class Ranger:
    """Ranges bearings of one tower's imager onto a DEM."""

    def __init__(self, dem: Dem, towers_xy: FloatArray, eye_heights_m: FloatArray,
                 elevation_sigma_rad: FloatArray, config: RangingConfig | None = None) -> None:
        self.dem = dem
        self.elevation_sigma_rad = np.asarray(elevation_sigma_rad, dtype=np.float64)
        """Per tower: an elevation angle's error (a pixel; the median of several detections
        is not trusted further, as mast sway and tilt are shared by them)."""
        self.config = config or RangingConfig()
        self.towers_xy = np.asarray(towers_xy, dtype=np.float64)
        ground = dem.ground_m(self.towers_xy[:, 0], self.towers_xy[:, 1])
        self.eye_z_m = ground + np.asarray(eye_heights_m, dtype=np.float64)
        c = self.config
        self._r = np.arange(c.min_range_m, c.max_range_m + c.step_m, c.step_m)
        self._drop = curvature_drop_m(self._r)

    def fix(self, tower: int, bearing_rad: float, elevation_rad: float) -> RangeFix | None:
        """The range of a target seen at ``bearing_rad`` and ``elevation_rad`` from ``tower``,
        or None where the geometry does not allow one."""
        c = self.config
        elevation_sigma_rad = float(self.elevation_sigma_rad[tower])
        r = self._r
        x = self.towers_xy[tower, 0] + math.sin(bearing_rad) * r
        y = self.towers_xy[tower, 1] + math.cos(bearing_rad) * r
        ground = self.dem.ground_m(x, y)
        e = np.arctan2(ground + c.centre_height_m - self._drop - self.eye_z_m[tower], r)
        above = np.flatnonzero(e >= elevation_rad)
        if above.size == 0 or above[0] == 0:
            return None  # never meets the ground in range, or nearer than the nearest
        k = int(above[0])
        # interpolate the crossing between samples k-1 and k
        frac = (elevation_rad - e[k - 1]) / max(float(e[k] - e[k - 1]), 1e-12)
        rng = float(r[k - 1] + frac * c.step_m)
        lo, hi = max(k - 2, 0), min(k + 2, r.size - 1)
        de_dr = float(e[hi] - e[lo]) / float(r[hi] - r[lo])
        slope = float(ground[hi] - ground[lo]) / float(r[hi] - r[lo])
        if de_dr <= 0.0:
            return None
        angle_sigma = math.hypot(elevation_sigma_rad, c.centre_height_sigma_m / rng)
        sigma = angle_sigma / de_dr
        if sigma > c.max_relative_sigma * rng:
            return None
        return RangeFix(rng, sigma, slope)
