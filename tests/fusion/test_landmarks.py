"""Registration on landmarks: hot spots several towers see, at unknown fixed positions."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import pytest

from perimeter.contract import AlertEvent
from perimeter.fusion.clutter import ClutterMapConfig
from perimeter.fusion.engine import EngineConfig
from perimeter.fusion.landmark_shift import best_shift
from perimeter.fusion.landmarks import LandmarkConfig, Landmarks, Mature
from perimeter.fusion.registration import Registration, RegistrationConfig
from perimeter.fusion.replay import CollectingOutput
from perimeter.fusion.runner import FusionRunner
from perimeter.fusion.scan import Scan
from perimeter.site import western_heights
from perimeter.thresholds import Thresholds

SITE = western_heights()
TOWERS_XY = np.array([t.xy for t in SITE.towers], dtype=np.float64)
IDS = [t.id for t in SITE.towers]
SPOTS_XY = np.array([(1200.0, -2300.0), (1500.0, -600.0), (2500.0, 400.0), (1100.0, 1500.0),
                     (3200.0, 2600.0), (4500.0, -1800.0), (1800.0, 2900.0), (2800.0, -3100.0)])
SIGMA_DEG = 0.03
BIAS_DEG = np.array([0.12, -0.08, 0.15, -0.19, 0.06, 0.1, -0.14, 0.18, -0.05, 0.09, -0.16, 0.2])


def _scan(k: int, t_s: float, bearings_rad: list[float]) -> Scan:
    m = len(bearings_rad)
    return Scan(IDS[k], k, TOWERS_XY[k], "thermal", int(t_s), t_s,
                np.array(bearings_rad, dtype=np.float64) % (2.0 * math.pi),
                np.full(m, math.radians(SIGMA_DEG)), np.full(m, 12.0), np.ones(m),
                np.ones(m), np.full(m, np.nan), np.full(m, -1, dtype=np.int64))


def run(duration_s: float, bias_deg: Callable[[int, float], float],
        rng: np.random.Generator, config: RegistrationConfig | None = None,
        visible: np.ndarray | None = None) -> tuple[Registration, list[AlertEvent]]:
    """Every tower sees each hot spot (or those ``visible[tower]``) in 30 % of its 1 s
    frames (plus a clutter blob anywhere in 20 %), its bearings turned by ``bias_deg(tower,
    t)``; no targets."""
    counter = iter(range(1, 1000))
    reg = Registration(TOWERS_XY, IDS, config, next_alert_id=lambda: f"a-{next(counter):06d}")
    d = SPOTS_XY[None, :, :] - TOWERS_XY[:, None, :]
    true_rad = np.arctan2(d[..., 0], d[..., 1])  # (towers, spots)
    shown = np.ones(true_rad.shape, dtype=bool) if visible is None else visible
    events: list[AlertEvent] = []
    for step in range(int(duration_s)):
        t_s = float(step)
        for k in range(len(IDS)):
            seen = true_rad[k][(rng.random(len(SPOTS_XY)) < 0.3) & shown[k]]
            z = seen + math.radians(bias_deg(k, t_s)) + rng.normal(
                0.0, math.radians(SIGMA_DEG), seen.size)
            if rng.random() < 0.2:
                z = np.append(z, rng.uniform(0.0, math.pi))
            if z.size:
                reg.observe(reg.correct(_scan(k, t_s, z.tolist())))
        events += reg.maintain(t_s, [])
    return reg, events


def test_landmarks_recover_known_biases_within_sigma() -> None:
    reg, events = run(900.0, lambda k, t: float(BIAS_DEG[k]), np.random.default_rng(3))
    status = reg.status()
    est = np.array([status[i].azimuth_bias_deg for i in IDS])
    rel_sigma = np.degrees(reg.relative_sigma_rad)
    assert len(reg.landmarks.landmarks) >= 6
    assert all(status[i].landmarks >= 4 for i in IDS)
    # against the others' mean (the common rotation is weakly observable): within 3 sigma
    err = (est - est.mean()) - (BIAS_DEG - BIAS_DEG.mean())
    assert np.all(rel_sigma < 0.02)
    assert np.all(np.abs(err) <= 3.0 * rel_sigma + 0.002), (err, rel_sigma)
    assert float(np.sqrt(np.mean((est - BIAS_DEG) ** 2))) < 0.03  # unregistered: 0.14
    assert all(status[i].applied for i in IDS)
    # each bias's reported (absolute) sigma, from a 1 deg prior, covers its absolute error
    sigma = np.array([status[i].azimuth_bias_sigma_deg for i in IDS])
    assert np.all(sigma < 0.01)
    assert np.all(np.abs(est - BIAS_DEG) <= 3.0 * sigma), (est - BIAS_DEG, sigma)
    # the landmark positions are not given: the spots are found
    found = np.array([m.xy for m in reg.landmarks.landmarks])
    nearest = np.min(np.hypot(*(found[:, None, :] - SPOTS_XY[None, :, :]).transpose(2, 0, 1)),
                     axis=1)
    assert np.all(nearest < 30.0)
    assert not events


def test_a_knocked_mast_is_flagged_and_re_registered() -> None:
    def bias(k: int, t_s: float) -> float:
        return float(BIAS_DEG[k]) + (1.0 if k == 3 and t_s >= 900.0 else 0.0)

    reg, events = run(2100.0, bias, np.random.default_rng(4))
    new = [e for e in events if e.event == "new"]
    assert [e.towers for e in new] == [["T04"]]
    assert new[0].fault == "bias_jump"
    assert 900.0 < new[0].t_s <= 1200.0
    t04 = reg.status()["T04"]
    assert t04.bias_jump_deg is not None and abs(t04.bias_jump_deg - 1.0) < 0.1
    assert abs(t04.azimuth_bias_deg - (BIAS_DEG[3] + 1.0)) < 0.05
    assert t04.applied and t04.landmarks >= 4
    assert [e.event for e in events if e.towers == ["T04"]][-1] == "closed"


def test_best_shift_counts_each_landmark_once() -> None:
    pred = np.radians([10.0, 40.0, 70.0, 100.0])
    peaks = np.radians([11.0, 41.0, 71.0, 71.02, 130.0, 40.3])
    found = best_shift(pred, peaks, math.radians(3.0), math.radians(0.06))
    assert found is not None
    assert found.count == 3 and found.count_at_zero == 0
    assert abs(math.degrees(found.shift_rad) - 1.0) < 0.03


def test_raw_bearings_are_rebuilt_with_the_correction_the_scan_was_given() -> None:
    reg = Registration(TOWERS_XY, IDS)
    seen: list[tuple[int, list[float], float]] = []
    reg.landmarks.observe = lambda k, raw, hot, t_s: seen.append((k, raw, t_s))  # type: ignore[method-assign]
    raw_rad = [0.5, 1.2, 2.0]
    reg.applied_bias_rad[2], reg.applied_clock_s[2] = math.radians(0.3), 0.2
    scan = reg.correct(_scan(2, 100.0, raw_rad))
    assert scan.bearing_rad[0] == pytest.approx(0.5 - math.radians(0.3), abs=1e-12)
    # a solve while the scan waited in the reorder buffer: another estimate is in force
    reg.applied_bias_rad[2], reg.applied_clock_s[2] = math.radians(0.8), 0.5
    reg.observe(scan)
    assert len(seen) == 1 and seen[0][0] == 2
    assert seen[0][1] == pytest.approx(raw_rad, abs=1e-12)  # not 0.5 deg off
    assert seen[0][2] == pytest.approx(100.0, abs=1e-9)  # the report's own time


def test_the_hot_spot_map_takes_the_engines_cells_and_fading() -> None:
    wide = ClutterMapConfig(cell_deg=0.5, fading_time_s=60.0, enabled=False)
    runner = FusionRunner(SITE, Thresholds(), CollectingOutput(),
                          engine_config=EngineConfig(clutter=wide))
    reg = runner.registration
    reg.observe(_scan(0, 100.0, [1.0 + math.radians(d) for d in (-0.6, -0.3, 0.0, 0.3, 0.6)]))
    # 0.5 deg cells, one either side: all five in the window (0.1 deg cells: one of them)
    assert reg._hot.counts_at((0, "thermal"), [1.0], 100.0) == [5.0]
    # faded over the engine's 60 s, and on although the engine's map is off
    assert reg._hot.counts_at((0, "thermal"), [1.0], 160.0)[0] == pytest.approx(5.0 / math.e)


def test_the_information_takes_each_landmark_as_the_update_fitted_it() -> None:
    reg, _ = run(600.0, lambda k, t: float(BIAS_DEG[k]), np.random.default_rng(3))
    marks, theta = reg.landmarks, reg.theta[:len(IDS)].copy()
    mat = marks.mature(600.0)
    marks.update(mat, theta, reg.relative_sigma_rad, search=False)
    assert len(marks.landmarks) >= 4
    refit = copy.deepcopy(marks)  # each landmark fitted once more, about theta
    for mark in refit.landmarks:
        towers = np.array(sorted(mark.members), dtype=np.int64)
        peaks = np.array([mark.members[k] for k in towers.tolist()])
        fitted = refit.fit(mark.xy, towers, mat.mean_rad[peaks], mat.sigma_rad[peaks], theta)
        assert fitted is not None
        mark.xy, mark.residual_rad, mark.gradient = fitted
    calls: list[object] = []
    fit = marks.fit
    marks.fit = lambda *args: calls.append(args) or fit(*args)  # type: ignore[method-assign]
    info, y, counts = marks.information(mat)
    assert not calls  # fitted once, by the update
    info_r, y_r, counts_r = refit.information(mat)
    assert counts.tolist() == counts_r.tolist() and counts.sum() >= 20
    assert np.allclose(info, info_r, rtol=1e-9, atol=0.0)  # the same to second order
    assert np.allclose(y, y_r, rtol=1e-6, atol=1e-6 * float(np.abs(y_r).max()))


def _mature(rng: np.random.Generator, spots_xy: np.ndarray, clutter: int) -> Mature:
    """Every tower's peaks on ``spots_xy`` (true bearings) and ``clutter`` peaks of its own
    (animals at rest, single-tower hot spots) within 86 deg of the spots' mean bearing."""
    d = spots_xy[None, :, :] - TOWERS_XY[:, None, :]
    true_rad = np.arctan2(d[..., 0], d[..., 1]) % (2.0 * math.pi)
    tower, mean = [], []
    for k in range(len(IDS)):
        mid = float(np.mean(true_rad[k]))
        peaks = np.concatenate([true_rad[k], rng.uniform(mid - 1.5, mid + 1.5, clutter)])
        tower += [k] * peaks.size
        mean += peaks.tolist()
    return Mature(np.array(tower, dtype=np.int64), np.array(mean) % (2.0 * math.pi),
                  np.full(len(mean), math.radians(0.005)), np.zeros(0, dtype=np.int64),
                  np.zeros(0))


