from __future__ import annotations

import math

import numpy as np
import pytest

from perimeter.fusion.revisit_seed import RevisitConfig
from perimeter.fusion.scan import Scan
from perimeter.fusion.triangulate import Initiator, InitiatorConfig, Seed
from perimeter.geometry import bearing_rad
from tests.fusion.helpers import scan_of

TOWERS = [(0.0, -2000.0), (0.0, -1000.0), (0.0, 0.0), (0.0, 1000.0)]
TARGET = (3500.0, -300.0)


def feed(init: Initiator, tower: int, t_s: float, points: list[tuple[float, float]]) -> list:
    scan = scan_of(tower, TOWERS[tower], t_s, points)
    return init.offer(scan, np.arange(scan.size))


def test_three_towers_through_one_point_start_a_track_there() -> None:
    init = Initiator(InitiatorConfig(min_towers=3, min_detections=4))
    assert feed(init, 0, 0.0, [TARGET]) == []
    assert feed(init, 1, 0.2, [TARGET]) == []  # two towers alone are not enough
    assert feed(init, 2, 0.4, [TARGET]) == []  # nor three single detections
    seeds = feed(init, 0, 0.5, [TARGET])
    assert len(seeds) == 1
    seed = seeds[0]
    assert np.hypot(*(seed.x[:2] - np.array(TARGET))) < 1.0
    assert sorted(set(seed.towers)) == [0, 1, 2]
    assert seed.first_t_s == 0.0 and seed.t_s == 0.5 and len(seed.detections) == 4
    assert len(init) == 0  # the supporting detections left the pool


def test_unrelated_bearings_from_three_towers_start_nothing() -> None:
    init = Initiator(InitiatorConfig())
    feed(init, 0, 0.0, [(3000.0, 2500.0)])
    feed(init, 1, 0.1, [(5000.0, -3000.0)])
    assert feed(init, 2, 0.2, [(2000.0, 3500.0)]) == []
    assert len(init) == 3


def test_pool_forgets_old_detections() -> None:
    init = Initiator(InitiatorConfig(window_s=3.0))
    feed(init, 0, 0.0, [TARGET])
    feed(init, 1, 0.2, [TARGET])
    feed(init, 2, 0.4, [TARGET])
    assert feed(init, 0, 10.0, [TARGET]) == []


def test_repeated_bearings_of_one_tower_start_a_single_tower_track() -> None:
    init = Initiator(InitiatorConfig(single_min_hits=3))
    feed(init, 3, 0.0, [TARGET])
    feed(init, 3, 0.5, [TARGET])
    seeds = feed(init, 3, 1.0, [TARGET])
    assert len(seeds) == 1 and seeds[0].home_tower == 3
    # Placed on the measured bearing at the prior range, very uncertain along it.
    along = np.array(TARGET) - np.array(TOWERS[3])
    along /= np.linalg.norm(along)
    assert np.sqrt(along @ seeds[0].p[:2, :2] @ along) > 1000.0


def test_a_seed_whose_bearings_miss_its_point_is_refused_with_the_seed_check() -> None:
    # weather-turns (revisit initiator): two dogs' sharp thermal bearings, a wide acoustic one
    # and a clutter thermal bearing 2.4 deg beside them crossed within the acoustic crossing's
    # long gate; their least-squares point lay hundreds of metres off the dogs
    def seeds(clutter_off_m: float, check_deg: float) -> list:
        init = Initiator(InitiatorConfig(seed_check_sigma_deg=check_deg))

        def feed_at(tower: int, t_s: float, point: tuple[float, float], **kw: object) -> list:
            scan = scan_of(tower, TOWERS[tower], t_s, [point], **kw)  # type: ignore[arg-type]
            return init.offer(scan, np.arange(scan.size))

        feed_at(0, 0.0, TARGET, sigma_deg=0.03)
        feed_at(1, 0.2, TARGET, sigma_deg=0.03)
        feed_at(3, 0.4, TARGET, sigma_deg=3.0, sensor="acoustic")
        return feed_at(2, 0.6, (TARGET[0], TARGET[1] + clutter_off_m), sigma_deg=0.03)

    (ghost,) = seeds(150.0, 0.0)  # as before: seeded, far off the object
    assert np.hypot(*(ghost.x[:2] - np.array(TARGET))) > 200.0
    assert seeds(150.0, 0.3) == []
    (good,) = seeds(0.0, 0.3)  # bearings that meet still seed
    assert np.hypot(*(good.x[:2] - np.array(TARGET))) < 1.0


