"""Registration's snapshot collection: raw thermal bearings paired with confirmed tracks."""

from __future__ import annotations

import math

import numpy as np

from perimeter.fusion.registration_fit import RegistrationConfig, Snapshot
from perimeter.fusion.registration_snapshots import SnapshotCollector
from perimeter.fusion.track import Track
from tests.fusion.helpers import track_at

TOWERS_XY = np.array([[0.0, 0.0], [2000.0, 0.0], [0.0, 2000.0], [2000.0, 2000.0]])
TARGET_XY = (1000.0, 1300.0)


def _confirmed(sigma_m: float = 5.0) -> list[Track]:
    track = track_at(*TARGET_XY, number=7, sigma_m=sigma_m)
    track.score.status = "confirmed"
    track.evidence.thermal_towers.update({0, 1})
    return [track]


def _raw_deg(k: int, bias_deg: float = 0.0) -> float:
    dx, dy = TARGET_XY[0] - TOWERS_XY[k, 0], TARGET_XY[1] - TOWERS_XY[k, 1]
    return math.degrees(math.atan2(dx, dy)) + bias_deg


def _feed(collector: SnapshotCollector, extra_deg: list[float] | None = None,
          bias_deg: float = 0.0, theta_deg: float = 0.0) -> list[Snapshot]:
    """Two bearings per tower, 1.2 s apart; what the scans finished."""
    finished: list[Snapshot] = []
    for t_s in (0.0, 1.2):
        for k in range(len(TOWERS_XY)):
            z_deg = [_raw_deg(k, bias_deg), *(extra_deg or [])] if k == 0 else [
                _raw_deg(k, bias_deg)]
            z_rad = [math.radians(z) for z in z_deg]
            finished += collector.pair(k, t_s + 0.01 * k, z_rad,
                                       np.full(len(z_rad), math.radians(0.1)),
                                       math.radians(theta_deg))
    return finished


def test_a_confirmed_track_seen_by_four_towers_makes_one_snapshot() -> None:
    collector = SnapshotCollector(TOWERS_XY, RegistrationConfig())
    assert collector.refresh(_confirmed(), 0.0) == []
    assert collector.has_candidates
    assert _feed(collector) == []  # still gathering
    snapshots = collector.refresh(_confirmed(), 20.0)  # past window_s
    assert len(snapshots) == 1
    towers = sorted(b.tower for b in snapshots[0].bearings)
    assert towers == [0, 0, 1, 1, 2, 2, 3, 3]
    # the track's next snapshot waits snapshot_every_s after this one ended
    collector.refresh(_confirmed(), snapshots[0].t_last_s + 1.0)
    assert not collector.has_candidates
    collector.refresh(_confirmed(), snapshots[0].t_last_s + 3.0)
    assert collector.has_candidates


def test_an_ambiguous_scan_pairs_nothing() -> None:
    collector = SnapshotCollector(TOWERS_XY, RegistrationConfig())
    collector.refresh(_confirmed(), 0.0)
    _feed(collector, extra_deg=[_raw_deg(0) + 1.0])  # two detections in tower 0's gate
    assert collector.refresh(_confirmed(), 20.0) == []  # three towers are too few


def test_the_gate_is_centred_on_the_bias_estimate() -> None:
    biased = SnapshotCollector(TOWERS_XY, RegistrationConfig())
    biased.refresh(_confirmed(), 0.0)
    _feed(biased, bias_deg=5.0)  # beyond the 3 deg window about no bias
    assert biased.refresh(_confirmed(), 20.0) == []
    known = SnapshotCollector(TOWERS_XY, RegistrationConfig())
    known.refresh(_confirmed(), 0.0)
    _feed(known, bias_deg=5.0, theta_deg=5.0)
    assert len(known.refresh(_confirmed(), 20.0)) == 1


def test_a_poorly_located_or_tentative_track_is_no_candidate() -> None:
    collector = SnapshotCollector(TOWERS_XY, RegistrationConfig())
    collector.refresh(_confirmed(sigma_m=40.0), 0.0)
    assert not collector.has_candidates
    tentative = _confirmed()
    tentative[0].score.status = "tentative"
    collector.refresh(tentative, 0.0)
    assert not collector.has_candidates
