from __future__ import annotations

import math

import numpy as np
import pytest

from perimeter import geometry as g


def test_bearing_is_clockwise_from_north() -> None:
    assert g.bearing_deg((0, 0), (0, 10)) == pytest.approx(0.0)
    assert g.bearing_deg((0, 0), (10, 0)) == pytest.approx(90.0)
    assert g.bearing_deg((0, 0), (0, -10)) == pytest.approx(180.0)
    assert g.bearing_deg((0, 0), (-10, 0)) == pytest.approx(270.0)
    assert float(g.bearing_rad(np.zeros(2), np.array([1.0, 1.0]))) == pytest.approx(math.pi / 4)


def test_wrap_pi_keeps_angles_in_range() -> None:
    wrapped = g.wrap_pi(np.array([3 * math.pi, -3 * math.pi / 2, 0.1]))
    assert np.allclose(wrapped, [-math.pi, math.pi / 2, 0.1])


def test_two_bearings_intersect_at_the_target() -> None:
    target = np.array([3000.0, -400.0])
    p1, p2 = np.array([0.0, -2750.0]), np.array([0.0, 1250.0])
    xy, r1, r2 = g.intersect_pairs(p1, g.bearing_rad(p1, target), p2, g.bearing_rad(p2, target))
    assert np.allclose(xy, target, atol=1e-6)
    assert r1 == pytest.approx(np.hypot(*(target - p1)))
    assert r2 == pytest.approx(np.hypot(*(target - p2)))


def test_parallel_bearings_do_not_intersect_and_behind_is_negative() -> None:
    p1, p2 = np.array([0.0, 0.0]), np.array([0.0, 500.0])
    _, r1, _ = g.intersect_pairs(p1, np.array(math.pi / 2), p2, np.array(math.pi / 2))
    assert math.isnan(float(r1))
    # Both towers look west, diverging: the lines cross east, behind them.
    _, r1, r2 = g.intersect_pairs(p1, np.radians(260.0), p2, np.radians(280.0))
    assert float(r1) < 0 and float(r2) < 0


def test_triangulate_recovers_point_and_gives_the_cramer_rao_bound() -> None:
    rng = np.random.default_rng(3)
    towers = np.array([[0.0, y] for y in (-2750.0, -1250.0, 250.0, 1750.0)])
    target = np.array([4000.0, -300.0])
    sigma = np.full(4, math.radians(0.2))
    errors = []
    for _ in range(200):
        z = g.bearing_rad(towers, target) + rng.normal(0.0, sigma)
        xy, cov = g.triangulate(towers, z, sigma, target + 50.0)
        errors.append(xy - target)
    err = np.array(errors)
    crb = np.linalg.inv(g.fisher_information(towers, target, sigma))
    # The least-squares estimate is efficient here: its scatter matches the bound.
    assert np.trace(np.cov(err.T)) == pytest.approx(np.trace(crb), rel=0.3)
    assert np.trace(cov) == pytest.approx(np.trace(crb), rel=0.1)


def test_ellipse_orientation_is_a_bearing_of_the_major_axis() -> None:
    cov = np.diag([100.0**2, 10.0**2])  # long east-west
    major, minor, orientation = g.ellipse(cov)
    assert (major, minor) == pytest.approx((100.0, 10.0))
    assert orientation == pytest.approx(90.0)
    major, _, orientation = g.ellipse(np.diag([1.0, 400.0]))
    assert major == pytest.approx(20.0) and orientation == pytest.approx(0.0)


def test_distance_and_closing_speed_to_polyline() -> None:
    line = [(1000.0, -3000.0), (1000.0, 3000.0)]
    assert g.distance_to_polyline((3000.0, 0.0), line) == pytest.approx(2000.0)
    assert g.distance_to_polyline((1000.0, 4000.0), line) == pytest.approx(1000.0)
    assert g.closing_speed_mps((3000.0, 0.0), (-1.5, 0.3), line) == pytest.approx(1.5)
    assert g.closing_speed_mps((3000.0, 0.0), (2.0, 0.0), line) == pytest.approx(-2.0)


def test_point_in_polygon() -> None:
    square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    assert g.point_in_polygon((5.0, 5.0), square)
    assert not g.point_in_polygon((15.0, 5.0), square)


def test_segments_cross_and_polyline_crossing() -> None:
    assert g.segments_cross((0, 0), (2, 2), (0, 2), (2, 0))
    assert not g.segments_cross((0, 0), (1, 1), (0, 2), (2, 4))
    assert g.segments_cross((0, 0), (2, 0), (2, 0), (3, 5)), "touching counts"
    assert g.segments_cross((0, 0), (2, 0), (1, 0), (3, 0)), "collinear overlap"
    assert not g.segments_cross((0, 0), (1, 0), (2, 0), (3, 0)), "collinear apart"
    line = [(1000.0, -3000.0), (1000.0, 3000.0)]
    assert g.crosses_polyline((3000, 0), (900, 0), line)
    assert not g.crosses_polyline((3000, 0), (900, 3500), line)
