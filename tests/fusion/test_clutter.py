"""The clutter map: hot spots at fixed azimuths lose their score, movers through them do not."""

from __future__ import annotations

import math

import numpy as np
import pytest

from perimeter.bus import Message
from perimeter.fusion.alert import AlertConfig
from perimeter.fusion.clutter import ClutterMap, ClutterMapConfig, moved
from perimeter.fusion.engine import EngineConfig, FusionEngine
from perimeter.fusion.replay import CollectingOutput
from perimeter.fusion.runner import FusionRunner
from perimeter.geometry import bearing_rad
from perimeter.site import western_heights
from perimeter.thresholds import Thresholds
from tests.fusion.helpers import scan_of, track_at
from tests.fusion.synth import EPOCH_S, Target, generate, straight

SITE = western_heights()
TOWERS = np.array([[0.0, 0.0], [0.0, 1000.0]])
HOT_XY = (2000.0, 1500.0)
OTHER_XY = (2000.0, -1500.0)  # same range from tower 0, far from the hot spot's azimuth


def test_the_map_learns_a_hot_spots_azimuth_and_only_there() -> None:
    cmap = ClutterMap()
    key = (0, "thermal")
    hot = float(bearing_rad(np.zeros(2), np.array(HOT_XY)))
    rng = np.random.default_rng(3)
    for k in range(600):  # 5 minutes at 2 Hz: the spot in one report of four, noise elsewhere
        bearings = [hot + rng.normal(0.0, math.radians(0.03))] if k % 4 == 0 else []
        bearings.append(rng.uniform(0.0, math.pi))
        b = np.array(bearings)
        cmap.learn(key, b, np.ones(b.size, dtype=bool), k * 0.5)
    mean = 1.25 / math.pi
    at_spot, beside = cmap.densities(key, np.array([hot, hot + math.radians(1.0)]), mean, 300.0)
    assert at_spot > 10.0 * mean  # ~0.25 per report in a 0.3 degree window
    assert beside == mean  # never below the sector mean
    assert cmap.densities((1, "thermal"), np.array([hot]), mean, 300.0) == [mean]


def test_a_learned_hot_spot_adds_less_to_a_tracks_score() -> None:
    engine = FusionEngine(TOWERS, Thresholds())
    for k in range(400):  # tower 0 sees the hot spot in every other report for 200 s
        engine.step(scan_of(0, (0.0, 0.0), k * 0.5, [HOT_XY] if k % 2 == 0 else []))
    engine.manager.tracks.clear()  # whatever the spot seeded
    on_spot, elsewhere = track_at(*HOT_XY, number=1000), track_at(*OTHER_XY, number=1001)
    engine.manager.tracks.extend([on_spot, elsewhere])
    engine.step(scan_of(0, (0.0, 0.0), 200.5, [HOT_XY, OTHER_XY]))
    assert on_spot.score.updates == elsewhere.score.updates == 1
    # the spot's density is ~ 0.5 per report over 0.3 degrees against the sector mean's
    assert elsewhere.score.llr - on_spot.score.llr > 3.0

    plain = FusionEngine(TOWERS, Thresholds(),
                         EngineConfig(clutter=ClutterMapConfig(enabled=False)))
    for k in range(400):
        plain.step(scan_of(0, (0.0, 0.0), k * 0.5, [HOT_XY] if k % 2 == 0 else []))
    plain.manager.tracks.clear()
    a, b = track_at(*HOT_XY, number=1000), track_at(*OTHER_XY, number=1001)
    plain.manager.tracks.extend([a, b])
    plain.step(scan_of(0, (0.0, 0.0), 200.5, [HOT_XY, OTHER_XY]))
    assert a.score.llr == pytest.approx(b.score.llr)  # one density per tower sensor: no difference


