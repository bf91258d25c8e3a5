"""Terrain relief: a site's digital elevation model (DEM), ground heights and line of sight.

A DEM is a regular grid of ground heights in the site's east-north frame: ``heights_m[i][j]``
is the height at ``(x0_m + j * cell_m, y0_m + i * cell_m)`` (rows from south to north, columns
from west to east); heights between nodes are bilinear, beyond the grid the edge is held. It is
site data, so both the simulation (what a tower can see) and fusion (ranging a bearing onto the
ground) may read it. Sightlines bend with the earth and the air: a point ``d`` away drops by
``(1 - k) d^2 / (2 R)`` with refraction coefficient ``k = 0.13`` (docs/sensors.md, "Terrain").

:class:`Horizon` caches, for one viewpoint, the steepest sightline to the ground nearer than
each range along each azimuth, so "how much of a target at (x, y) is hidden" is one lookup.
"""

from __future__ import annotations

import math
from functools import cache, cached_property
from typing import Annotated

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator

FloatArray = npt.NDArray[np.float64]
EARTH_RADIUS_M = 6_371_000.0
REFRACTION_K = 0.13
"""Standard coefficient of terrestrial refraction (the surveyors' value, 0.13-0.14)."""


def curvature_drop_m(range_m: FloatArray | float) -> FloatArray:
    """How far below a straight sightline's tangent plane the ground at ``range_m`` lies."""
    r = np.asarray(range_m, dtype=np.float64)
    return np.asarray((1.0 - REFRACTION_K) * r * r / (2.0 * EARTH_RADIUS_M), dtype=np.float64)


