from __future__ import annotations

from perimeter.fusion.classify import ClassModel
from perimeter.fusion.trail_jumps import own_trail, top_speed_mps


def _top() -> float:
    model = ClassModel()
    return top_speed_mps(model.speed_mean_mps["vehicle"], model.vehicle_speed_log_sigma)


def test_the_fastest_object_is_the_vehicles_log_normal_at_three_sigma() -> None:
    assert 18.0 < _top() < 26.0  # 3-15 m/s read as +/- 2 sigma in log: 22 m/s at 3 sigma


def test_a_step_no_object_makes_beyond_its_claimed_errors_cuts_the_trail() -> None:
    # a walker followed 150 m off claiming 11 m, then pulled onto it: 163 m in 3.5 s
    before = [(2.0 * k, 1600.0 - 1.3 * 2.0 * k, 1560.0) for k in range(10)]
    after = [(21.5 + 2.0 * k, 1430.0 - 1.3 * 2.0 * k, 1577.0) for k in range(10)]
    sigmas = [11.0] * 10 + [2.4] * 10
    assert list(own_trail(before + after, sigmas, _top())) == after


def test_a_fast_car_and_an_honestly_uncertain_step_are_motion() -> None:
    car = [(2.0 * k, 15.0 * 2.0 * k, 0.0) for k in range(20)]
    assert list(own_trail(car, [3.0] * 20, _top())) == car
    # 100 m in 3.5 s is no object's pace, but within three of the errors claimed (30 m)
    wide = [(0.0, 0.0, 0.0), (2.0, 2.6, 0.0), (5.5, 102.6, 0.0), (7.5, 105.2, 0.0)]
    assert list(own_trail(wide, [30.0] * 4, _top())) == wide


def test_a_trail_without_the_filters_errors_is_taken_whole() -> None:
    trail = [(0.0, 0.0, 0.0), (2.0, 500.0, 0.0), (4.0, 502.0, 0.0)]
    assert list(own_trail(trail, [], _top())) == trail
