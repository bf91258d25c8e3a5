import io
import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread
from rich.console import Console

from perimeter.geojson import to_local_m
from perimeter.site import Site, western_heights
from sim.coverage_command import coverage_command
from sim.coverage_map import Conditions, CoverageGrid, coverage
from sim.coverage_plot import coverage_geojson, save_coverage_png, zone_summary


@pytest.fixture(scope="module")
def site() -> Site:
    return western_heights()


@pytest.fixture(scope="module")
def grid(site: Site) -> CoverageGrid:
    return coverage(site, Conditions(), without=["T06"], resolution_m=250.0)


def test_png_shows_the_map_the_towers_the_offline_one_the_perimeter_and_zones(
        tmp_path: Path, site: Site, grid: CoverageGrid) -> None:
    out = tmp_path / "cov.png"
    fig = save_coverage_png(out, grid, site)
    image = imread(out)
    assert out.read_bytes()[:4] == b"\x89PNG" and image.shape[0] > 500 and image.shape[1] > 500
    ax = fig.axes[0]
    lines = {line.get_gid(): line for line in ax.get_lines()}
    assert len(lines["towers"].get_xdata()) == 11
    assert list(lines["offline"].get_xydata()[0]) == [0.0, -250.0]
    assert lines["perimeter"].get_xydata().tolist() == [[1000.0, -3000.0], [1000.0, 3000.0]]
    assert {p.get_gid() for p in ax.patches} >= {"zone:forest", "zone:ruined town"}
    assert ax.get_images()[0].get_gid() == "pd"
    rgb = image[..., :3]
    red = (rgb[..., 0] > 0.8) & (rgb[..., 1] < 0.2) & (rgb[..., 2] < 0.2)
    assert int(np.count_nonzero(red)) > 50  # the perimeter line and the offline mark


def test_geojson_cells_are_lon_lat_squares_carrying_pd(site: Site, grid: CoverageGrid) -> None:
    doc = coverage_geojson(grid, site, min_pd=0.5)
    cells = [f for f in doc["features"] if f["properties"]["kind"] == "coverage"]
    assert len(cells) == int(np.count_nonzero(grid.pd >= 0.5))
    assert doc["properties"]["without"] == ["T06"] and doc["properties"]["time"] == "night"
    ring = cells[0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 5
    lon, lat = ring[0]
    assert 9.9 < lon < 10.2 and 49.9 < lat < 50.1  # lon first, near the site origin
    xs = [to_local_m(site.origin, *c)[0] for c in ring[:4]]  # type: ignore[arg-type]
    assert max(xs) - min(xs) == pytest.approx(250.0, abs=0.05)
    assert all(0.5 <= c["properties"]["pd"] <= 1.0 for c in cells)


def test_zone_summary_sees_the_forest_blind_spot(site: Site, grid: CoverageGrid) -> None:
    shares = zone_summary(grid, site)
    # Pd >= 0.9 needs P_inf >= 0.9 from two towers (a person within ~1.2 km): repeated looks
    # at a target are correlated, so the town's near half is covered, its far half not
    assert shares["forest"] < 0.05 < shares["approach"] and shares["ruined town"] > 0.25


def test_the_command_writes_both_files_and_prints_the_zone_shares(tmp_path: Path) -> None:
    text = io.StringIO()
    png, geo = tmp_path / "c.png", tmp_path / "c.geojson"
    grid = coverage_command(kind="light_vehicle", weather="fog", without=["T06"], png=png,
                            geojson=geo, resolution_m=400.0,
                            console=Console(file=text, width=120))
    assert grid.conditions.kind == "light_vehicle" and "T06" not in grid.towers
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert json.loads(geo.read_text())["properties"]["weather"] == "fog"
    assert "approach" in text.getvalue()


def test_the_map_draws_the_dead_ground_behind_the_folds(tmp_path: Path, site: Site) -> None:
    grid = coverage(site, Conditions(kind="animal"), resolution_m=100.0)
    assert grid.dead.any() and grid.dead.mean() < 0.2
    # a dead cell is out of every tower's sight, so no fix there
    assert grid.pd[grid.dead].max() < 1e-6
    fig = save_coverage_png(tmp_path / "dead.png", grid, site)
    ax = fig.axes[0]
    assert "dead_ground" in {image.get_gid() for image in ax.get_images()}
    assert ax.get_images()[1].get_array()[..., 3].astype(bool).sum() == grid.dead.sum()
    flat = coverage(site.model_copy(update={"dem": None}), Conditions(kind="animal"),
                    resolution_m=100.0)
    assert not flat.dead.any()
    doc = coverage_geojson(grid, site, min_pd=0.0)
    dead = [f for f in doc["features"] if f["properties"].get("dead_ground")]
    assert len(dead) == int(grid.dead.sum())
