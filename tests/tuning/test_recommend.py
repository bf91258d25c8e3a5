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


def test_a_choice_the_sample_cannot_separate_from_the_current_carries_a_warning() -> None:
    one_intrusion = recommend([point(0, 0, 1, 0.5, current=True), point(1, 1, 1, 0.5)], 1.0)
    assert one_intrusion.point is not None and one_intrusion.point.index == 1
    assert one_intrusion.warning is not None
    assert "cannot separate" in one_intrusion.warning and "1 intrusion" in one_intrusion.warning
    clear = recommend([point(0, 2, 40, 0.5, current=True), point(1, 38, 40, 0.5)], 1.0)
    assert clear.point is not None and clear.point.index == 1 and clear.warning is None
    staying = recommend([point(0, 1, 1, 0.0, current=True), point(1, 1, 1, 0.0)], 1.0)
    assert staying.point is not None and staying.point.current and staying.warning is None


def test_false_alert_counts_alone_can_separate_points() -> None:
    from perimeter.tuning.recommend import count_interval, inseparable

    assert count_interval(0)[0] == 0.0 and count_interval(0)[1] == pytest.approx(3.689, abs=1e-3)
    low, high = count_interval(10)
    assert low == pytest.approx(4.795, abs=1e-3) and high == pytest.approx(18.39, abs=1e-2)
    noisy = point(0, 5, 5, 1.0, current=True)
    quiet = point(1, 5, 5, 0.0)
    noisy = noisy.__class__(**{**{f: getattr(noisy, f) for f in noisy.__slots__},
                               "pooled": noisy.pooled.model_copy(update={"false_alerts": 30})})
    assert inseparable(quiet, noisy) is None  # 0 vs 30 false alerts: clearly apart
