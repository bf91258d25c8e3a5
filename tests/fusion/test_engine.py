from __future__ import annotations

from dataclasses import replace

import numpy as np

from perimeter.fusion import ekf
from perimeter.fusion.classify import classify
from perimeter.fusion.engine import FusionEngine
from perimeter.fusion.engine_config import EngineConfig
from perimeter.fusion.jpda import JpdaConfig
from perimeter.geometry import bearing_rad
from perimeter.thresholds import Thresholds
from tests.fusion.helpers import scan_of, track_at

TOWERS = np.array([[0.0, 0.0], [0.0, 60_000.0]])


def engine_with(*tracks_xy: tuple[float, float],
                config: EngineConfig | None = None) -> FusionEngine:
    engine = FusionEngine(TOWERS, Thresholds(), config)
    for k, (x, y) in enumerate(tracks_xy):
        track = track_at(x, y, number=k + 1)
        for tower in (0, 1):
            track.evidence.last_seen_by[(tower, "thermal")] = 0.0
        engine.manager.tracks.append(track)
    return engine


def test_a_report_updates_a_track_in_range_and_leaves_a_distant_one_alone() -> None:
    engine = engine_with((3000.0, 0.0), (3000.0, 60_000.0))
    near, far = engine.tracks
    # both lie due east of their tower; tower 0 reports a bearing of 90 degrees
    engine.step(scan_of(0, (0.0, 0.0), 1.0, [(3000.0, 0.0)]))
    assert near.state.t_s == 1.0 and near.score.updates == 1
    # neither gated nor missed
    assert far.state.t_s == 0.0 and far.score.updates == 0 and far.score.llr == 0.0


def test_an_empty_report_penalises_only_tracks_within_range() -> None:
    engine = engine_with((3000.0, 0.0), (3000.0, 60_000.0))
    near, far = engine.tracks
    engine.step(scan_of(1, (0.0, 60_000.0), 1.0, []))
    assert far.score.llr < 0.0 and near.score.llr == 0.0


def test_reclassify_recomputes_only_tracks_that_changed() -> None:
    engine = engine_with((3000.0, 0.0), (3000.0, 60_000.0))
    near, far = engine.tracks
    engine.reclassify(0.5)
    first_near, first_far = near.evidence.probabilities, far.evidence.probabilities
    assert first_near and first_far
    engine.step(scan_of(0, (0.0, 0.0), 1.0, [(3000.0, 0.0)]))  # only the near track updates
    engine.reclassify(1.0)
    assert far.evidence.probabilities is first_far  # nothing it depends on changed: kept as it was
    assert near.evidence.probabilities is not first_near
    for track in (near, far):  # what was kept is what classifying anew gives
        assert track.evidence.probabilities == classify(track, engine.config.classes)


def _revisit_engine() -> FusionEngine:
    from perimeter.fusion.manage import ManageConfig
    engine = FusionEngine(TOWERS, Thresholds(),
                          EngineConfig(manage=ManageConfig(revisit_aware=True,
                                                           late_scored=False)))
    # tower 1's imager: a hot spot far to the west seen at every 11th frame of 0.5 s
    for k in range(11 * 40):
        engine.step(scan_of(1, (0.0, 60_000.0), k * 0.5,
                            [(-5000.0, 60_000.0)] if k % 11 == 0 else []))
    assert engine.looks.frames((1, "thermal")) == 11
    return engine


def test_revisit_aware_misses_are_charged_only_at_looks() -> None:
    engine = _revisit_engine()
    track = track_at(3000.0, 60_000.0, number=1, t_s=220.0)
    track.evidence.last_seen_by[(1, "thermal")] = 220.0
    engine.manager.tracks.append(track)
    for k in range(1, 11):  # the frames between two looks at it say nothing
        engine.step(scan_of(1, (0.0, 60_000.0), 220.0 + 0.5 * k, []))
    assert track.score.llr == 0.0
    engine.step(scan_of(1, (0.0, 60_000.0), 225.5, []))  # a look that missed it
    assert track.score.llr < 0.0


