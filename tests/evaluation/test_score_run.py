import math

import pytest

from perimeter.bus import Message
from perimeter.contract import SensorReport, TracksSnapshot, dump_payload
from perimeter.evaluation.covered import TargetCoverage
from perimeter.evaluation.score_run import EvalOptions, score_run
from perimeter.site import western_heights
from perimeter.thresholds import Thresholds
from perimeter.topics import sensor
from sim.truth import DetectionTag

from .synth import EPOCH_S, alert, along, target, truth

WALKER = target("p1", "person", [(4000.0, 0.0), (1000.0, 0.0)], start_s=100.0, speed_mps=1.0)
DEER = target("a1", "animal", [(5000.0, 2000.0), (5000.0, 2600.0)], speed_mps=0.5,
              scripted=False)


def _report(tower: str, seq: int, elapsed_s: float, snr_db: float = 10.0) -> Message:
    report = SensorReport.model_validate({
        "tower_id": tower, "sensor": "thermal", "seq": seq, "t_s": EPOCH_S + elapsed_s,
        "detections": [{"bearing_deg": 90.0, "bearing_sigma_deg": 1.0, "snr_db": snr_db}]})
    return Message(sensor(tower, "thermal"), dump_payload(report))


def _snapshot(elapsed_s: float, x_m: float) -> TracksSnapshot:
    return TracksSnapshot.model_validate({"t_s": EPOCH_S + elapsed_s, "tracks": [
        {"track_id": "k-a-1", "status": "confirmed", "position": {"x_m": x_m, "y_m": 0.0},
         "velocity": {"vx_mps": -1.0, "vy_mps": 0.0}}]})


def test_a_run_scored_end_to_end() -> None:
    world = truth(WALKER, DEER, duration_s=86_400.0)
    # T06 (0, -250) and T07 (0, 250) see the walker in its first seconds.
    world.detections = [DetectionTag("T06", "thermal", 1, 0, "p1"),
                        DetectionTag("T07", "thermal", 1, 0, "p1")]
    messages = [_report("T06", 1, 105.0), _report("T07", 1, 106.0)]
    events = (alert("a-1", along(WALKER, [160, 170, 180], offset_m=40.0), origin=(4030.0, 40.0))
              + alert("a-2", along(DEER, [100, 200]), cls="animal")
              + alert("a-3", [(50.0, 3000.0, -3000.0)], cls="vehicle"))
    snapshots = [_snapshot(160.0, 3940.0), _snapshot(170.0, 3930.0)]
    covered = {"p1": TargetCoverage(covered=True, covered_s=600.0,
                                    first_covered_t_s=EPOCH_S + 100.0)}
    report = score_run(world, western_heights(), events, snapshots, messages, Thresholds(),
                       EvalOptions(gospa_cutoff_m=100.0), covered=covered)

    assert (report.intrusions, report.detected, report.pd) == (1, 1, 1.0)
    assert (report.false_alerts, report.nuisance_alerts) == (2, 1)
    assert report.false_alerts_by_class == {"animal": 1, "vehicle": 1}
    assert report.false_alerts_per_km_day == pytest.approx(2 / 6.0)
    assert report.time_to_alert_s.median == pytest.approx(60.0)
    assert report.origin_error_m.median == pytest.approx(50.0)

    r = math.hypot(4000.0, 250.0)
    crb_m = math.sqrt(2) * math.radians(1.0) * r / math.sin(2 * math.atan2(250.0, 4000.0))
    (row,) = report.targets
    assert row.origin_single_look_crb_m == pytest.approx(crb_m)
    # Two looks 5-6 s after the start, carried back through the velocity prior: about the
    # single look's bound (the walker is a few metres nearer the towers by then).
    assert row.origin_crb_m == pytest.approx(crb_m, rel=0.01)
    assert row.origin_observable is True
    assert report.origin_error_to_crb.median == pytest.approx(50.0 / row.origin_crb_m)
    assert row.confirmed_track_ids == ["k-a-1"] and row.alert_track_ids == ["k-a-1"]
    assert (row.towers_seen, row.observable, report.pd_observable) == (2, True, 1.0)

    # Walker at 3940 and 3930 m, tracked exactly; the deer is moving but untracked (missed).
    assert report.gospa is not None
    assert report.gospa.snapshots == 2
    assert report.gospa.mean_m == pytest.approx(math.sqrt(100.0**2 / 2))
    assert report.gospa.series_elapsed_s_gospa_m[0][0] == pytest.approx(160.0)


