"""Thermal range performance: Johnson criteria, TTPF, MRTD and the bearing error."""

from __future__ import annotations

import numpy as np
import pytest

from sim.sensors.optics import (
    ThermalParams,
    bearing_sigma_deg,
    frame_detection,
    johnson_range_m,
    resolvable_fraction,
    ttpf,
)


def test_johnson_range_for_a_75_mm_lens_matches_the_vendor_figures() -> None:
    # 17 um pixels, 50 % detection at 1.5 pixels (0.75 cycles) across the critical dimension
    assert johnson_range_m(0.75, 75.0, 17.0, 0.75) == pytest.approx(2206, abs=1)
    assert johnson_range_m(2.3, 75.0, 17.0, 0.75) == pytest.approx(6765, abs=1)
    assert johnson_range_m(0.75, 150.0, 17.0, 0.75) == pytest.approx(4412, abs=1)


def test_default_imager_geometry() -> None:
    params = ThermalParams()
    assert params.ifov_rad == pytest.approx(17e-6 / 0.075)
    assert params.hfov_deg == pytest.approx(8.3, abs=0.05)


def test_ttpf_is_one_half_at_n50_and_monotonic() -> None:
    ratios = np.linspace(0.0, 4.0, 81)
    p = ttpf(ratios)
    assert p[20] == pytest.approx(0.5)
    assert np.all(np.diff(p) >= 0.0)
    assert p[0] == 0.0 and p[-1] > 0.99
    assert ttpf(np.array([1e6]))[0] == pytest.approx(1.0)


def test_resolvable_fraction_falls_with_contrast() -> None:
    frac = resolvable_fraction(np.array([5.0, 1.0, 0.3, 0.04]), 0.04, 1.0)
    np.testing.assert_allclose(frac[[0, 1, 3]], [1.0, 1.0, 0.0])
    assert 0.0 < frac[2] < 1.0


def test_bearing_sigma_grows_as_snr_falls_and_never_below_the_pixel() -> None:
    ifov_deg = np.degrees(ThermalParams().ifov_rad)
    snr = np.array([40.0, 20.0, 10.0, 3.0, -3.0])
    sigma = bearing_sigma_deg(snr, ifov_deg, 0.0)
    assert np.all(np.diff(sigma) > 0.0)
    assert np.all(sigma >= ifov_deg)


def test_per_frame_probability_falls_with_range_and_atmosphere() -> None:
    p = ThermalParams()
    ranges = np.array([500.0, 1500.0, 2500.0, 4000.0])

    def prob(ext_per_m: float) -> np.ndarray:
        one = np.ones_like(ranges)
        return frame_detection(ranges, 10.0 * one, one, ext_per_m * one, 0.75 * one, 0.5 * one,
                               1.75 * one, p.ifov_rad * one, p.netd_k * one,
                               p.mrtd_nyquist_k * one, p.n50_cycles * one, 0.4 * one,
                               p.detector_snr_db * one)[2]

    clear, fog = prob(0.2e-3), prob(8e-3)
    assert np.all(np.diff(clear) < 0.0)
    assert np.all(fog <= clear) and fog[1] < 0.01 < clear[1]
