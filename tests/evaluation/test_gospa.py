import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perimeter.contract import TracksSnapshot
from perimeter.evaluation.gospa import TruthAt, gospa, gospa_series

from .synth import EPOCH_S, target


def test_hand_computed_missed_target() -> None:
    # One pair 5 m apart, one target missed: sqrt(5^2 + 50^2 / 2).
    terms = gospa(np.array([[0.0, 0.0], [100.0, 0.0]]), np.array([[3.0, 4.0]]), cutoff_m=50.0)
    assert terms.gospa_m == pytest.approx(math.sqrt(25 + 1250))
    assert (terms.localisation_m, terms.missed, terms.false) == (pytest.approx(5.0), 1, 0)


def test_pair_beyond_cutoff_is_one_miss_and_one_false_track() -> None:
    terms = gospa(np.array([[0.0, 0.0]]), np.array([[100.0, 0.0]]), cutoff_m=50.0)
    assert terms.gospa_m == pytest.approx(50.0)
    assert (terms.missed, terms.false, terms.pairs) == (1, 1, ())


def test_assignment_is_optimal_not_greedy() -> None:
    truth = np.array([[0.0, 0.0], [4.0, 0.0]])
    est = np.array([[3.0, 0.0], [7.0, 0.0]])
    # Greedy takes (4,0)-(3,0) (1 m) then (0,0)-(7,0) (7 m): 1 + 49 = 50. Optimal 9 + 9 = 18.
    terms = gospa(truth, est, cutoff_m=100.0)
    assert terms.gospa_m == pytest.approx(math.sqrt(18.0))
    assert sorted(terms.pairs) == [(0, 0), (1, 1)]


def test_order_one_and_empty_sets() -> None:
    assert gospa(np.empty((0, 2)), np.empty((0, 2)), 50.0).gospa_m == 0.0
    only_false = gospa(np.empty((0, 2)), np.array([[1.0, 1.0], [2.0, 2.0]]), 50.0, p=1.0)
    assert only_false.gospa_m == pytest.approx(50.0)  # 2 * 50 / 2
    with pytest.raises(ValueError, match="cutoff_m"):
        gospa(np.empty((0, 2)), np.empty((0, 2)), 0.0)


def _snapshot(elapsed_s: float, tracks: list[tuple[str, str, float, float]]) -> TracksSnapshot:
    return TracksSnapshot.model_validate({"t_s": EPOCH_S + elapsed_s, "tracks": [
        {"track_id": k, "status": s, "position": {"x_m": x, "y_m": y},
         "velocity": {"vx_mps": 0.0, "vy_mps": 0.0}} for k, s, x, y in tracks]})


def test_series_counts_moving_targets_and_confirmed_tracks_only() -> None:
    walker = target("p1", "person", [(3000.0, 0.0), (2000.0, 0.0)], start_s=10.0, speed_mps=10.0)
    snaps = [
        _snapshot(5.0, [("k1", "confirmed", 3000.0, 0.0)]),          # before it moves: false
        _snapshot(20.0, [("k1", "confirmed", 2900.0, 30.0),          # 30 m off
                         ("k2", "tentative", 2900.0, 0.0)]),         # tentative: ignored
        _snapshot(60.0, [("k3", "confirmed", 2500.0, 0.0)]),         # re-acquired as k3
        _snapshot(200.0, []),                                        # it has stopped: nothing
    ]
    series = gospa_series(snaps, [walker], cutoff_m=100.0)
    assert [t.gospa_m for t in series.terms] == pytest.approx(
        [math.sqrt(5000.0), 30.0, 0.0, 0.0])
    assert series.tracks_by_target == {"p1": {"k1", "k3"}}


def test_series_with_a_shared_truth_memo_is_the_same() -> None:
    walker = target("p1", "person", [(3000.0, 0.0), (2000.0, 0.0)], start_s=10.0, speed_mps=10.0)
    snaps = [_snapshot(20.0, [("k1", "confirmed", 2900.0, 30.0)]),
             _snapshot(60.0, [("k3", "confirmed", 2500.0, 0.0)])]
    targets = [walker]
    memo = TruthAt(targets)
    first = gospa_series(snaps, targets, 100.0, truth_at=memo)
    again = gospa_series(snaps[::-1], targets, 100.0, truth_at=memo)
    assert [t.gospa_m for t in first.terms] == [t.gospa_m for t in again.terms][::-1] == \
        [t.gospa_m for t in gospa_series(snaps, targets, 100.0).terms]
    with pytest.raises(ValueError, match="truth_at"):
        gospa_series(snaps, [walker], 100.0, truth_at=memo)  # another list: not its targets


def _brute_force(truth: np.ndarray, est: np.ndarray, c: float, p: float) -> float:
    """Minimum over every partial assignment, straight from the GOSPA definition (alpha = 2)."""
    n, m = len(truth), len(est)
    best = math.inf
    small, large = (truth, est) if n <= m else (est, truth)
    for chosen in itertools.permutations(range(len(large)), len(small)):
        cost = 0.0
        for i, j in enumerate(chosen):
            d = float(np.linalg.norm(small[i] - large[j]))
            cost += min(d, c) ** p
        cost += c**p / 2 * (len(large) - len(small))
        best = min(best, cost)
    return best ** (1 / p)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 4), st.integers(0, 4), st.integers(0, 2**32 - 1),
       st.sampled_from([1.0, 2.0]))
def test_matches_brute_force_definition(n: int, m: int, seed: int, p: float) -> None:
    rng = np.random.default_rng(seed)
    truth, est = rng.uniform(0, 100, (n, 2)), rng.uniform(0, 100, (m, 2))
    assert gospa(truth, est, 40.0, p).gospa_m == pytest.approx(_brute_force(truth, est, 40.0, p))
