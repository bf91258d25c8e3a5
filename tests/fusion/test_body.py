"""Body evidence (size and height): the animal class as a mixture of its kinds, each kind's own
size and height together."""

from __future__ import annotations

from perimeter.fusion import priors
from perimeter.fusion.body import (
    animal_body_log_likelihood,
    height_log_likelihoods,
    size_log_likelihoods,
)
from perimeter.fusion.classify import ClassModel, classify
from perimeter.fusion.track import Track
from tests.fusion.test_classify import walked

BY_KIND = ClassModel()


def seen(track: Track, size_m: float, height_m: float) -> Track:
    features = track.evidence.features
    features.sizes_m.clear()
    features.sizes_m.extend([size_m] * 40)
    features.heights_m.extend([height_m] * 40)
    features.height_sigmas_m.extend([0.15] * 40)
    return track


def spanned(track: Track, model: ClassModel) -> float:
    """The animal's size and height each judged against one range spanning every kind."""
    features = track.evidence.features
    return (size_log_likelihoods(features.sizes_m, model)["animal"]
            + height_log_likelihoods(features, model)["animal"][0])


def test_cattle_are_an_animal_kind_with_sourced_sizes() -> None:
    cattle = next(a for a in priors.ANIMALS if a.name == "cattle")
    assert cattle.shoulder_height_m.source and cattle.body_length_m.source
    assert BY_KIND.animal_sizes_m[-1] == cattle.critical_size_m
    assert len(BY_KIND.animal_sizes_m) == len(BY_KIND.animal_heights_m) == len(priors.ANIMALS)


def test_a_cows_size_and_height_are_likelier_by_kind_than_on_the_spanned_range() -> None:
    # a cow side on: 1.7 m critical dimension, its trunk's centre 0.8 m up; the spanned
    # ranges' middles are a roe deer's, far from a cow's on both
    cow = seen(walked(0.8, None), 1.7, 0.8)
    assert animal_body_log_likelihood(cow.evidence.features, BY_KIND) > spanned(cow, BY_KIND) + 1.0


def test_a_roe_deers_size_at_a_cows_height_is_no_animal_by_kind() -> None:
    # each feature fits some kind, but no kind has both: the spanned ranges accepted it
    odd = seen(walked(0.8, None), 0.95, 0.85)
    deer = seen(walked(0.8, None), 0.95, 0.4)
    features = odd.evidence.features
    assert animal_body_log_likelihood(features, BY_KIND) < spanned(odd, BY_KIND) - 0.5
    assert (animal_body_log_likelihood(deer.evidence.features, BY_KIND)
            > animal_body_log_likelihood(features, BY_KIND) + 1.0)


def test_without_readings_the_body_says_nothing() -> None:
    assert animal_body_log_likelihood(walked(0.8, None).evidence.features, BY_KIND) == 0.0


def test_a_cow_walking_is_an_animal_by_kind_and_was_a_group() -> None:
    cow = seen(walked(0.8, None), 1.7, 0.8)
    assert BY_KIND.animal_by_kind  # the default
    assert classify(cow, BY_KIND)["animal"] > 0.5
    spanned_model = ClassModel(animal_by_kind=False)
    assert classify(cow, spanned_model)["group"] > classify(cow, spanned_model)["animal"]
