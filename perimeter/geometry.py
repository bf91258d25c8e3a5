"""Plane geometry in the site frame: bearings, bearing intersections, polylines, ellipses.

Bearings are clockwise from grid north: a bearing ``b`` points along ``(sin b, cos b)``.
Functions taking arrays broadcast; angles in radians unless the name says ``_deg``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Point = tuple[float, float]

TWO_PI = 2.0 * math.pi


def wrap_pi(angle_rad: FloatArray | float) -> FloatArray:
    """Angles wrapped into [-pi, pi)."""
    return np.asarray((np.asarray(angle_rad) + math.pi) % TWO_PI - math.pi, dtype=np.float64)


def bearing_rad(from_xy: FloatArray, to_xy: FloatArray) -> FloatArray:
    """Bearing (clockwise from north, [0, 2pi)) from ``from_xy`` to ``to_xy`` (``(..., 2)``)."""
    d = np.asarray(to_xy, dtype=np.float64) - np.asarray(from_xy, dtype=np.float64)
    return np.asarray(np.arctan2(d[..., 0], d[..., 1]) % TWO_PI, dtype=np.float64)


def bearing_deg(from_xy: Point, to_xy: Point) -> float:
    """Bearing in degrees [0, 360) from one point to another."""
    return math.degrees(math.atan2(to_xy[0] - from_xy[0], to_xy[1] - from_xy[1])) % 360.0


def unit(bearing: FloatArray | float) -> FloatArray:
    """Unit direction vectors ``(..., 2)`` of bearings in radians."""
    b = np.asarray(bearing, dtype=np.float64)
    return np.stack([np.sin(b), np.cos(b)], axis=-1)


def intersect_pairs(p1: FloatArray, b1: FloatArray, p2: FloatArray,
                    b2: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Intersections of rays ``p1 + r1 u(b1)`` and ``p2 + r2 u(b2)`` (broadcast over pairs).

    Returns ``(xy, r1_m, r2_m)``; parallel rays give NaN. Negative ranges mean the lines cross
    behind a tower (no valid intersection).
    """
    u1, u2 = unit(b1), unit(b2)
    d = np.asarray(p2, dtype=np.float64) - np.asarray(p1, dtype=np.float64)
    # Solve [u1, -u2] [r1, r2]^T = d by Cramer's rule.
    det = -u1[..., 0] * u2[..., 1] + u1[..., 1] * u2[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        r1 = (-d[..., 0] * u2[..., 1] + d[..., 1] * u2[..., 0]) / det
        r2 = (u1[..., 0] * d[..., 1] - u1[..., 1] * d[..., 0]) / det
    bad = np.abs(det) < 1e-12
    r1 = np.where(bad, np.nan, r1)
    r2 = np.where(bad, np.nan, r2)
    xy = np.asarray(p1, dtype=np.float64) + r1[..., None] * u1
    return xy, r1, r2


def crossing_angle_rad(b1: FloatArray | float, b2: FloatArray | float) -> FloatArray:
    """Angle between two lines of bearing, in [0, pi/2]."""
    a = np.abs(wrap_pi(np.asarray(b1) - np.asarray(b2)))
    return np.minimum(a, math.pi - a)


def bearing_jacobian(towers_xy: FloatArray, xy: FloatArray) -> FloatArray:
    """d(bearing)/d(x, y) at ``xy`` from each tower: rows ``(dy/r^2, -dx/r^2)``."""
    d = np.asarray(xy, dtype=np.float64) - np.asarray(towers_xy, dtype=np.float64)
    r2 = np.maximum(d[..., 0] ** 2 + d[..., 1] ** 2, 1.0)
    return np.stack([d[..., 1] / r2, -d[..., 0] / r2], axis=-1)


def fisher_information(towers_xy: FloatArray, xy: FloatArray, sigma_rad: FloatArray) -> FloatArray:
    """Bearing-only Fisher information ``J = sum H^T H / sigma^2`` of a point (2x2)."""
    h = bearing_jacobian(towers_xy, xy)
    w = 1.0 / np.asarray(sigma_rad, dtype=np.float64) ** 2
    return np.asarray(np.einsum("n,ni,nj->ij", w, h, h), dtype=np.float64)


def triangulate(towers_xy: FloatArray, bearings_rad: FloatArray, sigma_rad: FloatArray,
                start_xy: FloatArray, iterations: int = 5) -> tuple[FloatArray, FloatArray]:
    """Weighted least-squares point from bearings (Gauss-Newton from ``start_xy``).

    Returns ``(xy, cov)`` with ``cov`` the inverse Fisher information (the Cramér-Rao bound).
    """
    xy = np.asarray(start_xy, dtype=np.float64).copy()
    towers = np.asarray(towers_xy, dtype=np.float64)
    w = 1.0 / np.asarray(sigma_rad, dtype=np.float64) ** 2
    for _ in range(iterations):
        h = bearing_jacobian(towers, xy)
        res = wrap_pi(np.asarray(bearings_rad) - bearing_rad(towers, xy))
        info = np.einsum("n,ni,nj->ij", w, h, h)
        grad = np.einsum("n,ni,n->i", w, h, res)
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            break
        xy = xy + step
        if float(np.hypot(step[0], step[1])) < 0.01:
            break
    info = fisher_information(towers, xy, np.asarray(sigma_rad))
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        cov = np.diag([1e12, 1e12])
    return xy, np.asarray(cov, dtype=np.float64)


def ellipse(cov: FloatArray) -> tuple[float, float, float]:
    """1-sigma ellipse of a 2x2 covariance: ``(sigma_major_m, sigma_minor_m, orientation_deg)``.

    The orientation is the major axis as a bearing in [0, 180).
    """
    c = np.asarray(cov, dtype=np.float64)[:2, :2]
    vals, vecs = np.linalg.eigh(0.5 * (c + c.T))
    vals = np.maximum(vals, 0.0)
    major = vecs[:, 1]
    orientation = math.degrees(math.atan2(major[0], major[1])) % 180.0
    return math.sqrt(vals[1]), math.sqrt(vals[0]), orientation


class Polyline:
    """A polyline's segments, prepared once for many nearest-point queries."""

    __slots__ = ("_a", "_ab", "_len2")

    def __init__(self, points: Sequence[Point]) -> None:
        pts = np.asarray(points, dtype=np.float64)
        self._a = pts[:-1]
        self._ab = pts[1:] - self._a
        self._len2 = np.maximum(np.einsum("ij,ij->i", self._ab, self._ab), 1e-12)

    def nearest(self, point: Point) -> tuple[float, Point]:
        """Distance from ``point`` to the polyline and the nearest point on it."""
        a, ab = self._a, self._ab
        p = np.asarray(point, dtype=np.float64)
        t = np.clip(np.einsum("ij,ij->i", p - a, ab) / self._len2, 0.0, 1.0)
        proj = a + t[:, None] * ab
        dist = np.hypot(proj[:, 0] - p[0], proj[:, 1] - p[1])
        i = int(np.argmin(dist))
        return float(dist[i]), (float(proj[i, 0]), float(proj[i, 1]))

    def distance_and_closing(self, point: Point, velocity_mps: Point) -> tuple[float, float]:
        """Distance (m) from ``point`` and the rate (m/s) at which it shrinks (positive:
        approaching)."""
        dist, near = self.nearest(point)
        if dist < 1e-9:
            return dist, math.hypot(*velocity_mps)
        ux, uy = (near[0] - point[0]) / dist, (near[1] - point[1]) / dist
        return dist, velocity_mps[0] * ux + velocity_mps[1] * uy


def nearest_on_polyline(point: Point, polyline: Sequence[Point]) -> tuple[float, Point]:
    """Distance from ``point`` to a polyline and the nearest point on it."""
    return Polyline(polyline).nearest(point)


def distance_to_polyline(point: Point, polyline: Sequence[Point]) -> float:
    """Shortest distance in metres from a point to a polyline."""
    return nearest_on_polyline(point, polyline)[0]


def closing_speed_mps(point: Point, velocity_mps: Point, polyline: Sequence[Point]) -> float:
    """Rate at which the distance to the polyline shrinks (positive when approaching)."""
    return Polyline(polyline).distance_and_closing(point, velocity_mps)[1]


def point_in_polygon(point: Point, polygon: Sequence[Point]) -> bool:
    """Even-odd rule test of a point against a polygon."""
    x, y = point
    inside = False
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y):
            x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < x_cross:
                inside = not inside
    return inside


def segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Whether segment ``a``-``b`` and segment ``c``-``d`` intersect (touching counts)."""

    def side(p: Point, q: Point, r: Point) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    d1, d2 = side(c, d, a), side(c, d, b)
    d3, d4 = side(a, b, c), side(a, b, d)
    if d1 * d2 > 0 or d3 * d4 > 0:
        return False
    if d1 == d2 == 0:  # collinear: overlapping extents
        return (min(a[0], b[0]) <= max(c[0], d[0]) and min(c[0], d[0]) <= max(a[0], b[0])
                and min(a[1], b[1]) <= max(c[1], d[1]) and min(c[1], d[1]) <= max(a[1], b[1]))
    return True


def crosses_polyline(a: Point, b: Point, line: Sequence[Point]) -> bool:
    """Whether segment ``a``-``b`` meets any segment of the polyline ``line``."""
    return any(segments_cross(a, b, p, q) for p, q in itertools.pairwise(line))
