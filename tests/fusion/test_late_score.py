from __future__ import annotations

import math

import numpy as np

from perimeter.fusion.engine import FusionEngine
from perimeter.fusion.engine_config import EngineConfig
from perimeter.fusion.fast_vehicle import FastVehicleConfig
from perimeter.fusion.late_score import charge_misses, hit_gain
from perimeter.fusion.manage import ManageConfig
from perimeter.thresholds import Thresholds
from tests.fusion.helpers import scan_of, track_at

TOWERS = np.array([[0.0, 0.0], [0.0, 60_000.0]])
HOT_SPOT = (-5000.0, 60_000.0)


def _engine(*, late_scored: bool) -> FusionEngine:
    """Tower 1's imager sees a hot spot every 11th frame of 0.5 s (a 5.5 s revisit, learned);
    tower 0's imager reports every frame, ``late`` (a few milliseconds behind tower 1). The
    vehicles' fast path (which reads the looks too) is off: late reports scored for all or
    for none."""
    manage = ManageConfig(late_scored=late_scored,
                          fast_vehicle=FastVehicleConfig(enabled=False))
    engine = FusionEngine(TOWERS, Thresholds(), EngineConfig(manage=manage))
    for k in range(11 * 40):
        engine.step(scan_of(1, (0.0, 60_000.0), k * 0.5, [HOT_SPOT] if k % 11 == 0 else []))
        engine.step(_late(k * 0.5 - 0.002, [HOT_SPOT] if k % 11 == 5 else []))
    assert engine.looks.frames((0, "thermal")) == (11 if late_scored else 1)  # learned if read
    return engine


def _late(t_s: float, points: list[tuple[float, float]]):  # type: ignore[no-untyped-def]
    scan = scan_of(0, (0.0, 0.0), t_s, points)
    scan.late = True
    return scan


def test_hit_gain_is_the_log_likelihood_ratio_of_a_bearing() -> None:
    s = 1e-6
    expected = math.log(0.8 * math.exp(-0.5) / math.sqrt(2 * math.pi * s) / 2.0)
    assert math.isclose(hit_gain(2.0, math.sqrt(s), s, math.log(0.8)), expected)


def test_a_late_report_scores_its_hit_only_when_late_reports_are_scored() -> None:
    for scored in (False, True):
        engine = _engine(late_scored=scored)
        track = track_at(3000.0, 0.0, number=1, t_s=219.9)
        engine.manager.tracks.append(track)
        engine.step(_late(219.998, [(3000.0, 0.0)]))
        assert track.evidence.last_seen_by[(0, "thermal")] == 219.998  # updated either way
        assert (track.score.llr > 0.0) is scored


def test_a_late_report_charges_a_miss_only_at_a_look() -> None:
    engine = _engine(late_scored=True)
    track = track_at(3000.0, 0.0, number=1, t_s=219.9)
    engine.manager.tracks.append(track)
    engine.step(_late(219.998, [(3000.0, 0.0)]))
    llr = track.score.llr
    for k in range(1, 11):  # the ten frames between two looks say nothing
        engine.step(_late(219.998 + 0.5 * k, []))
    assert track.score.llr == llr
    engine.step(_late(219.998 + 5.5, []))  # the next look at it missed it
    assert math.isclose(track.score.llr - llr, math.log(1.0 - 2.0 / 3.0))


def _charged(seen_s: list[float], hit: set[int], *, late: bool) -> list[bool]:
    """Which of the tracks the imager last saw at ``seen_s`` a report at 100 s charges a
    miss (window 10 s; every report a look: no revisit learned)."""
    tracks = [track_at(3000.0, 0.0, number=n, t_s=90.0) for n in range(len(seen_s))]
    for track, t_s in zip(tracks, seen_s, strict=True):
        track.evidence.last_seen_by[(0, "thermal")] = t_s
    scan = scan_of(0, (0.0, 0.0), 100.0, [])
    scan.late = late
    charge_misses(tracks, hit, scan, 10.0, None)
    return [track.score.llr < 0.0 for track in tracks]


def test_a_miss_is_charged_to_the_tracks_seen_within_the_window_and_not_hit() -> None:
    for late in (False, True):
        assert _charged([99.0, 80.0, 99.0], {2}, late=late) == [True, False, False]


def test_a_late_report_missed_nothing_its_sensor_saw_at_or_after_it() -> None:
    assert _charged([99.0, 100.0, 102.0], set(), late=True) == [True, False, False]


def test_a_late_scored_walker_is_confirmed_and_a_track_on_clutter_is_not() -> None:
    """A walker seen at every 5.5 s look by two imagers whose reports arrive milliseconds
    behind a third tower's, so that every one of them is late: its tentative track is
    confirmed when late reports are scored, and without that never (only the third tower's
    in-order reports score, and they do not see it). A second tentative track 400 m off the
    walker, where the imagers' clutter falls at random, is never confirmed."""
    towers = np.array([[0.0, 0.0], [3000.0, 0.0], [1500.0, 5000.0]])
    confirmed = {}
    for scored in (False, True):
        rng = np.random.default_rng(7)
        engine = FusionEngine(towers, Thresholds(),
                              EngineConfig(manage=ManageConfig(late_scored=scored)))
        ever: set[int] = set()
        for k in range(11 * 60):
            t_s = k * 0.5
            walking = k >= 11 * 40  # the revisit learned first, from each imager's hot spot
            walker = (1500.0 + 1.2 * (t_s - 220.0), 2000.0)
            if k == 11 * 40:
                engine.manager.tracks += [track_at(*walker, 1.2, 0.0, number=1, t_s=t_s),
                                          track_at(walker[0], 2400.0, number=2, t_s=t_s)]
            engine.step(scan_of(2, (1500.0, 5000.0), t_s, []))  # in order: first of the frame
            for i in (0, 1):
                points = [(-4000.0 + 8000.0 * i, 9000.0)] if k % 11 == 0 else []
                if walking and k % 11 == 4 * i:
                    points.append(walker)
                if rng.random() < 0.3:  # clutter anywhere in a quarter of the sector
                    b = rng.uniform(0.0, math.pi / 2) - (math.pi / 2) * i
                    points.append((towers[i][0] + 2500.0 * math.sin(b),
                                   towers[i][1] + 2500.0 * math.cos(b)))
                scan = scan_of(i, (float(towers[i][0]), 0.0), t_s - 0.003 * (i + 1), points)
                scan.late = True
                engine.step(scan)
            if walking and k % 2 == 0:
                engine.maintain(t_s)
                ever |= {t.number for t in engine.tracks if t.score.status == "confirmed"}
        confirmed[scored] = ever
    assert confirmed == {False: set(), True: {1}}
