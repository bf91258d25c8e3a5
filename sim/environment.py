"""Weather, atmosphere and time of day as the sensors feel them (docs/sensors.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from sim.sensors.propagation import speed_of_sound_mps, wind_noise_db

FloatArray = npt.NDArray[np.float64]
Weather = Literal["clear", "haze", "fog", "rain"]
WEATHERS: tuple[Weather, ...] = ("clear", "haze", "fog", "rain")


@dataclass(frozen=True, slots=True)
class WeatherProps:
    visibility_km: float  # meteorological visibility, for Koschmieder
    rain_ir_db_per_km: float  # extra thermal-band loss in rain
    acoustic_noise_db: float  # extra acoustic background (rain on the array)


WEATHER_PROPS: dict[str, WeatherProps] = {
    "clear": WeatherProps(20.0, 0.0, 0.0),
    "haze": WeatherProps(3.0, 0.0, 0.0),
    "fog": WeatherProps(0.7, 0.0, 0.0),
    "rain": WeatherProps(6.0, 1.0, 10.0),
}

THERMAL_WAVELENGTH_UM = 10.0
RURAL_BACKGROUND_DB = 22.0


def kim_q(visibility_km: float) -> float:
    """Kim's size-distribution exponent q for the Kruse wavelength law."""
    v = visibility_km
    if v > 50.0:
        return 1.6
    if v > 6.0:
        return 1.3
    if v > 1.0:
        return 0.16 * v + 0.34
    if v > 0.5:
        return v - 0.5
    return 0.0


def aerosol_extinction_per_km(visibility_km: float, wavelength_um: float) -> float:
    """Koschmieder ``3.91 / V`` at 0.55 µm scaled by ``(lambda / 0.55)^-q`` (Kruse/Kim)."""
    return float(3.91 / visibility_km * (wavelength_um / 0.55) ** (-kim_q(visibility_km)))


def absolute_humidity_g_m3(temperature_c: float, humidity_pct: float) -> float:
    """Water vapour density from temperature and relative humidity (Magnus formula)."""
    e_sat_hpa = 6.112 * math.exp(17.67 * temperature_c / (temperature_c + 243.5))
    return e_sat_hpa * humidity_pct * 2.1674 / (273.15 + temperature_c)


def thermal_extinction_per_km(weather: str, temperature_c: float, humidity_pct: float) -> float:
    """Thermal-band (8–14 µm) extinction: aerosol + water-vapour absorption + rain."""
    props = WEATHER_PROPS[weather]
    molecular = 0.1 + 0.2 * min(absolute_humidity_g_m3(temperature_c, humidity_pct) / 15.0, 1.0)
    rain = props.rain_ir_db_per_km / (10.0 * math.log10(math.e))
    return aerosol_extinction_per_km(props.visibility_km, THERMAL_WAVELENGTH_UM) + molecular + rain


def solar_elevation_deg(unix_s: FloatArray, lat_deg: float, lon_deg: float) -> FloatArray:
    """Approximate solar elevation (declination by day of year, hour angle by solar time)."""
    days = unix_s / 86400.0
    day_of_year = np.mod(days - 0.5 + 1.0, 365.25)  # ~ 1 Jan = 1 (epoch is 1 Jan 1970)
    decl = np.radians(-23.44) * np.cos(2.0 * np.pi / 365.0 * (day_of_year + 10.0))
    solar_hours = np.mod(days * 24.0 + lon_deg / 15.0, 24.0)
    hour_angle = np.radians(15.0 * (solar_hours - 12.0))
    lat = math.radians(lat_deg)
    sin_el = math.sin(lat) * np.sin(decl) + math.cos(lat) * np.cos(decl) * np.cos(hour_angle)
    return np.asarray(np.degrees(np.arcsin(np.clip(sin_el, -1.0, 1.0))), dtype=np.float64)


