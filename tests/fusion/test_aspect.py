"""Blob aspect (posture): readings into evidence, the class likelihoods, their flattening."""

from __future__ import annotations

import math

import numpy as np
import pytest

from perimeter.contract import SensorReport
from perimeter.fusion import evidence
from perimeter.fusion.aspect import (
    MIN_READINGS,
    UNIFORM,
    aspect_log_likelihoods,
    heading_shares,
    known_share,
    trimmed_mean,
)
from perimeter.fusion.classify import ClassModel, classify, label
from perimeter.fusion.motion import CLASSES
from perimeter.fusion.scan import Scan, scan_from_report
from perimeter.fusion.track import Track
from perimeter.fusion.track_evidence import Features
from tests.fusion.helpers import track_at

MODEL = ClassModel()


def _lls(width_px: list[float], height_px: list[float], footprint_m: float,
         model: ClassModel = MODEL) -> dict[str, tuple[float, float]]:
    feats = Features()
    for w, h in zip(width_px, height_px, strict=True):
        feats.aspects.append(math.log(h / w))
        feats.aspect_footprints_m.append(footprint_m)
    return aspect_log_likelihoods(feats, model.aspect_blur_fwhm_px, model.size_log_sigma,
                                  model.aspect_common_log_sigma, model.unreliable_share,
                                  CLASSES)


def _thermal(width_px: float, height_px: float) -> Scan:
    def one(v: float) -> np.ndarray:
        return np.array([v])
    return Scan("T01", 0, np.zeros(2), "thermal", 1, 0.0, one(0.5), one(1e-3), one(20.0),
                one(2.0), one(3.0), one(math.nan), np.array([-1], dtype=np.int64),
                one(math.nan), False, one(width_px), one(height_px))


def test_a_detection_adds_its_log_aspect_and_its_pixel_footprint() -> None:
    track = track_at(2000.0, 0.0)
    evidence.add_thermal(track, _thermal(2.0, 8.0), 0, 2000.0, ifov_rad=2e-4,
                         mast_height_m=15.0)
    feats = track.evidence.features
    assert list(feats.aspects) == [math.log(4.0)]
    assert list(feats.aspect_footprints_m) == [pytest.approx(0.4)]
    # absent (an older producer, NaN) or no extent arrays at all: nothing
    evidence.add_thermal(track, _thermal(math.nan, 8.0), 0, 2000.0, 2e-4, 15.0)
    bare = _thermal(2.0, 8.0)
    bare.width_px = bare.height_px = None
    evidence.add_thermal(track, bare, 0, 2000.0, 2e-4, 15.0)
    assert len(feats.aspects) == 1 and feats.thermal_hits == 3


def test_reports_carry_the_extent_into_the_scan_old_ones_nan() -> None:
    report = SensorReport.model_validate({
        "tower_id": "T01", "sensor": "thermal", "seq": 1, "t_s": 0.0, "detections": [
            {"bearing_deg": 10.0, "bearing_sigma_deg": 0.1, "snr_db": 20.0, "width_px": 2.0,
             "height_px": 7.0},
            {"bearing_deg": 20.0, "bearing_sigma_deg": 0.1, "snr_db": 20.0}]})
    scan = scan_from_report(report, 0, np.zeros(2))
    assert scan.width_px is not None and scan.height_px is not None
    assert scan.width_px[0] == 2.0 and scan.height_px[0] == 7.0
    assert math.isnan(scan.width_px[1]) and math.isnan(scan.height_px[1])
    kept = scan.select(np.array([False, True]))
    assert kept.width_px is not None and kept.width_px.size == 1


def test_a_tall_narrow_blob_is_a_person_a_long_low_one_an_animal() -> None:
    # 0.23 m a pixel (1 km behind a 75 mm lens): a person ~8 x 2 px, a deer broadside 3 x 2
    person = _lls([2.0, 2.0, 3.0, 2.0, 2.0, 2.0] * 3, [8.0, 7.0, 8.0, 8.0, 9.0, 8.0] * 3, 0.23)
    animal = _lls([3.0, 4.0, 3.0, 3.0, 4.0, 3.0] * 3, [2.0, 2.0, 3.0, 2.0, 2.0, 2.0] * 3, 0.23)
    assert person["person"][0] - person["animal"][0] > 2.0
    assert animal["animal"][0] - animal["person"][0] > 2.0
    # a crawling person is long and low too: the low posture explains it as well
    assert animal["person"][1] == pytest.approx(animal["animal"][0], abs=1.0)
    # a party abreast is wide and a vehicle wider: neither is a lone upright person
    wide = _lls([12.0] * 10, [8.0] * 10, 0.23)
    assert wide["group"][0] > wide["person"][0] + 2.0


