"""The site's clutter map: persistent hot spots that the detector sees like small targets.

Drawn per run from the site's zones (docs/sensors.md): sun-warmed rocks on open ground, roofs
and walls in built zones, tree tops in forests (flickering with the wind) and water along the
river (warmer than the land at night). Each spot has a contrast by night and by day (lognormal
about its kind's nominal: the long tail of real clutter), a size, and a position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from perimeter.site import Site
from sim.terrain import points_in_polygon

FloatArray = npt.NDArray[np.float64]
Box = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class HotSpotKind:
    density: float  # per km^2 of its zone (per km of river for water)
    night_k: float  # median contrast the detector sees by night
    day_k: float  # and by day (full sun)
    size_m: float
    height_m: float  # how high its top stands over the ground (for the relief's shadow)
    flicker_per_mps: float  # log-std of the contrast frame to frame, per m/s of wind


HOT_SPOTS: dict[str, HotSpotKind] = {
    "rock": HotSpotKind(2.0, 0.3, 8.0, 1.0, 1.0, 0.0),
    "roof": HotSpotKind(10.0, 0.6, 10.0, 3.0, 6.0, 0.0),
    "treetop": HotSpotKind(6.0, 0.2, 3.0, 3.0, 20.0, 0.12),
    "water": HotSpotKind(1.0, 1.5, 1.0, 2.0, 0.2, 0.05),
}
CONTRAST_SPREAD = 0.7
"""Log-std of a spot's contrast about its kind's median."""


@dataclass(frozen=True, slots=True)
class ClutterMap:
    """This run's hot spots (index by spot)."""

    kind: list[str]
    xy_m: FloatArray  # (S, 2)
    night_k: FloatArray
    day_k: FloatArray
    size_m: FloatArray
    height_m: FloatArray
    flicker_per_mps: FloatArray

    def __len__(self) -> int:
        return len(self.kind)


def _area_points(rng: np.random.Generator, box: Box, n: int) -> FloatArray:
    x0, y0, x1, y1 = box
    return np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])


def draw_clutter_map(site: Site, box: Box, scale: float, rng: np.random.Generator) -> ClutterMap:
    """Hot spots inside ``box`` (x0, y0, x1, y1), their densities multiplied by ``scale``."""
    x0, y0, x1, y1 = box
    area_km2 = (x1 - x0) * (y1 - y0) / 1e6
    kinds: list[str] = []
    points: list[FloatArray] = []
    zones = [(z.kind, z.polygon) for z in site.terrain if z.kind in ("forest", "built")]
    # candidates spread over the box at the highest density, then kept by the zone they are in
    top = max(h.density for h in HOT_SPOTS.values())
    cand = _area_points(rng, box, int(rng.poisson(top * scale * area_km2)))
    zone = np.full(len(cand), "rock", dtype=object)
    for kind, polygon in zones:
        inside = points_in_polygon(cand[:, 0], cand[:, 1], list(polygon))
        zone[inside] = "treetop" if kind == "forest" else "roof"
    keep_p = np.array([HOT_SPOTS[str(k)].density / top for k in zone])
    keep = rng.random(len(cand)) < keep_p
    kinds += [str(k) for k in zone[keep]]
    points.append(cand[keep])
    if site.river and len(site.river) >= 2:
        river = np.asarray(site.river, dtype=np.float64)
        seg = np.diff(river, axis=0)
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(seg[:, 0], seg[:, 1]))])
        n = int(rng.poisson(HOT_SPOTS["water"].density * scale * cum[-1] / 1000.0))
        along = rng.uniform(0.0, cum[-1], n)
        pts = np.column_stack([np.interp(along, cum, river[:, 0]),
                               np.interp(along, cum, river[:, 1])])
        inside = (pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)
        kinds += ["water"] * int(inside.sum())
        points.append(pts[inside])
    xy = np.vstack(points) if points else np.zeros((0, 2))
    specs = [HOT_SPOTS[k] for k in kinds]
    spread = np.exp(CONTRAST_SPREAD * rng.standard_normal(len(kinds)))
    return ClutterMap(kinds, xy,
                      np.array([s.night_k for s in specs]) * spread,
                      np.array([s.day_k for s in specs]) * spread,
                      np.array([s.size_m for s in specs]),
                      np.array([s.height_m for s in specs]),
                      np.array([s.flicker_per_mps for s in specs]))
