"""No class from motion measured on an ambiguous association (issue 16, part 2)."""

from __future__ import annotations

from perimeter.fusion.classify import ClassModel, classify, label, vehicle_corroborated
from perimeter.fusion.track import Track
from tests.fusion.helpers import track_at


def stitched(speed_mps: float, *, ambiguous_at_s: float | None) -> Track:
    """A fast straight path, as a track passed between people abreast draws one."""
    track = track_at(3000.0, 0.0, -speed_mps, 0.0)
    for k in range(31):
        track.state.trail.append((2.0 * k, 3000.0 - speed_mps * 2.0 * k, 0.0))
    if ambiguous_at_s is not None:
        track.evidence.ambiguous_t_s = ambiguous_at_s
    return track


def test_a_fast_straight_path_over_an_ambiguous_association_is_no_vehicle() -> None:
    model = ClassModel()
    clear = stitched(9.0, ambiguous_at_s=None)
    assert vehicle_corroborated(clear, model)
    assert label(classify(clear, model))[0] == "vehicle"
    shared = stitched(9.0, ambiguous_at_s=50.0)
    assert not vehicle_corroborated(shared, model)
    assert label(classify(shared, model))[0] != "vehicle"


def test_an_ambiguous_window_bounds_the_speed_from_above_and_a_clear_one_counts() -> None:
    model = ClassModel()
    track = stitched(9.0, ambiguous_at_s=55.0)
    classify(track, model, 60.0)
    evidence = track.evidence.class_evidence
    assert track.evidence.class_windows == 1  # judged: a fast stitched path rules out nothing
    assert max(evidence.values()) - min(evidence.values()) < 0.5
    for k in range(31, 61):  # a clear window follows
        track.state.trail.append((2.0 * k, 3000.0 - 18.0 * k, 0.0))
    probs = classify(track, model, 120.0)
    assert track.evidence.class_windows == 2
    assert label(probs)[0] == "vehicle"


def test_a_slow_ambiguous_window_still_rules_out_a_vehicle() -> None:
    # a party abreast trading bearings with its neighbours, wide as a car, at a walker's pace
    model = ClassModel()
    track = stitched(1.2, ambiguous_at_s=55.0)
    track.evidence.features.sizes_m.extend([2.0] * 30)
    probs = classify(track, model, 60.0)
    assert track.evidence.class_evidence["vehicle"] < track.evidence.class_evidence["group"] - 4.0
    assert label(probs)[0] == "group"
    assert not vehicle_corroborated(track, model)


def test_an_ambiguous_window_at_a_walkers_pace_favours_a_mover_over_a_standing_object() -> None:
    # a party walking on after meeting another: every window shares bearings with the other
    # party's track, yet an object standing still makes a walker's pace only by stitching
    model = ClassModel()
    track = stitched(1.2, ambiguous_at_s=55.0)
    classify(track, model, 60.0)
    evidence = track.evidence.class_evidence
    assert evidence["group"] > evidence["unknown"] + 0.5
    assert evidence["person"] > evidence["unknown"] + 0.5
