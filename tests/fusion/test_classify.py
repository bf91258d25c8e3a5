from __future__ import annotations

from perimeter.fusion.classify import ClassModel, classify, label
from perimeter.fusion.scan import KIND_HINTS
from perimeter.fusion.track import Track
from tests.fusion.helpers import track_at


def walked(speed_mps: float, size_m: float | None, seconds: float = 60.0) -> Track:
    track = track_at(3000.0, 0.0, -speed_mps, 0.0)
    for k in range(int(seconds / 2) + 1):
        track.trail.append((2.0 * k, 3000.0 - speed_mps * 2.0 * k, 0.0))
    if size_m is not None:
        track.features.sizes_m.extend([size_m] * 30)
    return track


def test_walking_person_is_a_person() -> None:
    cls, p = label(classify(walked(1.4, 0.75), ClassModel()))
    assert cls == "person" and p > 0.8


def test_slow_small_animal_is_an_animal() -> None:
    cls, p = label(classify(walked(0.5, 0.6), ClassModel()))
    assert cls == "animal" and p > 0.8


def test_fast_large_object_is_a_vehicle_and_engine_sound_agrees() -> None:
    probs = classify(walked(9.0, 2.3), ClassModel())
    assert label(probs)[0] == "vehicle" and probs["vehicle"] > 0.95
    heard = walked(3.0, None)
    heard.features.hint_counts[KIND_HINTS.index("engine")] = 6
    assert label(classify(heard, ClassModel()))[0] == "vehicle"


def test_standing_object_is_unknown() -> None:
    assert label(classify(walked(0.0, 1.0), ClassModel()))[0] == "unknown"


def test_young_tracks_use_filter_speed_with_its_uncertainty() -> None:
    young = track_at(3000.0, 0.0, -1.4, 0.0)
    young.p[2, 2] = young.p[3, 3] = 4.0  # velocity still poorly known
    probs = classify(young, ClassModel())
    assert max(probs.values()) < 0.8  # undecided until the evidence comes in