class Dem(BaseModel):
    """Ground heights on a regular grid (metres above a site datum)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    x0_m: float
    y0_m: float
    cell_m: Annotated[float, Field(gt=0.0, le=10_000.0)]
    heights_m: Annotated[list[list[float]], Field(min_length=2, repr=False)]

    @field_validator("heights_m")
    @classmethod
    def _rectangular(cls, value: list[list[float]]) -> list[list[float]]:
        widths = {len(row) for row in value}
        if len(widths) != 1:
            raise ValueError(f"rows must all have the same length, got lengths {sorted(widths)}")
        if widths.pop() < 2:
            raise ValueError("needs at least 2 columns")
        if not np.all(np.isfinite(np.asarray(value, dtype=np.float64))):
            raise ValueError("heights must be finite numbers")
        return value

    @cached_property
    def grid(self) -> FloatArray:
        """The heights as an ``(ny, nx)`` array."""
        return np.asarray(self.heights_m, dtype=np.float64)

    @property
    def extent_m(self) -> tuple[float, float, float, float]:
        """``(x_min, x_max, y_min, y_max)`` of the grid's nodes."""
        ny, nx = self.grid.shape
        return (self.x0_m, self.x0_m + (nx - 1) * self.cell_m,
                self.y0_m, self.y0_m + (ny - 1) * self.cell_m)

    def ground_m(self, x_m: FloatArray | float, y_m: FloatArray | float) -> FloatArray:
        """Bilinear ground height at points of any (matching) shape."""
        ny, nx = self.grid.shape
        flat = self._flat
        u = np.clip((np.asarray(x_m, dtype=np.float64) - self.x0_m) / self.cell_m, 0.0, nx - 1.0)
        v = np.clip((np.asarray(y_m, dtype=np.float64) - self.y0_m) / self.cell_m, 0.0, ny - 1.0)
        j = np.minimum(u.astype(np.intp), nx - 2)
        i = np.minimum(v.astype(np.intp), ny - 2)
        fu, fv = u - j, v - i
        k = i * nx + j
        z0 = flat.take(k)
        z0 += (flat.take(k + 1) - z0) * fu
        z1 = flat.take(k + nx)
        z1 += (flat.take(k + nx + 1) - z1) * fu
        z0 += (z1 - z0) * fv
        return np.asarray(z0, dtype=np.float64)

    def ground_at(self, x_m: float, y_m: float) -> float:
        """:meth:`ground_m` at one point, without numpy's per-call overhead."""
        heights = self.heights_m
        ny, nx = len(heights), len(heights[0])
        u = min(max((x_m - self.x0_m) / self.cell_m, 0.0), nx - 1.0)
        v = min(max((y_m - self.y0_m) / self.cell_m, 0.0), ny - 1.0)
        j, i = min(int(u), nx - 2), min(int(v), ny - 2)
        fu, fv = u - j, v - i
        row0, row1 = heights[i], heights[i + 1]
        z0 = row0[j] + (row0[j + 1] - row0[j]) * fu
        z1 = row1[j] + (row1[j + 1] - row1[j]) * fu
        return z0 + (z1 - z0) * fv

    def eye_above_m(self, eye_xy: tuple[float, float], eye_height_m: float, x_m: float,
                    y_m: float) -> float:
        """How far an eye ``eye_height_m`` above the ground at ``eye_xy`` is above the ground
        at ``(x_m, y_m)``, the earth's curvature and refraction included: a point ``h`` above
        that ground is seen at elevation ``atan((h - eye_above) / r)``."""
        r = math.hypot(x_m - eye_xy[0], y_m - eye_xy[1])
        return (self.ground_at(*eye_xy) + eye_height_m - self.ground_at(x_m, y_m)
                + float(curvature_drop_m(r)))

    @cached_property
    def _flat(self) -> FloatArray:
        return np.ascontiguousarray(self.grid).ravel()

    def hidden_m(self, eye_xy: tuple[float, float], eye_height_m: float, x_m: FloatArray,
                 y_m: FloatArray, step_m: float | None = None) -> FloatArray:
        """Height above the ground at ``(x_m, y_m)`` below which a point is hidden from an eye
        ``eye_height_m`` above the ground at ``eye_xy``, by sampling each sightline every
        ``step_m`` (default half a cell); <= 0 where the ground itself is in view. Exact but
        slow: :class:`Horizon` is the cached version for many lookups from one viewpoint."""
        step = step_m or self.cell_m / 2.0
        x, y = np.asarray(x_m, dtype=np.float64), np.asarray(y_m, dtype=np.float64)
        ex, ey = eye_xy
        eye_z = float(self.ground_m(ex, ey)) + eye_height_m
        rng_m = np.hypot(x - ex, y - ey)
        n = max(2, int(np.ceil(rng_m.max(initial=0.0) / step)) + 1)
        s = np.linspace(0.0, 1.0, n)[1:-1]  # fractions of the way, ends excluded
        px = ex + (x - ex)[..., None] * s
        py = ey + (y - ey)[..., None] * s
        r = rng_m[..., None] * s
        with np.errstate(divide="ignore", invalid="ignore"):
            tan = (self.ground_m(px, py) - curvature_drop_m(r) - eye_z) / r
        steepest = np.max(np.where(r > 0.0, tan, -np.inf), axis=-1, initial=-np.inf)
        sightline = eye_z + rng_m * steepest + curvature_drop_m(rng_m)
        return np.asarray(sightline - self.ground_m(x, y), dtype=np.float64)


