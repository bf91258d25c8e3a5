from __future__ import annotations

import math

import numpy as np

from perimeter.fusion.manage import ManageConfig, TrackManager, m_of_n
from perimeter.fusion.triangulate import Seed
from perimeter.thresholds import Thresholds
from tests.fusion.helpers import track_at


def test_m_of_n_window() -> None:
    assert m_of_n([7, 8, 10], 10, 3, 5)
    assert not m_of_n([5, 8, 10], 10, 3, 5)  # bin 5 is outside the last five (6..10)
    assert not m_of_n([9, 10], 10, 3, 5)


def test_create_numbers_tracks_from_the_first_number() -> None:
    manager = TrackManager(first_number=41)
    seed = Seed(5.0, 4.0, np.array([1.0, 2.0, 0.0, 0.0]), np.eye(4), [0, 1], ["thermal"])
    assert manager.create(seed).track_id == "k-000041"
    assert manager.create(seed).track_id == "k-000042"


def confirmable(bins: list[int], thermal_towers: set[int], llr: float = 10.0) -> TrackManager:
    manager = TrackManager()
    track = track_at(3000.0, 0.0)
    for b in bins:
        track.score.hit_bins.append(b)
    track.evidence.thermal_towers = thermal_towers
    track.evidence.previous_seen_by = {(tower, "thermal"): 9.5 for tower in thermal_towers}
    track.score.llr = llr
    manager.tracks.append(track)
    return manager


def test_confirmation_needs_m_of_n_two_thermal_towers_and_score() -> None:
    th = Thresholds().patched({"track.confirm_m": 3, "track.confirm_n": 5})
    assert len(confirmable([8, 9, 10], {1, 2}).confirmations(10.2, th)) == 1
    assert confirmable([9, 10], {1, 2}).confirmations(10.2, th) == []
    assert confirmable([8, 9, 10], {1}).confirmations(10.2, th) == []
    assert confirmable([8, 9, 10], {1, 2}, llr=-1.0).confirmations(10.2, th) == []
    th1 = Thresholds().patched({"track.confirm_m": 2, "track.confirm_n": 5})
    assert len(confirmable([9, 10], {1, 2}).confirmations(10.2, th1)) == 1


def test_tracks_are_deleted_after_max_coast() -> None:
    th = Thresholds().patched({"track.max_coast_s": 20.0})
    manager = TrackManager(ManageConfig(tentative_coast_s=6.0))
    confirmed, tentative = track_at(0, 0, number=1), track_at(500, 0, number=2)
    confirmed.score.status = "confirmed"
    confirmed.home_tower = tentative.home_tower = 3  # single-tower: no triangulation rule
    manager.tracks += [confirmed, tentative]
    assert manager.expire(7.0, th) == [tentative]
    assert manager.expire(19.0, th) == []
    assert manager.expire(21.0, th) == [confirmed]
    assert manager.tracks == []


def test_duplicates_merge_but_passing_targets_do_not() -> None:
    manager = TrackManager()
    a = track_at(3000.0, 0.0, -1.4, 0.0, number=1)
    a.alert_id = "a-000001"
    dup = track_at(3010.0, 5.0, -1.3, 0.0, number=2)
    passing = track_at(3005.0, 0.0, 6.0, 0.0, number=3)  # a vehicle passing the person
    manager.tracks += [a, dup, passing]
    assert manager.merge_duplicates(0.0, np.zeros((1, 2))) == [dup]
    assert [t.number for t in manager.tracks] == [1, 3]


def test_people_abreast_are_not_merged_where_an_imager_separates_them() -> None:
    # two walkers 40 m apart, same velocity, located to 15 m: their states agree (chi-square),
    # but the imager at the origin sees them 0.8 degrees apart at 3 km (sigma 0.1 degree)
    manager = TrackManager()
    a = track_at(3000.0, 0.0, -1.4, 0.0, number=1, sigma_m=15.0)
    b = track_at(3000.0, 40.0, -1.4, 0.0, number=2, sigma_m=15.0)
    for track in (a, b):
        track.evidence.last_seen_by[(0, "thermal")] = 0.0
        track.evidence.sigma_by[(0, "thermal")] = math.radians(0.1)
    manager.tracks += [a, b]
    assert manager.merge_duplicates(0.0, np.zeros((1, 2))) == []
    for track in (a, b):  # heard only: nothing tells them apart, so they are one object
        track.evidence.last_seen_by.clear()
    assert manager.merge_duplicates(0.5, np.zeros((1, 2))) == [b]


def test_revisit_aware_m_of_n_counts_revisit_bins() -> None:
    th = Thresholds().patched({"track.confirm_m": 3, "track.confirm_n": 5})
    # hits once per 5.5 s revisit (a scanning head): never 3 of 5 one-second bins
    bins = [0, 5, 11, 16, 22]
    staring = confirmable(bins, {1, 2})
    staring.tracks[0].evidence.previous_seen_by = {(1, "thermal"): 20.0, (2, "thermal"): 20.0}
    assert staring.confirmations(22.2, th) == []
    aware = confirmable(bins, {1, 2})
    aware.config = ManageConfig(revisit_aware=True)
    aware.revisit_s = 5.5
    aware.tracks[0].evidence.previous_seen_by = {(1, "thermal"): 12.0, (2, "thermal"): 12.0}
    assert len(aware.confirmations(22.2, th)) == 1  # and imaged within 3 revisits and 1 s


def test_revisit_aware_tentative_tracks_coast_two_revisits() -> None:
    th = Thresholds().patched({"track.max_coast_s": 30.0})
    aware = TrackManager(ManageConfig(revisit_aware=True))
    aware.revisit_s = 5.5
    plain = TrackManager(ManageConfig())
    for manager in (aware, plain):
        track = track_at(500, 0)
        track.home_tower = 3
        manager.tracks.append(track)
    assert plain.expire(7.0, th) != []
    assert aware.expire(11.5, th) == []
    assert aware.expire(12.5, th) != []
