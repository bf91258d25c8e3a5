from __future__ import annotations

from perimeter.evaluation.covered import covered_seconds, covered_targets
from perimeter.thresholds import Thresholds
from sim.scenario import Scenario, load_scenario
from sim.truth import Truth
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
    # Pd >= 0.9 from two towers needs P_inf >= ~0.95 each (looks at a target are correlated):
    # a person within ~1.2 km of the towers, the last part of the walk
    assert clear_s > 0.2 * (walker.end_t_s - walker.start_t_s)
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
