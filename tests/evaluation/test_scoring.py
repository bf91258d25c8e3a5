import math

import pytest

from perimeter.evaluation.scoring import (
    distance_to_polyline_m,
    group_alerts,
    score_alerts,
    target_class,
)

from .synth import alert, along, target, truth

PERIMETER = [(1000.0, -3000.0), (1000.0, 3000.0)]
CLASSES = ("person", "group", "vehicle")

# A person walking west 3 km at 1 m/s from t = 100 s; last waypoint at t = 3100 s.
WALKER = target("p1", "person", [(4000.0, 0.0), (1000.0, 0.0)], start_s=100.0, speed_mps=1.0)
DEER = target("a1", "animal", [(5000.0, 2000.0), (5000.0, 2600.0)], start_s=0.0,
              speed_mps=0.5, scripted=False)


def test_kinds_map_to_alert_classes() -> None:
    assert [target_class(k) for k in ("light_vehicle", "heavy_vehicle", "group")] == [
        "vehicle", "vehicle", "group"]
    with pytest.raises(ValueError, match="kind"):
        target_class("drone")


def test_alert_on_the_track_detects_with_its_figures() -> None:
    events = alert("a-1", along(WALKER, [160, 170, 180], offset_m=40.0), origin=(4030.0, 40.0))
    result = score_alerts(truth(WALKER, DEER), events, CLASSES, PERIMETER)
    (score,) = result.intrusions
    assert score.detected and result.false_alerts == 0
    assert score.time_to_alert_s == pytest.approx(60.0)
    assert score.origin_error_m == pytest.approx(50.0)
    # At 160 s the walker is 60 m along: 2940 m east of the perimeter line.
    assert score.first_alert_distance_to_perimeter_m == pytest.approx(2940.0)


def test_half_of_the_events_within_150_m_is_enough() -> None:
    points = along(WALKER, [200, 210]) + along(WALKER, [220, 230], offset_m=151.0)
    result = score_alerts(truth(WALKER), alert("a-1", points), CLASSES, PERIMETER)
    assert result.intrusions[0].detected and result.false_alerts == 0


def test_fewer_than_half_within_150_m_is_a_false_alert() -> None:
    points = along(WALKER, [200]) + along(WALKER, [210, 220], offset_m=151.0)
    result = score_alerts(truth(WALKER), alert("a-1", points), CLASSES, PERIMETER)
    assert not result.intrusions[0].detected
    assert result.false_alerts == 1 and result.count("nuisance") == 0


def test_alert_after_the_last_waypoint_is_late_not_detected_nor_false() -> None:
    events = alert("a-1", along(WALKER, [3100, 3110, 3120]))
    (score,) = score_alerts(truth(WALKER), events, CLASSES, PERIMETER).intrusions
    assert not score.detected and score.late
    assert score.time_to_alert_s is None
    assert score_alerts(truth(WALKER), events, CLASSES, PERIMETER).false_alerts == 0


def test_alert_on_an_animal_is_a_false_nuisance_alert() -> None:
    events = alert("a-9", along(DEER, [100, 200, 300], offset_m=20.0), cls="animal")
    result = score_alerts(truth(WALKER, DEER), events, CLASSES, PERIMETER)
    assert result.false_alerts == 1 and result.count("nuisance") == 1
    assert result.verdicts[0].target_id == "a1"
    assert not result.intrusions[0].detected


def test_alert_on_nothing_is_false_but_not_nuisance() -> None:
    events = alert("a-5", [(300.0, 6000.0, -3000.0), (310.0, 6000.0, -3010.0)])
    result = score_alerts(truth(WALKER, DEER), events, CLASSES, PERIMETER)
    assert (result.false_alerts, result.count("nuisance")) == (1, 0)


def test_tower_fault_alerts_are_counted_apart() -> None:
    events = alert("a-7", [(50.0, 0.0, 0.0)], cls="tower_fault")
    result = score_alerts(truth(WALKER), events, CLASSES, PERIMETER)
    assert (result.false_alerts, result.count("tower_fault")) == (0, 1)


