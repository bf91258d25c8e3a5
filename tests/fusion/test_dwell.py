"""Late bearings no track holds taught to the clutter map once they have dwelt in their cell
(:mod:`perimeter.fusion.dwell`, ``ManageConfig.late_clutter_dwell``)."""

from __future__ import annotations

import math

import numpy as np

from perimeter.fusion.dwell import walker_dwell_s
from perimeter.fusion.engine import FusionEngine
from perimeter.fusion.engine_config import EngineConfig
from perimeter.fusion.manage import ManageConfig
from perimeter.thresholds import Thresholds
from tests.fusion.helpers import scan_of

TOWERS = np.array([[0.0, 0.0], [0.0, 6000.0]])
KEY = (0, "thermal")
LAG_S = 2.0
"""Tower 0's reports arrive this late: past ``late_initiation_s``, so they start no track."""


def _engine(dwell: bool, window: bool = False) -> FusionEngine:
    return FusionEngine(TOWERS, Thresholds(), EngineConfig(manage=ManageConfig(
        late_clutter=True, late_clutter_dwell=dwell, late_clutter_dwell_window=window)))


def _feed(engine: FusionEngine, frames: range, where: list[tuple[float, float]] | None,
          walk_mps: float = 0.0) -> None:
    """Tower 1's empty in-order reports carry data time; tower 0 reports, ``LAG_S`` late,
    one object at ``where`` (moving north at ``walk_mps``) or nothing."""
    for k in frames:
        t_s = k * 0.5
        engine.step(scan_of(1, (0.0, 6000.0), t_s, []))
        points = [] if where is None else [(x, y + walk_mps * (t_s - LAG_S)) for x, y in where]
        late = scan_of(0, (0.0, 0.0), t_s - LAG_S, points)
        late.late = True
        engine.step(late)


def _count(engine: FusionEngine, points: list[tuple[float, float]], t_s: float) -> float:
    bearings = scan_of(0, (0.0, 0.0), 0.0, points).bearing_rad.tolist()
    return sum(engine.clutter_map.counts_at(KEY, bearings, t_s))


def test_the_dwell_is_derived_from_the_nominal_values() -> None:
    """0.3 deg (the density window) x 5.5 km over 1.1 m/s x sin 30 deg."""
    assert math.isclose(walker_dwell_s(), math.radians(0.3) * 5500.0 / 0.55)
    assert 50.0 < walker_dwell_s() < 55.0


def test_a_persistent_bearing_is_taught_after_the_dwell_with_its_earlier_detections() -> None:
    """A hot spot at 3 km that tower 0 reports late in every frame: with the gate its bearing
    teaches nothing for a dwell, then everything since it began, faded as if taught then."""
    spot = [(3000.0, 0.0)]
    plain, gated = _engine(False), _engine(True)
    _feed(plain, range(1, 80), spot)
    _feed(gated, range(1, 80), spot)  # 38 s of late data time: less than the dwell
    assert not plain.tracks and not gated.tracks
    assert _count(plain, spot, 40.0) > 50.0
    assert _count(gated, spot, 40.0) == 0.0
    _feed(plain, range(80, 240), spot)
    _feed(gated, range(80, 240), spot)  # 118 s: it has dwelt
    assert gated.teacher.dwell is not None and gated.teacher.dwell.released > 100
    assert math.isclose(_count(gated, spot, 120.0), _count(plain, spot, 120.0), rel_tol=1e-9)


def test_a_passing_walkers_bearings_are_never_taught() -> None:
    """A walker 3 km from tower 0 crossing its line of sight at 1.1 m/s for 200 s (4 deg of
    bearing): it stays some seconds in each cell, so none of its late bearings teaches the
    map with the gate, and all do without; once it has gone its waiting runs are forgotten."""
    start = [(3000.0, -110.0)]
    path = [(3000.0, -110.0 + 1.1 * t) for t in range(0, 200, 2)]
    plain, gated = _engine(False), _engine(True)
    for engine in (plain, gated):
        _feed(engine, range(1, 400), start, walk_mps=1.1)
        assert not engine.tracks
    assert _count(plain, path, 200.0) > 100.0
    assert _count(gated, path, 200.0) == 0.0
    assert gated.teacher.dwell is not None and gated.teacher.dwell.released == 0
    _feed(gated, range(400, 640), None)  # 120 s more without it
    assert _count(gated, path, 320.0) == 0.0
    assert gated.teacher.dwell.runs[KEY] == {}


def _wandering(engine: FusionEngine, frames: range) -> list[tuple[float, float]]:
    """Tower 0 reports late, in every frame, one object 3 km out that stays 30 s in each of
    three neighbouring 0.1 deg cells in turn (bearings 90.05, 90.15, 90.25 deg): it never
    leaves the 0.3 deg window, but each cell is silent 60 s, longer than the dwell, between
    its visits. Its three positions."""
    spots = [(3000.0 * math.sin(math.radians(b)), 3000.0 * math.cos(math.radians(b)))
             for b in (90.05, 90.15, 90.25)]
    for k in frames:
        t_s = k * 0.5
        engine.step(scan_of(1, (0.0, 6000.0), t_s, []))
        late = scan_of(0, (0.0, 0.0), t_s - LAG_S, [spots[int((t_s - LAG_S) // 30.0) % 3]])
        late.late = True
        engine.step(late)
    return spots


def test_a_bearing_wandering_within_the_window_is_taught_only_by_the_window_run() -> None:
    """Each cell's own run lasts 30 s and ends in a silence longer than the dwell, so the
    cell gate never teaches the object (a herd grazing in place, a slow animal); over the
    0.3 deg window the runs join and it is taught once they span the dwell."""
    cell, window = _engine(True), _engine(True, window=True)
    spots = _wandering(cell, range(1, 500))
    _wandering(window, range(1, 500))  # 248 s of late data time
    assert not cell.tracks and not window.tracks
    first_cells = {cell.clutter_map.cell_of(b) for b in
                   scan_of(0, (0.0, 0.0), 0.0, spots).bearing_rad.tolist()}
    assert len(first_cells) == 3 and max(first_cells) - min(first_cells) == 2
    assert _count(cell, spots, 248.0) == 0.0
    assert cell.teacher.dwell is not None and cell.teacher.dwell.released == 0
    assert _count(window, spots, 248.0) > 100.0
    assert window.teacher.dwell is not None and window.teacher.dwell.released > 0


def test_the_window_run_still_never_teaches_a_passing_walker() -> None:
    """The walker of the test above crosses the 0.3 deg window (16 m at 3 km) in 14 s: no
    window run of its bearings lasts the dwell either."""
    start = [(3000.0, -110.0)]
    path = [(3000.0, -110.0 + 1.1 * t) for t in range(0, 200, 2)]
    window = _engine(True, window=True)
    _feed(window, range(1, 400), start, walk_mps=1.1)
    assert not window.tracks
    assert _count(window, path, 200.0) == 0.0
    assert window.teacher.dwell is not None and window.teacher.dwell.released == 0
