from __future__ import annotations

import math

import numpy as np

from perimeter.fusion import evidence
from perimeter.fusion.priors import impossible_height
from perimeter.fusion.scan import KIND_HINTS, Scan
from tests.fusion.helpers import track_at


def one_detection(sensor: str, *, size_px: float = math.nan, elevation_rad: float = math.nan,
                  contrast_k: float = math.nan, level_db: float = math.nan,
                  hint: int = -1) -> Scan:
    def one(v: float) -> np.ndarray:
        return np.array([v])
    return Scan("T01", 0, np.array([0.0, 0.0]), sensor, 1, 0.0, one(math.pi / 2), one(1e-3),
                one(20.0), one(size_px), one(contrast_k), one(level_db),
                np.array([hint], dtype=np.int64), one(elevation_rad))


def test_a_thermal_detection_gives_size_height_and_contrast_at_its_range() -> None:
    track = track_at(2000.0, 0.0)
    scan = one_detection("thermal", size_px=3.0, elevation_rad=-0.007, contrast_k=4.0)
    evidence.add_thermal(track, scan, 0, 2000.0, ifov_rad=2e-4, mast_height_m=15.0)
    feats = track.evidence.features
    assert feats.thermal_hits == 1
    assert feats.sizes_m[0] == 3.0 * 2000.0 * 2e-4  # 1.2 m across
    assert math.isclose(feats.heights_m[0], 15.0 + 2000.0 * math.tan(-0.007))  # ~1 m up
    assert feats.height_sigmas_m[0] >= 2000.0 * 2e-4  # never below a pixel's height
    assert feats.contrast_k == 4.0


def test_missing_thermal_values_add_a_hit_and_nothing_else() -> None:
    track = track_at(2000.0, 0.0)
    evidence.add_thermal(track, one_detection("thermal"), 0, 2000.0, 2e-4, 15.0)
    feats = track.evidence.features
    assert feats.thermal_hits == 1
    assert not feats.sizes_m and not feats.heights_m and feats.contrast_n == 0


def test_an_acoustic_detection_counts_its_hint_and_its_level_at_one_metre() -> None:
    track = track_at(1000.0, 0.0)
    engine = KIND_HINTS.index("engine")
    evidence.add_acoustic(track, one_detection("acoustic", level_db=40.0, hint=engine), 0, 1000.0)
    feats = track.evidence.features
    assert feats.acoustic_hits == 1 and feats.hint_counts[engine] == 1
    assert feats.hint_counts.sum() == 1
    assert math.isclose(feats.source_db, 40.0 + 60.0)  # spherical spreading over 1 km


def test_on_sloping_ground_the_position_error_widens_the_height_error() -> None:
    # 20 m of position error on a 4 % slope moves the ground under the track by ~1.1 m
    flat, slope = track_at(2000.0, 0.0, sigma_m=20.0), track_at(2000.0, 0.0, sigma_m=20.0)
    scan = one_detection("thermal", elevation_rad=-0.007)
    evidence.add_thermal(flat, scan, 0, 2000.0, 2e-4, 15.0)
    evidence.add_thermal(slope, scan, 0, 2000.0, 2e-4, 15.0, slope=0.04)
    on_flat = flat.evidence.features.height_sigmas_m[0]
    on_slope = slope.evidence.features.height_sigmas_m[0]
    assert on_slope > on_flat + 0.5
    assert math.isclose(on_slope, math.hypot(on_flat, 0.04 * math.sqrt(800.0)))


def test_the_grounds_slope_comes_from_the_terrain_model() -> None:
    from perimeter.terrain import Dem
    ramp = Dem(x0_m=0.0, y0_m=0.0, cell_m=25.0,
               heights_m=[[0.03 * 25.0 * j for j in range(5)] for _ in range(5)])
    assert math.isclose(evidence.ground_slope(ramp, 50.0, 50.0), 0.03)


def test_heat_centres_at_impossible_heights_from_two_scans_mark_the_track_mislocated() -> None:
    # default's drifted car track: from 2 km a car's heat centre ~1 m up; the same elevation
    # read at a range 900 m too long puts it 20 m below the ground
    track = track_at(2900.0, 0.0)
    elev = math.atan((1.0 - 15.0) / 2000.0)
    scan = one_detection("thermal", size_px=8.0, elevation_rad=elev, contrast_k=4.0)
    evidence.add_thermal(track, scan, 0, 2900.0, ifov_rad=2e-4, mast_height_m=15.0)
    feats = track.evidence.features
    assert impossible_height(15.0 + 2900.0 * math.tan(elev), 2900.0 * 2e-4)  # 5 m below
    # one such reading may be a detection that is not the object's: only it is set aside
    assert not track.evidence.mislocated
    # the range is wrong: no size, height or aspect from it (a 4.6 m "car" from 8 px at 2.9 km)
    assert not feats.sizes_m and not feats.heights_m and feats.thermal_hits == 1
    evidence.add_thermal(track, scan, 0, 2900.0, ifov_rad=2e-4, mast_height_m=15.0)
    assert not track.evidence.mislocated, "the same scan's reading again: still one scan"
    scan.t_s = 1.0  # the next look: impossible again, none possible between
    evidence.add_thermal(track, scan, 0, 2900.0, ifov_rad=2e-4, mast_height_m=15.0)
    assert track.evidence.mislocated
    assert not feats.sizes_m and not feats.heights_m and feats.thermal_hits == 3
    evidence.add_thermal(track, scan, 0, 2000.0, ifov_rad=2e-4, mast_height_m=15.0)
    assert not track.evidence.mislocated  # at the right range the reading is possible again
    assert math.isclose(feats.heights_m[0], 1.0) and feats.sizes_m[0] == 8.0 * 2000.0 * 2e-4
    # impossible readings with a possible one between are two stray detections, not a range
    for t_s, range_m in ((2.0, 2900.0), (3.0, 2000.0), (4.0, 2900.0)):
        scan.t_s = t_s
        evidence.add_thermal(track, scan, 0, range_m, ifov_rad=2e-4, mast_height_m=15.0)
        assert not track.evidence.mislocated


def test_impossible_heights_are_judged_with_the_readings_error() -> None:
    from perimeter.fusion.priors import impossible_height

    assert not impossible_height(1.0, 0.3) and not impossible_height(-1.5, 0.3)
    assert impossible_height(68.0, 1.0) and impossible_height(-19.0, 1.0)
    assert impossible_height(-3.0, 0.2) and not impossible_height(-3.0, 1.0)  # 3 sigma more