def test_revisit_aware_scores_a_late_report_of_the_same_frame() -> None:
    engine = _revisit_engine()
    track = track_at(3000.0, 0.0, number=1, t_s=220.0)
    engine.manager.tracks.append(track)
    engine.step(scan_of(1, (0.0, 60_000.0), 220.003, []))
    late = scan_of(0, (0.0, 0.0), 220.001, [(3000.0, 0.0)])
    late.late = True
    engine.step(late)  # milliseconds behind: the same frame, scored like an in-order one
    assert track.score.llr > 0.0 and track.evidence.last_seen_by[(0, "thermal")] == 220.003
    older = scan_of(0, (0.0, 0.0), 219.5, [(3000.0, 0.0)])
    older.late = True
    llr = track.score.llr
    engine.step(older)  # a frame behind: the out-of-sequence path, no score
    assert track.score.llr == llr


def test_jpda_soft_updates_join_the_filtered_history() -> None:
    engine = engine_with((3000.0, 0.0), (3000.0, 20.0))
    engine.config = replace(engine.config, jpda=JpdaConfig(enabled=True))
    before = [t.state.x.copy() for t in engine.tracks]
    engine.step(scan_of(0, (0.0, 0.0), 1.0, [(3000.0, 10.0)]))  # one bearing, both gates
    assigned = [t for t in engine.tracks if t.score.updates == 1]
    assert len(assigned) == 1  # the other takes only its JPDA share of the bearing
    for track, x0 in zip(engine.tracks, before, strict=True):
        assert not np.array_equal(track.state.x, x0) and track.state.t_s == 1.0
        history = track.state.history  # what origin smoothing reads: every filtered state
        assert history.n == 1 and history.t[0] == 1.0
        assert np.array_equal(history.x[0], track.state.x)
        assert np.array_equal(history.p[0], track.state.p)


def _revisit_initiator_engine(frames: int) -> FusionEngine:
    """Only the revisit-spanning initiator on (the revisit-aware score off); tower 1's imager
    sees a hot spot at every 11th frame of 0.5 s for ``frames`` frames."""
    from perimeter.fusion.engine import EngineConfig
    from perimeter.fusion.revisit_seed import RevisitConfig
    from perimeter.fusion.triangulate import InitiatorConfig
    config = EngineConfig(initiator=InitiatorConfig(revisit=RevisitConfig(enabled=True,
                                                                          revisit_s=3.0)))
    engine = FusionEngine(TOWERS, Thresholds(), config)
    for k in range(frames):
        engine.step(scan_of(1, (0.0, 60_000.0), k * 0.5,
                            [(-5000.0, 60_000.0)] if k % 11 == 0 else []))
    return engine


def test_the_revisit_initiator_learns_the_revisit_without_the_revisit_aware_score() -> None:
    engine = _revisit_initiator_engine(11 * 40)
    assert engine.looks.frames((1, "thermal")) == 11
    assert abs(engine.initiator.revisit.revisit_s - 5.5) < 1e-6  # not the configured 3 s


def test_the_revisit_initiator_keeps_its_default_until_the_revisit_is_learned() -> None:
    engine = _revisit_initiator_engine(11 * 5)  # the frame known, the revisit not yet
    assert engine.looks.revisit_s((1, "thermal")) == 0.5  # one frame: not learned
    assert engine.initiator.revisit.revisit_s == 3.0


