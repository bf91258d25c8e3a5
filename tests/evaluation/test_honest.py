"""The honest-scoring rules (issue 14), each on a small hand-made alert stream and truth."""

import json
import math

import pytest

from perimeter.contract import AlertEvent, TracksSnapshot
from perimeter.evaluation.covered import TargetCoverage
from perimeter.evaluation.render import report_json
from perimeter.evaluation.report import RunReport, aggregate
from perimeter.evaluation.score_run import EvalOptions, score_run
from perimeter.site import western_heights
from perimeter.thresholds import Thresholds

from .synth import EPOCH_S, alert, along, target, truth

WALKER = target("p1", "person", [(4000.0, 0.0), (1000.0, 0.0)], start_s=100.0, speed_mps=1.0)
SECOND = target("p2", "person", [(4000.0, 1000.0), (1000.0, 1000.0)], start_s=100.0,
                speed_mps=1.0)
DEER = target("a1", "animal", [(5000.0, 2000.0), (5000.0, 2600.0)], speed_mps=0.5,
              scripted=False)
DAY_S = 86_400.0


def score(events: list[AlertEvent], *, covered: dict[str, TargetCoverage] | None = None,
          snapshots: list[TracksSnapshot] | None = None, cutoff_m: float = 150.0) -> RunReport:
    world = truth(WALKER, SECOND, DEER, duration_s=DAY_S)
    return score_run(world, western_heights(), events, snapshots or [], [], Thresholds(),
                     EvalOptions(gospa_cutoff_m=cutoff_m), covered=covered)


def test_a_vehicle_alert_on_a_person_is_misclassified() -> None:
    report = score(alert("a-1", along(WALKER, [160, 170, 180]), cls="vehicle"))
    assert report.detected == 1 and report.pd == 0.5  # detected all the same
    assert (report.misclassified_alerts, report.matched_alerts) == (1, 1)
    row = next(t for t in report.targets if t.target_id == "p1")
    assert row.class_correct is False and row.alert_classes == ["vehicle"]
    assert report.confusion_matrix == {"person": {"no_alert": 1, "vehicle": 1}}
    assert report.classes["person"].misclassified_alerts == 1


def test_the_class_shown_for_most_events_counts_and_group_is_people() -> None:
    mostly_person = alert("a-1", along(WALKER, [160, 170, 180]),
                          classes=["vehicle", "person", "person"])
    as_group = alert("a-2", along(SECOND, [160, 170]), cls="group")
    report = score(mostly_person + as_group)
    assert report.misclassified_alerts == 0 and report.class_correct_intrusions == 2
    assert [t.alert_classes for t in report.targets] == [["person"], ["group"]]
    assert report.confusion_matrix == {"person": {"group": 1, "person": 1}}


def test_a_second_alert_on_one_intrusion_is_a_duplicate_and_a_nuisance() -> None:
    first = alert("a-1", along(WALKER, [160, 170]))
    again = alert("a-2", along(WALKER, [400, 410]))  # e.g. after a reclassified close
    ghost = alert("a-3", [(50.0, 3000.0, -3000.0)], cls="vehicle")
    report = score(first + again + ghost)
    assert report.detected == 1 and report.targets[0].time_to_alert_s == pytest.approx(60.0)
    assert (report.duplicate_alerts, report.false_alerts) == (1, 1)
    assert report.targets[0].duplicate_alerts == 1
    assert report.false_nuisance_alerts == 2
    assert report.false_nuisance_alerts_per_km_day == pytest.approx(2 / 6.0)
    assert report.duplicate_alerts_per_km_day == pytest.approx(1 / 6.0)
    assert report.false_alerts_per_km_day == pytest.approx(1 / 6.0)  # the old key, unchanged


def test_an_ellipse_that_misses_the_start_is_counted_out() -> None:
    # 1-sigma 30 x 10 m, major axis north-south: 300 m north of the start is 10 sigma off.
    missing = alert("a-1", along(WALKER, [160, 170]), origin=(4000.0, 300.0),
                    ellipse=(30.0, 10.0, 0.0))
    holding = alert("a-2", along(SECOND, [160, 170]), origin=(4000.0, 1040.0),
                    ellipse=(30.0, 10.0, 0.0))
    report = score(missing + holding)
    assert (report.origins_with_ellipse, report.origins_in_95_ellipse) == (2, 1)
    assert report.origin_in_95_ellipse_rate == pytest.approx(0.5)
    by_id = {t.target_id: t for t in report.targets}
    assert by_id["p1"].origin_in_95_ellipse is False
    assert by_id["p1"].origin_normalised_error == pytest.approx(10.0)
    assert by_id["p2"].origin_in_95_ellipse is True
    assert report.origin_normalised_error.median == pytest.approx((10.0 + 40 / 30) / 2)


def test_a_target_first_covered_at_300_s_gets_its_latency_from_300_s() -> None:
    covered = {"p1": TargetCoverage(covered=True, covered_s=900.0,
                                    first_covered_t_s=EPOCH_S + 300.0),
               "p2": TargetCoverage(covered=True, covered_s=900.0,
                                    first_covered_t_s=EPOCH_S + 110.0)}
    events = (alert("a-1", along(WALKER, [360, 370]), origin=(4000.0, 0.0))
              + alert("a-2", along(SECOND, [150, 160]), origin=(4000.0, 1000.0)))
    report = score(events, covered=covered)
    by_id = {t.target_id: t for t in report.targets}
    late, early = by_id["p1"], by_id["p2"]
    assert (late.start_s, late.first_covered_s) == (pytest.approx(100.0), pytest.approx(300.0))
    assert late.time_to_alert_s == pytest.approx(260.0)  # from the start of movement
    assert late.time_to_alert_after_covered_s == pytest.approx(60.0)
    assert early.time_to_alert_after_covered_s == pytest.approx(40.0)
    assert report.time_to_alert_after_covered_s.median == pytest.approx(50.0)
    # Covered 200 s after it set out: its origin is unobservable, counted apart.
    assert (late.origin_observable, early.origin_observable) == (False, True)
    assert report.origin_unobservable == 1
    assert late.origin_error_to_crb is None and late.origin_error_m == pytest.approx(0.0)


