"""Re-triangulating a single-tower track when a second tower sees it."""

from __future__ import annotations

import numpy as np

from perimeter.fusion.second_tower import retriangulate
from perimeter.fusion.triangulate import InitiatorConfig
from tests.fusion.helpers import scan_of, track_at

HOME = np.array([0.0, 0.0])


def test_a_crossing_bearing_moves_the_track_to_the_crossing() -> None:
    track = track_at(0.0, 2000.0, 1.0, 0.0, sigma_m=300.0)  # right bearing, range 1 km short
    track.home_tower = 0
    scan = scan_of(1, (2000.0, 0.0), 10.0, [(0.0, 3000.0)])
    assert retriangulate(track, HOME, track.state.x, track.state.p, scan, 0, InitiatorConfig())
    assert track.home_tower is None and track.state.t_s == 10.0
    assert np.allclose(track.state.x, [0.0, 3000.0, 0.0, 0.0], atol=1.0)
    v = InitiatorConfig().velocity_sigma_mps
    assert track.state.p[2, 2] == track.state.p[3, 3] == v * v  # speed unknown again


def test_a_bearing_along_the_home_bearing_leaves_the_track_alone() -> None:
    track = track_at(0.0, 2000.0, sigma_m=300.0)
    track.home_tower = 0
    x = track.state.x.copy()
    scan = scan_of(1, (0.0, -1000.0), 10.0, [(0.0, 3000.0)])  # in line: no crossing
    assert not retriangulate(track, HOME, track.state.x, track.state.p, scan, 0,
                             InitiatorConfig())
    assert track.home_tower == 0 and np.array_equal(track.state.x, x)
