from pathlib import Path

import pytest

from perimeter.evaluation.render import report_json
from perimeter.evaluation.report import RunReport
from perimeter.evaluation.run import evaluate, run_scenario
from perimeter.thresholds import Thresholds

SCENARIO = """\
name: eval-smoke
seed: 3
duration_s: 480
site: western-heights
environment: {start_time: "2026-01-15T22:00:00Z", weather: clear, wind_mps: 2.0}
targets:
  - {id: v1, kind: light_vehicle, start_s: 20, speed_mps: 5.0,
     path: [[3000, -250], [1100, -250]]}
nuisance: {animals: 0}
"""


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("eval") / "smoke.yaml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture(scope="module")
def report(scenario_file: Path) -> RunReport:
    (only,) = evaluate([str(scenario_file)])
    return only


def _timeless(r: RunReport) -> RunReport:
    return r.model_copy(update={"run_time_s": 0.0})


def test_a_scenario_runs_through_fusion_and_is_scored(report: RunReport) -> None:
    assert (report.scenario, report.seed, report.duration_s) == ("eval-smoke", 3, 480.0)
    assert report.intrusions == 1 and report.rejected_messages == 0
    assert report.detected == 1, report.targets
    tta_s = report.time_to_alert_s.median
    # scanning heads and time-limited search: minutes, but before its last waypoint
    assert tta_s is not None and 0.0 <= tta_s < 1900.0 / 5.0
    assert report.gospa is not None and report.gospa.snapshots > 100
    assert report.targets[0].origin_crb_m is not None  # two or more towers saw it start


def test_runs_are_reproducible_and_thresholds_decide_intrusions(scenario_file: Path,
                                                                report: RunReport) -> None:
    assert _timeless(run_scenario(str(scenario_file))) == _timeless(report)
    people_only = run_scenario(str(scenario_file), Thresholds(alert_classes=("person",)))
    assert people_only.intrusions == 0
    assert '"scenario": "eval-smoke"' in report_json([people_only])


def test_parallel_workers_give_the_same_reports(scenario_file: Path, report: RunReport) -> None:
    parallel = evaluate([str(scenario_file)] * 2, workers=2)
    assert [_timeless(r) for r in parallel] == [_timeless(report)] * 2
    with pytest.raises(ValueError, match="workers"):
        evaluate([str(scenario_file)], workers=0)


def test_seeds_run_each_scenario_at_seed_steps_of_1000(scenario_file: Path,
                                                        report: RunReport) -> None:
    first, second = evaluate([str(scenario_file)], seeds=2)
    assert (first.seed, second.seed) == (3, 1003)
    assert _timeless(first) == _timeless(report)
    assert _timeless(second) == _timeless(run_scenario(str(scenario_file), seed=1003))
    assert second.targets != first.targets  # another draw of the noise
    with pytest.raises(ValueError, match="seeds"):
        evaluate([str(scenario_file)], seeds=0)
