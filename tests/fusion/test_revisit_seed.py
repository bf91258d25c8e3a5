"""The revisit-spanning initiation: scanning imagers' looks seconds apart seed moving targets."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from perimeter.fusion.revisit_seed import Fit, Pool, RevisitConfig, RevisitSearch, cv_fit
from perimeter.fusion.triangulate import Initiator, InitiatorConfig, Seed
from tests.fusion.helpers import scan_of

TOWERS = [(0.0, 0.0), (2500.0, 0.0), (5000.0, 0.0), (1200.0, -1500.0)]
REVISIT_S = 5.5
ON = InitiatorConfig(revisit=RevisitConfig(enabled=True))


def car(t_s: float, start: tuple[float, float] = (1000.0, 2500.0),
        v: tuple[float, float] = (10.0, -3.0)) -> tuple[float, float]:
    return (start[0] + v[0] * t_s, start[1] + v[1] * t_s)


def looks(towers: list[int], revisits: int, offsets: list[float]) -> list[tuple[float, int]]:
    """Each tower's looks, one per revisit at its own phase, in time order."""
    out = [(k * REVISIT_S + off, tower) for tower, off in zip(towers, offsets, strict=True)
           for k in range(revisits)]
    return sorted(out)


def run(init: Initiator, schedule: list[tuple[float, int]], targets: list,
        noise_deg: float = 0.0, bias_deg: dict[int, float] | None = None,
        seed: int = 1) -> list[Seed]:
    rng = np.random.default_rng(seed)
    seeds: list[Seed] = []
    for t_s, tower in schedule:
        scan = scan_of(tower, TOWERS[tower], t_s, [f(t_s) for f in targets], sigma_deg=0.025)
        err = rng.normal(0.0, math.radians(noise_deg), scan.size)
        scan.bearing_rad = scan.bearing_rad + err + math.radians((bias_deg or {}).get(tower, 0.0))
        seeds += init.offer(scan, np.arange(scan.size))
    return seeds


def test_two_towers_looking_once_per_revisit_seed_a_moving_car() -> None:
    schedule = looks([0, 1], 3, [0.0, 2.7])
    assert run(Initiator(InitiatorConfig()), schedule, [car]) == []  # the 3 s pool: never
    seeds = run(Initiator(ON), schedule, [car], noise_deg=0.02)
    assert len(seeds) == 1
    seed = seeds[0]
    assert sorted(set(seed.towers)) == [0, 1]
    assert np.hypot(*(seed.x[:2] - np.array(car(seed.t_s)))) < 30.0
    assert np.hypot(*(seed.x[2:] - np.array([10.0, -3.0]))) < 4.0
    # started at the fifth look: each tower looked twice a revisit apart, and once more
    assert seed.t_s == 2 * REVISIT_S


def test_a_single_look_per_tower_starts_nothing() -> None:
    schedule = looks([0, 1], 1, [0.0, 2.7])
    assert run(Initiator(ON), schedule, [car]) == []


def test_two_looks_within_a_revisit_are_not_enough_for_two_towers() -> None:
    schedule = sorted([(0.0, 0), (1.0, 0), (0.5, 1), (1.5, 1)])
    assert run(Initiator(ON), schedule, [car]) == []


def test_unknown_biases_are_allowed_for_as_registration_says() -> None:
    schedule = looks([0, 1, 2], 3, [0.0, 2.0, 4.0])
    t = np.array([v for v, _ in schedule])
    tower = np.array([k for _, k in schedule])
    xy = np.array([TOWERS[k] for k in tower.tolist()])
    biases = np.radians(np.array([0.2, -0.15, 0.1, 0.0]))[tower]
    b = np.array([math.atan2(car(v)[0] - q[0], car(v)[1] - q[1])
                  for v, q in zip(t.tolist(), xy, strict=True)]) + biases
    sigma = np.full(t.size, math.radians(0.025))

    def chi2_with(bias_sigma_deg: float) -> float:
        got = cv_fit(t, xy, b, sigma, tower, np.full(t.size, math.radians(bias_sigma_deg)),
                     float(t.max()), np.array(car(float(t.max()))), 8.0)
        assert got is not None
        return got[2]

    assert chi2_with(1.0) < 5.0 < 100.0 < chi2_with(0.0)
    loose = Initiator(ON)
    loose.bias_sigma_rad = lambda k: math.radians(1.0)
    got = run(loose, schedule, [car], bias_deg={0: 0.2, 1: -0.15, 2: 0.1})
    assert len(got) == 1
    assert np.hypot(*(got[0].x[:2] - np.array(car(got[0].t_s)))) < 150.0


def test_two_targets_seen_by_two_towers_seed_no_ghost() -> None:
    second = lambda t: car(t, start=(3500.0, 2200.0), v=(-9.0, 2.0))  # noqa: E731
    schedule = looks([0, 1], 4, [0.0, 2.7])
    init = Initiator(ON)
    seeds = run(init, schedule, [car, second], noise_deg=0.01)
    for seed in seeds:
        miss = min(np.hypot(*(seed.x[:2] - np.array(f(seed.t_s)))) for f in (car, second))
        assert miss < 50.0, "a ghost crossing was seeded"
    assert init.revisit.ambiguous > 0 or len(seeds) == 2


def test_a_third_tower_settles_what_two_find_ambiguous() -> None:
    second = lambda t: car(t, start=(3500.0, 2200.0), v=(-9.0, 2.0))  # noqa: E731
    schedule = looks([0, 1, 3], 3, [0.0, 2.7, 1.3])
    seeds = run(Initiator(ON), schedule, [car, second], noise_deg=0.01)
    near = [min(np.hypot(*(s.x[:2] - np.array(f(s.t_s)))) for f in (car, second)) for s in seeds]
    assert len(seeds) == 2 and max(near) < 50.0