class _OneAtATime(Initiator):
    """The pool grown by copying every column for each detection: no spare rows."""

    def _add(self, scan: Scan, i: int) -> None:
        self._t = np.append(self._t, scan.t_s)
        self._tower = np.append(self._tower, scan.tower_index)
        self._xy = np.vstack([self._xy, scan.tower_xy[None, :]])
        self._b = np.append(self._b, scan.bearing_rad[i])
        self._sig = np.append(self._sig, self._sigma(scan, i))
        self._thermal = np.append(self._thermal, scan.sensor == "thermal")
        self._room = (self._t, self._tower, self._xy, self._b, self._sig, self._thermal)
        self._refs.append((scan, i))
        self._oldest_s = min(self._oldest_s, scan.t_s)


def _busy_scans(rng: np.random.Generator) -> list[Scan]:
    """A minute of four towers' reports, imagers at 2 Hz and microphones at 1 Hz: three
    walkers (each bearing kept at random, 2 m of scatter) and clutter, so that tracks seed
    while the pool fills and empties past several doublings of its storage."""
    scans = []
    for k in range(120):
        t_s = 0.5 * k
        walkers = [(3500.0 - 1.2 * t_s, -300.0 + 400.0 * j) for j in range(3)]
        for tower, tower_xy in enumerate(TOWERS):
            for sensor in ("thermal", "acoustic") if k % 2 == 0 else ("thermal",):
                points = [(x + rng.normal(0.0, 2.0), y + rng.normal(0.0, 2.0))
                          for x, y in walkers if rng.random() < 0.6]
                points += [(rng.uniform(1500.0, 6000.0), rng.uniform(-3000.0, 3000.0))
                           for _ in range(rng.integers(0, 4))]
                scans.append(scan_of(tower, tower_xy, t_s + 0.01 * tower, points,
                                     sensor=sensor, sigma_deg=0.1 if sensor == "thermal" else 2.0))
    return scans


def _pool(init: Initiator) -> list[list[object]]:
    return [init._t.tolist(), init._tower.tolist(), init._xy.tolist(), init._b.tolist(),
            init._sig.tolist(), init._thermal.tolist(), [(id(s), i) for s, i in init._refs]]


def _seed_key(seed: Seed) -> tuple[object, ...]:
    return (seed.t_s, seed.first_t_s, seed.x.tolist(), seed.p.tolist(), seed.towers,
            seed.sensors, seed.home_tower, [(id(s), i) for s, i in seed.detections])


def _poison_spare_rows(init: Initiator, t_s: float) -> None:
    """Write a detection that would count (tower 1's imager on the first walker, now) into
    the pool's spare rows: a search or a seed that read them would differ."""
    n = len(init)
    t, tower, xy, b, sig, thermal = init._room
    walker = np.array([3500.0 - 1.2 * t_s, -300.0])
    t[n:], tower[n:], xy[n:], thermal[n:] = t_s, 1, TOWERS[1], True
    b[n:], sig[n:] = float(bearing_rad(np.array(TOWERS[1]), walker)), math.radians(0.1)


@pytest.mark.parametrize("config", [InitiatorConfig(),
                                    InitiatorConfig(revisit=RevisitConfig(enabled=True))])
def test_the_pools_spare_rows_never_reach_its_searches_or_seeds(config: InitiatorConfig) -> None:
    # the pool's columns are views of storage with spare rows (doubled when full): with
    # plausible detections written into those rows between reports, the same reports must
    # give the same pool and the same seeds as columns copied per detection
    init, reference = Initiator(config), _OneAtATime(config)
    seeded = spare = 0
    for scan in _busy_scans(np.random.default_rng(11)):
        seeds = init.offer(scan, np.arange(scan.size))
        assert [_seed_key(s) for s in seeds] == [
            _seed_key(s) for s in reference.offer(scan, np.arange(scan.size))]
        assert _pool(init) == _pool(reference)
        seeded += len(seeds)
        spare += init._room[0].shape[0] > len(init)
        _poison_spare_rows(init, scan.t_s)
    assert seeded > 5 and spare > 100  # seeds were made while spare rows were there