def test_an_acoustic_update_allows_for_the_travel_gaps_process_noise() -> None:
    """A sound heard now left the object ``r / c`` ago; the object's motion over that gap is
    noise the bearing cannot see, so the update's gain must use the innovation variance with
    the gap's process noise (the variance the gate and the score use). Truth drawn from the
    tracker's own model (present state from its covariance, the state the sound left a
    backward step with the gap's noise): with that gain the updated error is about as large
    as the updated covariance says (NEES near the state dimension, 4); with the gain of the
    bearing noise alone it is overconfident (NEES about 25 here)."""
    rng = np.random.default_rng(11)
    tower = np.zeros(2)
    nees = []
    base = EngineConfig()
    q = 10.0 * base.q_by_class["unknown"]  # a fast manoeuvre: the gap's noise matters
    config = replace(base, q_by_class={k: q for k in base.q_by_class})
    for _ in range(600):
        engine = FusionEngine(TOWERS, Thresholds(), config)
        track = track_at(3000.0, 0.0, 0.0, 8.0, sigma_m=4.0, t_s=-1.0)
        track.evidence.last_seen_by[(0, "acoustic")] = -1.0
        engine.manager.tracks.append(track)
        ahead_x, ahead_p = ekf.predict(track.state.x[None], track.state.p[None], 1.0, q)
        truth = rng.multivariate_normal(ahead_x[0], ahead_p[0])
        tau_s = float(np.hypot(*truth[:2])) / engine.config.sound_speed_mps
        back_x, back_q = ekf.predict(truth[None], np.zeros((1, 4, 4)), -tau_s, q)
        left = rng.multivariate_normal(back_x[0], back_q[0])
        bearing = float(bearing_rad(tower, left[:2])) + rng.normal(0.0, np.radians(0.1))
        heard = 3000.0 * np.array([np.sin(bearing), np.cos(bearing)])
        engine.step(scan_of(0, (0.0, 0.0), 0.0, [(heard[0], heard[1])], sensor="acoustic"))
        if track.score.updates == 0:  # outside the gate (its 0.3 %)
            continue
        e = track.state.x - truth
        nees.append(float(e @ np.linalg.solve(track.state.p, e)))
    assert len(nees) > 580
    assert 3.4 < float(np.mean(nees)) < 4.6


def test_a_bearing_beside_a_track_that_took_another_of_the_report_may_seed() -> None:
    # a walker's track at 3 km; the report holds its bearing and a neighbour's 15 m beside it
    # (0.29 degrees, inside the track's gate). The track takes its own: one object makes one
    # detection per report, so the other bearing is another object's and goes to the
    # initiator's pool, from which a track of its own can start
    report = [(3000.0, 0.0), (3000.0, 15.0)]
    plain = engine_with((3000.0, 0.0))
    plain.step(scan_of(0, (0.0, 0.0), 1.0, report))
    assert plain.tracks[0].score.updates == 1
    assert len(plain.initiator) == 0  # default: held back as if it were the track's
    beside = engine_with((3000.0, 0.0), config=EngineConfig(seed_beside_tracks=True))
    beside.step(scan_of(0, (0.0, 0.0), 1.0, report))
    assert beside.tracks[0].score.updates == 1
    assert len(beside.initiator) == 1
    # the same on the out-of-sequence path
    beside.step(replace(scan_of(0, (0.0, 0.0), 0.9, report), late=True))
    assert len(beside.initiator) == 2


def test_seeds_beside_tracks_may_be_limited_to_imagers_bearings() -> None:
    # an acoustic report with two bearings 1.1 degrees apart, both in the track's wide gate
    # (sigma 2 degrees): one source may be heard twice (an echo), so with thermal_only the
    # bearing the track did not take stays held back; without it, it goes to the pool
    report = [(3000.0, 0.0), (3000.0, 60.0)]
    counts = []
    for thermal_only in (False, True):
        config = EngineConfig(seed_beside_tracks=True, seed_beside_thermal_only=thermal_only)
        engine = engine_with((3000.0, 0.0), config=config)
        engine.step(scan_of(0, (0.0, 0.0), 1.0, report, sigma_deg=2.0, sensor="acoustic"))
        assert engine.tracks[0].score.updates == 1
        counts.append(len(engine.initiator))
    assert counts == [1, 0]
