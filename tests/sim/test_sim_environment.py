"""Atmosphere and time of day."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from sim.environment import (
    Environment,
    aerosol_extinction_per_km,
    diurnal_contrast_factor,
    kim_q,
    thermal_extinction_per_km,
)


def _unix(hour_utc: float, day: str = "2026-01-15") -> float:
    return datetime.fromisoformat(f"{day}T00:00:00+00:00").replace(tzinfo=UTC).timestamp() \
        + hour_utc * 3600.0


def test_kim_q_pieces() -> None:
    assert kim_q(60.0) == 1.6
    assert kim_q(20.0) == 1.3
    assert kim_q(3.0) == pytest.approx(0.16 * 3.0 + 0.34)
    assert kim_q(0.8) == pytest.approx(0.3)
    assert kim_q(0.3) == 0.0


def test_koschmieder_in_the_visible_and_thermal_advantage_in_haze() -> None:
    assert aerosol_extinction_per_km(10.0, 0.55) == pytest.approx(0.391)
    assert aerosol_extinction_per_km(3.0, 10.0) < 0.2 * aerosol_extinction_per_km(3.0, 0.55)
    # fog below 0.5 km: no advantage for the thermal band
    assert aerosol_extinction_per_km(0.4, 10.0) == pytest.approx(3.91 / 0.4)


def test_extinction_orders_the_weathers() -> None:
    ext = {w: thermal_extinction_per_km(w, 10.0, 70.0) for w in ("clear", "haze", "rain", "fog")}
    assert 0.1 <= ext["clear"] < ext["haze"] < ext["rain"] < ext["fog"]


def test_diurnal_contrast_high_at_night_low_by_day_near_zero_at_crossover() -> None:
    hours = np.arange(0.0, 24.0, 0.25)
    factor = diurnal_contrast_factor(np.array([_unix(h) for h in hours]), 50.0, 10.0)
    assert factor[hours == 1.0][0] == 1.0
    assert factor[hours == 23.0][0] == 1.0
    day = factor[(hours >= 10.0) & (hours <= 14.0)]
    assert np.all(day < 0.6)
    morning = factor[(hours >= 6.0) & (hours <= 10.0)]
    assert morning.min() < 0.1


def test_weather_timeline_and_noise_floor() -> None:
    env = Environment(_unix(22.0), [(0.0, "clear"), (600.0, "rain")], 2.0, 10.0, 70.0, 50.0,
                      10.0)
    assert env.weather_at(10.0) == "clear"
    assert env.weather_at(600.0) == "rain"
    noise = env.noise_floor_db(np.array([0.0, 700.0]))
    assert noise[1] > noise[0]
    windy = Environment(_unix(22.0), [(0.0, "clear")], 9.0, 10.0, 70.0, 50.0, 10.0)
    assert windy.noise_floor_db(np.array([0.0]))[0] > noise[0] + 10.0
