import itertools
from typing import Any

import numpy as np
import pytest

from perimeter.site import Site, load_site
from sim.coverage_map import Conditions, acoustic_pd, at_least_two, coverage
from sim.terrain import Terrain

SITE: dict[str, Any] = {
    "name": "two-towers", "origin": {"lat": 50.0, "lon": 10.0},
    "towers": [{"id": "A", "x_m": 0.0, "y_m": -500.0}, {"id": "B", "x_m": 0.0, "y_m": 500.0}],
    "perimeter": [[500.0, -1500.0], [500.0, 1500.0]],
    "terrain": [{"kind": "forest", "name": "wood",
                 "polygon": [[1500, 200], [1800, 200], [1800, 1500], [1500, 1500]]}],
}


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(SITE)


def test_two_or_more_of_independent_towers_matches_enumeration() -> None:
    p = np.array([[0.9, 0.2, 0.0], [0.5, 0.2, 0.7], [0.3, 0.2, 1.0], [0.1, 0.2, 0.0]])
    brute = np.zeros(3)
    for hits in itertools.product((0, 1), repeat=4):
        if sum(hits) >= 2:
            brute += np.prod([p[i] if h else 1.0 - p[i] for i, h in enumerate(hits)], axis=0)
    assert at_least_two(p) == pytest.approx(brute)


def _at(grid: Any, x_m: float, y_m: float) -> float:
    return float(grid.pd[np.argmin(abs(grid.y_m - y_m)), np.argmin(abs(grid.x_m - x_m))])


def test_forest_shadows_fog_shortens_and_one_tower_alone_gives_no_fix(site: Site) -> None:
    extent = (-500.0, 4000.0, -1500.0, 1500.0)
    clear = coverage(site, Conditions(dwell_s=0.0), resolution_m=100.0, extent_m=extent)
    assert _at(clear, 1000.0, 0.0) > 0.9
    assert _at(clear, 2500.0, 1000.0) < 0.5 * _at(clear, 2500.0, -1000.0)  # behind the wood
    assert _at(clear, -300.0, 0.0) < 0.05  # behind the towers: outside the thermal sector
    fog = coverage(site, Conditions(weather="fog", dwell_s=0.0), resolution_m=100.0,
                   extent_m=extent)
    assert _at(fog, 2500.0, -1000.0) < 0.5 * _at(clear, 2500.0, -1000.0)
    single = coverage(site, Conditions(), without=["B"], resolution_m=100.0, extent_m=extent)
    assert single.towers == ("A",) and float(single.pd.max()) == 0.0
    dwell = coverage(site, Conditions(dwell_s=10.0), resolution_m=100.0, extent_m=extent)
    assert bool(np.all(dwell.pd >= clear.pd - 1e-12))


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"conditions": Conditions(kind="dragon")}, "kind"),
    ({"conditions": Conditions(weather="snow")}, "weather"),
    ({"conditions": Conditions(), "without": ["T99"]}, "without"),
    ({"conditions": Conditions(), "resolution_m": 0.0}, "resolution_m"),
])
def test_bad_requests_name_the_field(site: Site, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        coverage(site, **kwargs)


def test_a_group_is_mapped_with_its_head_count(site: Site) -> None:
    # the simulation widens a group's signature with its head count and adds
    # 10 log10(count) dB to its sounds; the map for a group of 3 (the default) must too
    extent = (-500.0, 6000.0, -300.0, 300.0)
    def reach_m(**kw: Any) -> float:
        grid = coverage(site, Conditions(dwell_s=0.0, **kw), resolution_m=100.0,
                        extent_m=extent)
        row = grid.pd[np.argmin(abs(grid.y_m))]
        return float(grid.x_m[row >= 0.5].max())
    one, three, five = reach_m(kind="group", count=1), reach_m(kind="group"), \
        reach_m(kind="group", count=5)
    assert one == reach_m(kind="person") and one + 500.0 < three <= five
    assert reach_m(kind="group", count=3) == three
    terrain_free = load_site(SITE)
    acoustic = [float(acoustic_pd(terrain_free.towers, np.array([[1500.0, 0.0]]),
                                  Conditions(kind="group", count=n), Terrain(terrain_free),
                                  0.0)[0, 0]) for n in (1, 10)]
    assert acoustic[1] > acoustic[0]