class Horizon:
    """One viewpoint's horizon profile on a polar grid: per azimuth bin, the steepest
    elevation tangent to the ground nearer than each range bin (curvature included)."""

    def __init__(self, dem: Dem, x_m: float, y_m: float, eye_height_m: float,
                 az_step_deg: float = 0.5, range_step_m: float | None = None) -> None:
        self.x_m, self.y_m = float(x_m), float(y_m)
        self.eye_z_m = float(dem.ground_m(x_m, y_m)) + eye_height_m
        self.dem = dem
        self.az_step_deg = az_step_deg
        self.range_step_m = range_step_m or dem.cell_m
        self._near_m = (0.25 * self.range_step_m, 0.75 * self.range_step_m)
        x0, x1, y0, y1 = dem.extent_m
        far = max(np.hypot(cx - x_m, cy - y_m) for cx in (x0, x1) for cy in (y0, y1))
        r = np.arange(1, int(np.ceil(far / self.range_step_m)) + 1,
                      dtype=np.float64) * self.range_step_m
        az = np.radians(np.arange(0.0, 360.0, az_step_deg))
        px = x_m + np.sin(az)[:, None] * r
        py = y_m + np.cos(az)[:, None] * r
        tan = (dem.ground_m(px, py) - curvature_drop_m(r) - self.eye_z_m) / r
        steepest = np.maximum.accumulate(tan, axis=1)
        # column k: the steepest over the first k samples (none for k = 0)
        self._tan = np.concatenate([np.full((len(az), 1), -np.inf), steepest], axis=1)
        self._alone: HorizonStack | None = None

    def hidden_m(self, x_m: FloatArray, y_m: FloatArray) -> FloatArray:
        """Height above the ground at ``(x_m, y_m)`` below which a point is hidden from this
        viewpoint (<= 0: the ground itself is in view). Ground within half a range step of
        the point does not hide it."""
        x = np.asarray(x_m, dtype=np.float64)
        if self._alone is None:
            self._alone = HorizonStack([self])
        return self._alone.hidden_m(np.zeros(x.shape, dtype=np.intp), x, y_m)

    def elevation_deg(self, x_m: FloatArray, y_m: FloatArray,
                      above_ground_m: FloatArray | float) -> FloatArray:
        """Elevation angle from the eye to points ``above_ground_m`` over the ground."""
        x, y = np.asarray(x_m, dtype=np.float64), np.asarray(y_m, dtype=np.float64)
        rng_m = np.maximum(np.hypot(x - self.x_m, y - self.y_m), 1e-9)
        z = self.dem.ground_m(x, y) + above_ground_m - curvature_drop_m(rng_m)
        return np.asarray(np.degrees(np.arctan2(z - self.eye_z_m, rng_m)), dtype=np.float64)


