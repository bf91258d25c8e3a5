from __future__ import annotations

import math

import numpy as np

from perimeter.fusion.classify import (
    ClassModel,
    classify,
    label,
    vehicle_corroborated,
)
from perimeter.fusion.priors import VEHICLE_STOP_SHARE
from perimeter.fusion.scan import KIND_HINTS
from perimeter.fusion.track import Track
from tests.fusion.helpers import track_at


def walked(speed_mps: float, size_m: float | None, seconds: float = 60.0) -> Track:
    track = track_at(3000.0, 0.0, -speed_mps, 0.0)
    for k in range(int(seconds / 2) + 1):
        track.state.trail.append((2.0 * k, 3000.0 - speed_mps * 2.0 * k, 0.0))
    if size_m is not None:
        track.evidence.features.sizes_m.extend([size_m] * 30)
    return track


def test_walking_person_is_a_person() -> None:
    cls, p = label(classify(walked(1.4, 0.75), ClassModel()))
    assert cls == "person" and p > 0.8


def test_slow_small_animal_is_an_animal() -> None:
    # a fox's size and centre height (0.5 m, 0.3 m): a crawling person is as slow, not as low
    fox = walked(0.5, 0.5)
    fox.evidence.features.heights_m.extend([0.3] * 40)
    fox.evidence.features.height_sigmas_m.extend([0.2] * 40)
    cls, p = label(classify(fox, ClassModel()))
    assert cls == "animal" and p > 0.8


def test_an_animal_that_walks_and_pauses_is_an_animal_over_time() -> None:
    track = track_at(3000.0, 0.0)
    model = ClassModel()
    x = 3000.0
    for k in range(0, 121):  # 1.3 m/s for 60 s, then 60 s standing still
        x -= 2.6 if k < 30 else 0.0
        track.state.trail.append((2.0 * k, x, 0.0))
        probs = classify(track, model, 2.0 * k)
    track.evidence.features.sizes_m.extend([0.45] * 30)  # partly hidden: size says little
    assert track.evidence.class_windows >= 7
    final = classify(track, model, 241.0)
    assert label(final)[0] in ("animal", "unknown")  # never an alerting class
    assert final["person"] + final["group"] < 0.2 and probs["person"] < 0.2


def test_height_above_ground_separates_people_from_animals() -> None:
    person, animal = walked(1.2, None), walked(1.2, None)
    person.evidence.features.heights_m.extend([0.87] * 40)
    person.evidence.features.height_sigmas_m.extend([0.3] * 40)
    animal.evidence.features.heights_m.extend([0.45] * 40)
    animal.evidence.features.height_sigmas_m.extend([0.3] * 40)
    assert label(classify(person, ClassModel()))[0] in ("person", "group")
    assert label(classify(animal, ClassModel()))[0] == "animal"


def test_fast_large_object_is_a_vehicle_and_engine_sound_agrees() -> None:
    probs = classify(walked(9.0, 2.3), ClassModel())
    assert label(probs)[0] == "vehicle" and probs["vehicle"] > 0.95
    heard = walked(3.0, None)
    heard.evidence.features.hint_counts[KIND_HINTS.index("engine")] = 6
    assert label(classify(heard, ClassModel()))[0] == "vehicle"


def test_standing_object_is_unknown() -> None:
    assert label(classify(walked(0.0, 1.0), ClassModel()))[0] == "unknown"


def test_young_tracks_use_filter_speed_with_its_uncertainty() -> None:
    young = track_at(3000.0, 0.0, -1.4, 0.0)
    young.state.p[2, 2] = young.state.p[3, 3] = 4.0  # velocity still poorly known
    probs = classify(young, ClassModel())
    assert max(probs.values()) < 0.8  # undecided until the evidence comes in


def test_only_evidence_an_animal_cannot_give_corroborates_a_vehicle() -> None:
    model = ClassModel()
    assert vehicle_corroborated(walked(9.0, None), model)  # fast and straight for a minute
    assert vehicle_corroborated(walked(4.0, 2.4), model)  # vehicle-sized, faster than people
    assert not vehicle_corroborated(walked(1.3, 2.4), model)  # as wide, at a walker's pace
    assert not vehicle_corroborated(walked(3.5, 0.6), model)  # a running animal
    young = track_at(3000.0, 0.0, -12.0, 0.0)  # the filter alone says fast: not enough
    young.evidence.features.sizes_m.extend([0.6] * 5)
    assert not vehicle_corroborated(young, model)
    heard = walked(2.0, None, seconds=10.0)
    heard.evidence.features.hint_counts[KIND_HINTS.index("engine")] = 3
    assert vehicle_corroborated(heard, model)
    heard.evidence.features.hint_counts[KIND_HINTS.index("footsteps")] = 4  # the engine was clutter
    assert not vehicle_corroborated(heard, model)
    zigzag = walked(0.0, 0.6)
    zigzag.state.trail.extend((62.0 + 2.0 * k, 3000.0 + 80.0 * (k % 2), 0.0) for k in range(20))
    assert not vehicle_corroborated(zigzag, model)  # jitter is fast (6.7 m/s) but goes nowhere