def _hot_spots(towers: tuple[str, ...]) -> list[Target]:
    """Fixed warm objects east of the ridge that only ``towers`` see."""
    spots = [(2500.0, 100.0), (2600.0, 700.0), (3100.0, -400.0)]
    return [straight(xy, (0.0, 0.0), EPOCH_S, EPOCH_S + 10_000.0, size_m=1.5,
                     only_towers=towers) for xy in spots]


def _run(messages: list[Message], **kw: object) -> tuple[FusionRunner, CollectingOutput]:
    out = CollectingOutput(keep_snapshots=True)
    runner = FusionRunner(SITE, Thresholds(), out, **kw)  # type: ignore[arg-type]
    for message in messages:
        runner.feed(message)
    runner.finish()
    return runner, out


def _confirmed_near(out: CollectingOutput, xy: tuple[float, float], radius_m: float) -> bool:
    return any(t.status == "confirmed"
               and math.hypot(t.position.x_m - xy[0], t.position.y_m - xy[1]) < radius_m
               for snap in out.snapshots for t in snap.tracks)


@pytest.fixture(scope="module")
def two_tower_spots() -> list[Message]:
    return generate(SITE, _hot_spots(("T06", "T07")), 300.0, np.random.default_rng(11),
                    pd=0.4, clutter_per_report=0.3)


def test_hot_spots_seen_by_two_towers_do_not_confirm_a_track(
        two_tower_spots: list[Message]) -> None:
    spots = [(2500.0, 100.0), (2600.0, 700.0), (3100.0, -400.0)]
    _, out = _run(two_tower_spots)
    assert not any(_confirmed_near(out, xy, 300.0) for xy in spots)
    assert [e for e in out.alerts if e.class_ != "tower_fault"] == []
    # the same stream without the map (one density per tower sensor) confirms them
    _, plain = _run(two_tower_spots,
                    engine_config=EngineConfig(clutter=ClutterMapConfig(enabled=False)),
                    alert_config=AlertConfig(require_motion=False))
    assert any(_confirmed_near(plain, xy, 300.0) for xy in spots)


def test_a_walker_through_the_hot_spots_azimuths_is_confirmed_and_alerted() -> None:
    # spots behind the walker's path that two towers see (as the site's hot spots are): their
    # lines of sight to the walker sweep across the spots' learned azimuths
    spots = [straight((4500.0, y), (0.0, 0.0), EPOCH_S, EPOCH_S + 10_000.0, size_m=1.5,
                      only_towers=("T04", "T05")) for y in (-1600.0, -1300.0, -1000.0, -700.0)]
    walker = straight((3000.0, -1700.0), (-0.3, 1.3), EPOCH_S + 120.0, EPOCH_S + 10_000.0,
                      size_m=0.75)
    messages = generate(SITE, [*spots, walker], 360.0, np.random.default_rng(12), pd=0.6,
                        clutter_per_report=0.3)
    _, out = _run(messages)
    new = [e for e in out.alerts if e.event == "new" and e.class_ != "tower_fault"]
    assert new, "the walker raised no alert"
    first = min(new, key=lambda e: e.t_s)
    x, y = walker.path(first.t_s)
    assert first.position is not None
    assert math.hypot(first.position.x_m - x, first.position.y_m - y) < 100.0
    assert first.t_s - (EPOCH_S + 120.0) < 120.0
    assert all(not _confirmed_near(out, (4500.0, y), 200.0)
               for y in (-1600.0, -1300.0, -1000.0, -700.0))


def test_moved_tells_a_walker_from_a_standing_object() -> None:
    walker, standing = track_at(0.0, 0.0, number=1), track_at(0.0, 0.0, number=2)
    for t in range(31):
        walker.state.history.append(float(t), np.array([1.4 * t, 0.0, 1.4, 0.0]),
                                    walker.state.p, 0.05)
        standing.state.history.append(float(t), np.zeros(4), standing.state.p, 0.05)
    walker.state.x = np.array([42.0, 0.0, 1.4, 0.0])
    assert moved(walker, 30.0) and not moved(standing, 30.0)
    assert not moved(walker, 5.0)  # followed less than 10 s
