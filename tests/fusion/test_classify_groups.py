"""A party of people is as wide as a car: size from thermal is a noisy observation with
per-class published spreads, and speed and posture tell a group from a vehicle (issue 16)."""

from __future__ import annotations

import math

import numpy as np

from perimeter.fusion import priors
from perimeter.fusion.body import size_log_likelihoods
from perimeter.fusion.classify import (
    ClassModel,
    classify,
    label,
    vehicle_corroborated,
    window_speed_error_mps,
)
from tests.fusion.helpers import track_at
from tests.fusion.test_classify import walked


def _sizes(critical_m: float, n: int, seed: int) -> list[float]:
    """``n`` segmented sizes of an object: log-normal noise of 0.2 about its size."""
    rng = np.random.default_rng(seed)
    return list(critical_m * np.exp(0.2 * rng.standard_normal(n)))


def test_a_wide_blob_at_walking_pace_with_a_persons_height_is_a_group_not_a_vehicle() -> None:
    model = ClassModel()
    party = walked(1.2, None)
    party.evidence.features.sizes_m.extend(_sizes(2.1, 40, seed=1))  # five abreast
    party.evidence.features.heights_m.extend([0.9] * 40)
    party.evidence.features.height_sigmas_m.extend([0.3] * 40)
    probs = classify(party, model)
    assert label(probs)[0] == "group" and probs["vehicle"] < 0.01
    assert not vehicle_corroborated(party, model)


def test_the_same_blob_driving_is_a_vehicle() -> None:
    model = ClassModel()
    car = walked(9.0, None)
    car.evidence.features.sizes_m.extend(_sizes(2.1, 40, seed=1))
    probs = classify(car, model)
    assert label(probs)[0] == "vehicle" and probs["vehicle"] > 0.95
    assert vehicle_corroborated(car, model)


def test_noisy_sizes_are_judged_by_their_median_not_their_upper_tail() -> None:
    # a group of three (1.46 m): the 90th percentile of noisy readings reaches a car's 1.9 m
    model = ClassModel()
    sizes = _sizes(1.46, 60, seed=2)
    assert float(np.percentile(sizes, 90)) > 1.8
    ll = size_log_likelihoods(sizes, model)
    assert max(ll, key=lambda c: ll[c]) == "group"
    assert ll["group"] > ll["vehicle"] + 1.0 and ll["group"] > ll["person"] + 2.0


def test_size_evidence_is_bounded_when_the_reading_is_not_the_objects() -> None:
    # a person track that took a hot spot's 3 m blobs: the reading is uninformative, not a
    # vehicle's proof (every class shares the broad density of unreliable readings)
    model = ClassModel()
    ll = size_log_likelihoods([3.0] * 50, model)
    assert ll["vehicle"] - ll["person"] < -math.log(model.unreliable_share) + 1.0


def test_the_group_size_range_is_derived_from_people_abreast() -> None:
    assert math.isclose(priors.group_critical_size_m(1.0, 0.7), priors.PERSON_SIZE_M.mid)
    assert math.isclose(priors.GROUP_SIZE_M.lo, 0.75 * math.sqrt(2.2))  # two, 0.6 m apart
    assert math.isclose(priors.GROUP_SIZE_M.hi, 0.75 * math.sqrt(10.0))  # six, 0.9 m apart
    assert priors.GROUP_SIZE_M.hi > priors.VEHICLE_SIZE_M.lo  # size alone cannot tell them


def test_a_window_speed_is_as_uncertain_as_the_tracks_position() -> None:
    # a walker followed from one scanning tower at a time: 20 m of position error make a
    # 25 s window's speed 1.1 m/s off; a group measured at 1.9 m/s is still a group
    loose = track_at(3000.0, 0.0, -1.9, 0.0, sigma_m=20.0)
    assert math.isclose(window_speed_error_mps(loose, 25.0), math.sqrt(2.0) * 20.0 / 25.0)
    model = ClassModel()
    for k in range(31):
        loose.state.trail.append((2.0 * k, 3000.0 - 3.8 * k, 0.0))
    loose.evidence.features.sizes_m.extend(_sizes(1.5, 30, seed=3))
    for t_s in (30.0, 60.0):
        probs = classify(loose, model, t_s)
    assert label(probs)[0] == "group" and probs["vehicle"] < 0.1
