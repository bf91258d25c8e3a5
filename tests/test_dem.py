"""Terrain relief: the DEM, its loader and line of sight over it."""

from __future__ import annotations

import numpy as np
import pytest

from perimeter.site import SiteError, load_site, western_heights
from perimeter.terrain import Dem, Horizon, curvature_drop_m, western_heights_dem


def _fold_dem() -> Dem:
    """Flat ground at 0 m with one 10 m fold (a ridge 200 m wide) crossing x = 2000."""
    x = np.arange(0.0, 4001.0, 25.0)
    y = np.arange(-1000.0, 1001.0, 25.0)
    gx, _ = np.meshgrid(x, y)
    z = 10.0 * np.clip(1.0 - np.abs(gx - 2000.0) / 100.0, 0.0, None)
    return Dem(x0_m=0.0, y0_m=-1000.0, cell_m=25.0, heights_m=z.tolist())


def test_ground_is_bilinear_between_nodes_and_held_beyond() -> None:
    dem = Dem(x0_m=0.0, y0_m=0.0, cell_m=10.0, heights_m=[[0.0, 10.0], [20.0, 30.0]])
    assert float(dem.ground_m(5.0, 5.0)) == pytest.approx(15.0)
    assert float(dem.ground_m(-50.0, 100.0)) == pytest.approx(20.0)


def test_a_fold_hides_what_lies_behind_it_and_open_ground_is_clear() -> None:
    dem = _fold_dem()
    horizon = Horizon(dem, 0.0, 0.0, 15.0)
    x = np.array([1500.0, 2150.0, 2400.0, 3500.0])
    hidden = horizon.hidden_m(x, np.zeros(4))
    # in front of the fold: in view; just behind it: a standing person (1.75 m) is hidden;
    # far behind, the sightline over the crest (10 m at 2 km from a 15 m eye) comes down
    assert hidden[0] <= 0.0
    assert hidden[1] > 1.75
    assert hidden[2] > 0.4 and hidden[3] < hidden[2]
    exact = dem.hidden_m((0.0, 0.0), 15.0, x, np.zeros(4), step_m=5.0)
    assert np.allclose(hidden, exact, atol=0.4)
    # flat open ground: the ground is in view out to the (bent) horizon
    flat = Horizon(Dem(x0_m=-5000.0, y0_m=-5000.0, cell_m=100.0,
                       heights_m=np.zeros((101, 101)).tolist()), 0.0, 0.0, 15.0)
    near = flat.hidden_m(np.array([1000.0, 4000.0]), np.array([500.0, -2000.0]))
    assert (near <= 0.0).all()


def test_the_earth_bends_sightlines_down_with_refraction() -> None:
    # surveyors' combined curvature and refraction: 0.0675 m per km squared (k ~ 0.14)
    assert float(curvature_drop_m(1000.0)) == pytest.approx(0.0683, abs=0.001)


def test_western_heights_has_a_ridge_a_river_valley_and_dead_ground() -> None:
    site = western_heights()
    dem = site.elevation
    assert dem is western_heights_dem()
    crest, river, bank = (float(dem.ground_m(x, 0.0)) for x in (0.0, 1000.0, 1100.0))
    assert crest > river + 60.0 and bank > river + 2.0  # ridge above, banks over the channel
    gx, gy = np.meshgrid(np.arange(1500.0, 7000.0, 50.0), np.arange(-4000.0, 4000.0, 50.0))
    hidden = np.min([Horizon(dem, t.x_m, t.y_m, t.height_m).hidden_m(gx, gy)
                     for t in site.towers], axis=0)
    crawling = float(np.mean(hidden > 0.4))
    assert 0.01 < crawling < 0.3  # folds hide some of the approach from every tower
    assert np.mean(hidden > 0.0) > crawling  # more of the ground than of a crawler


def test_a_site_file_carries_its_dem_as_a_grid() -> None:
    data = {"name": "hill", "towers": [{"id": "A", "x_m": 0.0, "y_m": 0.0}],
            "perimeter": [[100.0, -100.0], [100.0, 100.0]],
            "dem": {"x0_m": -50.0, "y0_m": -50.0, "cell_m": 50.0,
                    "heights_m": [[0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]}}
    site = load_site(data)
    assert site.elevation is not None
    assert float(site.elevation.ground_m(25.0, 0.0)) == pytest.approx(1.5)
    assert load_site({**data, "dem": "western-heights"}).elevation is western_heights_dem()
    assert load_site({**data, "dem": None}).elevation is None


@pytest.mark.parametrize(("dem", "message"), [
    ({"x0_m": 0, "y0_m": 0, "cell_m": 10, "heights_m": [[0, 1], [0]]}, "site.dem.Dem.heights_m"),
    ({"x0_m": 0, "y0_m": 0, "cell_m": 0, "heights_m": [[0, 1], [0, 1]]}, "site.dem.Dem.cell_m"),
    ("the-alps", "site.dem"),
])
def test_a_bad_dem_names_the_field(dem: object, message: str) -> None:
    data = {"name": "x", "towers": [{"id": "A", "x_m": 0.0, "y_m": 0.0}],
            "perimeter": [[1.0, 0.0], [2.0, 0.0]], "dem": dem}
    with pytest.raises(SiteError, match=message.replace(".", r"\.")):
        load_site(data)


def test_scalar_ground_and_eye_height_agree_with_the_vectorised_ones() -> None:
    dem = western_heights_dem()
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-2000.0, 9000.0, 50), rng.uniform(-6000.0, 6000.0, 50)
    scalar = [dem.ground_at(float(a), float(b)) for a, b in zip(x, y, strict=True)]
    assert np.allclose(scalar, dem.ground_m(x, y))
    # a point h above the ground is seen at atan((h - eye_above) / r), as Horizon says
    horizon = Horizon(dem, 0.0, -250.0, 15.0)
    eye = dem.eye_above_m((0.0, -250.0), 15.0, 3000.0, -1000.0)
    r = float(np.hypot(3000.0, 750.0))
    expected = float(horizon.elevation_deg(np.array([3000.0]), np.array([-1000.0]), 0.9)[0])
    assert np.degrees(np.arctan2(0.9 - eye, r)) == pytest.approx(expected, abs=1e-6)
