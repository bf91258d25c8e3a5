"""Confirmation by the bearings of three or more towers when imagers do not triangulate:
acoustic bearings of a moving vehicle, their travel-time delay, the consistency test and the
ghost check."""

from __future__ import annotations

import math

import numpy as np

from perimeter.fusion.engine import FusionEngine
from perimeter.fusion.manage import ManageConfig, TrackManager
from perimeter.fusion.scan import Scan
from perimeter.fusion.triangulate import Initiator, InitiatorConfig
from perimeter.geometry import bearing_rad
from perimeter.thresholds import Thresholds
from tests.fusion.helpers import scan_of, track_at

TOWERS = [(0.0, -3000.0), (0.0, -1000.0), (0.0, 1000.0), (0.0, 3000.0)]
SOUND_MPS = 337.0


def heard(tower: int, t_s: float, points: list[tuple[float, float]], *,
          sigma_deg: float = 2.0) -> Scan:
    return scan_of(tower, TOWERS[tower], t_s, points, sigma_deg=sigma_deg, sensor="acoustic",
                   hint="engine")


def offer(init: Initiator, scan: Scan) -> list:
    return init.offer(scan, np.arange(scan.size))


def test_three_towers_acoustic_bearings_through_one_point_seed_a_track() -> None:
    init = Initiator(InitiatorConfig())
    target = (2500.0, 200.0)
    assert offer(init, heard(0, 0.0, [target])) == []
    assert offer(init, heard(1, 0.0, [target])) == []
    assert offer(init, heard(2, 0.0, [target])) == []
    seeds = offer(init, heard(3, 0.0, [target]))
    assert len(seeds) == 1
    assert sorted(set(seeds[0].towers)) == [0, 1, 2, 3]
    assert np.hypot(*(seeds[0].x[:2] - np.array(target))) < 5.0


def test_two_towers_acoustic_bearings_seed_nothing() -> None:
    init = Initiator(InitiatorConfig())
    target = (2500.0, 200.0)
    for t in (0.0, 1.0, 2.0):
        assert offer(init, heard(0, t, [target])) == []
        assert offer(init, heard(1, t, [target])) == []


def test_inconsistent_acoustic_bearings_seed_nothing() -> None:
    # each tower hears a different object: lines of sight cross pairwise, never in one point
    init = Initiator(InitiatorConfig())
    offer(init, heard(0, 0.0, [(2500.0, -1500.0)]))
    offer(init, heard(1, 0.0, [(3000.0, 1500.0)]))
    offer(init, heard(2, 0.0, [(1500.0, -2500.0)]))
    assert offer(init, heard(3, 0.0, [(4000.0, 4500.0)])) == []


def test_an_acoustic_bearing_is_compared_with_where_the_sound_left() -> None:
    # a vehicle 3.4 km north of a tower drives east at 20 m/s; the sound heard now left it
    # 10 s ago, 200 m west of where it is: the delayed bearing must not pull the track west
    engine = FusionEngine(np.array([[0.0, 0.0]]), Thresholds())
    track = track_at(0.0, 3400.0, 20.0, 0.0, sigma_m=50.0)
    track.evidence.last_seen_by[(0, "acoustic")] = 0.0
    engine.manager.tracks.append(track)
    tau = 3400.0 / SOUND_MPS
    scan = Scan("T00", 0, np.zeros(2), "acoustic", 0, 0.0,
                np.array([float(bearing_rad(np.zeros(2), np.array([-20.0 * tau, 3400.0])))]),
                np.array([math.radians(0.5)]), np.array([20.0]), np.full(1, math.nan),
                np.full(1, math.nan), np.full(1, math.nan), np.array([2]))
    engine.step(scan)
    assert track.score.updates == 1
    assert abs(float(track.state.x[0])) < 5.0  # a naive update would move it ~100 m west


Source = tuple[float, float, float, float]  # x0, y0, vx, vy


def drive(engine: FusionEngine, sources: list[Source], t_end_s: float,
          rng: np.random.Generator | None = None, sigma_deg: float = 2.0) -> None:
    """Each tower hears each moving source once a second (delayed by the travel time), with
    bearing noise of ``sigma_deg`` when ``rng`` is given."""
    t = 0.0
    while t <= t_end_s:
        for k, tower in enumerate(TOWERS):
            pts = []
            for x0, y0, vx, vy in sources:
                # position at emission time t - r/c (one fixed-point step is exact enough)
                r = math.hypot(x0 + vx * t - tower[0], y0 + vy * t - tower[1])
                te = t - r / SOUND_MPS
                pts.append((x0 + vx * te, y0 + vy * te))
            scan = heard(k, t, pts, sigma_deg=sigma_deg)
            if rng is not None:
                scan.bearing_rad = scan.bearing_rad + rng.normal(
                    0.0, math.radians(sigma_deg), scan.size)
            engine.step(scan)
        engine.maintain(t)
        engine.merge(t)
        engine.reclassify(t)
        t += 1.0


def test_a_moving_vehicle_heard_by_four_towers_is_confirmed() -> None:
    engine = FusionEngine(np.array(TOWERS), Thresholds())
    drive(engine, [(3500.0, 500.0, -8.0, 0.0)], 60.0)
    confirmed = [t for t in engine.tracks if t.score.status == "confirmed"]
    assert len(confirmed) == 1
    truth = np.array([3500.0 - 8.0 * 60.0, 500.0])
    assert np.hypot(*(confirmed[0].state.x[:2] - truth)) < 100.0
    assert confirmed[0].triangulated(60.0, 10.0)


