"""Line of sight through terrain zones."""

from __future__ import annotations

import numpy as np
import pytest

from perimeter.site import Site, load_site, western_heights
from sim.terrain import HIDDEN_DEPTH, Terrain, inside_intervals


def test_inside_intervals_of_a_concave_polygon() -> None:
    u_shape = [(0.0, 0.0), (30.0, 0.0), (30.0, 30.0), (20.0, 30.0), (20.0, 10.0), (10.0, 10.0),
               (10.0, 30.0), (0.0, 30.0)]
    p = np.array([-10.0])
    lo, hi = inside_intervals(p, np.array([20.0]), np.array([50.0]), np.array([0.0]), u_shape)
    # the horizontal line y=20 crosses both arms: 10 m + 10 m of a 50 m segment
    assert float((hi - lo).sum()) * 50.0 == pytest.approx(20.0)


def _paths(tower_h: float, target: tuple[float, float]) -> tuple[float, float, float]:
    terrain = Terrain(western_heights())
    d, f, b = terrain.paths(np.array([[0.0, 0.0]]), np.array([tower_h]),
                            np.array([[[target[0], target[1]]]]), np.array([1.4]))
    return float(d[0, 0]), float(f[0, 0]), float(b[0, 0])


def test_forest_blocks_and_built_attenuates() -> None:
    terrain = Terrain(western_heights())
    towers = np.array([[0.0, 2750.0], [0.0, -2750.0]])
    targets = np.array([[[3000.0, 2750.0], [3000.0, -2750.0]]])
    depth, forest_m, _ = terrain.paths(towers, np.array([15.0, 15.0]), targets,
                                       np.array([1.4, 1.4]))
    assert forest_m[0, 0] == pytest.approx(1500.0)
    assert np.exp(-depth[:, 0]).max() < 1e-6  # deep in the forest: hidden from both
    assert depth[1, 1] == 0.0  # open ground in front of the southern tower
    town_depth, _, built_m = _paths(15.0, (2000.0, 0.0))
    assert built_m == pytest.approx(1000.0)
    assert 0.05 < np.exp(-town_depth) < 0.9  # ruins attenuate, they do not block


def test_a_taller_mast_sees_more_over_the_ruins() -> None:
    low, _, _ = _paths(10.0, (2400.0, 100.0))
    high, _, _ = _paths(40.0, (2400.0, 100.0))
    assert high < low


def _fold_site() -> Site:
    x = np.arange(0.0, 4001.0, 25.0)
    gx, _ = np.meshgrid(x, np.arange(-1000.0, 1001.0, 25.0))
    z = 10.0 * np.clip(1.0 - np.abs(gx - 2000.0) / 100.0, 0.0, None)
    return load_site({"name": "fold", "towers": [{"id": "A", "x_m": 0.0, "y_m": 0.0}],
                      "perimeter": [[100.0, -100.0], [100.0, 100.0]],
                      "dem": {"x0_m": 0.0, "y0_m": -1000.0, "cell_m": 25.0,
                              "heights_m": z.tolist()}})


def test_relief_hides_a_target_behind_a_fold_and_not_on_open_ground() -> None:
    terrain = Terrain(_fold_site())
    targets = np.array([[[1500.0, 0.0], [2150.0, 0.0], [3500.0, 0.0]]])
    heights = np.array([1.75, 1.75, 1.75])
    depth, _, _ = terrain.paths(np.array([[0.0, 0.0]]), np.array([15.0]), targets,
                                0.8 * heights, relief_height_m=heights)
    assert depth[0, 0] == 0.0  # open ground in front of the fold
    assert depth[0, 1] == HIDDEN_DEPTH  # dead ground just behind it
    # far behind: the sightline over the crest passes ~6 m up, still above a person
    assert depth[0, 2] == HIDDEN_DEPTH
    flat, _, _ = terrain.paths(np.array([[0.0, 0.0]]), np.array([15.0]), targets, 0.8 * heights)
    assert (flat == 0.0).all()  # relief is only counted when the targets' heights are given


def test_elevation_angles_come_from_the_ground_heights() -> None:
    site = western_heights()
    terrain = Terrain(site)
    towers = np.array([t.xy for t in site.towers])
    heights = np.array([t.height_m for t in site.towers])
    xy = np.array([[1000.0, -250.0]])  # on the river, ~84 m below the ridge's crest
    elev = terrain.elevation_deg(towers, heights, np.array([5]), xy, np.array([0.9]))
    drop = terrain.ground_m(towers[5]) + 15.0 - terrain.ground_m(xy[0]) - 0.9
    assert float(elev[0]) == pytest.approx(-np.degrees(np.arctan2(drop, 1000.0)), abs=0.01)
    assert float(elev[0]) < -4.0  # flat geometry would say -0.8 deg
    flat = Terrain(site.model_copy(update={"dem": None}))
    flat_elev = flat.elevation_deg(towers, heights, np.array([5]), xy, np.array([0.9]))
    assert float(flat_elev[0]) == pytest.approx(-np.degrees(np.arctan2(14.1, 1000.0)))