def test_target_seen_by_one_tower_has_no_finite_bound() -> None:
    world = truth(WALKER)
    world.detections = [DetectionTag("T06", "thermal", 1, 0, "p1")]
    events = alert("a-1", along(WALKER, [160, 170]), origin=(4000.0, 10.0))
    report = score_run(world, western_heights(), events, [], [_report("T06", 1, 105.0)],
                       Thresholds(), covered={"p1": TargetCoverage(True, 600.0, EPOCH_S + 100.0)})
    assert report.targets[0].origin_crb_m is None
    assert report.targets[0].origin_single_look_crb_m is None
    assert report.origin_error_to_crb.median is None
    assert report.origin_error_m.median == pytest.approx(10.0)
    assert report.gospa is not None and report.gospa.mean_m is None
    # Seen by one tower only: not counted among the observable intrusions.
    assert (report.targets[0].towers_seen, report.observable_intrusions) == (1, 0)
    assert report.pd_observable is None and report.pd == 1.0


def test_a_tower_seen_only_below_threshold_does_not_make_an_intrusion_observable() -> None:
    # T07's detection is published but below the thermal threshold (8 dB): fusion drops it,
    # so it counts neither in the towers seen nor in the bounds.
    world = truth(WALKER)
    world.detections = [DetectionTag("T06", "thermal", 1, 0, "p1"),
                        DetectionTag("T07", "thermal", 1, 0, "p1")]
    messages = [_report("T06", 1, 105.0), _report("T07", 1, 106.0, snr_db=5.0)]
    events = alert("a-1", along(WALKER, [160, 170]), origin=(4000.0, 10.0))
    report = score_run(world, western_heights(), events, [], messages, Thresholds(),
                       covered={"p1": TargetCoverage(True, 600.0, EPOCH_S + 100.0)})
    (row,) = report.targets
    assert (row.towers_seen, row.observable, report.observable_intrusions) == (1, False, 0)
    assert row.origin_single_look_crb_m is None
    kept = score_run(world, western_heights(), events, [], messages,
                     Thresholds(thermal_min_snr_db=4.0))
    assert (kept.targets[0].towers_seen, kept.observable_intrusions) == (2, 1)


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="gospa_cutoff_m"):
        EvalOptions(gospa_cutoff_m=0.0)
    with pytest.raises(ValueError, match="observable_min_towers"):
        EvalOptions(observable_min_towers=0)


def test_covered_intrusions_are_pooled_apart() -> None:
    world = truth(WALKER)
    events = alert("a-1", along(WALKER, [160, 170]), origin=(4000.0, 10.0))
    unassessed = score_run(world, western_heights(), events, [], [], Thresholds())
    assert unassessed.targets[0].covered is None and unassessed.pd_covered is None
    covered = score_run(world, western_heights(), events, [], [], Thresholds(),
                        covered={"p1": True})
    assert (covered.covered_intrusions, covered.covered_detected, covered.pd_covered) == (1, 1, 1.0)
    outside = score_run(world, western_heights(), [], [], [], Thresholds(), covered={"p1": False})
    assert (outside.intrusions, outside.covered_intrusions, outside.pd_covered) == (1, 0, None)


def test_a_track_begun_late_is_scored_against_the_data_it_began_with() -> None:
    world = truth(WALKER, duration_s=86_400.0)
    world.detections = [DetectionTag(t, "thermal", seq, 0, "p1")
                        for t in ("T06", "T07") for seq in (1, 2)]
    # seen by both towers 5 s after it set out and again 200 s later, where its alerting
    # track began: the origin is that track's first point, 20 m off the truth then
    messages = [_report("T06", 1, 105.0), _report("T07", 1, 106.0),
                _report("T06", 2, 305.0), _report("T07", 2, 306.0)]
    events = alert("a-1", along(WALKER, [360, 370]), origin=(3800.0, 20.0),
                   origin_elapsed_s=300.0)
    report = score_run(world, western_heights(), events, [], messages, Thresholds(),
                       covered={"p1": TargetCoverage(True, 600.0, EPOCH_S + 100.0)})
    (row,) = report.targets
    assert row.origin_error_m == pytest.approx(math.hypot(200.0, 20.0))
    assert row.origin_track_lag_s == pytest.approx(195.0)
    assert row.origin_track_error_m == pytest.approx(20.0)
    r = math.hypot(3800.0, 250.0)
    crb_m = math.sqrt(2) * math.radians(1.0) * r / math.sin(2 * math.atan2(250.0, 3800.0))
    assert row.origin_track_crb_m == pytest.approx(crb_m, rel=0.02)
    assert row.origin_track_error_to_crb == pytest.approx(20.0 / row.origin_track_crb_m)
    # against the start, the bound of the first looks: the lag, not the estimate, dominates
    assert row.origin_error_to_crb is not None
    assert row.origin_error_to_crb > 5.0 * row.origin_track_error_to_crb
    assert report.origin_track_lag_s.median == pytest.approx(195.0)