def test_no_landmark_is_made_of_unrelated_peaks_crossing_by_chance() -> None:
    # animals-only: tens of peaks per tower; with the biases still unknown (gates 0.5 deg)
    # some crossing of two towers' unrelated peaks finds four more towers' peaks within
    # their gates by chance: it is taken only if that is unlikely over all crossings tried
    rng = np.random.default_rng(22)
    marks = Landmarks(TOWERS_XY, LandmarkConfig(false_landmarks_per_hour=0.1))
    mat = _mature(rng, SPOTS_XY[:3], 10)
    n = len(IDS)
    for _ in range(3):
        marks.update(mat, np.zeros(n), np.full(n, math.radians(1.0)), search=True)
    found = np.array([m.xy for m in marks.landmarks])
    assert len(found) == 3  # the spots every tower sees (and two chance ones before)
    nearest = np.min(np.hypot(*(found[:, None, :] - SPOTS_XY[None, :3, :]).transpose(2, 0, 1)),
                     axis=1)
    assert np.all(nearest < 30.0), nearest



def test_a_tower_that_sees_one_landmark_is_registered_on_it() -> None:
    # the end tower of a line sees one hot spot that the others see (line-abreast's T01 and
    # T02): one landmark placed by towers that rest on two or more, and its only peak near
    # the bearing, is enough; it was never applied (two landmarks needed)
    visible = np.ones((len(IDS), len(SPOTS_XY)), dtype=bool)
    visible[0, 1:] = False
    results, anchored_towers = {}, {}
    for anchored in (True, False):
        reg, events = run(900.0, lambda k, t: float(BIAS_DEG[k]), np.random.default_rng(3),
                          RegistrationConfig(anchored_landmark=anchored), visible)
        results[anchored] = reg.status()["T01"]
        anchored_towers[anchored] = np.flatnonzero(reg.anchored).tolist()
        assert not events
        assert results[anchored].landmarks == 1
    t01 = results[True]
    assert t01.applied and anchored_towers == {True: [0], False: []}
    assert abs(t01.azimuth_bias_deg - BIAS_DEG[0]) <= max(3.0 * t01.azimuth_bias_sigma_deg,
                                                          0.02)
    assert not results[False].applied


