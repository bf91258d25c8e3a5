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
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ZoneOptics:
    """How a terrain kind affects a line of sight below its canopy/roof height."""

    canopy_m: float
    extinction_per_m: float  # optical depth per metre of path below the canopy


LOS_INTERVAL_S = 2.0
"""Lines of sight through terrain are re-evaluated this often (targets move < 25 m)."""

ZONE_OPTICS: dict[str, ZoneOptics] = {
    "forest": ZoneOptics(canopy_m=20.0, extinction_per_m=1.0 / 15.0),  # blocks within tens of m
    "built": ZoneOptics(canopy_m=8.0, extinction_per_m=1.0 / 1500.0),  # ruins attenuate
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
        self.boxes = [(min(x for x, _ in poly), min(y for _, y in poly),
                       max(x for x, _ in poly), max(y for _, y in poly))
                      for _, poly in self.zones]

    def paths(self, tower_xy: FloatArray, tower_h_m: FloatArray, target_xy: FloatArray,
              target_h_m: FloatArray, wanted: BoolArray | None = None
              ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Optical depth along sightlines, and metres of forest and built ground on the path.

        Shapes: ``tower_xy (T, 2)``, ``tower_h_m (T,)``, ``target_xy (..., T or 1, N, 2)``
        (per tower, or shared by all towers), ``target_h_m (N,)``; results ``(..., T, N)``,
        zero where ``wanted`` (same shape) is False.
        """
        dx = target_xy[..., 0] - tower_xy[:, 0][:, None]  # (..., T, N)
        dy = target_xy[..., 1] - tower_xy[:, 1][:, None]
        shape = dx.shape
        sel = np.ones(shape, dtype=bool) if wanted is None else wanted
        px = np.broadcast_to(tower_xy[:, 0][:, None], shape)[sel]
        py = np.broadcast_to(tower_xy[:, 1][:, None], shape)[sel]
        th = np.broadcast_to(tower_h_m[:, None], shape)[sel]
        gh = np.broadcast_to(target_h_m, shape)[sel]
        out = [np.zeros(shape) for _ in range(3)]
        for dense, flat in zip(out, self._pairs(px, py, dx[sel], dy[sel], th, gh), strict=True):
            dense[sel] = flat
        return out[0], out[1], out[2]

    def _pairs(self, px: FloatArray, py: FloatArray, dx: FloatArray, dy: FloatArray,
               th: FloatArray, gh: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Flat version of :meth:`paths`: one entry per path. Only paths whose bounding box
        meets a zone's are cut by that zone."""
        depth, forest_m, built_m = np.zeros(dx.size), np.zeros(dx.size), np.zeros(dx.size)
        x_lo, x_hi = np.minimum(px, px + dx), np.maximum(px, px + dx)
        y_lo, y_hi = np.minimum(py, py + dy), np.maximum(py, py + dy)
        for (kind, polygon), (x0, y0, x1, y1) in zip(self.zones, self.boxes, strict=True):
            near = np.nonzero((x_lo <= x1) & (x_hi >= x0) & (y_lo <= y1) & (y_hi >= y0))[0]
            if near.size == 0:
                continue
            optics = ZONE_OPTICS[kind]
            lo, hi = inside_intervals(px[near], py[near], dx[near], dy[near], polygon)
            length = np.hypot(dx[near], dy[near])
            # the sightline runs below the canopy from s_c on (all along if the mast is lower)
            t_h, g_h = th[near], gh[near]
            with np.errstate(divide="ignore", invalid="ignore"):
                s_c = np.where(t_h > optics.canopy_m, (t_h - optics.canopy_m) / (t_h - g_h), 0.0)
            s_c = np.clip(np.nan_to_num(s_c, nan=1.0, posinf=1.0), 0.0, 1.0)
            below = np.clip(hi - np.maximum(lo, s_c[:, None]), 0.0, None).sum(axis=-1)
            depth[near] += optics.extinction_per_m * below * length
            inside_m = (hi - lo).sum(axis=-1) * length
            if kind == "forest":
                forest_m[near] += inside_m
            else:
                built_m[near] += inside_m
        return depth, forest_m, built_m

    def paths_held(self, stride: int, tower_xy: FloatArray, tower_h_m: FloatArray,
                   target_xy: FloatArray, target_h_m: FloatArray, wanted: BoolArray
                   ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """:meth:`paths` on every ``stride``-th frame (leading axis), held for the frames up
        to the next; computed for the paths ``wanted (F, T, N)`` in any of those frames."""
        n = wanted.shape[0]
        groups = -(-n // stride)
        padded = np.zeros((groups * stride, *wanted.shape[1:]), dtype=bool)
        padded[:n] = wanted
        any_wanted = np.asarray(padded.reshape(groups, stride, *wanted.shape[1:]).any(axis=1),
                                dtype=bool)
        out = self.paths(tower_xy, tower_h_m, target_xy[::stride], target_h_m, any_wanted)
        depth, forest_m, built_m = (np.repeat(r, stride, axis=0)[:n] for r in out)
        return depth, forest_m, built_m
