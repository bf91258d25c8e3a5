"""Duplicates and shadows (:mod:`perimeter.fusion.duplicates`)."""

from __future__ import annotations

import math

import numpy as np

from perimeter.fusion.duplicates import DuplicateConfig, find_duplicates
from perimeter.fusion.track import Track
from tests.fusion.helpers import track_at

TOWERS = np.array([[0.0, 0.0], [0.0, 60.0], [3000.0, -2000.0]])
"""Towers 0 and 1 side by side west of the tracks (a cluster), tower 2 south of them."""


def seen(track: Track, towers: tuple[int, ...], t_s: float = 100.0) -> Track:
    for k in towers:
        track.evidence.last_seen_by[(k, "thermal")] = t_s
        track.evidence.sigma_by[(k, "thermal")] = math.radians(0.05)
    return track


def test_a_track_one_imager_saw_is_not_dropped_as_the_shadow_of_a_track_on_its_ray() -> None:
    # a column walking towards tower 0: the confirmed track of one walker was seen by tower 0
    # alone in the last 10 s; a new seed 1 km along tower 0's ray lies on its one bearing.
    # One bearing fixes a ray, not a point: nothing says which of the two is the shadow
    walker = seen(track_at(3000.0, 0.0, -1.4, 0.0, number=1, sigma_m=10.0), (0,))
    walker.score.status = "confirmed"
    seed = seen(track_at(4000.0, 0.0, number=2, sigma_m=50.0), (0, 2))
    two = DuplicateConfig(shadow_min_imagers=2)
    assert find_duplicates([walker, seed], 100.5, TOWERS, two) == []
    # by default (a shadow needs one imager): the confirmed walker goes
    assert find_duplicates([walker, seed], 100.5, TOWERS, DuplicateConfig()) == [(walker, seed)]


def test_a_track_whose_two_imagers_both_see_another_on_its_bearings_is_its_shadow() -> None:
    # towers 0 and 1, 60 m apart, see the object at 3 km and a ghost 400 m beyond on nearly
    # one bearing each; tower 2 sees only the object: the ghost goes, whatever its status
    ghost = seen(track_at(3400.0, 0.0, number=1, sigma_m=30.0), (0, 1))
    ghost.score.status = "confirmed"
    real = seen(track_at(3000.0, 0.0, number=2, sigma_m=10.0), (0, 1, 2))
    for config in (DuplicateConfig(), DuplicateConfig(shadow_min_imagers=2)):
        assert find_duplicates([ghost, real], 100.5, TOWERS, config) == [(ghost, real)]


def test_an_alerted_track_is_not_dropped_as_the_shadow_of_another_familys_track() -> None:
    # fault-link-down (revisit initiator): a person's alerted track, seen lately by one imager,
    # passed a roe deer's confirmed track on that imager's ray and was dropped as its shadow;
    # the deer's track could not continue the person's alert, and the person alerted again
    def pair() -> tuple[Track, Track]:
        person = seen(track_at(3000.0, 0.0, -1.4, 0.0, number=1, sigma_m=10.0), (0,))
        person.score.status = "confirmed"
        person.alert_id, person.evidence.label = "a-000004", "person"
        deer = seen(track_at(3600.0, 0.0, number=2, sigma_m=20.0), (0, 2))
        deer.score.status = "confirmed"
        deer.evidence.label = "animal"
        return person, deer

    keep = DuplicateConfig(keep_alerted_shadow=True)
    person, deer = pair()
    assert find_duplicates([person, deer], 100.5, TOWERS, DuplicateConfig()) == [(person, deer)]
    assert find_duplicates([person, deer], 100.5, TOWERS, keep) == []
    # a shadow of its own family, or one without an alert, still goes
    person, deer = pair()
    deer.evidence.label = "group"
    assert find_duplicates([person, deer], 100.5, TOWERS, keep) == [(person, deer)]
    person, deer = pair()
    person.alert_id = None
    assert find_duplicates([person, deer], 100.5, TOWERS, keep) == [(person, deer)]
