from __future__ import annotations

import numpy as np

from perimeter.fusion.triangulate import Initiator, InitiatorConfig
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
