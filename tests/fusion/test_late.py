"""The late path's evidence (:func:`perimeter.fusion.late.mark_ambiguous`,
``ManageConfig.late_ambiguity``)."""

from __future__ import annotations

import math

import numpy as np

from perimeter.fusion.engine import FusionEngine
from perimeter.fusion.engine_config import EngineConfig
from perimeter.fusion.manage import ManageConfig
from perimeter.fusion.track import Track
from perimeter.thresholds import Thresholds
from tests.fusion.helpers import scan_of, track_at

TOWERS = np.array([[0.0, 0.0], [0.0, 6000.0]])


def _engine(tracks: list[Track], *, marked: bool) -> FusionEngine:
    engine = FusionEngine(TOWERS, Thresholds(),
                          EngineConfig(manage=ManageConfig(late_ambiguity=marked)))
    engine.step(scan_of(1, (0.0, 6000.0), 100.0, []))  # in order: data time is 100 s
    engine.manager.tracks.extend(tracks)
    return engine


def _late(engine: FusionEngine, t_s: float, points: list[tuple[float, float]]) -> None:
    scan = scan_of(0, (0.0, 0.0), t_s, points)
    scan.late = True
    engine.step(scan)


def test_a_late_bearing_two_tracks_gate_marks_the_track_that_took_it_only_when_on() -> None:
    """Two tracks 3 m apart across tower 0's line of sight at 3 km (0.06 deg, within one
    0.1 deg sigma): its late bearing of one of them is in both gates."""
    for marked in (False, True):
        near = track_at(3000.0, 0.0, number=1, t_s=99.9)
        beside = track_at(3000.0, 3.0, number=2, t_s=99.9)
        engine = _engine([near, beside], marked=marked)
        _late(engine, 99.95, [(3000.0, 0.0)])
        took = near if near.evidence.last_seen_by else beside
        assert took.evidence.last_seen_by[(0, "thermal")] == 99.95  # updated either way
        assert (took.evidence.ambiguous_t_s == 99.95) is marked


def test_a_lone_track_with_one_bearing_in_its_gate_is_not_marked() -> None:
    track = track_at(3000.0, 0.0, number=1, t_s=99.9)
    far = track_at(3000.0, 600.0, number=2, t_s=99.9)  # 11 deg off: in no gate of it
    engine = _engine([track, far], marked=True)
    _late(engine, 99.95, [(3000.0, 0.0), (3000.0, 600.0)])
    assert track.evidence.last_seen_by[(0, "thermal")] == 99.95
    assert far.evidence.last_seen_by[(0, "thermal")] == 99.95
    assert track.evidence.ambiguous_t_s == -math.inf
    assert far.evidence.ambiguous_t_s == -math.inf


def test_several_bearings_in_one_track_gate_mark_it() -> None:
    """Two objects 3 m apart (a herd's, or wind clutter's) and one track: the bearing it took
    may be either's."""
    track = track_at(3000.0, 0.0, number=1, t_s=99.9)
    engine = _engine([track], marked=True)
    _late(engine, 99.95, [(3000.0, 0.0), (3000.0, 3.0)])
    assert track.evidence.ambiguous_t_s == 99.95


def test_a_late_mark_never_moves_the_last_ambiguity_back() -> None:
    track = track_at(3000.0, 0.0, number=1, t_s=99.9)
    track.evidence.ambiguous_t_s = 99.98  # an in-order report's, newer than the late one
    engine = _engine([track], marked=True)
    _late(engine, 99.95, [(3000.0, 0.0), (3000.0, 3.0)])
    assert track.evidence.ambiguous_t_s == 99.98


def test_late_reports_teach_the_clutter_map_only_when_on() -> None:
    """A hot spot tower 0 reports in every frame, always late: with ``late_clutter`` its
    bearing's clutter density rises above the sensor's mean, without it the map never
    learns the bearing (only in-order reports teach it)."""
    hot_bearing = scan_of(0, (0.0, 0.0), 0.0, [(3000.0, 0.0)]).bearing_rad
    for taught in (False, True):
        engine = FusionEngine(TOWERS, Thresholds(),
                              EngineConfig(manage=ManageConfig(late_clutter=taught)))
        for k in range(200):
            engine.step(scan_of(1, (0.0, 6000.0), k * 0.5, []))
            _late(engine, k * 0.5 - 0.002, [(3000.0, 0.0)])
        key = (0, "thermal")
        mean = engine.clutter_map.observe_mean(key, 1)
        (density,) = engine.clutter_map.densities(key, hot_bearing, mean, 100.0)
        assert (density > 2.0 * mean) is taught
