import math

import pytest

from perimeter.tuning.recommend import recommend
from tests.tuning.synth import point

POINTS = [
    point(0, 12, 20, 0.2, current=True),  # Pd 0.60
    point(1, 18, 20, 0.8),                # Pd 0.90
    point(2, 18, 20, 0.5),                # Pd 0.90, fewer false alerts: the tie-break winner
    point(3, 19, 20, 1.5),                # Pd 0.95 but over a 1.0 budget
    point(4, 0, 0, 0.0),                  # no intrusions: Pd undefined, never chosen
]


def test_highest_pd_within_the_budget_and_fewer_false_alerts_on_a_tie() -> None:
    choice = recommend(POINTS, 1.0)
    assert choice.point is not None and choice.point.index == 2
    assert choice.thresholds == {"alert.min_confidence": pytest.approx(0.2)}
    assert "0.900" in choice.reason


def test_a_looser_budget_buys_more_pd_and_a_tight_one_keeps_the_current() -> None:
    loose = recommend(POINTS, 2.0).point
    tight = recommend(POINTS, 0.3).point
    assert loose is not None and loose.index == 3
    assert tight is not None and tight.current


def test_no_point_within_the_budget_recommends_nothing_and_says_why() -> None:
    choice = recommend(POINTS, 0.1)
    assert choice.point is None and choice.thresholds == {}
    assert "0.2" in choice.reason


def test_bad_budget_is_refused_by_name() -> None:
    for bad in (-1.0, math.nan):
        with pytest.raises(ValueError, match="max_false_alerts_per_km_day"):
            recommend(POINTS, bad)