def test_never_covered_is_origin_unobservable_and_unassessed_is_neither() -> None:
    events = alert("a-1", along(WALKER, [360, 370]))
    outside = score(events, covered={"p1": TargetCoverage(False, 0.0, None),
                                     "p2": TargetCoverage(False, 0.0, None)})
    assert outside.origin_unobservable == 2 and outside.covered_intrusions == 0
    unassessed = score(events)
    assert unassessed.origin_unobservable == 0
    assert {t.origin_observable for t in unassessed.targets} == {None}


def test_matched_alert_positions_report_their_distance_to_truth() -> None:
    report = score(alert("a-1", along(WALKER, [160, 170, 180], offset_m=40.0))
                   + alert("a-2", along(SECOND, [160, 170], offset_m=100.0)))
    assert [t.matched_alert_distance_m for t in report.targets] == [pytest.approx(40.0),
                                                                    pytest.approx(100.0)]
    assert report.matched_alert_distance_m.median == pytest.approx(70.0)


def _snapshot(elapsed_s: float, positions: list[tuple[float, float]]) -> TracksSnapshot:
    return TracksSnapshot.model_validate({"t_s": EPOCH_S + elapsed_s, "tracks": [
        {"track_id": f"k-{i}", "status": "confirmed", "position": {"x_m": x, "y_m": y},
         "velocity": {"vx_mps": 0.0, "vy_mps": 0.0}} for i, (x, y) in enumerate(positions)]})


def test_gospa_is_split_into_intruders_and_animals() -> None:
    # At 200 s: both walkers tracked exactly, a false track far from all, the deer untracked.
    at = 200.0
    p1, p2 = WALKER.position(EPOCH_S + at), SECOND.position(EPOCH_S + at)
    snap = _snapshot(at, [p1, p2, (-3000.0, -3000.0)])
    report = score([], snapshots=[snap], cutoff_m=100.0)
    assert report.gospa_intruders is not None and report.gospa_animals is not None
    assert report.gospa_intruders.mean_m == pytest.approx(math.sqrt(100.0**2 / 2))  # 1 false
    assert report.gospa_animals.mean_m == pytest.approx(100.0)  # 1 missed deer + 1 false
    assert (report.gospa_animals.missed_mean, report.gospa_animals.false_tracks_mean) == (1, 1)
    # A snapshot with no intruder and no track left over for it does not dilute the mean.
    tracked_deer = _snapshot(10.0, [DEER.position(EPOCH_S + 10.0)])
    quiet = score([], snapshots=[tracked_deer], cutoff_m=100.0)
    assert quiet.gospa_intruders is not None and quiet.gospa_intruders.snapshots == 0
    assert quiet.gospa_animals is not None and quiet.gospa_animals.mean_m == pytest.approx(0.0)


def test_the_aggregate_pools_every_new_figure_and_opens_with_the_headline() -> None:
    covered = {"p1": TargetCoverage(True, 900.0, EPOCH_S + 100.0),
               "p2": TargetCoverage(False, 0.0, None)}
    a = score(alert("a-1", along(WALKER, [160, 170]), cls="vehicle")
              + alert("a-2", along(WALKER, [400, 410])), covered=covered)
    b = score(alert("a-1", along(SECOND, [160, 170]), cls="group"))
    pooled = aggregate([a, b])
    assert (pooled.intrusions, pooled.detected, pooled.pd) == (4, 2, 0.5)
    assert (pooled.covered_intrusions, pooled.pd_covered) == (1, 1.0)
    assert (pooled.misclassified_alerts, pooled.duplicate_alerts) == (1, 1)
    assert pooled.confusion_matrix == {"person": {"group": 1, "no_alert": 2, "vehicle": 1,
                                                  "person": 1}}
    assert pooled.false_nuisance_alerts == 1
    assert pooled.false_nuisance_alerts_per_km_day == pytest.approx(1 / 12.0)
    doc = json.loads(report_json([a, b], include_aggregate=True))
    head = doc["aggregate"]["headline"]
    assert list(head)[:4] == ["pd", "pd_lower_95", "pd_covered", "pd_covered_lower_95"]
    assert head["misclassified_alerts"] == 1 and "gospa_intruders_mean_m" in head
    run = doc["runs"][0]
    for key in ("misclassified_alerts", "duplicate_alerts", "false_nuisance_alerts_per_km_day",
                "time_to_alert_after_covered_s", "origins_with_ellipse", "origins_in_95_ellipse",
                "origin_normalised_error", "origin_unobservable", "gospa_intruders",
                "gospa_animals", "matched_alert_distance_m", "confusion_matrix"):
        assert key in run, key
    for key in ("class_correct", "first_covered_s", "time_to_alert_after_covered_s",
                "origin_observable", "origin_in_95_ellipse", "matched_alert_distance_m"):
        assert key in run["targets"][0], key