def _hour_of_motion(track: Track, pace_mps: np.ndarray, rng: np.random.Generator,
                    model: ClassModel) -> dict[str, float]:
    """Feed a trail sampled every 2 s (1 m of filter noise) through an hour of windows."""
    x = y = 0.0
    probs: dict[str, float] = {}
    for k, pace in enumerate(pace_mps):
        x -= 2.0 * float(pace)
        y = 0.5 * math.sin(k / 9.0)  # a creeping path's own sway
        noise = rng.normal(0.0, 0.7, 2)
        track.state.trail.append((2.0 * k, 3000.0 + x + noise[0], y + noise[1]))
        del track.state.trail[:-90]
        probs = classify(track, model, 2.0 * k)
    return probs


def _seen(track: Track, height_m: float, size_m: float) -> Track:
    track.evidence.features.heights_m.extend([height_m] * 60)
    track.evidence.features.height_sigmas_m.extend([0.3] * 60)
    track.evidence.features.sizes_m.extend([size_m] * 30)
    return track


def test_a_person_crawling_for_an_hour_stays_a_person() -> None:
    # Window by window a crawl looks like an animal's amble; a person keeps a pace of their
    # own, so the share of slow movers counts once, and height and size are not swamped.
    rng = np.random.default_rng(5)
    model = ClassModel()
    pace = 0.5 * np.clip(1.0 + 0.15 * rng.standard_normal(1800), 0.6, 1.4)
    probs = _hour_of_motion(_seen(track_at(3000.0, 0.0, sigma_m=1.0), 0.88, 0.75), pace, rng, model)
    assert label(probs)[0] in ("person", "group")
    assert probs["animal"] < 0.15


def test_an_animal_ambling_and_pausing_at_a_crawl_stays_an_animal() -> None:
    rng = np.random.default_rng(6)
    model = ClassModel()
    bouts = np.repeat(rng.choice([0.0, 0.5, 0.7, 0.9, 0.0], size=60), 30)  # 1-minute bouts
    probs = _hour_of_motion(_seen(track_at(3000.0, 0.0, sigma_m=1.0), 0.45, 0.6), bouts, rng, model)
    assert label(probs)[0] == "animal"
    # a crawler is as slow and as low: only the animal's changing pace and pauses tell
    assert probs["person"] + probs["group"] < 0.2



def test_a_walker_whose_estimate_jumped_onto_it_stays_a_person() -> None:
    # forest-infiltration's walker: followed 150 m off while the filter claimed ~8 m a side,
    # then pulled onto it; the window across the jump read 7.6 m/s, straight
    track = track_at(1600.0, 1560.0, -1.3, 0.0, sigma_m=7.5)
    model = ClassModel()
    for k in range(60):
        t = 2.0 * k
        off = 170.0 if t < 20.0 else 0.0
        track.state.x[:2] = (1600.0 - 1.3 * t - off, 1560.0)
        track.state.p[0, 0] = track.state.p[1, 1] = (7.5 if off else 1.0) ** 2
        track.state.mark_trail(t)
        classify(track, model, t)
    track.evidence.features.sizes_m.extend([0.85] * 10)
    probs = classify(track, model, 120.0)
    assert track.evidence.class_windows >= 3
    assert label(probs) == ("person", probs["person"]) and probs["person"] > 0.8


def _drive_then_halt(model: ClassModel) -> dict[str, float]:
    """A car-sized image (2.5 m) driving at 8 m/s for 50 s, then standing 150 s (the
    filter's position noise, 1.5 m, on every point): its probabilities at the end."""
    rng = np.random.default_rng(59)
    track = track_at(5000.0, 0.0, -8.0, 0.0)
    track.evidence.features.sizes_m.extend([2.5] * 30)
    x = 5000.0
    probs: dict[str, float] = {}
    for k in range(0, 101):
        x -= 16.0 if k < 25 else 0.0
        noise = rng.normal(0.0, 1.5, 2)
        track.state.trail.append((2.0 * k, x + noise[0], noise[1]))
        probs = classify(track, model, 2.0 * k)
    assert track.evidence.class_windows >= 7  # five of them standing
    return probs


def test_with_halts_modelled_a_car_that_halts_stays_a_vehicle() -> None:
    # the model in which a vehicle never stands (the default) makes the halted car an animal
    assert label(_drive_then_halt(ClassModel()))[0] == "animal"
    probs = _drive_then_halt(ClassModel(vehicle_stop_share=VEHICLE_STOP_SHARE.mid))
    assert label(probs)[0] == "vehicle" and probs["animal"] < 0.15
