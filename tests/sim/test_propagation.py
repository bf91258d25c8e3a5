"""Acoustic propagation against ISO 9613-1's tables and the Stoica–Nehorai bound."""

from __future__ import annotations

import numpy as np
import pytest

from sim.sensors.propagation import (
    absorption_db_per_m,
    foliage_attenuation_db,
    ground_attenuation_db,
    received_level_db,
    speed_of_sound_mps,
    stoica_nehorai_sigma_deg,
)

# ISO 9613-1 Table 1 (dB/km) at the exact mid-band frequencies 1000 * 10^(k/10).
MIDBAND_HZ = 1000.0 * 10.0 ** (np.array([-12, -9, -6, -3, 0, 3, 6]) / 10.0)
TABLE = {
    (10.0, 70.0): [0.12, 0.41, 1.04, 1.92, 3.66, 9.7, 33.1],
    (20.0, 50.0): [0.12, 0.44, 1.31, 2.73, 4.66, 9.89, 29.7],
}


@pytest.mark.parametrize(("air", "expected_db_km"), TABLE.items())
def test_iso_9613_1_absorption_matches_the_table(air: tuple[float, float],
                                                 expected_db_km: list[float]) -> None:
    got = absorption_db_per_m(MIDBAND_HZ, *air) * 1000.0
    # the standard quotes +-10 % for its formula; the table is that formula rounded
    np.testing.assert_allclose(got, expected_db_km, rtol=0.03)


def test_absorption_rises_with_frequency_and_depends_on_humidity() -> None:
    alpha = absorption_db_per_m(MIDBAND_HZ, 10.0, 70.0)
    assert np.all(np.diff(alpha) > 0)
    dry = absorption_db_per_m(4000.0, 10.0, 20.0)
    wet = absorption_db_per_m(4000.0, 10.0, 70.0)
    assert dry > wet  # at 4 kHz dry air absorbs more (oxygen relaxation shifts)


def test_speed_of_sound() -> None:
    assert speed_of_sound_mps(20.0) == pytest.approx(343.2, abs=0.2)
    assert speed_of_sound_mps(0.0) == pytest.approx(331.3)


def test_spherical_spreading_loses_6_db_per_doubling() -> None:
    levels = received_level_db(np.array([100.0, 100.0]), np.array([100.0, 200.0]), 0.0,
                               np.zeros(2))
    assert levels[0] - levels[1] == pytest.approx(20 * np.log10(2.0))


def test_ground_and_foliage_terms() -> None:
    ranges = np.array([10.0, 100.0, 1000.0, 5000.0])
    a_gr = ground_attenuation_db(ranges, 8.0)
    assert np.all(a_gr >= 0.0) and np.all(np.diff(a_gr) >= 0.0) and a_gr[-1] < 4.8
    foliage = foliage_attenuation_db(np.array([100.0, 500.0]), np.array([500.0, 500.0]))
    assert foliage[0] == pytest.approx(5.0)
    assert foliage[1] == pytest.approx(10.0)  # capped at 200 m of foliage


def test_stoica_nehorai_values_from_the_notes() -> None:
    # 4 mics at 0.1 m, 100 snapshots, 500 Hz: 6.3 / 2.0 / 0.63 degrees at -10 / 0 / +10 dB
    sigma = stoica_nehorai_sigma_deg(np.array([-10.0, 0.0, 10.0]), 500.0, 4, 0.1, 100, 343.0)
    np.testing.assert_allclose(sigma, [6.3, 2.0, 0.63], rtol=0.02)
    low = stoica_nehorai_sigma_deg(np.array([0.0]), 100.0, 4, 0.1, 100, 343.0)
    assert low[0] == pytest.approx(5 * sigma[1])
