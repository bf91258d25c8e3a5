"""Detection ranges the sensor models give, per target kind, weather and time of day.

``python -m sim.coverage`` prints the table quoted in docs/sensors.md.
"""

from __future__ import annotations

import numpy as np

from sim.environment import RURAL_BACKGROUND_DB, WEATHER_PROPS, WEATHERS, thermal_extinction_per_km
from sim.sensors.acoustic import AcousticParams
from sim.sensors.optics import ThermalParams, frame_detection
from sim.sensors.propagation import (
    absorption_db_per_m,
    ground_attenuation_db,
    received_level_db,
    wind_noise_db,
)
from sim.signatures import KINDS, SOUNDS, signature

RANGES_M = np.geomspace(20.0, 30_000.0, 4000)
LIGHTING = {"night": (1.0, 0.0), "day": (0.45, 1.0), "crossover": (0.03, 0.3)}
"""Contrast factor and daylight fraction for each lighting condition."""


def _last_above(values: np.ndarray, level: float) -> float:
    above = np.nonzero(values >= level)[0]
    return float(RANGES_M[above[-1]]) if len(above) else 0.0


def thermal_range_m(kind: str, weather: str, lighting: str = "night",
                    params: ThermalParams | None = None, temperature_c: float = 10.0,
                    humidity_pct: float = 70.0) -> float:
    """Range at which the per-frame detection probability falls to 50 % (clear line of sight)."""
    p = params or ThermalParams()
    sig = signature(kind, 3 if kind == "group" else 1)
    factor, day = LIGHTING[lighting]
    contrast = sig.contrast_floor_k + (sig.contrast_night_k - sig.contrast_floor_k) * factor
    scene = p.scene_clutter_night_k + (p.scene_clutter_day_k - p.scene_clutter_night_k) * day
    ext = thermal_extinction_per_km(weather, temperature_c, humidity_pct) / 1000.0
    one = np.ones_like(RANGES_M)
    _, _, prob = frame_detection(RANGES_M, contrast * one, one, ext * one, sig.critical_dim_m * one,
                                 sig.width_m * one, sig.height_m * one, p.ifov_rad * one,
                                 p.netd_k * one, p.mrtd_nyquist_k * one, p.n50_cycles * one,
                                 scene * one, p.detector_snr_db * one)
    return _last_above(prob, 0.5)


def acoustic_range_m(kind: str, weather: str = "clear", wind_mps: float = 2.0,
                     params: AcousticParams | None = None, temperature_c: float = 10.0,
                     humidity_pct: float = 70.0, tower_height_m: float = 15.0) -> float:
    """Range at which the kind's loudest usual sound reaches the array's detector threshold."""
    p = params or AcousticParams()
    source = max(SOUNDS[kind], key=lambda s: s.level_db)
    alpha = float(absorption_db_per_m(source.peak_hz, temperature_c, humidity_pct))
    parts = [RURAL_BACKGROUND_DB, wind_noise_db(wind_mps)]
    if WEATHER_PROPS[weather].acoustic_noise_db > 0.0:
        parts.append(RURAL_BACKGROUND_DB + WEATHER_PROPS[weather].acoustic_noise_db)
    noise = 10.0 * np.log10(sum(10.0 ** (x / 10.0) for x in parts))
    level = received_level_db(np.full_like(RANGES_M, source.level_db), RANGES_M, alpha,
                              ground_attenuation_db(RANGES_M, 0.5 * (tower_height_m + 1.0)))
    snr = level - noise + 10.0 * np.log10(p.n_mics)
    return _last_above(snr, p.detector_snr_db)


def table() -> str:
    """A markdown table of thermal (by weather, lighting) and acoustic detection ranges."""
    head = ["kind", *[f"{w} night" for w in WEATHERS], "clear day", "clear crossover",
            "acoustic (2 m/s)", "acoustic (8 m/s)"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for kind in KINDS:
        cells = [f"{thermal_range_m(kind, w):,.0f}" for w in WEATHERS]
        cells += [f"{thermal_range_m(kind, 'clear', 'day'):,.0f}",
                  f"{thermal_range_m(kind, 'clear', 'crossover'):,.0f}",
                  f"{acoustic_range_m(kind, wind_mps=2.0):,.0f}",
                  f"{acoustic_range_m(kind, wind_mps=8.0):,.0f}"]
        lines.append("| " + " | ".join([kind, *cells]) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