def test_one_landmark_among_several_peaks_near_its_bearing_is_not_enough() -> None:
    # the landmark's image is the tower's only peak within the bias prior's range of the
    # bearing it predicts: a second peak there (animals at rest) makes it ambiguous
    rng = np.random.default_rng(5)
    marks = Landmarks(TOWERS_XY)
    mat = _mature(rng, SPOTS_XY[:3], 0)
    n = len(IDS)
    for _ in range(3):
        marks.update(mat, np.zeros(n), np.full(n, math.radians(0.01)), search=True)
    assert len(marks.landmarks) == 3
    mark = marks.landmarks[0]
    for other in marks.landmarks[1:]:  # tower 0 is in the first landmark only
        other.members.pop(0, None)
    rests = np.ones(n, dtype=bool)
    rests[0] = False
    window = math.radians(3.0)
    assert marks.anchored(mat, rests, window).tolist() == [True] + [False] * (n - 1)
    # the same, with a stray peak of tower 0 two degrees beside the landmark's
    stray = mat.mean_rad[mark.members[0]] + math.radians(2.0)
    crowded = Mature(np.append(mat.tower, 0), np.append(mat.mean_rad, stray),
                     np.append(mat.sigma_rad, mat.sigma_rad[0]), mat.active_tower,
                     mat.active_rad)
    assert not marks.anchored(crowded, rests, window).any()
    # ... or with too few of its other members resting on enough data themselves
    few = np.zeros(n, dtype=bool)
    few[sorted(mark.members)[1:5]] = True
    assert not marks.anchored(mat, few, window).any()
