"""The landmark shift check: a knocked mast against the chance of a shift that fits."""

from __future__ import annotations

import math

import numpy as np

from perimeter.fusion.landmark_peaks import LandmarkConfig
from perimeter.fusion.landmark_shift import ShiftWatch, best_shift, chance_probability
from perimeter.fusion.landmarks import Landmark, Landmarks

SEARCH = math.radians(3.0)
TOL = math.radians(0.06)
MIN_JUMP = math.radians(0.1)
FALSE_ALARM = 1e-3 * 20.0 / 3600.0  # RegistrationConfig's default per tower and check


def _landmarks(bearings_deg: np.ndarray, range_m: float = 3000.0) -> Landmarks:
    """Landmarks at ``bearings_deg`` from tower 0 (at the origin), each placed by towers
    1-5."""
    towers = np.array([[0.0, 0.0]] + [[-500.0 * k, 200.0 * k] for k in range(1, 6)])
    marks = Landmarks(towers, LandmarkConfig())
    b = np.radians(bearings_deg)
    marks.landmarks = [Landmark(np.array([range_m * math.sin(a), range_m * math.cos(a)]),
                                {k: 0 for k in range(1, 6)}, np.zeros(5), np.zeros((5, 2)))
                       for a in b]
    return marks


def _watch() -> ShiftWatch:
    return ShiftWatch(6, search_rad=SEARCH, tol_rad=TOL, min_jump_rad=MIN_JUMP,
                      false_alarm=FALSE_ALARM)


def _flags(marks: Landmarks, peaks_deg: np.ndarray, checks: int = 5) -> list[tuple[int,
                                                                                     float]]:
    """Tower 0 registered at zero bias, its active peaks ``peaks_deg`` at every check."""
    watch, jumps = _watch(), []
    theta = np.zeros(6)
    peaks = np.radians(peaks_deg) % (2.0 * math.pi)
    for _ in range(checks):
        jumps += watch.check(marks, np.zeros(peaks.size, dtype=np.int64), peaks, theta,
                             [True] * 6, 5)
    return jumps


def test_three_landmarks_matched_by_chance_are_no_jump() -> None:
    # animals-only: a dozen landmarks in a 30 deg sector, a dozen peaks of animals at rest
    # and clutter; the tower sees one landmark now, and three others sit 0.8 deg off a peak
    rng = np.random.default_rng(11)
    lm = np.sort(rng.uniform(100.0, 130.0, 12))
    others = rng.uniform(100.0, 130.0, 30)
    others = others[np.abs(others[:, None] - lm[None, :]).min(axis=1) > 0.2][:9]
    peaks = np.concatenate([[lm[0]], lm[[3, 6, 9]] + 0.8, others])
    found = best_shift(np.radians(lm), np.radians(peaks), SEARCH, TOL)
    assert found is not None and found.count >= max(3, 2 * found.count_at_zero + 1)
    assert abs(math.degrees(found.shift_rad) - 0.8) < 0.06  # the fixed count would flag it
    assert _flags(_landmarks(lm), peaks) == []


def test_a_knocked_mast_is_flagged_after_three_checks() -> None:
    lm = np.linspace(100.0, 130.0, 12)
    rng = np.random.default_rng(12)
    peaks = np.concatenate([lm[:8] + 1.0, rng.uniform(100.0, 130.0, 4)])
    watch, theta = _watch(), np.zeros(6)
    marks = _landmarks(lm)
    flagged = []
    for _ in range(3):  # every 20 s: flagged at the third check, as before
        flagged.append(watch.check(marks, np.zeros(peaks.size, dtype=np.int64),
                                   np.radians(peaks), theta, [True] * 6, 5))
    assert flagged[:2] == [[], []]
    assert len(flagged[2]) == 1 and flagged[2][0][0] == 0
    assert abs(math.degrees(flagged[2][0][1]) - 1.0) < 0.03
    assert watch.probability[0] < 0.1 * FALSE_ALARM


def test_the_chance_probability_bounds_the_false_alarm_rate() -> None:
    # random peaks against landmarks: the share of trials whose best shift has a chance
    # probability of q or less is at most q (the binomial bound and union are conservative)
    rng = np.random.default_rng(13)
    for level in (0.05, 0.2):
        hits = 0
        trials = 1500
        for _ in range(trials):
            lm = np.radians(rng.uniform(100.0, 130.0, rng.integers(6, 17)))
            peaks = np.radians(rng.uniform(100.0, 130.0, rng.integers(5, 30)))
            found = best_shift(lm, peaks, SEARCH, TOL)
            if found is None or abs(found.shift_rad) < MIN_JUMP:
                continue
            hits += chance_probability(lm, peaks, found.count, SEARCH, TOL, MIN_JUMP) <= level
        assert hits <= level * trials


def test_the_chance_probability_falls_with_the_count_and_rises_with_the_peaks() -> None:
    lm = np.radians(np.linspace(100.0, 130.0, 12))
    few = np.radians(np.linspace(101.0, 129.0, 5))
    many = np.radians(np.linspace(100.1, 129.9, 40))
    p = [chance_probability(lm, few, k, SEARCH, TOL, MIN_JUMP) for k in (2, 3, 5)]
    assert p[0] > p[1] > p[2]
    assert chance_probability(lm, many, 3, SEARCH, TOL, MIN_JUMP) > p[1]
    assert chance_probability(lm, few, 0, SEARCH, TOL, MIN_JUMP) == 1.0
    assert chance_probability(np.zeros(0), few, 3, SEARCH, TOL, MIN_JUMP) == 1.0


def test_a_tower_never_registered_is_acquired_on_weaker_evidence() -> None:
    # default's T12: a stray snapshot put it 1 deg off; three of five landmarks at one shift
    # are too weak to flag a jump on a registered mast, enough for an association hint
    lm = np.array([60.0, 80.0, 100.0, 120.0, 140.0])
    peaks = np.radians(lm[:3] + 1.0)
    marks, watch, theta = _landmarks(lm), _watch(), np.zeros(6)
    watch.check(marks, np.zeros(3, dtype=np.int64), peaks, theta, [False] * 6, 5)
    assert FALSE_ALARM < watch.probability[0] <= watch.hint_false_alarm
    hinted = watch.association_theta(theta, [False] * 6)
    assert abs(math.degrees(hinted[0]) - 1.0) < 0.03
    registered = _watch()  # the same peaks on a registered mast: no jump, ever
    jumps = [registered.check(marks, np.zeros(3, dtype=np.int64), peaks, theta, [True] * 6, 5)
             for _ in range(5)]
    assert jumps == [[]] * 5