def test_the_likelihood_flattens_as_the_blob_shrinks_to_a_pixel() -> None:
    # a person's and an animal's expected readings, 20 of them, at growing footprints
    gaps = []
    for footprint in (0.1, 1.0, 2.0, 3.0):
        def px(extent_m: float, fp: float = footprint) -> float:
            return max(1.0, math.hypot(extent_m / fp, 0.75))
        person = _lls([px(0.45)] * 20, [px(1.8)] * 20, footprint)
        gaps.append(person["person"][0] - person["animal"][0])
    # capped near (a reading may be a neighbour's), then gone once the person is a pixel
    # wide and under two high (4.4 km and 9 km behind a 75 mm lens)
    assert gaps[0] > 2.0 and gaps[1] > 2.0
    assert gaps[1] > gaps[2] > gaps[3] and gaps[2] < 1.0 and abs(gaps[3]) < 0.1
    points = _lls([1.0] * 30, [1.0] * 30, 6.0)  # a point: nothing to tell people and animals
    spread = [points[c][0] for c in ("person", "group", "animal")]
    assert max(spread) - min(spread) < 0.1
    assert points["vehicle"][0] < points["person"][0]  # a truck would still be two pixels


def test_few_readings_say_nothing() -> None:
    lls = _lls([2.0] * (MIN_READINGS - 1), [8.0] * (MIN_READINGS - 1), 0.23)
    assert all(v == (0.0, 0.0) for v in lls.values())


def test_the_trimmed_mean_ignores_a_stray_reading_and_follows_whole_pixel_dither() -> None:
    assert trimmed_mean([0.0] * 9 + [5.0]) == 0.0
    assert trimmed_mean([1.0] * 7 + [2.0] * 3) == pytest.approx(1.25)


def _walker(speed_mps: float, size_m: float, height_m: float) -> Track:
    track = track_at(3000.0, 0.0, -speed_mps, 0.0)
    for k in range(31):
        track.state.trail.append((2.0 * k, 3000.0 - speed_mps * 2.0 * k, 0.0))
    feats = track.evidence.features
    feats.sizes_m.extend([size_m] * 30)
    feats.heights_m.extend([height_m] * 30)
    feats.height_sigmas_m.extend([0.3] * 30)
    return track


def _aspect(track: Track, width_px: float, height_px: float) -> Track:
    feats = track.evidence.features
    feats.aspects.extend([math.log(height_px / width_px)] * 20)
    feats.aspect_footprints_m.extend([0.23] * 20)
    return track


def test_aspect_tells_a_roe_deer_from_a_person_that_size_and_pace_do_not() -> None:
    # a roe deer's critical dimension and walk overlap a person's; its centroid reads 0.5 m,
    # above a roe deer's (0.36-0.45 m) and below a person's, within a pixel's error at range:
    # the blob's shape decides (the animal kinds' size and height are judged together, so a
    # centroid no roe deer has counts against the deer: 0.62 m, as before the kinds, did)
    off = ClassModel(use_aspect=False)
    blind = classify(_walker(1.2, 0.75, 0.5), off)
    assert label(blind)[0] == "person"  # without the aspect: size, pace, height all agree
    deer = classify(_aspect(_walker(1.2, 0.75, 0.5), 4.0, 3.0), MODEL)
    person = classify(_aspect(_walker(1.2, 0.75, 0.5), 2.0, 8.0), MODEL)
    assert label(deer)[0] == "animal"
    assert deer["person"] < 0.55 * blind["person"]  # a crawler stays possible: not zero
    assert label(person)[0] == "person" and person["person"] > blind["person"]
    assert classify(_aspect(_walker(1.2, 0.75, 0.5), 4.0, 3.0), off) == blind


def _lls_heading(width_px: float, height_px: float, heading_rad: float, n: int = 20
                 ) -> dict[str, float]:
    return _lls_headings(width_px, height_px, [heading_rad] * n)


