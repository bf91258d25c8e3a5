"""``perimeter coverage``: build a coverage map, write its PNG and GeoJSON, print zone shares."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from perimeter.site import load_site
from perimeter.thresholds import Thresholds
from sim.coverage_map import Conditions, CoverageGrid, Lighting, coverage
from sim.coverage_plot import coverage_geojson, save_coverage_png, title_of, zone_summary


def coverage_command(*, site: str | Path = "western-heights", kind: str = "person",
                     weather: str = "clear", time: Lighting = "night",
                     without: Sequence[str] = (), png: Path | None = None,
                     geojson: Path | None = None, resolution_m: float = 50.0,
                     dwell_s: float = 10.0, wind_mps: float = 3.0,
                     thresholds: Thresholds | None = None,
                     console: Console | None = None) -> CoverageGrid:
    """Compute the map; raise ``ValueError``/``SiteError`` naming the option at fault."""
    out = console or Console()
    if dwell_s < 0:
        raise ValueError(f"dwell_s: must be >= 0, got {dwell_s}")
    the_site = load_site(site)
    conditions = Conditions(kind=kind, weather=weather, lighting=time, wind_mps=wind_mps,
                            dwell_s=dwell_s)
    grid = coverage(the_site, conditions, without=without, thresholds=thresholds,
                    resolution_m=resolution_m)
    table = Table(title=title_of(grid))
    table.add_column("zone")
    table.add_column("area with Pd >= 0.9", justify="right")
    table.add_column("area with Pd >= 0.5", justify="right")
    table.add_column(f"dead ground ({kind})", justify="right")
    high, half = zone_summary(grid, the_site, 0.9), zone_summary(grid, the_site, 0.5)
    dead = zone_summary(grid, the_site, 0.5, grid.dead.astype(float))
    for name, share in high.items():
        table.add_row(name, f"{share:.0%}", f"{half[name]:.0%}", f"{dead[name]:.0%}")
    out.print(table)
    if png is not None:
        save_coverage_png(png, grid, the_site)
        out.print(f"wrote {png}")
    if geojson is not None:
        Path(geojson).write_text(json.dumps(coverage_geojson(grid, the_site)), encoding="utf-8")
        out.print(f"wrote {geojson}")
    return grid
