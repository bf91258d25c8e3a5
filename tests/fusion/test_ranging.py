"""One-tower ranging: elevation angles cast onto the terrain, with the error the slope allows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from perimeter.fusion.ranging import Ranger, RangingConfig
from perimeter.terrain import Dem, curvature_drop_m

PIXEL_RAD = 17e-6 / 0.075
MAST_M = 15.0


def dem_of(height: object) -> Dem:
    """A 10 km square DEM at 50 m cells with ``height(x, y)``."""
    xs = np.arange(-1000.0, 9001.0, 50.0)
    ys = np.arange(-5000.0, 5001.0, 50.0)
    grid = [[float(height(x, y)) for x in xs] for y in ys]  # type: ignore[operator]
    return Dem(x0_m=-1000.0, y0_m=-5000.0, cell_m=50.0, heights_m=grid)


def seen_elevation(dem: Dem, range_m: float, centre_m: float) -> float:
    """The elevation a target ``centre_m`` above the ground due east of the mast shows."""
    z = float(dem.ground_m(range_m, 0.0)) + centre_m - float(curvature_drop_m(range_m))
    return math.atan2(z - (float(dem.ground_m(0.0, 0.0)) + MAST_M), range_m)


def ranger(dem: Dem) -> Ranger:
    return Ranger(dem, np.array([[0.0, 0.0]]), np.array([MAST_M]), np.array([PIXEL_RAD]),
                  RangingConfig(max_relative_sigma=0.5))


@pytest.mark.parametrize("range_m", [1500.0, 3000.0])
def test_flat_ground_ranges_within_its_sigma_and_the_sigma_is_the_geometrys(
        range_m: float) -> None:
    dem = dem_of(lambda x, y: 0.0)
    fix = ranger(dem).fix(0, math.pi / 2, seen_elevation(dem, range_m, 0.6))
    assert fix is not None and abs(fix.range_m - range_m) < 15.0  # the assumed centre height
    # d(elevation)/d(range) over flat ground is ~ mast / r^2
    expected = math.hypot(PIXEL_RAD, 0.3 / range_m) / (MAST_M / range_m**2)
    assert fix.sigma_m == pytest.approx(expected, rel=0.2)
    assert abs(fix.slope) < 1e-9


def test_ground_rising_towards_the_target_makes_the_range_sharper() -> None:
    flat, rising = dem_of(lambda x, y: 0.0), dem_of(lambda x, y: 0.05 * max(x - 1000.0, 0.0))
    flat_fix = ranger(flat).fix(0, math.pi / 2, seen_elevation(flat, 3000.0, 0.9))
    rising_fix = ranger(rising).fix(0, math.pi / 2, seen_elevation(rising, 3000.0, 0.9))
    assert flat_fix is not None and rising_fix is not None
    assert abs(rising_fix.range_m - 3000.0) < rising_fix.sigma_m  # centre 0.9 m, 0.6 assumed
    assert rising_fix.slope == pytest.approx(0.05)
    assert rising_fix.sigma_m < flat_fix.sigma_m / 3.0


def test_no_fix_where_the_sightline_never_meets_the_ground() -> None:
    dem = dem_of(lambda x, y: 0.0)
    assert ranger(dem).fix(0, math.pi / 2, math.radians(0.5)) is None  # looking up
    # a grazing sightline far out: the range would be too uncertain to use
    strict = Ranger(dem, np.array([[0.0, 0.0]]), np.array([MAST_M]), np.array([PIXEL_RAD]),
                    RangingConfig(max_relative_sigma=0.1))
    assert strict.fix(0, math.pi / 2, seen_elevation(dem, 7000.0, 0.6)) is None


def test_a_single_towers_seed_is_placed_at_the_terrain_range() -> None:
    from perimeter.fusion.triangulate import Initiator, InitiatorConfig
    from tests.fusion.helpers import scan_of

    dem = dem_of(lambda x, y: 0.05 * max(x - 1000.0, 0.0))
    initiator = Initiator(InitiatorConfig())
    initiator.ranger = ranger(dem)
    seeds = []
    for k in range(3):  # the third sighting seeds it
        scan = scan_of(0, (0.0, 0.0), float(k), [(3000.0, 0.0)], sigma_deg=0.02)
        scan.elevation_rad = np.array([seen_elevation(dem, 3000.0, 0.6)])
        seeds += initiator.offer(scan, np.arange(1))
    (seed,) = seeds
    assert initiator.ranged == 1 and seed.home_tower == 0
    assert abs(float(seed.x[0]) - 3000.0) < 3.0 * math.sqrt(float(seed.p[0, 0]))
    assert math.sqrt(float(seed.p[0, 0])) < 100.0  # not the 2 km of the prior