def diurnal_contrast_factor(unix_s: FloatArray, lat_deg: float, lon_deg: float) -> FloatArray:
    """Body-contrast multiplier: 1 at night, ~0.45 by day, near 0 at the crossovers.

    The morning crossover comes ~1 h after sunrise (sun at ~8°), the evening one near sunset:
    the crossing elevation moves smoothly from 8° at 06:00 to 0° at 18:00 solar time.
    """
    el = solar_elevation_deg(unix_s, lat_deg, lon_deg)
    hour_angle = np.radians(15.0 * (np.mod(unix_s / 3600.0 + lon_deg / 15.0, 24.0) - 12.0))
    crossing = 4.0 - 4.0 * np.sin(hour_angle)
    g = np.where(el <= crossing,
                 np.clip((crossing - el) / (crossing + 6.0), 0.0, 1.0),
                 -0.45 * np.clip((el - crossing) / 20.0, 0.0, 1.0))
    return np.asarray(np.maximum(np.abs(g), 0.03), dtype=np.float64)


def daylight_fraction(unix_s: FloatArray, lat_deg: float, lon_deg: float) -> FloatArray:
    """0 at night (sun below −6°) rising to 1 with the sun at 30°: solar loading of the scene."""
    el = solar_elevation_deg(unix_s, lat_deg, lon_deg)
    return np.asarray(np.clip((el + 6.0) / 36.0, 0.0, 1.0), dtype=np.float64)


class Environment:
    """The scenario's environment over time: weather timeline, wind, air, sun."""

    def __init__(self, epoch_s: float, timeline: list[tuple[float, str]], wind_mps: float,
                 temperature_c: float, humidity_pct: float, lat_deg: float,
                 lon_deg: float) -> None:
        self.epoch_s = epoch_s
        self.change_s = np.array([at for at, _ in timeline], dtype=np.float64)
        self.weather_names = [w for _, w in timeline]
        self.wind_mps = wind_mps
        self.temperature_c = temperature_c
        self.humidity_pct = humidity_pct
        self.lat_deg = lat_deg
        self.lon_deg = lon_deg
        self.sound_speed_mps = speed_of_sound_mps(temperature_c)
        self._ir_ext = np.array([thermal_extinction_per_km(w, temperature_c, humidity_pct)
                                 for w in self.weather_names])
        self._noise = np.array([self._noise_floor(w) for w in self.weather_names])

    def _noise_floor(self, weather: str) -> float:
        parts = [RURAL_BACKGROUND_DB, wind_noise_db(self.wind_mps)]
        if WEATHER_PROPS[weather].acoustic_noise_db > 0.0:
            parts.append(RURAL_BACKGROUND_DB + WEATHER_PROPS[weather].acoustic_noise_db)
        return 10.0 * math.log10(sum(10.0 ** (p / 10.0) for p in parts))

    def _index(self, sim_s: FloatArray) -> npt.NDArray[np.intp]:
        idx = np.searchsorted(self.change_s, sim_s, side="right") - 1
        return np.asarray(np.maximum(idx, 0), dtype=np.intp)

    def weather_at(self, sim_s: float) -> str:
        return self.weather_names[int(self._index(np.array([sim_s]))[0])]

    def ir_extinction_per_m(self, sim_s: FloatArray) -> FloatArray:
        return np.asarray(self._ir_ext[self._index(sim_s)] / 1000.0, dtype=np.float64)

    def noise_floor_db(self, sim_s: FloatArray) -> FloatArray:
        return np.asarray(self._noise[self._index(sim_s)], dtype=np.float64)

    def contrast_factor(self, sim_s: FloatArray) -> FloatArray:
        return diurnal_contrast_factor(self.epoch_s + sim_s, self.lat_deg, self.lon_deg)

    def daylight(self, sim_s: FloatArray) -> FloatArray:
        return daylight_fraction(self.epoch_s + sim_s, self.lat_deg, self.lon_deg)
