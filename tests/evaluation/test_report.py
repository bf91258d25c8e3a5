import json

import pytest
from rich.console import Console

from perimeter.evaluation.render import report_json, report_table
from perimeter.evaluation.report import (
    AlertCounts,
    GospaReport,
    RunReport,
    TargetReport,
    aggregate,
    build_run_report,
    per_km_day,
)

CONTRACT_KEYS = {"scenario", "seed", "duration_s", "intrusions", "detected", "pd", "false_alerts",
                 "false_alerts_per_km_day", "time_to_alert_s", "origin_error_m",
                 "first_alert_distance_to_perimeter_m"}


def _target(tid: str, cls: str, detected: bool, tta_s: float = 0.0,
            alerts: int = 1, observable: bool = True) -> TargetReport:
    return TargetReport(target_id=tid, kind=cls, class_=cls, detected=detected,
                        observable=observable,
                        time_to_alert_s=tta_s if detected else None,
                        origin_error_m=2 * tta_s if detected else None,
                        origin_crb_m=tta_s if detected else None,
                        origin_error_to_crb=2.0 if detected else None,
                        first_alert_distance_to_perimeter_m=100 * tta_s if detected else None,
                        alert_ids=[f"{tid}-{i}" for i in range(alerts if detected else 0)])


def _run(name: str, targets: list[TargetReport], false: int, nuisance: int) -> RunReport:
    return build_run_report(
        scenario=name, seed=1, duration_s=43_200.0, perimeter_length_m=6000.0, targets=targets,
        counts=AlertCounts(alerts=len(targets) + false + 1, false_alerts=false,
                           nuisance_alerts=nuisance, tower_fault_alerts=1),
        gospa=None)


RUN_A = _run("a", [_target("p1", "person", True, 10.0),
                   _target("p2", "person", False, observable=False),
                   _target("v1", "vehicle", True, 20.0, alerts=3)], false=3, nuisance=1)
RUN_B = _run("b", [_target("p1", "person", True, 30.0)], false=0, nuisance=0)


def test_rates_per_km_of_perimeter_per_day() -> None:
    assert per_km_day(3, 6000.0, 43_200.0) == pytest.approx(1.0)
    assert RUN_A.false_alerts_per_km_day == pytest.approx(1.0)
    assert RUN_A.nuisance_alerts_per_km_day == pytest.approx(1 / 3)
    assert per_km_day(3, 0.0, 10.0) == 0.0


def test_run_figures_and_class_breakdown() -> None:
    assert (RUN_A.intrusions, RUN_A.detected, RUN_A.pd) == (3, 2, pytest.approx(2 / 3))
    assert RUN_A.time_to_alert_s.median == pytest.approx(15.0)
    assert RUN_A.time_to_alert_s.p90 == pytest.approx(19.0)
    assert list(RUN_A.classes) == ["person", "vehicle"]
    assert RUN_A.classes["person"].pd == pytest.approx(0.5)
    assert (RUN_A.observable_intrusions, RUN_A.pd_observable) == (2, 1.0)
    assert RUN_A.classes["person"].pd_observable == 1.0
    assert RUN_A.fragmentation.alerts_per_alerted_intrusion_max == 3
    assert RUN_A.fragmentation.alerts_per_alerted_intrusion_mean == pytest.approx(2.0)


def test_aggregate_pools_intrusions_and_exposure() -> None:
    pooled = aggregate([RUN_A, RUN_B])
    assert (pooled.intrusions, pooled.detected) == (4, 3)
    assert pooled.pd_lower_95 is not None and pooled.pd_lower_95 < 0.75
    assert pooled.false_alerts_per_km_day == pytest.approx(3 / 6.0)  # 6 km * 1 day
    assert pooled.time_to_alert_s.median == pytest.approx(20.0)
    assert pooled.tower_fault_alerts == 2


def test_json_has_the_contract_keys_per_run() -> None:
    runs = json.loads(report_json([RUN_A, RUN_B]))
    assert [r["scenario"] for r in runs] == ["a", "b"]
    assert set(runs[0]) >= CONTRACT_KEYS
    assert set(runs[0]["time_to_alert_s"]) == {"median", "p90"}
    assert runs[0]["targets"][0]["class"] == "person"
    both = json.loads(report_json([RUN_A, RUN_B], include_aggregate=True))
    assert both["aggregate"]["intrusions"] == 4 and len(both["runs"]) == 2


def test_table_renders_runs_and_pooled_row() -> None:
    console = Console(width=250, record=True)
    console.print(report_table([RUN_A, RUN_B]))
    text = console.export_text()
    assert "all (2)" in text and "0.667 ≥" in text and "vehicle" in text


def test_json_leads_with_the_run_identity_and_keeps_series_pairs_on_one_line() -> None:
    gospa = GospaReport(cutoff_m=150.0, order_p=2.0, snapshots=2, mean_m=1.0, median_m=1.0,
                        p90_m=1.0, localisation_mean_m=1.0, missed_mean=0.0,
                        false_tracks_mean=0.0, series_elapsed_s_gospa_m=[(0.0, 1.5), (4.0, 0.5)])
    text = report_json([RUN_B.model_copy(update={"gospa": gospa})])
    assert list(json.loads(text)[0])[:4] == ["scenario", "seed", "duration_s",
                                             "perimeter_length_m"]
    assert "[4.0, 0.5]" in text
    assert json.loads(text)[0]["gospa"]["series_elapsed_s_gospa_m"] == [[0.0, 1.5], [4.0, 0.5]]
