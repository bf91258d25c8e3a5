"""The imager's detection models against their sources: blur against the Airy pattern's
ensquared energy, the detector against white noise, the search state against NVESD
time-limited search ``P(t) = P_inf (1 - exp(-t / tau))``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.ndimage import maximum_filter
from scipy.special import ndtr

from sim.scenario import load_scenario
from sim.sensors.blur import peak_pixel_fraction, psf_sigma_px
from sim.sensors.detector import noise_blobs, peaks_per_pixel, threshold_sigma
from sim.sensors.glimpse import Glimpses
from sim.sensors.optics import ThermalParams, acquisition_probability, apparent_contrast_k
from sim.signatures import signature
from sim.uplink import MemoryUplink
from sim.world import World, environment_of


def _binomial_tolerance(p: float, n: int) -> float:
    """Four standard errors of a share estimated from ``n`` independent trials."""
    return 4.0 * float(np.sqrt(max(p * (1.0 - p), 1e-4) / n))


def test_point_image_energy_matches_the_airy_pattern_in_a_17_um_pixel() -> None:
    # f/1 at 10 um: 0.81 centred, 0.42 on an edge, 0.23 on a corner, 0.51 on average
    sigma = psf_sigma_px(10.0, 1.0, 17.0, 0.0)
    point = np.array([1e-6])

    def ee(px: float, py: float) -> float:
        return float(peak_pixel_fraction(point, point, np.array([px]), np.array([py]),
                                          sigma)[0] / 1e-12)

    assert ee(0.0, 0.0) == pytest.approx(0.81, abs=0.05)
    assert ee(0.5, 0.0) == pytest.approx(0.42, abs=0.03)
    assert ee(0.5, 0.5) == pytest.approx(0.23, abs=0.03)
    phases = np.linspace(-0.5, 0.5, 41)
    mean = np.mean([ee(a, b) for a in phases for b in phases])
    assert mean == pytest.approx(0.51, abs=0.04)
    # a target many pixels across fills its peak pixel
    wide = peak_pixel_fraction(np.array([20.0]), np.array([20.0]), np.array([0.3]),
                               np.array([-0.2]), sigma)
    assert wide[0] == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("k", [2.0, 3.0, 3.5])
def test_blob_rate_matches_peaks_of_white_noise_above_the_threshold(k: float) -> None:
    rng = np.random.default_rng(11)
    frames, size = 4, 512
    count = 0
    for _ in range(frames):
        image = rng.standard_normal((size, size))
        peaks = (image == maximum_filter(image, size=3, mode="constant", cval=-np.inf))
        count += int((peaks & (image > k))[1:-1, 1:-1].sum())  # away from the borders
    pixels = frames * (size - 2) ** 2
    expected = peaks_per_pixel(k) * pixels
    assert abs(count - expected) < 4.0 * np.sqrt(expected)


def test_blob_rate_tends_to_the_gaussian_tail_at_high_thresholds() -> None:
    for k in (4.5, 5.0, 5.5):
        assert peaks_per_pixel(k) == pytest.approx(float(ndtr(-k)), rel=0.01)
    assert threshold_sigma(14.0) == pytest.approx(5.01, abs=0.01)
    assert peaks_per_pixel(-10.0) == pytest.approx(1.0 / 9.0, rel=0.01)


def test_noise_blobs_are_capped_to_the_strongest_when_the_threshold_floods() -> None:
    rng = np.random.default_rng(3)
    pixels = np.array([655_360.0, 655_360.0])
    k = threshold_sigma(np.array([3.0, 14.0]))  # 1.4 sigma floods; 5 sigma does not
    _, towers, values = noise_blobs(rng, pixels, k, 200, np.array([100, 100]))
    low, high = towers == 0, towers == 1
    assert low.sum() == 100 * 200  # capped every frame
    assert values[low].min() > 3.5  # the strongest of ~26,000 blobs
    expected = 200 * pixels[1] * peaks_per_pixel(float(k[1]))
    assert abs(high.sum() - expected) < 4.0 * np.sqrt(expected)
    assert values[high].min() > k[1]


@pytest.mark.parametrize("p_inf", [0.2, 0.6, 0.95])
def test_search_state_gives_time_limited_search_for_a_static_target(p_inf: float) -> None:
    n, tau0, dt = 4000, 3.4, 0.5
    glimpses = Glimpses(1, n, np.array([tau0]), np.array([50.0]), np.random.default_rng(5))
    towers, targets = np.zeros(n, dtype=np.intp), np.arange(n)
    first = np.full(n, np.inf)
    for frame in range(1, 241):
        glimpses.move(np.zeros(n))
        acquired = glimpses.look(towers, targets, np.full(n, p_inf), dt)
        first = np.where(acquired & np.isinf(first), frame * dt, first)
    for t in (2.0, 10.0, 40.0, 120.0):
        model = p_inf * (1.0 - np.exp(-t * p_inf / tau0))
        assert np.mean(first <= t) == pytest.approx(model, abs=_binomial_tolerance(model, n))


def test_moving_targets_get_new_draws_as_their_background_changes() -> None:
    n = 4000
    glimpses = Glimpses(1, n, np.array([3.4]), np.array([50.0]), np.random.default_rng(6))
    towers, targets = np.zeros(n, dtype=np.intp), np.arange(n)
    ever = np.zeros(n, dtype=bool)
    for _ in range(1200):
        glimpses.move(np.full(n, 1.0))  # 1 m per frame: a fresh background every ~50 m
        ever |= glimpses.look(towers, targets, np.full(n, 0.2), 0.5)
    assert ever.mean() > 0.6  # static, only 20 % would ever be found


def _static_people(n: int, range_m: float) -> dict[str, Any]:
    bearings = np.radians(np.linspace(20.0, 160.0, n))
    targets = [{"id": f"p{i:03d}", "kind": "person", "start_s": 0, "speed_mps": 1e-4,
                "path": [[range_m * np.sin(b), range_m * np.cos(b)],
                         [range_m * np.sin(b) + 1.0, range_m * np.cos(b)]]}
               for i, b in enumerate(bearings)]
    site = {"name": "one", "origin": {"lat": 50.0, "lon": 10.0},
            "towers": [{"id": "T1", "x_m": 0.0, "y_m": 0.0}],
            "perimeter": [[500.0, -3000.0], [500.0, 3000.0]]}
    return {"name": "static", "seed": 21, "duration_s": 60, "site": site,
            "environment": {"start_time": "2026-01-15T22:00:00Z"}, "targets": targets,
            "sensors": {"thermal": {"pointing": "staring", "hot_spot_scale": 0.0}}}


def test_first_detection_of_static_people_follows_time_limited_search() -> None:
    n, range_m = 300, 2400.0
    world = World(load_scenario(_static_people(n, range_m)), MemoryUplink())
    world.run()
    imager = world._feeds()["thermal"].compute
    tau0 = float(imager.glimpses.tau0_s[0])
    params = ThermalParams()
    env = environment_of(world.scenario)
    sig = signature("person")
    t0 = np.array([0.0])
    factor = float(env.contrast_factor(t0)[0])
    contrast = sig.contrast_floor_k + (sig.contrast_night_k - sig.contrast_floor_k) * factor
    apparent = apparent_contrast_k(np.array([contrast]), env.ir_extinction_per_m(t0),
                                   np.array([range_m]), np.array([1.0]))
    p_inf = float(acquisition_probability(np.array([range_m]), apparent, np.array([1.0]),
                                          np.array([sig.critical_dim_m]),
                                          np.array([params.ifov_rad]), np.array([params.netd_k]),
                                          np.array([params.mrtd_nyquist_k]),
                                          np.array([params.n50_cycles]))[0])
    assert 0.2 < p_inf < 0.8
    first: dict[str, float] = {}
    for tag in world.truth.detections:
        if tag.sensor == "thermal" and tag.target_id is not None:
            first.setdefault(tag.target_id, (tag.seq + 1) * 0.5)
    times = np.array([first.get(f"p{i:03d}", np.inf) for i in range(n)])
    for t in (5.0, 15.0, 60.0):
        model = p_inf * (1.0 - np.exp(-t * p_inf / tau0))
        assert np.mean(times <= t) == pytest.approx(model, abs=_binomial_tolerance(model, n))
