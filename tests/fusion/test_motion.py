from __future__ import annotations

import math

import pytest

from perimeter.fusion.motion import motion_of


def test_straight_walk_has_speed_and_straightness_one() -> None:
    trail = [(2.0 * k, 3000.0 - 2.8 * k, 0.0) for k in range(31)]
    m = motion_of(trail)
    assert m is not None
    assert m.speed_mps == pytest.approx(1.4)
    assert m.straightness == pytest.approx(1.0)
    assert m.span_s == pytest.approx(60.0)


def test_back_and_forth_is_not_straight() -> None:
    trail = [(2.0 * k, 10.0 * math.sin(k / 5.0 * math.pi), 0.0) for k in range(31)]
    m = motion_of(trail)
    assert m is not None and m.straightness < 0.3


def test_too_short_a_trail_gives_nothing() -> None:
    assert motion_of([(0.0, 0.0, 0.0), (10.0, 10.0, 0.0)]) is None
    assert motion_of([]) is None


def test_only_the_recent_window_counts() -> None:
    old = [(2.0 * k, 0.0, 5.0 * k) for k in range(50)]  # fast, long ago
    recent = [(100.0 + 2.0 * k, 0.0, 245.0 + 1.0 * k) for k in range(1, 31)]
    m = motion_of(old + recent, window_s=60.0)
    assert m is not None and m.speed_mps == pytest.approx(0.5, rel=0.05)
