"""A real tower's measurement errors: fixed azimuth bias, wind sway, a reported sigma that
only estimates the true one, segmentation noise on size_px, clock offset and drift."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from perimeter import topics
from perimeter.contract import SensorReport, parse_payload
from sim.scenario import load_scenario
from sim.sensors.errors import draw_clocks, draw_imager_errors
from sim.sensors.optics import ThermalParams
from sim.uplink import MemoryUplink
from sim.world import World


def _track(seed: int, wind_mps: float = 2.0) -> dict[str, Any]:
    """One tower and a car driving slowly across its sector for ten minutes."""
    site = {"name": "one", "origin": {"lat": 50.0, "lon": 10.0},
            "towers": [{"id": "T1", "x_m": 0.0, "y_m": 0.0}],
            "perimeter": [[500.0, -3000.0], [500.0, 3000.0]]}
    return {"name": "track", "seed": seed, "duration_s": 600, "site": site,
            "environment": {"start_time": "2026-01-15T22:00:00Z", "wind_mps": wind_mps},
            "targets": [{"id": "v1", "kind": "light_vehicle", "start_s": 0, "speed_mps": 5.0,
                         "path": [[1500.0, -1500.0], [1500.0, 1500.0]]}],
            "sensors": {"thermal": {"pointing": "staring", "hot_spot_scale": 0.0}}}


def _residuals(data: dict[str, Any]) -> tuple[World, np.ndarray, np.ndarray, np.ndarray]:
    """Bearing residuals (reported - true), reported sigmas and sizes of the car's detections."""
    uplink = MemoryUplink()
    world = World(load_scenario(data), uplink)
    world.run()
    reports = {}
    for m in uplink.messages:
        if topics.parse_tower_topic(m.topic) and m.topic.endswith("/thermal"):
            r = parse_payload(SensorReport, m.payload)
            reports[r.seq] = r
    truth = world.truth.target("v1")
    res, sig, size = [], [], []
    epoch = world.scenario.epoch_s
    for tag in world.truth.detections:
        if tag.target_id != "v1" or tag.sensor != "thermal":
            continue
        det = reports[tag.seq].detections[tag.index]
        x, y = truth.position(epoch + (tag.seq + 1) * 0.5)  # the frame's true time
        true = np.degrees(np.arctan2(x, y))
        res.append((det.bearing_deg - true + 180.0) % 360.0 - 180.0)
        sig.append(det.bearing_sigma_deg)
        size.append(det.size_px)
    return world, np.array(res), np.array(sig), np.array(size)


def test_a_fixed_bias_is_recovered_as_the_mean_residual_of_a_long_track() -> None:
    world, res, sigma, _ = _residuals(_track(seed=8))
    bias = float(world.imager_errors.bias_deg[0])
    assert 0.05 <= abs(bias) <= 0.2
    assert len(res) > 500
    # consecutive residuals share the sway, so count the samples conservatively (one per 10)
    tolerance = 4.0 * res.std() / np.sqrt(len(res) / 10.0)
    assert res.mean() == pytest.approx(bias, abs=tolerance)
    assert abs(res.mean()) > 3.0 * tolerance  # the bias is there, not lost in the noise
    # the reported sigma is only an estimate: the true spread is off by the tower's factor
    ratio = float(np.std(res / sigma))
    assert ratio == pytest.approx(float(world.imager_errors.sigma_factor[0]), rel=0.2)


def test_biases_and_sigma_factors_are_drawn_per_tower_and_run() -> None:
    params = [ThermalParams()] * 500
    errors = draw_imager_errors(params, 2.0, 2.0, np.random.default_rng(1))
    assert np.all((np.abs(errors.bias_deg) >= 0.05) & (np.abs(errors.bias_deg) <= 0.2))
    assert 0.4 < np.mean(errors.bias_deg > 0) < 0.6
    assert np.std(np.log(errors.sigma_factor)) == pytest.approx(0.25, rel=0.2)
    other = draw_imager_errors(params, 2.0, 2.0, np.random.default_rng(2))
    assert not np.allclose(errors.bias_deg, other.bias_deg)


def test_sway_is_correlated_and_grows_with_the_square_of_the_wind() -> None:
    params = [ThermalParams()] * 20
    calm = draw_imager_errors(params, 3.0, 2.0, np.random.default_rng(4))
    gale = draw_imager_errors(params, 12.0, 2.0, np.random.default_rng(4))
    np.testing.assert_allclose(gale.sway_std_deg, 16.0 * calm.sway_std_deg)
    series = gale.sway(20_000, np.random.default_rng(5))  # (F, T)
    np.testing.assert_allclose(series.std(axis=0), gale.sway_std_deg, rtol=0.15)
    lag1 = np.mean(series[1:] * series[:-1], axis=0) / series.var(axis=0)
    np.testing.assert_allclose(lag1, np.exp(-1.0 / (2.0 * 2.0)), atol=0.05)  # tau 2 s, 2 Hz


def test_size_px_carries_segmentation_noise() -> None:
    _, _, _, size = _residuals(_track(seed=9))
    log_size = np.log(size)
    # the car's size changes little over the track; the blob's measured size varies more
    assert np.std(np.diff(log_size)) > 0.15
    assert size.min() >= 0.2


def test_clocks_drawn_per_tower_and_stamped_on_every_report() -> None:
    clocks = draw_clocks(2000, 0.01, 2.0, np.random.default_rng(3))
    offsets = np.array([c.offset_s for c in clocks])
    drifts = np.array([c.drift_ppm for c in clocks])
    assert offsets.std() == pytest.approx(0.01, rel=0.1)
    assert drifts.std() == pytest.approx(2.0, rel=0.1)
    assert clocks[0].local(1000.0 + 500.0, 1000.0) == pytest.approx(
        1500.0 + clocks[0].offset_s + clocks[0].drift_ppm * 1e-6 * 500.0)


def test_same_seed_same_detections_and_errors() -> None:
    a, res_a, _, _ = _residuals(_track(seed=10))
    b, res_b, _, _ = _residuals(_track(seed=10))
    c, _, _, _ = _residuals(_track(seed=11))
    np.testing.assert_array_equal(res_a, res_b)
    assert a.imager_errors.bias_deg[0] == b.imager_errors.bias_deg[0]
    assert a.clocks == b.clocks
    assert a.imager_errors.bias_deg[0] != c.imager_errors.bias_deg[0]


def test_perturb_scales_the_drawn_errors() -> None:
    params = [ThermalParams()] * 200
    nominal = draw_imager_errors(params, 2.0, 2.0, np.random.default_rng(7), perturb=0.0)
    assert np.all(nominal.bias_deg == 0.0) and np.all(nominal.sigma_factor == 1.0)
    wide = draw_imager_errors(params, 2.0, 2.0, np.random.default_rng(7), perturb=2.0)
    assert np.all((np.abs(wide.bias_deg) >= 0.1) & (np.abs(wide.bias_deg) <= 0.4))
    assert all(c.offset_s == 0.0 for c in draw_clocks(5, 0.01, 2.0, np.random.default_rng(1),
                                                       perturb=0.0))