def test_animals_alert_only_when_their_class_is_enabled() -> None:
    scripted_deer = target("a2", "animal", [(5000.0, 0.0), (4000.0, 0.0)], start_s=0.0,
                           speed_mps=1.0)
    events = alert("a-3", along(scripted_deer, [100, 110]), cls="animal")
    default = score_alerts(truth(scripted_deer), events, CLASSES, PERIMETER)
    assert default.intrusions == [] and default.count("nuisance") == 1
    enabled = score_alerts(truth(scripted_deer), events, (*CLASSES, "animal"), PERIMETER)
    assert enabled.intrusions[0].detected and enabled.false_alerts == 0


def test_fragments_are_matched_and_the_first_alert_counts() -> None:
    first = alert("a-2", along(WALKER, [500, 510]), origin=(3900.0, 0.0))
    second = alert("a-1", along(WALKER, [900, 910]), origin=(3600.0, 0.0))
    result = score_alerts(truth(WALKER), second + first, CLASSES, PERIMETER)
    (score,) = result.intrusions
    assert [a.alert_id for a in score.alerts] == ["a-2", "a-1"]
    assert score.time_to_alert_s == pytest.approx(400.0)
    assert score.origin_error_m == pytest.approx(100.0)
    assert result.false_alerts == 0


def test_alert_goes_to_the_target_it_follows_best() -> None:
    twin = target("p2", "person", [(4000.0, 100.0), (1000.0, 100.0)], start_s=100.0,
                  speed_mps=1.0)
    events = alert("a-1", along(twin, [300, 310, 320], offset_m=10.0))
    result = score_alerts(truth(WALKER, twin), events, CLASSES, PERIMETER)
    assert {s.target.id: s.detected for s in result.intrusions} == {"p1": False, "p2": True}


def test_events_are_grouped_per_alert_in_time_order() -> None:
    events = alert("b", [(20.0, 0.0, 0.0)]) + alert("a", [(30.0, 0.0, 0.0), (10.0, 1.0, 1.0)])
    grouped = group_alerts(events)
    assert [g.alert_id for g in grouped] == ["a", "b"]
    assert [e.t_s for e in grouped[0].events] == sorted(e.t_s for e in grouped[0].events)


def test_distance_to_polyline() -> None:
    line = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)]
    assert distance_to_polyline_m((5.0, -3.0), line) == pytest.approx(3.0)
    assert distance_to_polyline_m((13.0, 14.0), line) == pytest.approx(5.0)
    assert distance_to_polyline_m((3.0, 4.0), [(0.0, 0.0)]) == pytest.approx(5.0)
    assert math.isfinite(distance_to_polyline_m((0.0, 0.0), [(1.0, 1.0), (1.0, 1.0)]))


# Two walkers side by side 11 m apart (as single file's walkers, 8 s apart at 1.4 m/s).
LEFT = target("p-left", "person", [(4000.0, 0.0), (1000.0, 0.0)], start_s=100.0,
              speed_mps=1.0)
RIGHT = target("p-right", "person", [(4000.0, 11.0), (1000.0, 11.0)], start_s=100.0,
               speed_mps=1.0)


def test_two_alerts_on_two_close_walkers_count_for_both_not_twice_for_the_nearer() -> None:
    # the left walker's alert reads 7 m north of it: 4 m from the right walker
    events = (alert("a-1", along(LEFT, [200, 210, 220], offset_m=7.0))
              + alert("a-2", along(RIGHT, [205, 215, 225], offset_m=1.0)))
    result = score_alerts(truth(LEFT, RIGHT), events, CLASSES, PERIMETER)
    by_id = {s.target.id: s for s in result.intrusions}
    assert by_id["p-left"].detected and by_id["p-right"].detected
    assert [a.alert_id for a in by_id["p-left"].alerts] == ["a-1"]
    assert sum(s.duplicate_alerts for s in result.intrusions) == 0


def test_a_second_alert_with_no_other_walker_near_is_still_a_duplicate() -> None:
    far = target("p-far", "person", [(4000.0, 2000.0), (1000.0, 2000.0)], start_s=100.0,
                 speed_mps=1.0)
    events = (alert("a-1", along(LEFT, [200, 210, 220], offset_m=7.0))
              + alert("a-2", along(LEFT, [205, 215, 225], offset_m=1.0)))
    result = score_alerts(truth(LEFT, far), events, CLASSES, PERIMETER)
    by_id = {s.target.id: s for s in result.intrusions}
    assert not by_id["p-far"].detected
    assert by_id["p-left"].duplicate_alerts == 1 and result.false_alerts == 0