class HorizonStack:
    """Several viewpoints' horizons over one DEM, looked up together (one call for all the
    tower-target pairs of a batch, whichever tower each belongs to)."""

    def __init__(self, horizons: list[Horizon]) -> None:
        first = horizons[0]
        self.dem = first.dem
        self.az_step_deg, self.range_step_m = first.az_step_deg, first.range_step_m
        self.near_m = first._near_m
        self.n_az = first._tan.shape[0]
        n_r = max(h._tan.shape[1] for h in horizons)
        # beyond a viewpoint's farthest bin the DEM's edge is held: its last column holds
        self.tan = np.concatenate([np.pad(h._tan, ((0, 0), (0, n_r - h._tan.shape[1])),
                                          mode="edge") for h in horizons])
        self.eye = np.array([[h.x_m, h.y_m, h.eye_z_m] for h in horizons])

    def hidden_m(self, view_i: npt.NDArray[np.intp], x_m: FloatArray,
                 y_m: FloatArray) -> FloatArray:
        """Height above the ground at ``(x_m, y_m)`` below which each point is hidden from
        viewpoint ``view_i`` (same shapes; <= 0: in view)."""
        x, y = np.asarray(x_m, dtype=np.float64), np.asarray(y_m, dtype=np.float64)
        ex, ey, ez = (self.eye[view_i, j] for j in range(3))
        dx, dy = x - ex, y - ey
        rng_m = np.hypot(dx, dy)
        u = np.mod(np.degrees(np.arctan2(dx, dy)), 360.0) / self.az_step_deg
        a0 = np.floor(u).astype(np.intp)
        w = u - a0
        k = np.clip(np.floor(rng_m / self.range_step_m - 0.5).astype(np.intp), 0,
                    self.tan.shape[1] - 1)
        base = view_i * self.n_az
        t0 = self.tan[base + a0 % self.n_az, k]
        t1 = self.tan[base + (a0 + 1) % self.n_az, k]
        with np.errstate(invalid="ignore"):  # -inf on both neighbours: nothing in front
            steepest = np.where(np.isfinite(t0) & np.isfinite(t1), t0 * (1.0 - w) + t1 * w,
                                np.maximum(t0, t1))
        # the ground just in front of the point, finer than the cached range bins, and the
        # ground under it: one bilinear lookup for all three
        s = np.stack([np.clip(1.0 - b / np.maximum(rng_m, 1e-9), 0.0, 1.0)
                      for b in self.near_m] + [np.ones_like(rng_m)])
        z = self.dem.ground_m(ex + dx * s, ey + dy * s)
        r_near = rng_m * s[:-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            near = (z[:-1] - curvature_drop_m(r_near) - ez) / r_near
        near = np.where(r_near > 0.0, near, -np.inf).max(axis=0)
        steepest = np.fmax(steepest, near)
        sightline = ez + rng_m * steepest + curvature_drop_m(rng_m)
        hidden = np.where(np.isfinite(steepest), sightline - z[-1], -np.inf)
        return np.asarray(hidden, dtype=np.float64)

    def elevation_deg(self, view_i: npt.NDArray[np.intp], x_m: FloatArray, y_m: FloatArray,
                      above_ground_m: FloatArray) -> FloatArray:
        """Elevation angles from viewpoints ``view_i`` to points ``above_ground_m`` over the
        ground at ``(x_m, y_m)``."""
        ex, ey, ez = (self.eye[view_i, j] for j in range(3))
        rng_m = np.maximum(np.hypot(x_m - ex, y_m - ey), 1e-9)
        z = self.dem.ground_m(x_m, y_m) + above_ground_m - curvature_drop_m(rng_m)
        return np.asarray(np.degrees(np.arctan2(z - ez, rng_m)), dtype=np.float64)


def _smoothstep(u: FloatArray) -> FloatArray:
    t = np.clip(u, 0.0, 1.0)
    return np.asarray(t * t * (3.0 - 2.0 * t), dtype=np.float64)


@cache
def western_heights_dem(cell_m: float = 25.0) -> Dem:
    """The built-in site's relief (an invented but plausible landscape, docs/sensors.md):

    - a ridge along x = 0 (crest 150 m, undulating +-4 m along its length) falling west to
      110 m and east, over 850 m of concave slope (steep below the crest, flattening out:
      the masts see all of it), to the valley floor;
    - the river valley: a 70 m floodplain 300 m wide around x = 1000 with the river channel
      (40 m wide, 3.5 m deep, 20 m banks) along x = 1000;
    - the approach: rising gently east (0.35 %, 90 m at 7 km) over folds 5-7 m high every
      ~700 m running roughly north-south, and a 5 m deep, 150 m wide gully at y ~ -2,000 that
      runs from 5 km east down to the river: dead ground a 15 m mast cannot see into.
    """
    x = np.arange(-1500.0, 8500.0 + cell_m / 2, cell_m)
    y = np.arange(-5000.0, 5000.0 + cell_m / 2, cell_m)
    gx, gy = np.meshgrid(x, y)
    crest = 150.0 + 4.0 * np.sin(2.0 * np.pi * gy / 3000.0)
    floor_m = 70.0
    west = crest - 40.0 * _smoothstep(-gx / 1500.0)
    east_slope = floor_m + (crest - floor_m) * (1.0 - np.clip(gx / 850.0, 0.0, 1.0)) ** 2
    approach_start = 1150.0
    rise = floor_m + 0.0035 * np.clip(gx - approach_start, 0.0, None)
    on = _smoothstep((gx - approach_start) / 400.0)
    phase = 2.0 * np.pi * (gx - approach_start) / 700.0 + 0.8 * np.sin(2.0 * np.pi * gy / 2600.0)
    amplitude = 5.0 + 2.0 * np.sin(2.0 * np.pi * gy / 4100.0 + 1.0)
    folds = amplitude * (1.0 - np.cos(phase)) / 2.0 * on
    gully_y = -2000.0 + 150.0 * np.sin(2.0 * np.pi * gx / 2500.0)
    gully = 5.0 * np.exp(-(((gy - gully_y) / 75.0) ** 2)) * _smoothstep(
        (gx - 1000.0) / 150.0) * (1.0 - _smoothstep((gx - 5000.0) / 500.0))
    approach = rise + folds - gully
    z = np.where(gx < 0.0, west, np.where(gx <= 850.0, east_slope, approach))
    channel = 3.5 * (1.0 - _smoothstep((np.abs(gx - 1000.0) - 20.0) / 20.0))
    z = z - channel
    return Dem(x0_m=float(x[0]), y0_m=float(y[0]), cell_m=cell_m,
               heights_m=np.round(z, 2).tolist())


BUILTIN_DEMS = {"western-heights": western_heights_dem}
