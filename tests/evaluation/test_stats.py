import math

import pytest

from perimeter.evaluation import stats


@pytest.mark.parametrize(("detected", "trials"), [(29, 29), (45, 46), (59, 61), (73, 76)])
def test_acceptance_table_clears_point_nine(detected: int, trials: int) -> None:
    bound = stats.pd_lower_bound(detected, trials)
    assert bound is not None and 0.9 <= bound < detected / trials


@pytest.mark.parametrize(("detected", "trials"), [(28, 29), (44, 46), (58, 61), (28, 28)])
def test_one_fewer_detection_falls_below_point_nine(detected: int, trials: int) -> None:
    bound = stats.pd_lower_bound(detected, trials)
    assert bound is not None and bound < 0.9


def test_all_detected_bound_is_closed_form() -> None:
    # For k = n the one-sided bound solves p^n = 0.05.
    assert stats.pd_lower_bound(29, 29) == pytest.approx(0.05 ** (1 / 29), rel=1e-9)


def test_edge_cases() -> None:
    assert stats.pd_lower_bound(0, 0) is None
    assert stats.pd_lower_bound(0, 5) == 0.0
    with pytest.raises(ValueError, match="detected"):
        stats.pd_lower_bound(6, 5)


def test_quantiles_skip_non_finite_and_empty() -> None:
    assert stats.median([1.0, 3.0, math.inf, 2.0]) == 2.0
    assert stats.quantile([0.0, 10.0], 0.9) == pytest.approx(9.0)
    assert stats.median([]) is None
    assert stats.mean([]) is None
    assert stats.ratio(1, 0) is None
