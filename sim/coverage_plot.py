"""A coverage map as a PNG heat map (towers, perimeter, river, zones drawn) and as GeoJSON.

Drawn on a bare Agg :class:`~matplotlib.figure.Figure` (no pyplot). Artists carry ``gid`` s
(``pd``, ``towers``, ``offline``, ``perimeter``, ``zone:<name>``, ``relief``,
``dead_ground``) for callers and tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle

from perimeter.geojson import collection, feature, origin_of, site_features, to_lon_lat
from perimeter.site import Site
from sim.coverage_map import CoverageGrid
from sim.terrain import points_in_polygon

DEAD_GROUND_RGBA = (1.0, 0.35, 0.75, 0.85)
"""Cells where the relief hides the target from every live tower."""
ZONE_COLOURS = {"forest": "darkgreen", "built": "saddlebrown", "water": "royalblue",
                "open": "grey"}


def title_of(grid: CoverageGrid) -> str:
    c = grid.conditions
    off = f", without {', '.join(grid.without)}" if grid.without else ""
    return f"Pd, {c.kind}, {c.weather} {c.lighting}, {c.dwell_s:g} s dwell{off}"


def coverage_figure(grid: CoverageGrid, site: Site) -> Figure:
    """The heat map of ``grid.pd`` with the 0.5 and 0.9 contours and the site drawn on it."""
    fig = Figure(figsize=(7.5, 7.0), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    half = grid.resolution_m / 2.0
    extent = (grid.x_m[0] - half, grid.x_m[-1] + half, grid.y_m[0] - half, grid.y_m[-1] + half)
    image = ax.imshow(grid.pd, origin="lower", extent=extent, cmap="viridis", vmin=0.0,
                      vmax=1.0, interpolation="nearest", gid="pd")
    fig.colorbar(image, ax=ax, label="P(fix by two or more towers)", shrink=0.8)
    lo, hi = float(grid.pd.min()), float(grid.pd.max())
    levels = [level for level in (0.5, 0.9) if lo < level < hi]
    if levels and min(grid.pd.shape) >= 2:
        ax.contour(grid.x_m, grid.y_m, grid.pd, levels=levels, colors="white",
                   linestyles=["dotted", "solid"][-len(levels):], linewidths=0.8)
    _draw_relief(ax, grid, site)
    for zone in site.terrain:
        ax.add_patch(Polygon(zone.polygon, closed=True, fill=False, hatch="//",
                             edgecolor=ZONE_COLOURS[zone.kind], linewidth=1.2,
                             gid=f"zone:{zone.name or zone.kind}"))
    if site.river:
        xs, ys = zip(*site.river, strict=True)
        ax.plot(xs, ys, color="deepskyblue", linewidth=2.0, label="river", gid="river")
    xs, ys = zip(*site.perimeter, strict=True)
    ax.plot(xs, ys, color="red", linewidth=2.0, label="perimeter", gid="perimeter")
    live = [site.tower(t) for t in grid.towers]
    ax.plot([t.x_m for t in live], [t.y_m for t in live], "^", color="white",
            markeredgecolor="black", markersize=8, linestyle="none", label="tower", gid="towers")
    dead = [site.tower(t) for t in grid.without]
    if dead:
        ax.plot([t.x_m for t in dead], [t.y_m for t in dead], "X", color="red", markersize=10,
                linestyle="none", label="offline", gid="offline")
    for t in site.towers:
        ax.annotate(t.id, (t.x_m, t.y_m), textcoords="offset points", xytext=(-22, -3),
                    fontsize=6, color="black")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal")
    ax.set_xlabel("east x_m")
    ax.set_ylabel("north y_m")
    ax.set_title(title_of(grid), fontsize=10)
    ax.legend(loc="upper left", fontsize="x-small", framealpha=0.8)
    fig.tight_layout()
    return fig


def _draw_relief(ax: Axes, grid: CoverageGrid, site: Site) -> None:
    """Height contours every 10 m (``relief``) and dead ground in pink (``dead_ground``)."""
    dem = site.elevation
    if dem is None or min(grid.pd.shape) < 2:
        return
    gx, gy = np.meshgrid(grid.x_m, grid.y_m)
    z = dem.ground_m(gx, gy)
    levels = np.arange(np.floor(z.min() / 10.0) * 10.0, z.max() + 10.0, 10.0)
    if len(levels) >= 2:
        ax.contour(grid.x_m, grid.y_m, z, levels=levels, colors="lightgrey", linewidths=0.4,
                   alpha=0.7).set_gid("relief")
    if grid.dead.any():
        half = grid.resolution_m / 2.0
        rgba = np.zeros((*grid.dead.shape, 4))
        rgba[grid.dead] = DEAD_GROUND_RGBA
        ax.imshow(rgba, origin="lower", interpolation="nearest", gid="dead_ground",
                  extent=(grid.x_m[0] - half, grid.x_m[-1] + half, grid.y_m[0] - half,
                          grid.y_m[-1] + half))
        ax.add_patch(Rectangle((0, 0), 0, 0, color=DEAD_GROUND_RGBA, label="dead ground"))


def save_coverage_png(path: str | Path, grid: CoverageGrid, site: Site) -> Figure:
    fig = coverage_figure(grid, site)
    fig.savefig(Path(path), format="png")
    return fig


def coverage_geojson(grid: CoverageGrid, site: Site, *, min_pd: float = 0.01,
                     decimals: int = 3) -> dict[str, Any]:
    """One square polygon per grid cell with ``pd >= min_pd`` (property ``pd``), then the
    site's towers, perimeter and zones; placed by the site's geographic origin."""
    o = origin_of(site)
    half = grid.resolution_m / 2.0
    cells = []
    for iy, ix in zip(*np.nonzero(grid.pd >= min_pd), strict=True):
        x, y = float(grid.x_m[ix]), float(grid.y_m[iy])
        ring = [list(to_lon_lat(o, x + dx, y + dy))
                for dx, dy in ((-half, -half), (half, -half), (half, half), (-half, half),
                               (-half, -half))]
        cells.append(feature({"type": "Polygon", "coordinates": [ring]},
                             {"kind": "coverage", "pd": round(float(grid.pd[iy, ix]), decimals),
                              "dead_ground": bool(grid.dead[iy, ix])}))
    doc = collection([*cells, *site_features(site)], site)
    c = grid.conditions
    doc["properties"].update({"target_kind": c.kind, "weather": c.weather, "time": c.lighting,
                              "dwell_s": c.dwell_s, "without": list(grid.without),
                              "resolution_m": grid.resolution_m})
    return doc


def zone_summary(grid: CoverageGrid, site: Site, level: float = 0.9,
                 values: npt.NDArray[np.float64] | None = None) -> dict[str, float]:
    """Share of each watch zone's and terrain zone's area (on the grid) with Pd >= ``level``
    (or with ``values`` >= ``level``, e.g. the dead-ground mask)."""
    data = grid.pd if values is None else values
    gx, gy = np.meshgrid(grid.x_m, grid.y_m)
    named = [(z.name, z.polygon) for z in site.watch_zones]
    named += [(z.name or z.kind, z.polygon) for z in site.terrain]
    out: dict[str, float] = {}
    for name, polygon in named:
        inside = points_in_polygon(gx, gy, [(float(x), float(y)) for x, y in polygon])
        if inside.any():
            out[name] = float(np.mean(data[inside] >= level))
    return out
