from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from perimeter.fusion.associate import assign, gate_d2


def test_gate_is_the_chi_square_quantile() -> None:
    assert gate_d2(0.997) == pytest.approx(chi2.ppf(0.997, 1))
    assert gate_d2(0.99, 2) == pytest.approx(9.21, rel=1e-3)


def test_global_assignment_beats_greedy() -> None:
    # Track 0 is slightly closer to detection 0, but only track 0 can explain detection 1...
    # greedy would give det 0 to track 0 and leave track 1 without its only candidate.
    nu = np.array([[0.10, 0.20], [0.15, 5.00]])
    s = np.full((2, 2), 0.01)
    found = assign(nu, s, gate_d2(0.997))
    pairs = dict(zip(found.tracks.tolist(), found.detections.tolist(), strict=True))
    assert pairs == {0: 1, 1: 0}


def test_detections_outside_every_gate_stay_unassigned() -> None:
    nu = np.array([[0.0, 10.0, 0.05]])
    s = np.full((1, 3), 0.01)
    found = assign(nu, s, gate_d2(0.997))
    assert found.tracks.tolist() == [0] and found.detections.tolist() == [0]
    assert found.in_some_gate.tolist() == [True, False, True]


def test_empty_inputs() -> None:
    found = assign(np.zeros((0, 3)), np.ones((0, 3)), 9.0)
    assert found.tracks.size == 0 and found.in_some_gate.tolist() == [False] * 3


def test_invalid_variances_never_pair_nor_crash() -> None:
    nu = np.array([[0.0, 0.0], [np.nan, 0.0]])
    s = np.array([[-1.0, 0.01], [0.01, np.nan]])
    found = assign(nu, s, gate_d2(0.997))
    assert found.tracks.tolist() == [0] and found.detections.tolist() == [1]
