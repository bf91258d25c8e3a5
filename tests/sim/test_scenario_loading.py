"""Scenario files: the library, the default, and validation errors that name the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.coverage_map import Conditions
from sim.scenario import ScenarioError, builtin_scenarios, load_scenario

MINIMAL: dict[str, Any] = {
    "name": "t", "seed": 1, "duration_s": 60,
    "environment": {"start_time": "2026-01-15T22:00:00Z"},
    "targets": [{"id": "p1", "kind": "person", "start_s": 0, "speed_mps": 1.4,
                 "path": [[3000, 0], [1000, 0]]}],
}


def _with(**changes: Any) -> dict[str, Any]:
    return {**MINIMAL, **changes}


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(data)
    return str(info.value)


def test_library_covers_the_required_cases() -> None:
    names = builtin_scenarios()
    assert "default" in names and len(names) >= 11
    scenarios = [load_scenario(n) for n in names]
    faults = {f.kind for s in scenarios for f in s.faults}
    assert faults == {"offline", "link_down", "sensor_fail"}
    weathers = {w for s in scenarios for _, w in s.environment.timeline()}
    assert weathers == {"clear", "haze", "fog", "rain"}
    kinds = {t.kind for s in scenarios for t in s.targets}
    assert kinds >= {"person", "group", "light_vehicle", "heavy_vehicle"}
    assert any(not s.targets and s.nuisance.animals >= 20 for s in scenarios)
    for s in scenarios:  # movement begins east of the river and heads west to the perimeter
        for t in s.targets:
            assert 2500.0 <= t.path[0][0] <= 6500.0, (s.name, t.id)
            assert t.path[-1][0] <= 1100.0, (s.name, t.id)


def test_default_scenario_brings_an_early_intrusion_and_an_hour_of_activity() -> None:
    s = load_scenario("default")
    assert s.site_model.name == "western-heights"
    assert s.duration_s >= 4000.0
    assert s.environment.start_time.hour in (18, 19, 20, 21, 22, 23, 0, 1, 2, 3, 4)
    early = [t for t in s.targets if t.start_s <= 15.0]
    assert {t.kind for t in early} >= {"light_vehicle", "person"}
    assert max(t.start_s for t in s.targets) > 3000.0
    assert s.nuisance.animals > 0


def test_errors_name_the_field_path_and_reason() -> None:
    bad_speed = _with(targets=[{**MINIMAL["targets"][0], "speed_mps": 0}])
    assert "targets.0.speed_mps: Input should be greater than 0" in _error(bad_speed)
    assert "duration_s: Field required" in _error({k: v for k, v in MINIMAL.items()
                                                   if k != "duration_s"})
    weather = _error(_with(environment={"start_time": "2026-01-15T22:00:00Z",
                                        "weather": "snow"}))
    assert weather == ("environment.weather: must be one of clear, haze, fog, rain, or a list "
                       "of {at_s, weather}; got 'snow'")
    assert "targets.0.kind" in _error(_with(targets=[{**MINIMAL["targets"][0], "kind": "tank"}]))
    assert "targets.0.path" in _error(_with(targets=[{**MINIMAL["targets"][0],
                                                      "path": [[1, 1]]}]))
    assert "faults.0.tower: unknown tower 'T99'" in _error(_with(faults=[
        {"tower": "T99", "kind": "offline", "start_s": 10}]))
    assert "faults.0.kind" in _error(_with(faults=[
        {"tower": "T01", "kind": "melted", "start_s": 10}]))
    assert "targets.1.id: duplicate" in _error(_with(targets=MINIMAL["targets"] * 2))
    assert "nuisance.animals" in _error(_with(nuisance={"animals": -1}))
    assert "bogus: Extra inputs are not permitted" in _error(_with(bogus=1))


def test_several_errors_are_reported_together() -> None:
    message = _error(_with(seed=-1, duration_s=0))
    assert "seed:" in message and "duration_s:" in message
    assert len(message.splitlines()) == 2


def test_sites_builtin_file_and_inline(tmp_path: Path) -> None:
    site = {"name": "two", "towers": [{"id": "A", "x_m": 0, "y_m": 0,
                                       "thermal": {"focal_length_mm": 150}},
                                      {"id": "B", "x_m": 0, "y_m": 800}],
            "perimeter": [[500, -1000], [500, 1000]]}
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "two.yaml").write_text(yaml.safe_dump(site))
    scenario_file = tmp_path / "s.yaml"
    scenario_file.write_text(yaml.safe_dump(_with(site="sites/two.yaml")))
    from_file = load_scenario(scenario_file)
    assert [t.id for t in from_file.site_model.towers] == ["A", "B"]
    assert from_file.thermal_params("A").focal_length_mm == 150.0
    assert from_file.thermal_params("B").focal_length_mm == 75.0
    assert load_scenario(_with(site=site)).site_model.name == "two"
    assert load_scenario(MINIMAL, site=tmp_path / "sites" / "two.yaml").site_model.name == "two"
    bad = {**site, "towers": [{"id": "A", "x_m": 0, "y_m": 0, "thermal": {"focal_length_mm": -1}}]}
    assert "site.towers.0.thermal.focal_length_mm" in _error(_with(site=bad))
    assert "site.towers.0.x_m" in _error(_with(site={**site, "towers": [{"id": "A"}]}))
    assert "site:" in _error(_with(site="atlantis"))


def test_unknown_scenario_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="neither a built-in scenario"):
        load_scenario("no-such-scenario")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(broken)


def test_weather_timeline_must_be_ordered() -> None:
    env = {"start_time": "2026-01-15T22:00:00Z",
           "weather": [{"at_s": 100, "weather": "fog"}, {"at_s": 50, "weather": "clear"}]}
    assert "environment.weather" in _error(_with(environment=env))
    env["weather"] = [{"at_s": 100, "weather": "fog"}]
    timeline = load_scenario(_with(environment=env)).environment.timeline()
    assert timeline == [(0.0, "clear"), (100.0, "fog")]


def test_speed_defaults_to_the_kind_typical_speed() -> None:
    target = {k: v for k, v in MINIMAL["targets"][0].items() if k != "speed_mps"}
    truck = {**target, "id": "t1", "kind": "heavy_vehicle"}
    scenario = load_scenario(_with(targets=[target, truck]))
    assert [t.mean_speed_mps for t in scenario.targets] == [1.4, 6.0]


def test_a_group_left_without_a_count_is_the_usual_group_of_the_coverage_model() -> None:
    # one default head count: the scenario's (what the sim draws) and the coverage map's
    walker = MINIMAL["targets"][0]
    group, pair = {**walker, "id": "g1", "kind": "group"}, {**walker, "id": "g2", "kind": "group",
                                                            "count": 2}
    scenario = load_scenario(_with(targets=[walker, group, pair]))
    assert [t.count for t in scenario.targets] == [1, 3, 2]
    assert [Conditions(kind=k).head_count for k in ("person", "group")] == [1, 3]


def test_stops_must_not_overlap() -> None:
    walker = MINIMAL["targets"][0]
    stops = [{"at_s": 10, "duration_s": 20}, {"at_s": 25, "duration_s": 5}]
    assert "targets.0.stops: stop 1 begins before stop 0 ends" in _error(
        _with(targets=[{**walker, "stops": stops}]))
    assert "targets.0.stops.0.duration_s" in _error(
        _with(targets=[{**walker, "stops": [{"at_s": 10, "duration_s": 0}]}]))
    ok = load_scenario(_with(targets=[{**walker, "stops": stops[:1]}]))
    assert [(s.at_s, s.duration_s) for s in ok.targets[0].stops] == [(10.0, 20.0)]


def test_events_after_the_end_are_refused() -> None:
    late_target = _with(targets=[{**MINIMAL["targets"][0], "start_s": 60}])
    assert "targets.0.start_s: 60 is not before the end (duration_s 60)" in _error(late_target)
    late_fault = _with(faults=[{"tower": "T01", "kind": "offline", "start_s": 90}])
    assert "faults.0.start_s: 90 is not before the end" in _error(late_fault)


def test_points_outside_the_watch_zone_are_refused_by_target_and_point() -> None:
    beyond = {**MINIMAL["targets"][0], "id": "far", "path": [[9000, 0], [2000, 0]]}
    message = _error(_with(targets=[beyond]))
    assert ("targets.0.path.0: target 'far' point (9000, 0) lies outside the site's watch "
            "zones (approach)") in message
    north = {**MINIMAL["targets"][0], "path": [[3000, 0], [3000, 4500], [2000, 0]]}
    assert "targets.0.path.1: target 'p1' point (3000, 4500)" in _error(_with(targets=[north]))


def test_a_path_may_leave_the_watch_zone_across_the_perimeter() -> None:
    crossing = {**MINIMAL["targets"][0], "path": [[3000, 0], [900, 0], [-500, 200]]}
    assert load_scenario(_with(targets=[crossing])).targets[0].path[-1] == (-500.0, 200.0)
    around = {**MINIMAL["targets"][0], "path": [[3000, 0], [3000, -3500], [900, -3500]]}
    assert "targets.0.path.2" in _error(_with(targets=[around])), "the line ends at y=-3000"


def test_a_duration_override_leaves_out_what_starts_after_the_end() -> None:
    late = {**MINIMAL["targets"][0], "id": "late", "start_s": 50}
    data = _with(duration_s=600, targets=[MINIMAL["targets"][0], late],
                 faults=[{"tower": "T01", "kind": "offline", "start_s": 45}])
    short = load_scenario(data, duration_s=40)
    assert short.duration_s == 40
    assert [t.id for t in short.targets] == ["p1"] and short.faults == []
    assert len(load_scenario(data, duration_s=60).targets) == 2
    with pytest.raises(ScenarioError, match="duration_s: must be positive"):
        load_scenario(data, duration_s=0)
