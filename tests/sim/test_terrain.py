"""Line of sight through terrain zones."""

from __future__ import annotations

import numpy as np
import pytest

from perimeter.site import western_heights
from sim.terrain import Terrain, inside_intervals


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