def test_a_standing_sound_source_is_not_confirmed() -> None:
    engine = FusionEngine(np.array(TOWERS), Thresholds())
    drive(engine, [(3500.0, 500.0, 0.0, 0.0)], 60.0)
    assert engine.tracks  # it is tracked...
    assert all(t.score.status == "tentative" for t in engine.tracks)  # ...but does not move


def test_four_vehicles_heard_with_noise_confirm_no_ghost() -> None:
    # four towers, four vehicles, 3-degree bearing noise: their lines of sight cross in many
    # ghost points (without the chi-square tests three of them confirm over these seeds),
    # yet every confirmed track follows a real vehicle
    sources: list[Source] = [(3500.0, 1500.0, -8.0, 0.0), (3000.0, -2000.0, -6.0, 3.0),
                             (4500.0, 0.0, -7.0, -2.0), (2500.0, 3500.0, -5.0, -3.0)]
    confirmed_total = 0
    for seed in range(4):
        engine = FusionEngine(np.array(TOWERS), Thresholds())
        drive(engine, sources, 120.0, np.random.default_rng(seed), sigma_deg=3.0)
        for track in engine.tracks:
            if track.score.status != "confirmed":
                continue
            confirmed_total += 1
            x = track.state.x
            miss = min(math.hypot(x[0] - (x0 + vx * 120.0), x[1] - (y0 + vy * 120.0))
                       for x0, y0, vx, vy in sources)
            assert miss < 250.0
    assert confirmed_total >= 6


def moving_fixed_track(towers: set[int], nis: float, moved_m: float = 300.0) -> TrackManager:
    manager = TrackManager(ManageConfig())
    track = track_at(3000.0, 0.0, -8.0, 0.0, sigma_m=50.0)
    track.first_t_s = 0.0
    track.state.history.append(0.0, np.array([3000.0 + moved_m, 0.0, -8.0, 0.0]),
                               track.state.p.copy(), 1.0)
    for b in (17, 18, 19, 20):
        track.score.hit_bins.append(b)
    track.score.llr = 20.0
    for tower in towers:
        for t in (18.0, 19.0, 20.0):
            track.evidence.record_fix(t, tower, nis)
    manager.tracks.append(track)
    return manager


def test_three_consistent_towers_confirm_a_moving_track_without_imagers() -> None:
    th = Thresholds()
    assert len(moving_fixed_track({0, 1, 2}, nis=1.0).confirmations(20.2, th)) == 1
    assert moving_fixed_track({0, 1}, nis=1.0).confirmations(20.2, th) == []
    # bearings that disagree with the track (a ghost's) fail the chi-square test
    assert moving_fixed_track({0, 1, 2}, nis=6.0).confirmations(20.2, th) == []
    # no sustained motion: 100 m moved is within the spread of two 50 m fixes
    assert moving_fixed_track({0, 1, 2}, nis=1.0, moved_m=100.0).confirmations(20.2, th) == []


def test_a_bearing_two_tracks_gate_fixes_neither() -> None:
    # the ghost check: two tracks on one line of sight from tower 1 both gate its bearing
    engine = FusionEngine(np.array(TOWERS), Thresholds())
    near = track_at(2000.0, -1000.0, sigma_m=30.0)
    far = track_at(3000.0, -1000.0, number=2, sigma_m=30.0)
    engine.manager.tracks += [near, far]
    engine.step(heard(1, 1.0, [(2000.0, -1000.0)]))
    assert near.score.updates + far.score.updates == 1  # one of them took it...
    assert near.evidence.fix_last == {} and far.evidence.fix_last == {}  # ...but it fixes neither
    engine.step(heard(3, 1.0, [(2000.0, -1000.0)], sigma_deg=0.5))
    # an unshared bearing counts
    assert near.evidence.fix_last == {3: 1.0} and far.evidence.fix_last == {}


def test_a_slow_track_keeps_its_imagers_longer() -> None:
    # a crawler glimpsed by two imagers 25 s ago is still triangulated; a walker is not
    slow = track_at(3000.0, 0.0, 0.2, 0.0)
    fast = track_at(3000.0, 0.0, 1.4, 0.0)
    for track in (slow, fast):
        track.evidence.previous_seen_by = {(1, "thermal"): 5.0, (2, "thermal"): 5.0}
    assert slow.imaged(30.0, 10.0) and slow.triangulated(30.0, 10.0)
    assert not fast.imaged(30.0, 10.0) and not fast.triangulated(30.0, 10.0)
    assert not slow.imaged(50.0, 10.0)  # three windows at most


def test_the_trail_waits_until_the_track_is_located() -> None:
    # a just-seeded track (hundreds of metres uncertain) jumps as it converges: those
    # positions must not reach the motion classifier
    track = track_at(3000.0, 0.0, sigma_m=200.0)
    track.record_hit(1.0, 0, "thermal")
    assert track.state.trail == []
    track.state.p[:2, :2] = np.eye(2) * 10.0**2
    track.record_hit(3.0, 1, "thermal")
    assert track.state.trail == [(3.0, 3000.0, 0.0)]
