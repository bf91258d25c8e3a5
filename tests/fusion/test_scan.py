from __future__ import annotations

import math

import numpy as np

from perimeter.contract import SensorReport
from perimeter.fusion.scan import KIND_HINTS, scan_from_report

XY = np.array([100.0, -200.0])


def report(detections: list[dict[str, object]], sensor: str = "thermal") -> SensorReport:
    return SensorReport.model_validate({"tower_id": "T03", "sensor": sensor, "seq": 7,
                                        "t_s": 1000.5, "detections": detections})


def test_detections_become_parallel_arrays_in_radians_with_nan_for_absent_extras() -> None:
    scan = scan_from_report(report([
        {"bearing_deg": 90.0, "bearing_sigma_deg": 0.2, "snr_db": 12.0, "size_px": 3.0,
         "contrast_k": 1.5, "elevation_deg": -0.5},
        {"bearing_deg": 180.0, "bearing_sigma_deg": 4.0, "snr_db": 6.0, "level_db": 40.0,
         "kind_hint": "engine"}]), 2, XY)
    assert (scan.tower_id, scan.tower_index, scan.seq, scan.t_s, scan.size) == ("T03", 2, 7,
                                                                                1000.5, 2)
    assert np.allclose(scan.bearing_rad, [math.pi / 2, math.pi])
    assert np.allclose(scan.sigma_rad, np.radians([0.2, 4.0]))
    assert scan.snr_db.tolist() == [12.0, 6.0]
    assert scan.size_px[0] == 3.0 and math.isnan(scan.size_px[1])
    assert scan.contrast_k[0] == 1.5 and math.isnan(scan.contrast_k[1])
    assert math.isnan(scan.level_db[0]) and scan.level_db[1] == 40.0
    assert scan.kind_hint.tolist() == [-1, KIND_HINTS.index("engine")]
    assert scan.elevation_rad is not None
    assert math.isclose(scan.elevation_rad[0], math.radians(-0.5))
    assert math.isnan(scan.elevation_rad[1])


def test_an_empty_report_is_an_empty_scan_that_selects_to_empty() -> None:
    scan = scan_from_report(report([], "acoustic"), 0, XY)
    assert scan.size == 0 and scan.sensor == "acoustic"
    arrays = (scan.bearing_rad, scan.sigma_rad, scan.snr_db, scan.size_px, scan.kind_hint)
    assert all(a.shape == (0,) for a in arrays)
    assert scan.select(np.zeros(0, dtype=bool)).size == 0


def test_snr_floor_while_building_equals_thresholding_the_scan() -> None:
    from perimeter.fusion.gate import apply_snr_threshold
    from perimeter.thresholds import Thresholds

    dets: list[dict[str, object]] = [
        {"bearing_deg": 10.0 * i, "bearing_sigma_deg": 0.1, "snr_db": snr, "size_px": 2.0,
         "elevation_deg": -0.3} for i, snr in enumerate([3.0, 8.0, 6.0, 12.0])]
    th = Thresholds()
    whole = apply_snr_threshold(scan_from_report(report(dets), 1, XY), th)
    floored = scan_from_report(report(dets), 1, XY, th.thermal_min_snr_db)
    assert 0 < floored.size < 4
    for name in ("bearing_rad", "sigma_rad", "snr_db", "size_px", "contrast_k", "level_db",
                 "kind_hint", "elevation_rad"):
        assert np.array_equal(getattr(whole, name), getattr(floored, name), equal_nan=True)
    assert scan_from_report(report(dets), 1, XY, 100.0).size == 0
