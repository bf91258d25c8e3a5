"""Terrain zones, relief and the line-of-sight loss along tower→target paths, vectorised.

Each path is cut by each zone polygon into inside intervals (segment–edge intersections,
midpoints tested even-odd), so any simple polygon works and no raster is needed. Where the
site has a DEM, the part of a target below the ground's horizon (dead ground behind folds and
banks) is hidden too: one lookup per path in each tower's cached :class:`Horizon`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from perimeter.site import Site
from perimeter.terrain import Dem, Horizon, HorizonStack

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ZoneOptics:
    """How a terrain kind affects a line of sight below its canopy/roof height."""

    canopy_m: float
    extinction_per_m: float  # optical depth per metre of path below the canopy


HIDDEN_DEPTH = 50.0
"""Optical depth standing for "entirely behind the ground" (exp(-50) ~ 2e-22)."""
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


_HORIZONS: dict[tuple[int, float, float, float], tuple[Dem, Horizon]] = {}
HORIZONS_KEPT = 48
"""Horizons kept per process (~2.3 MB each on western-heights), so that the runs of an
evaluation or a sweep on one site build each tower's horizon once."""


def _shared_horizon(dem: Dem, key: tuple[float, float, float]) -> Horizon:
    full = (id(dem), *key)
    if full not in _HORIZONS:
        while len(_HORIZONS) >= HORIZONS_KEPT:
            del _HORIZONS[next(iter(_HORIZONS))]
        _HORIZONS[full] = (dem, Horizon(dem, *key))  # the DEM is kept: its id stays unique
    return _HORIZONS[full][1]


class Terrain:
    """A site's occluding and attenuating zones, with path integrals along sightlines."""

    def __init__(self, site: Site) -> None:
        self.zones = [(z.kind, [(float(x), float(y)) for x, y in z.polygon])
                      for z in site.terrain if z.kind in ZONE_OPTICS]
        self.boxes = [(min(x for x, _ in poly), min(y for _, y in poly),
                       max(x for x, _ in poly), max(y for _, y in poly))
                      for _, poly in self.zones]
        self.dem = site.elevation
        self._horizons: dict[tuple[float, float, float], Horizon] = {}
        self._stacks: dict[tuple[bytes, bytes], HorizonStack] = {}

    def horizon(self, x_m: float, y_m: float, eye_height_m: float) -> Horizon | None:
        """The cached horizon of a viewpoint ``eye_height_m`` above the ground (no DEM: None)."""
        if self.dem is None:
            return None
        key = (float(x_m), float(y_m), float(eye_height_m))
        if key not in self._horizons:
            self._horizons[key] = _shared_horizon(self.dem, key)
        return self._horizons[key]

    def ground_m(self, xy: FloatArray) -> FloatArray:
        """Ground height at points ``(..., 2)`` (zero on flat sites)."""
        if self.dem is None:
            return np.zeros(xy.shape[:-1])
        return self.dem.ground_m(xy[..., 0], xy[..., 1])

    def _stack(self, tower_xy: FloatArray, tower_h_m: FloatArray) -> HorizonStack:
        """The towers' horizons stacked for one lookup (kept for the tower set)."""
        key = (tower_xy.tobytes(), tower_h_m.tobytes())
        if self._stacks.get(key) is None:
            horizons = [self.horizon(float(x), float(y), float(h))
                        for (x, y), h in zip(tower_xy, tower_h_m, strict=True)]
            self._stacks[key] = HorizonStack([h for h in horizons if h is not None])
        return self._stacks[key]

    def elevation_deg(self, tower_xy: FloatArray, tower_h_m: FloatArray,
                      tower_i: npt.NDArray[np.intp], xy: FloatArray,
                      above_ground_m: FloatArray) -> FloatArray:
        """Elevation angles from towers ``tower_i`` (mast tops) to points ``xy (M, 2)`` that
        are ``above_ground_m (M,)`` over the ground: flat geometry without a DEM."""
        if self.dem is None:
            rng_m = np.hypot(xy[:, 0] - tower_xy[tower_i, 0], xy[:, 1] - tower_xy[tower_i, 1])
            flat = np.degrees(np.arctan2(above_ground_m - tower_h_m[tower_i], rng_m))
            return np.asarray(flat, dtype=np.float64)
        return self._stack(tower_xy, tower_h_m).elevation_deg(tower_i, xy[:, 0], xy[:, 1],
                                                              above_ground_m)

    def hidden_share(self, tower_xy: FloatArray, tower_h_m: FloatArray,
                     tower_i: npt.NDArray[np.intp], x_m: FloatArray, y_m: FloatArray,
                     height_m: FloatArray) -> FloatArray:
        """Share of each target (``height_m`` tall at ``(x_m, y_m)``) that the ground hides
        from tower ``tower_i``: 0 in view, 1 in dead ground; flat arrays of one length."""
        if self.dem is None or len(tower_i) == 0:
            return np.zeros(len(tower_i))
        hidden = self._stack(tower_xy, tower_h_m).hidden_m(tower_i, x_m, y_m)
        return np.asarray(np.clip(hidden / height_m, 0.0, 1.0), dtype=np.float64)

    def paths(self, tower_xy: FloatArray, tower_h_m: FloatArray, target_xy: FloatArray,
              target_h_m: FloatArray, wanted: BoolArray | None = None,
              relief_height_m: FloatArray | None = None
              ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Optical depth along sightlines, and metres of forest and built ground on the path.

        Shapes: ``tower_xy (T, 2)``, ``tower_h_m (T,)``, ``target_xy (..., T or 1, N, 2)``
        (per tower, or shared by all towers), ``target_h_m (N,)`` (where the sightline aims);
        results ``(..., T, N)``, zero where ``wanted`` (same shape) is False. With
        ``relief_height_m (N,)`` (the targets' full heights) and a DEM, the share ``h`` of a
        target hidden by the ground adds ``-ln(1 - h)`` to the depth (:data:`HIDDEN_DEPTH`
        when all of it is hidden).
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
        flats = self._pairs(px, py, dx[sel], dy[sel], th, gh)
        if relief_height_m is not None and self.dem is not None:
            t_i = np.broadcast_to(np.arange(len(tower_xy))[:, None], shape)[sel]
            share = self.hidden_share(tower_xy, tower_h_m, t_i, px + dx[sel], py + dy[sel],
                                      np.broadcast_to(relief_height_m, shape)[sel])
            with np.errstate(divide="ignore"):
                flats[0][:] += np.minimum(-np.log1p(-share), HIDDEN_DEPTH)
        for dense, flat in zip(out, flats, strict=True):
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
                   target_xy: FloatArray, target_h_m: FloatArray, wanted: BoolArray,
                   relief_height_m: FloatArray | None = None
                   ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """:meth:`paths` on every ``stride``-th frame (leading axis), held for the frames up
        to the next; computed for the paths ``wanted (F, T, N)`` in any of those frames."""
        n = wanted.shape[0]
        groups = -(-n // stride)
        padded = np.zeros((groups * stride, *wanted.shape[1:]), dtype=bool)
        padded[:n] = wanted
        any_wanted = np.asarray(padded.reshape(groups, stride, *wanted.shape[1:]).any(axis=1),
                                dtype=bool)
        out = self.paths(tower_xy, tower_h_m, target_xy[::stride], target_h_m, any_wanted,
                         relief_height_m)
        depth, forest_m, built_m = (np.repeat(r, stride, axis=0)[:n] for r in out)
        return depth, forest_m, built_m
