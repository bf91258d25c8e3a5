"""Detection ranges the sensor models give, per target kind, weather and time of day.

``python -m sim.coverage`` prints the table quoted in docs/sensors.md.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sim.environment import RURAL_BACKGROUND_DB, WEATHER_PROPS, WEATHERS, thermal_extinction_per_km
from sim.sensors.acoustic import AcousticParams
from sim.sensors.heads import Heads
from sim.sensors.optics import ThermalParams, acquisition_probability, frame_detection
from sim.sensors.propagation import (
    absorption_db_per_m,
    ground_attenuation_db,
    received_level_db,
    wind_noise_db,
)
from sim.signatures import KINDS, SOUNDS, signature, usual_count

FloatArray = npt.NDArray[np.float64]
RANGES_M = np.geomspace(20.0, 30_000.0, 4000)
LIGHTING = {"night": (1.0, 0.0), "day": (0.45, 1.0), "crossover": (0.03, 0.3)}
"""Contrast factor and daylight fraction for each lighting condition."""


def _last_above(values: np.ndarray, level: float) -> float:
    above = np.nonzero(values >= level)[0]
    return float(RANGES_M[above[-1]]) if len(above) else 0.0


def _thermal_terms(kind: str, weather: str, lighting: str, p: ThermalParams,
                   temperature_c: float, humidity_pct: float) -> tuple[FloatArray, FloatArray]:
    """``P_inf`` and the long-run share of looks that detect, over :data:`RANGES_M`."""
    sig = signature(kind, usual_count(kind))
    factor, day = LIGHTING[lighting]
    contrast = sig.contrast_floor_k + (sig.contrast_night_k - sig.contrast_floor_k) * factor
    scene = p.scene_clutter_night_k + (p.scene_clutter_day_k - p.scene_clutter_night_k) * day
    ext = thermal_extinction_per_km(weather, temperature_c, humidity_pct) / 1000.0
    one = np.ones_like(RANGES_M)
    apparent, _, share = frame_detection(
        RANGES_M, contrast * one, one, ext * one, sig.critical_dim_m * one, sig.width_m * one,
        sig.height_m * one, p.ifov_rad * one, p.netd_k * one, p.mrtd_nyquist_k * one,
        p.n50_cycles * one, scene * one, p.detector_snr_db * one, p.blur_px, p.background_leak)
    p_inf = acquisition_probability(RANGES_M, apparent, one, sig.critical_dim_m * one,
                                    p.ifov_rad * one, p.netd_k * one, p.mrtd_nyquist_k * one,
                                    p.n50_cycles * one)
    return p_inf, share


def thermal_range_m(kind: str, weather: str, lighting: str = "night",
                    params: ThermalParams | None = None, temperature_c: float = 10.0,
                    humidity_pct: float = 70.0) -> float:
    """Range at which the long-run share of looks that detect (``P_inf`` times the
    detector's probability, blur averaged over the sub-pixel phase) falls to 50 % (clear
    line of sight)."""
    _, share = _thermal_terms(kind, weather, lighting, params or ThermalParams(),
                              temperature_c, humidity_pct)
    return _last_above(share, 0.5)


def thermal_found_range_m(kind: str, weather: str = "clear", lighting: str = "night",
                          within_s: float = 120.0, params: ThermalParams | None = None,
                          frame_hz: float = 2.0) -> float:
    """Range within which one tower finds a static target within ``within_s`` with 50 %
    probability: ``P_inf (1 - exp(-t P_inf / tau0))`` over the time ``t`` its heads look at
    it, times the detector's probability on a look."""
    p = params or ThermalParams()
    p_inf, share = _thermal_terms(kind, weather, lighting, p, 10.0, 70.0)
    looking_s = within_s / Heads([p], frame_hz).revisit_s[0] / frame_hz
    found = p_inf * (1.0 - np.exp(-looking_s * p_inf / p.glimpse_tau_s))
    detect = np.where(p_inf > 0, share / np.maximum(p_inf, 1e-12), 0.0)
    return _last_above(found * detect, 0.5)


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
            "found in 2 min, clear night", "acoustic (2 m/s)", "acoustic (8 m/s)"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for kind in KINDS:
        cells = [f"{thermal_range_m(kind, w):,.0f}" for w in WEATHERS]
        cells += [f"{thermal_range_m(kind, 'clear', 'day'):,.0f}",
                  f"{thermal_range_m(kind, 'clear', 'crossover'):,.0f}",
                  f"{thermal_found_range_m(kind):,.0f}",
                  f"{acoustic_range_m(kind, wind_mps=2.0):,.0f}",
                  f"{acoustic_range_m(kind, wind_mps=8.0):,.0f}"]
        lines.append("| " + " | ".join([kind, *cells]) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