def test_the_heading_relative_to_the_tower_tells_what_a_wide_low_blob_is() -> None:
    # a blob 2.0 m wide and 1.6 m high (5 x 4 px at 0.4 m a pixel): seen broadside it may be
    # a quadruped's side or a party of two walking in file (a party keeps no one formation);
    # seen end on it is a car's back or a party abreast (a deer end on is narrow)
    unknown = _lls_heading(5.0, 4.0, math.nan)
    broadside = _lls_heading(5.0, 4.0, 0.5 * math.pi - 0.05)
    end_on = _lls_heading(5.0, 4.0, 0.05)
    assert 0.0 < broadside["animal"] - broadside["group"] < 2.0
    assert broadside["animal"] - broadside["group"] > unknown["animal"] - unknown["group"]
    assert end_on["vehicle"] - end_on["animal"] > 1.0 > unknown["vehicle"] - unknown["animal"]
    # three in file 1.2 m apart seen side on (2.9 x 1.75 m): the aspect alone does not call
    # them an animal; end on (one person's breadth) they are no animal's side either
    file_side = _lls_heading(7.3, 4.4, 0.5 * math.pi - 0.05)
    assert file_side["animal"] - file_side["group"] < 2.0
    assert _lls_heading(1.6, 4.4, 0.05)["group"] > _lls_heading(1.6, 4.4, 0.05)["animal"]
    # a car seen side on (4.8 x 1.6 m) is a vehicle; the same blob end on is no car's back
    assert _lls_heading(12.0, 4.0, 0.5 * math.pi - 0.05)["vehicle"] > 1.0
    assert _lls_heading(12.0, 4.0, 0.05)["vehicle"] < -1.0
    # an upright person stays a person whichever way it walks
    for heading in (0.05, 0.5 * math.pi - 0.05, math.nan):
        lls = _lls_heading(1.5, 5.0, heading)
        assert lls["person"] == max(lls.values())


def test_readings_without_a_known_heading_leave_every_heading_equally_likely() -> None:
    assert heading_shares([math.nan] * 10 + [0.1] * (MIN_READINGS - 1)) == UNIFORM
    shares = heading_shares([0.01] * 6 + [0.5 * math.pi] * 4 + [math.nan] * 30)
    assert shares[0] == pytest.approx(0.6) and shares[-1] == pytest.approx(0.4)


def _lls_headings(width_px: float, height_px: float, headings_rad: list[float]
                  ) -> dict[str, float]:
    feats = Features()
    for heading in headings_rad:
        feats.aspects.append(math.log(height_px / width_px))
        feats.aspect_footprints_m.append(0.4)
        feats.aspect_headings_rad.append(heading)
    lls = aspect_log_likelihoods(feats, MODEL.aspect_blur_fwhm_px, MODEL.size_log_sigma,
                                 MODEL.aspect_common_log_sigma, MODEL.unreliable_share, CLASSES)
    return {cls: upright for cls, (upright, _) in lls.items()}


def test_a_few_readings_with_a_heading_do_not_decide_for_the_many_without() -> None:
    side = 0.5 * math.pi - 0.05
    unknown = _lls_headings(5.0, 4.0, [math.nan] * 100)
    few = _lls_headings(5.0, 4.0, [side] * 5 + [math.nan] * 95)
    half = _lls_headings(5.0, 4.0, [side] * 50 + [math.nan] * 50)
    known = _lls_headings(5.0, 4.0, [side] * 100)
    assert known["vehicle"] < unknown["vehicle"] - 0.8  # a car's back is no side view
    assert few["vehicle"] == pytest.approx(unknown["vehicle"], abs=0.1)
    assert known["vehicle"] < half["vehicle"] < unknown["vehicle"]
    assert known_share([side] * 5 + [math.nan] * 95) == pytest.approx(0.05)
    assert known_share([side] * (MIN_READINGS - 1) + [math.nan]) == 0.0


def test_a_reading_records_the_tracks_heading_relative_to_the_towers_line_of_sight() -> None:
    scan = _thermal(3.0, 2.0)  # tower T01 at the origin
    toward = track_at(0.0, 2000.0, 0.0, -1.4)
    across = track_at(0.0, 2000.0, 1.4, 0.0)
    standing = track_at(0.0, 2000.0, 0.1, 0.0)
    for track in (toward, across, standing):
        evidence.add_thermal(track, scan, 0, 2000.0, ifov_rad=2e-4, mast_height_m=15.0)
    assert toward.evidence.features.aspect_headings_rad[0] == pytest.approx(0.0, abs=1e-9)
    assert across.evidence.features.aspect_headings_rad[0] == pytest.approx(0.5 * math.pi)
    assert math.isnan(standing.evidence.features.aspect_headings_rad[0])
