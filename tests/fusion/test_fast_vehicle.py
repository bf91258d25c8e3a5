from __future__ import annotations

import math

import numpy as np

from perimeter.fusion.classify import ClassModel
from perimeter.fusion.engine import FusionEngine
from perimeter.fusion.engine_config import EngineConfig
from perimeter.fusion.fast_vehicle import (
    FastVehicleConfig,
    record_hint,
    seen_vehicle,
    vehicle_evidence,
    velocity_sigma_bar,
)
from perimeter.fusion.manage import ManageConfig
from perimeter.fusion.scan import KIND_HINTS
from perimeter.fusion.track_evidence import TrackEvidence
from perimeter.thresholds import Thresholds
from tests.fusion.helpers import scan_of, track_at

ON = FastVehicleConfig(enabled=True, velocity_sigma_mps=1.5)
"""The fast path without its 3 m/s bar (the tests below were written for it)."""
ENGINE, FOOTSTEPS = KIND_HINTS.index("engine"), KIND_HINTS.index("footsteps")


def _heard(hints: list[tuple[int, int]]) -> bool:
    evidence = TrackEvidence()
    for tower, hint in hints:
        record_hint(evidence, tower, hint, ON)
    return evidence.heard_vehicle


def test_a_vehicle_is_heard_as_a_machine_by_two_towers_twice_each() -> None:
    assert _heard([(0, ENGINE), (0, ENGINE), (1, ENGINE), (1, ENGINE)])
    assert not _heard([(0, ENGINE)] * 6)  # one tower: a walker near it, misread
    assert not _heard([(0, ENGINE), (0, ENGINE), (1, ENGINE)])
    assert not _heard([(2, FOOTSTEPS)] * 5  # footsteps outnumber the machine
                      + [(0, ENGINE), (0, ENGINE), (1, ENGINE), (1, ENGINE)])


def _seen(size_m: float, speed_mps: float, shared_ago_s: float) -> bool:
    track = track_at(3000.0, 0.0, speed_mps, 0.0, t_s=0.0)
    track.evidence.features.sizes_m.extend([size_m, size_m * 1.05, size_m * 0.95])
    track.evidence.late_shared_t_s = 30.0 - shared_ago_s
    return seen_vehicle(track, 30.0, ON, ClassModel())


def test_a_large_fast_track_with_its_own_associations_is_seen_as_a_vehicle() -> None:
    assert _seen(2.5, 8.0, 20.0)
    assert not _seen(2.5, 8.0, 4.0)  # a late association 4 s ago was shared: stitched
    assert not _seen(1.4, 8.0, 20.0)  # no larger than an animal
    assert not _seen(2.5, 1.3, 20.0)  # a party abreast at a walker's pace
    two = track_at(3000.0, 0.0, 8.0, 0.0, t_s=0.0)
    two.evidence.features.sizes_m.extend([2.5, 2.6])
    assert not seen_vehicle(two, 30.0, ON, ClassModel())  # two readings: one may be clutter
    young = track_at(3000.0, 0.0, 8.0, 0.0, t_s=25.0)
    young.evidence.features.sizes_m.extend([2.5, 2.6, 2.4])
    assert not seen_vehicle(young, 30.0, ON, ClassModel())  # not yet own for 10 s
    assert not vehicle_evidence(young, 30.0, FastVehicleConfig(enabled=True, seen=False),
                                ClassModel())


def _run_car(hint: str, *, fast: bool) -> bool:
    """A car at 8 m/s seen by two imagers at every 5.5 s look and heard by their towers'
    arrays every second, every report of theirs late (milliseconds behind a third tower's,
    which sees nothing): whether its tentative track is ever confirmed."""
    towers = np.array([[0.0, 0.0], [3000.0, 0.0], [1500.0, 5000.0]])
    manage = ManageConfig(fast_vehicle=FastVehicleConfig(enabled=fast), late_scored=False)
    engine = FusionEngine(towers, Thresholds(), EngineConfig(manage=manage))
    for k in range(11 * 60):
        t_s = k * 0.5
        driving = k >= 11 * 40  # the revisit learned first, from each imager's hot spot
        car = (1000.0 + 8.0 * (t_s - 220.0), 2000.0)
        if k == 11 * 40:
            engine.manager.tracks.append(track_at(*car, 8.0, 0.0, number=1, t_s=t_s))
        engine.step(scan_of(2, (1500.0, 5000.0), t_s, []))  # in order: first of the frame
        for i in (0, 1):
            tower = (float(towers[i][0]), 0.0)
            points = [(-4000.0 + 8000.0 * i, 9000.0)] if k % 11 == 0 else []
            if driving and k % 11 == 4 * i:
                points.append(car)
            scan = scan_of(i, tower, t_s - 0.003 * (i + 1), points)
            scan.late = True
            engine.step(scan)
            if driving and k % 2 == i:
                sound = scan_of(i, tower, t_s - 0.004, [car], sensor="acoustic",
                                sigma_deg=3.0, hint=hint)
                sound.late = True
                engine.step(sound)
        if driving and k % 2 == 0:
            engine.maintain(t_s)
            if any(t.number == 1 and t.score.status == "confirmed" for t in engine.tracks):
                return True
    return False


