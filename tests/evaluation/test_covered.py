from __future__ import annotations

import dataclasses

import numpy as np

from perimeter.evaluation.covered import (
    acquired_dwell_pd,
    covered_seconds,
    covered_targets,
    pd_along_path,
    target_coverage,
)
from perimeter.thresholds import Thresholds
from sim.scenario import Scenario, load_scenario
from sim.sensors.optics import ThermalParams
from sim.truth import TargetTruth, Truth
from sim.uplink import MemoryUplink
from sim.world import World


def in_weather(weather: str) -> Scenario:
    scenario = load_scenario("night-crossing")
    env = scenario.environment.model_copy(update={"weather": weather})
    return scenario.model_copy(update={"environment": env})


def truth_of(scenario: Scenario) -> Truth:
    """The targets' truth, without running the simulation."""
    return World(scenario, MemoryUplink()).truth


def test_a_person_crossing_on_a_clear_night_is_covered_and_in_fog_is_not() -> None:
    clear, fog = in_weather("clear"), in_weather("fog")
    (walker,) = [t for t in truth_of(clear).targets if t.scripted]
    clear_s = covered_seconds(clear, walker, Thresholds())
    # Pd >= 0.9 from two towers needs P_inf >= ~0.95 each (looks at a target are correlated)
    # and the search re-acquiring the walker on each new background: the last part of the
    # walk, near the towers (190 s of its 1,680 s)
    assert 0.05 * (walker.end_t_s - walker.start_t_s) < clear_s
    (fog_walker,) = [t for t in truth_of(fog).targets if t.scripted]
    assert covered_seconds(fog, fog_walker, Thresholds()) < 0.2 * clear_s
    assert covered_targets(clear, truth_of(clear), Thresholds()) == {"p1": True}
    assert covered_targets(fog, truth_of(fog), Thresholds(), min_s=0.3 * clear_s) == {"p1": False}


def test_coverage_follows_the_thresholds_in_force() -> None:
    clear = in_weather("clear")
    (walker,) = [t for t in truth_of(clear).targets if t.scripted]
    deaf = Thresholds().patched({"thermal.min_snr_db": 40.0, "acoustic.min_snr_db": 40.0})
    assert covered_seconds(clear, walker, deaf) < covered_seconds(clear, walker, Thresholds())


def test_only_intrusions_of_alerting_classes_are_assessed() -> None:
    clear = in_weather("clear")
    only_vehicles = Thresholds().patched({"alert.classes": ["vehicle"]})
    assert covered_targets(clear, truth_of(clear), only_vehicles) == {}


def _straight(speed_mps: float, duration_s: float = 1200.0) -> TargetTruth:
    """A target moving east at ``speed_mps`` (standing for ``speed_mps = 0``)."""
    t = np.array([0.0, duration_s])
    xy = np.array([[0.0, 0.0], [speed_mps * duration_s, 0.0]])
    return TargetTruth(id="x", kind="light_vehicle", scripted=True, start_t_s=0.0,
                       origin_xy_m=(0.0, 0.0), end_t_s=duration_s, t_s=t, xy_m=xy)


def _search_pd(speed_mps: float, p_inf: float, p_look: float = 1.0) -> float:
    """Mean probability, after a 300 s lead-in, that one scanning imager (5.5 s revisit)
    reports the target within a 10 s dwell, the search run as the simulation runs it."""
    grid = np.arange(0.0, 1200.0, 10.0)
    out = acquired_dwell_pd(grid, _straight(speed_mps), np.full((1, grid.size), p_inf),
                            np.full((1, grid.size), p_look), np.array([1.0 / 5.5]),
                            [ThermalParams()], 10.0, 2.0, np.random.default_rng(3), draws=400)
    return float(out[0, grid >= 300.0].mean())


def test_a_standing_target_reaches_the_steady_state_of_its_search() -> None:
    # a static target is acquired once and stays so: P_inf, the map's static term
    assert abs(_search_pd(0.0, 0.7) - 0.7) < 0.05
    # a detector that misses half the looks: P_inf (1 - (1 - 0.5)^looks), ~2 looks a dwell
    assert abs(_search_pd(0.0, 0.7, 0.5) - 0.7 * (1.0 - 0.5**(10.0 / 5.5))) < 0.06


def test_a_fast_mover_is_rarely_acquired_before_p_inf_nears_one() -> None:
    # 10 m/s crosses 55 m of new background (decorrelation 50 m) between two looks of a head:
    # each undetectable spell restarts a search of tau0 / P_inf of looking (one frame a look)
    standing, walker, car = _search_pd(0.0, 0.7), _search_pd(1.4, 0.7), _search_pd(10.0, 0.7)
    assert car < 0.75 * walker and walker < 0.75 * standing
    assert _search_pd(10.0, 1.0) > 0.95  # always detectable: acquired once, kept


def test_a_car_s_coverage_starts_later_than_the_static_map_says() -> None:
    scenario = load_scenario("vehicles-crossing")
    truth = truth_of(scenario)
    (car, _) = [t for t in truth.targets if t.scripted]
    first = target_coverage(scenario, truth, Thresholds())[car.id].first_covered_t_s
    assert first is not None
    # the static search term alone (every detectable pair acquired) covers it at once ...
    times, pd = pd_along_path(scenario, car, Thresholds(), static_search=True)
    static_first = float(times[pd >= 0.9][0])
    assert static_first - car.start_t_s <= 20.0
    # ... the search followed along its path minutes later (measured: 10 s against 240 s)
    assert first - static_first > 100.0


def test_a_group_is_covered_as_its_head_count_is_seen() -> None:
    # groups-meeting's g1 (three abreast, 3 km out) was detected by 4-5 towers in every 10 s
    # from its start (one seed, by the truth tags); modelled as one person's signature and
    # sounds it was first covered after 1,570 s, with its head count's after 150 s
    scenario = load_scenario("groups-meeting")
    truth = truth_of(scenario)
    group = next(t for t in truth.targets if t.id == "g1")
    assert group.kind == "group" and group.count == 3
    first = target_coverage(scenario, truth, Thresholds())["g1"].first_covered_t_s
    assert first is not None and first - group.start_t_s < 600.0
    alone = dataclasses.replace(group, count=1)
    times, pd = pd_along_path(scenario, alone, Thresholds())
    assert float(times[pd >= 0.9][0]) - first > 600.0
