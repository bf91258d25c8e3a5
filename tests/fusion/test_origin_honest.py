"""Honest origins: movement that began in view, or entered view (and from where)."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest

from perimeter.contract import Origin, parse_payload
from perimeter.fusion.origin import CHI2_95_2DOF, honest_origin, origin_of
from perimeter.fusion.reach import Reach, ReachConfig
from perimeter.site import Site, TowerSpec, WatchZone, Zone
from tests.fusion.helpers import track_at

SITE = Site(
    name="test", perimeter=[(0.0, -3000.0), (0.0, 3000.0)],
    towers=[TowerSpec(id=f"T{i}", x_m=0.0, y_m=500.0 * (i - 1)) for i in range(3)],
    terrain=[Zone(kind="forest", polygon=[(1500, -1000), (3000, -1000), (3000, 1500),
                                          (1500, 1500)])],
    watch_zones=[WatchZone(name="approach",
                           polygon=[(0, -3000), (5000, -3000), (5000, 3000), (0, 3000)])])

WIDE = ReachConfig(default_reach_m=2000.0)
"""Two towers reach x = 1500 m (the forest's edge) from y = 500 m."""


def inside_95(origin: Origin, xy: tuple[float, float]) -> bool:
    ex, ey = xy[0] - origin.x_m, xy[1] - origin.y_m
    theta = math.radians(origin.orientation_deg)
    along = ex * math.sin(theta) + ey * math.cos(theta)
    across = ex * math.cos(theta) - ey * math.sin(theta)
    return (along / origin.sigma_major_m) ** 2 + (across / origin.sigma_minor_m) ** 2 \
        <= CHI2_95_2DOF


def walker(x_m: float, y_m: float, vx_mps: float) -> object:
    """A confirmed track first seen at ``(x_m, y_m)`` walking along x, located to 3 m."""
    track = track_at(x_m, y_m, vx_mps, 0.0, sigma_m=3.0)
    track.state.p[2, 2] = track.state.p[3, 3] = 0.01
    track.state.history.append(0.0, track.state.x, track.state.p, 0.05)
    return track


def test_the_view_behind_a_point_and_the_ground_out_of_view_beyond() -> None:
    reach = Reach(SITE, WIDE)
    view_m, unseen_m = reach.behind(np.array([1400.0, 500.0]), np.array([1.0, 0.0]), "small")
    assert view_m == pytest.approx(100.0, abs=25.0)  # to the forest's edge at x = 1500
    assert unseen_m == pytest.approx(3500.0, abs=25.0)  # forest, then out of reach, to 5000
    assert reach.hidden(np.array([[2000.0, 0.0], [1000.0, 0.0]])).tolist() == [True, False]


def learned(config: ReachConfig) -> Reach:
    """A reach whose towers have each seen ``min_samples`` small objects at 2 km."""
    reach = Reach(SITE, config)
    for i in range(len(SITE.towers)):
        reach._ranges[(i, "small")] = deque([2000.0] * config.min_samples)
    return reach


def test_movement_with_view_behind_it_began_there() -> None:
    # 700 m of view behind: more than a slow walker covers before a track follows it
    origin = honest_origin(walker(800.0, 500.0, -0.5), learned(WIDE))  # type: ignore[arg-type]
    assert origin is not None and origin.observed is True and origin.view_back_m is None
    assert origin.sigma_major_m < 10.0  # the filter's few metres and the start's lag


def pooled(config: ReachConfig, per_tower: int, range_m: float) -> Reach:
    """A reach whose towers have each seen ``per_tower`` small objects at ``range_m``."""
    reach = Reach(SITE, config)
    for i in range(len(SITE.towers)):
        reach._ranges[(i, "small")] = deque([range_m] * per_tower)
    return reach


def test_a_reach_learned_only_over_the_towers_together_is_learned() -> None:
    few = WIDE.min_samples // len(SITE.towers) + 1  # too few for any tower, enough for all
    reach = pooled(WIDE, few, 2200.0)
    assert reach.reach_m("small").tolist() == [2200.0] * 3  # the pooled quantile, not 2000
    assert reach.learned("small") and not reach.learned("vehicle")
    origin = honest_origin(walker(800.0, 500.0, -0.5), reach)  # type: ignore[arg-type]
    assert origin is not None and origin.observed is True  # as with each tower's own
    short = pooled(WIDE, (WIDE.min_samples - 1) // len(SITE.towers), 2200.0)
    assert short.reach_m("small").tolist() == [2000.0] * 3  # not enough even together
    assert not short.learned("small")


def test_until_the_reach_is_learned_no_movement_is_said_to_begin_in_view() -> None:
    origin = honest_origin(walker(800.0, 500.0, -0.5), Reach(SITE, WIDE))  # type: ignore[arg-type]
    assert origin is not None and origin.observed is False
    assert inside_95(origin, (2900.0, 500.0))  # it may have come out of the forest


def test_a_faster_mover_with_the_same_view_behind_it_entered() -> None:
    origin = honest_origin(walker(800.0, 500.0, -1.3), learned(WIDE))  # type: ignore[arg-type]
    assert origin is not None and origin.observed is False  # 880 m in 600 s: more than 700


def test_an_object_out_of_the_forest_entered_view_and_the_ellipse_covers_its_start() -> None:
    origin = honest_origin(walker(1400.0, 500.0, -1.3), Reach(SITE, WIDE))  # type: ignore[arg-type]
    assert origin is not None and origin.observed is False
    assert origin.view_back_m == pytest.approx(100.0, abs=25.0)
    assert (origin.x_m, origin.y_m) == pytest.approx((1400.0, 500.0))  # where first seen
    assert inside_95(origin, (2900.0, 500.0))  # walked out from deep in the forest
    assert inside_95(origin, (4800.0, 500.0))  # or from beyond it, out of reach
    assert inside_95(origin, (4000.0, 2000.0))  # or after a turn, out of the watch zone
    assert not inside_95(origin, (1400.0, 6000.0))  # not from anywhere at all
    assert origin.orientation_deg == pytest.approx(90.0, abs=10.0)  # along its track (the zone is
    # not symmetric about it)


def test_a_still_object_began_where_it_was_seen() -> None:
    # at the forest's edge, reach unlearned: a mover there would be said to have entered
    origin = honest_origin(walker(1400.0, 500.0, 0.0), Reach(SITE, WIDE))  # type: ignore[arg-type]
    assert origin is not None and origin.observed is True and origin.view_back_m is None
    assert (origin.x_m, origin.y_m) == pytest.approx((1400.0, 500.0))
    assert origin.sigma_major_m < 10.0  # the filter's few metres, no ground it came from
    # 0.3 m/s, not surely moving (0.1 m/s sigma) but not still either: it may have come in
    drifting = honest_origin(walker(1400.0, 500.0, 0.3), Reach(SITE, WIDE))  # type: ignore[arg-type]
    assert drifting is not None and drifting.observed is False
    assert drifting.sigma_major_m > 100.0 and inside_95(drifting, (2900.0, 500.0))


def test_old_origins_without_the_flag_stay_valid() -> None:
    old = parse_payload(Origin, '{"x_m": 1, "y_m": 2, "t_s": 3, "sigma_major_m": 4, '
                                '"sigma_minor_m": 1, "orientation_deg": 5}')
    assert old.observed is None and old.view_back_m is None


def test_an_object_first_seen_still_that_moves_on_may_have_stopped_there() -> None:
    track = walker(1400.0, 500.0, 0.0)  # still when first seen ...
    track.state.x[2] = -1.3  # ... walking west now: it may have come out of the forest
    origin = honest_origin(track, learned(WIDE))  # type: ignore[arg-type]
    assert origin is not None and origin.observed is False
    assert inside_95(origin, (2900.0, 500.0))


def test_carrying_the_origin_back_adds_the_process_noise_of_the_interval() -> None:
    track = walker(800.0, 500.0, -0.5)
    near = origin_of(track)
    track.first_t_s = -100.0  # first detected 100 s before the first filtered state
    far = origin_of(track)
    assert near is not None and far is not None
    assert (far.x_m, far.y_m) == pytest.approx((850.0, 500.0))
    # 3 m, 0.1 m/s over 100 s, and 0.05 m^2/s^3 of acceleration noise over 100 s (q t^3 / 3)
    assert far.sigma_minor_m == pytest.approx(
        math.sqrt(9.0 + 0.01 * 100.0**2 + 0.05 * 100.0**3 / 3.0), rel=1e-6)


def test_the_ground_back_to_the_edge_of_the_watch_zones() -> None:
    reach = Reach(SITE, WIDE)
    headings = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    edge_m = reach.to_edge(np.array([1400.0, 500.0]), headings)
    assert edge_m == pytest.approx([3600.0, 1400.0, 2500.0], abs=25.0)
    outside = reach.to_edge(np.array([-500.0, 0.0]), np.array([[-1.0, 0.0], [1.0, 0.0]]))
    assert np.isnan(outside[0])  # never enters a watch zone
    assert outside[1] == pytest.approx(5500.0, abs=25.0)  # through the zone to its far side
    bare = Reach(SITE.model_copy(update={"watch_zones": []}), WIDE)
    assert np.isnan(bare.to_edge(np.array([1400.0, 500.0]), headings)).all()


def test_a_retrodicted_start_is_the_origin_at_its_own_time() -> None:
    from perimeter.fusion.retrodict import Retrodicted

    track = walker(800.0, 500.0, -0.5)
    asked: list[tuple[float, str]] = []

    def retro(t_s: float, x: np.ndarray, p: np.ndarray, q: float,
              group: str) -> Retrodicted:
        asked.append((t_s, group))
        earlier = x + np.array([-x[2], -x[3], 0.0, 0.0]) * 200.0  # 200 s back along its path
        return Retrodicted(t_s - 200.0, earlier, p * 4.0, 40, 3)

    origin = honest_origin(track, learned(WIDE), retro=retro)  # type: ignore[arg-type]
    plain = honest_origin(track, learned(WIDE))  # type: ignore[arg-type]
    assert origin is not None and plain is not None and asked == [(plain.t_s, "small")]
    assert origin.t_s == pytest.approx(plain.t_s - 200.0)
    assert origin.x_m == pytest.approx(plain.x_m + 100.0) and origin.y_m == pytest.approx(500.0)
    assert origin.sigma_major_m > plain.sigma_major_m  # the retrodicted covariance's
