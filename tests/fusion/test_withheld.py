"""Late detections withheld from the clutter map (:mod:`perimeter.fusion.withheld`,
``ManageConfig.late_clutter_withheld``)."""

from __future__ import annotations

import numpy as np

from perimeter.fusion.engine import FusionEngine
from perimeter.fusion.engine_config import EngineConfig
from perimeter.fusion.manage import ManageConfig
from perimeter.thresholds import Thresholds
from tests.fusion.helpers import scan_of, track_at

TOWERS = np.array([[0.0, 0.0], [0.0, 6000.0]])
KEY = (0, "thermal")


def _fed(withheld: bool, cap: int = ManageConfig().withheld_cap) -> tuple[FusionEngine, float]:
    """An unmoved track at 3 km from tower 0 takes that tower's late bearing of it in every
    frame for 100 s (in-order reports of tower 1 carry data time); the bearing's density
    over the sensor's mean (``cap``: the held detections kept per track)."""
    engine = FusionEngine(TOWERS, Thresholds(), EngineConfig(manage=ManageConfig(
        late_clutter=True, late_clutter_withheld=withheld, withheld_cap=cap)))
    engine.step(scan_of(1, (0.0, 6000.0), 0.0, []))
    engine.manager.tracks.append(track_at(3000.0, 0.0, number=7, t_s=0.0, sigma_m=2.0))
    for k in range(1, 200):
        engine.step(scan_of(1, (0.0, 6000.0), k * 0.5, []))
        late = scan_of(0, (0.0, 0.0), k * 0.5 - 0.002, [(3000.0, 0.0)])
        late.late = True
        engine.step(late)
    return engine, _ratio(engine, 100.0)


def _ratio(engine: FusionEngine, t_s: float) -> float:
    bearing = scan_of(0, (0.0, 0.0), 0.0, [(3000.0, 0.0)]).bearing_rad
    mean = engine.clutter_map.observe_mean(KEY, 1)
    (density,) = engine.clutter_map.densities(KEY, bearing, mean, t_s)
    return density / mean


def test_an_unmoved_tracks_late_detections_teach_the_map_only_without_withholding() -> None:
    for withheld in (False, True):
        engine, ratio = _fed(withheld)
        assert engine.manager.tracks[0].evidence.last_seen_by[KEY] > 99.0  # it took them
        assert (ratio > 2.0) is not withheld


def test_withheld_detections_teach_the_map_once_their_track_is_gone_unmoved() -> None:
    engine, before = _fed(True)
    assert engine.teacher.withheld is not None and len(engine.teacher.withheld.held[7]) > 150
    engine.manager.tracks.clear()
    engine.maintain(103.0)  # the movers refresh settles what was held
    assert engine.teacher.withheld.held == {}
    assert before < 2.0 < _ratio(engine, 103.0)


def test_withheld_detections_are_dropped_once_their_track_moves() -> None:
    engine, _ = _fed(True)
    assert engine.teacher.withheld is not None
    engine.teacher.withheld.settle({7}, {7}, engine.clutter_map, 103.0)  # track 7 known to move
    assert engine.teacher.withheld.held == {}
    assert _ratio(engine, 103.0) < 2.0


def test_a_tracks_held_detections_are_capped_the_oldest_dropped() -> None:
    """With a cap of 50 the unmoved track of 199 late detections keeps its newest 50; taught
    once it is gone, they raise its bearing's density less than the uncapped 199 do."""
    capped, _ = _fed(True, cap=50)
    uncapped, _ = _fed(True)
    kept, whole = capped.teacher.withheld, uncapped.teacher.withheld
    assert kept is not None and whole is not None
    held = kept.held[7]
    assert len(held) == 50 and kept.dropped == 149
    assert [t_s for _, _, t_s in held] == [t_s for _, _, t_s in whole.held[7]][-50:]
    for engine in (capped, uncapped):
        engine.manager.tracks.clear()
        engine.maintain(103.0)
    assert 1.0 < _ratio(capped, 103.0) < _ratio(uncapped, 103.0)