def test_a_heard_car_whose_reports_all_come_late_is_confirmed_only_on_the_fast_path() -> None:
    assert _run_car("engine", fast=True)
    assert not _run_car("engine", fast=False)
    assert not _run_car("footsteps", fast=True)  # heard, but not as a machine


def test_the_fast_path_is_on_by_default_with_the_looser_bar_for_heard_tracks_only() -> None:
    default = ManageConfig().fast_vehicle
    assert default.enabled and default.velocity_sigma_mps == 3.0
    assert not default.velocity_bar_seen
    assert not math.isinf(ON.own_s) and ON.min_towers == 2


def test_without_vehicle_evidence_the_fast_path_changes_nothing() -> None:
    """A walker-sized slow track fed late reports: its score and the clutter map's sector
    mean are those of the default path (late reports scored for no one)."""
    results = []
    for fast in (False, True):
        manage = ManageConfig(fast_vehicle=FastVehicleConfig(enabled=fast), late_scored=False)
        engine = FusionEngine(np.array([[0.0, 0.0], [3000.0, 0.0]]), Thresholds(),
                              EngineConfig(manage=manage))
        track = track_at(1500.0, 2000.0, 1.2, 0.0, t_s=0.0)
        track.evidence.features.sizes_m.extend([0.8, 0.8, 0.8])
        engine.manager.tracks.append(track)
        for k in range(200):
            t_s = k * 0.5
            engine.step(scan_of(1, (3000.0, 0.0), t_s, [(1500.0 + 1.2 * t_s, 2000.0)]))
            late = scan_of(0, (0.0, 0.0), t_s - 0.003, [(1500.0 + 1.2 * t_s, 2000.0)]
                           if k % 11 == 0 else [(-900.0, 700.0)])
            late.late = True
            engine.step(late)
        results.append((track.score.llr, engine.clutter_map.mean_density((1, "thermal"), 0),
                        engine.clutter_map.mean_density((0, "thermal"), 0)))
    assert results[0] == results[1]


def test_a_vehicle_is_located_with_a_looser_velocity_bar_only_on_the_fast_path() -> None:
    bar = FastVehicleConfig(enabled=True, velocity_sigma_mps=3.0, velocity_bar_seen=True)
    heard_only = FastVehicleConfig()  # the default
    heard = track_at(3000.0, 0.0, 6.0, 0.0)
    heard.evidence.heard_vehicle = True
    seen = track_at(3000.0, 0.0, 6.0, 0.0)
    seen.evidence.seen_vehicle_t_s = 95.0
    plain = track_at(3000.0, 0.0, 6.0, 0.0)
    assert velocity_sigma_bar(heard, 100.0, bar, 1.5) == 3.0
    assert velocity_sigma_bar(seen, 100.0, bar, 1.5) == 3.0
    assert velocity_sigma_bar(seen, 120.0, bar, 1.5) == 1.5  # not seen for over 10 s
    assert velocity_sigma_bar(plain, 100.0, bar, 1.5) == 1.5
    assert velocity_sigma_bar(heard, 100.0, heard_only, 1.5) == 3.0
    assert velocity_sigma_bar(seen, 100.0, heard_only, 1.5) == 1.5
    assert velocity_sigma_bar(heard, 100.0, ON, 1.5) == 1.5  # the fast path's own default
    assert velocity_sigma_bar(heard, 100.0, FastVehicleConfig(enabled=False),
                              1.5) == 1.5  # off
