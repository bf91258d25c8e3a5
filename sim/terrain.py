"""Terrain zones and the line-of-sight loss along tower→target paths, exact and vectorised.

Each path is cut by each zone polygon into inside intervals (segment–edge intersections,
midpoints tested even-odd), so any simple polygon works and no raster is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from perimeter.site import Site

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ZoneOptics:
    """How a terrain kind affects a line of sight below its canopy/roof height."""

    canopy_m: float
    extinction_per_m: float  # optical depth per metre of path below the canopy


LOS_INTERVAL_S = 2.0
"""Lines of sight through terrain are re-evaluated this often (targets move < 25 m)."""

ZONE_OPTICS: dict[str, ZoneOptics] = {
    "forest": ZoneOptics(canopy_m=20.0, extinction_per_m=1.0 / 15.0),  # blocks within tens of m
    "built": ZoneOptics(canopy_m=8.0, extinction_per_m=1.0 / 600.0),  # ruins attenuate
}


def points_in_polygon(x: FloatArray, y: FloatArray,
                      polygon: list[tuple[float, float]]) -> npt.NDArray[np.bool_]:
    """Even-odd ray casting for many points against one polygon."""
    inside = np.zeros(np.shape(x), dtype=bool)
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if y1 == y2:
            continue
        crosses = (y1 > y) != (y2 > y)
        x_at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < x_at)
    return inside


def inside_intervals(px: FloatArray, py: FloatArray, dx: FloatArray, dy: FloatArray,
                     polygon: list[tuple[float, float]]) -> tuple[FloatArray, FloatArray]:
    """Where segments ``P + s D`` (s in [0, 1]) are inside ``polygon``.

    Returns interval starts and ends ``(..., E + 1)`` in ``s`` (zero length where outside).
    """
    cuts = []
    n = len(polygon)
    for i in range(n):
        ax, ay = polygon[i]
        ex, ey = polygon[(i + 1) % n][0] - ax, polygon[(i + 1) % n][1] - ay
        denom = dx * ey - dy * ex
        safe = np.where(denom == 0.0, 1.0, denom)
        s = ((ax - px) * ey - (ay - py) * ex) / safe
        u = ((ax - px) * dy - (ay - py) * dx) / safe
        ok = (denom != 0.0) & (u >= 0.0) & (u <= 1.0) & (s > 0.0) & (s < 1.0)
        cuts.append(np.where(ok, s, 1.0))
    bounds = np.sort(np.stack([np.zeros_like(px), *cuts, np.ones_like(px)], axis=-1), axis=-1)
    lo, hi = bounds[..., :-1], bounds[..., 1:]
    mid = 0.5 * (lo + hi)
    inside = points_in_polygon(px[..., None] + mid * dx[..., None],
                               py[..., None] + mid * dy[..., None], polygon)
    return np.where(inside, lo, 0.0), np.where(inside, hi, 0.0)


class Terrain:
    """A site's occluding and attenuating zones, with path integrals along sightlines."""

    def __init__(self, site: Site) -> None:
        self.zones = [(z.kind, [(float(x), float(y)) for x, y in z.polygon])
                      for z in site.terrain if z.kind in ZONE_OPTICS]

    def paths(self, tower_xy: FloatArray, tower_h_m: FloatArray, target_xy: FloatArray,
              target_h_m: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Optical depth along sightlines, and metres of forest and built ground on the path.

        Shapes: ``tower_xy (T, 2)``, ``tower_h_m (T,)``, ``target_xy (..., T or 1, N, 2)``
        (per tower, or shared by all towers), ``target_h_m (N,)``; results ``(..., T, N)``.
        """
        dx = target_xy[..., 0] - tower_xy[:, 0][:, None]  # (..., T, N)
        dy = target_xy[..., 1] - tower_xy[:, 1][:, None]
        px = np.broadcast_to(tower_xy[:, 0][:, None], dx.shape)
        py = np.broadcast_to(tower_xy[:, 1][:, None], dx.shape)
        length = np.hypot(dx, dy)
        depth = np.zeros(dx.shape)
        forest_m = np.zeros(dx.shape)
        built_m = np.zeros(dx.shape)
        if not self.zones:
            return depth, forest_m, built_m
        th = tower_h_m[:, None]
        for kind, polygon in self.zones:
            optics = ZONE_OPTICS[kind]
            lo, hi = inside_intervals(px, py, dx, dy, polygon)
            inside = (hi - lo).sum(axis=-1)
            # the sightline runs below the canopy from s_c on (all along if the mast is lower)
            with np.errstate(divide="ignore", invalid="ignore"):
                s_c = np.where(th > optics.canopy_m,
                               (th - optics.canopy_m) / (th - target_h_m[None, :]), 0.0)
            s_c = np.clip(np.nan_to_num(s_c, nan=1.0, posinf=1.0), 0.0, 1.0)
            below = np.clip(hi - np.maximum(lo, s_c[..., None]), 0.0, None).sum(axis=-1)
            depth += optics.extinction_per_m * below * length
            if kind == "forest":
                forest_m += inside * length
            else:
                built_m += inside * length
        return depth, forest_m, built_m

    def paths_held(self, stride: int, tower_xy: FloatArray, tower_h_m: FloatArray,
                   target_xy: FloatArray, target_h_m: FloatArray
                   ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """:meth:`paths` on every ``stride``-th frame (leading axis), held in between."""
        n = target_xy.shape[0]
        out = self.paths(tower_xy, tower_h_m, target_xy[::stride], target_h_m)
        depth, forest_m, built_m = (np.repeat(r, stride, axis=0)[:n] for r in out)
        return depth, forest_m, built_m