def test_clutter_from_two_towers_starts_nothing() -> None:
    rng = np.random.default_rng(7)
    init = Initiator(ON)
    seeds: list[Seed] = []
    for t_s, tower in looks([0, 1, 2], 20, [0.0, 1.8, 3.6]):
        pts = [(float(rng.uniform(-3000, 8000)), float(rng.uniform(500, 6000))) for _ in range(4)]
        scan = scan_of(tower, TOWERS[tower], t_s, pts, sigma_deg=0.025)
        seeds += init.offer(scan, np.arange(scan.size))
    assert seeds == []


def test_off_by_default_and_then_the_pool_is_the_old_window() -> None:
    init = Initiator(InitiatorConfig())
    assert not init.config.revisit.enabled
    run(init, looks([0], 3, [0.0]), [car])
    assert len(init) == 1  # 3 s of looks 5.5 s apart: one


def test_cv_fit_recovers_position_velocity_and_a_bias() -> None:
    t = np.array([0.0, 5.5, 2.7, 8.2, 1.0])
    tower = np.array([0, 0, 1, 1, 3])
    xy = np.array([TOWERS[k] for k in tower.tolist()])
    truth = [car(v) for v in t.tolist()]
    b = np.array([math.atan2(p[0] - q[0], p[1] - q[1]) for p, q in zip(truth, xy, strict=True)])
    b[tower == 1] += math.radians(0.3)
    got = cv_fit(t, xy, b, np.full(5, math.radians(0.025)), tower,
                 np.full(5, math.radians(1.0)), 8.2, np.array(car(8.2)) + 100.0, 8.0)
    assert got is not None
    x, p, total, _, checks = got
    # the free biases absorb the offsets: 2 + 2 + 1 looks leave 1 + 1 + 0 differences
    # for four parameters, no check
    assert checks < 0.5
    assert total < 3.0
    assert np.allclose(x[2:], [10.0, -3.0], atol=0.5)
    assert np.all(np.linalg.eigvalsh(p) > 0.0)
    wrong = replace(RevisitConfig(), speed_sigma_mps=0.1)
    still = cv_fit(t, xy, b, np.full(5, math.radians(0.025)), tower,
                   np.full(5, math.radians(1.0)), 8.2, np.array(car(8.2)), wrong.speed_sigma_mps)
    assert still is not None and still[2] > total  # a parked prior fits a car badly
    known = cv_fit(t, xy, b, np.full(5, math.radians(0.025)), tower, np.zeros(5), 8.2,
                   np.array(car(8.2)), 8.0)
    assert known is not None and known[4] > 0.9  # known biases: the fifth bearing tests


def test_a_seed_is_placed_as_the_tracker_models_bearings() -> None:
    """Unknown biases (a degree, before registration) let the search accept looks whose
    towers disagree by their biases; the seed itself is the looks' fit without biases, as the
    tracker models bearings (and as the 3 s pool seeds): the free-bias fit's covariance, a
    hundred metres here, made a gate so wide that a track gained little per hit."""
    loose = Initiator(ON)
    loose.bias_sigma_rad = lambda k: math.radians(1.0)
    schedule = looks([0, 1, 2], 3, [0.0, 2.0, 4.0])
    got = run(loose, schedule, [car], bias_deg={0: 0.2, 1: -0.15, 2: 0.1}, noise_deg=0.02)
    assert len(got) == 1
    seed = got[0]
    assert math.sqrt(np.trace(seed.p[:2, :2])) < 30.0
    assert np.hypot(*(seed.x[:2] - np.array(car(seed.t_s)))) < 30.0
    assert np.hypot(*(seed.x[2:] - np.array([10.0, -3.0]))) < 4.0


def test_a_refit_that_changes_the_speed_seeds_nothing_when_asked() -> None:
    """The no-bias refit takes the free-bias fit's looks; where it moves the velocity by more
    than ``max_refit_change_mps`` (biases, not motion, then set the speed) there is no seed."""
    schedule = looks([0, 1, 2], 3, [0.0, 2.0, 4.0])
    t = np.array([v for v, _ in schedule])
    tower = np.array([k for _, k in schedule], dtype=np.int64)
    xy = np.array([TOWERS[k] for k in tower.tolist()])
    b = np.array([math.atan2(car(v)[0] - q[0], car(v)[1] - q[1])
                  for v, q in zip(t.tolist(), xy, strict=True)])
    pool = Pool(t, tower, xy, b, np.full(t.size, math.radians(0.025)),
                np.full(t.size, math.radians(1.0)))
    new = t.size - 1
    standing = Fit(np.arange(t.size), np.array([*car(float(t[new])), 0.0, 0.0]),
                   np.eye(4) * 100.0, 3, 1.0)  # a free-bias fit that took the car for still
    kept = RevisitSearch(RevisitConfig(enabled=True), 100.0, 8000.0, 2.0)
    seed = kept._tracker_frame(pool, new, standing)
    assert seed is not None and np.hypot(*(seed.x[2:] - np.array([10.0, -3.0]))) < 1.0
    strict = RevisitSearch(RevisitConfig(enabled=True, max_refit_change_mps=5.0), 100.0,
                           8000.0, 2.0)
    assert strict._tracker_frame(pool, new, standing) is None
    moving = Fit(standing.members, seed.x.copy(), standing.p, 3, 1.0)
    assert strict._tracker_frame(pool, new, moving) is not None
