"""Outdoor sound propagation: ISO 9613-1 air absorption, spreading, ground and foliage terms."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_P_REF_KPA = 101.325
_T_REF_K = 293.15
_T_TRIPLE_K = 273.16


def absorption_db_per_m(freq_hz: FloatArray | float, temperature_c: float,
                        humidity_pct: float, pressure_kpa: float = _P_REF_KPA) -> FloatArray:
    """Pure-tone atmospheric absorption coefficient (dB/m), ISO 9613-1:1993 eqs. (3)-(5), (B.1)."""
    f = np.asarray(freq_hz, dtype=np.float64)
    t_k = temperature_c + 273.15
    pa = pressure_kpa / _P_REF_KPA
    c_sat = -6.8346 * (_T_TRIPLE_K / t_k) ** 1.261 + 4.6151
    h = humidity_pct * 10.0**c_sat / pa  # molar concentration of water vapour, %
    tr = t_k / _T_REF_K
    fr_o = pa * (24.0 + 4.04e4 * h * (0.02 + h) / (0.391 + h))
    fr_n = pa * tr**-0.5 * (9.0 + 280.0 * h * np.exp(-4.170 * (tr ** (-1.0 / 3.0) - 1.0)))
    alpha = 8.686 * f**2 * (
        1.84e-11 / pa * tr**0.5
        + tr**-2.5 * (0.01275 * np.exp(-2239.1 / t_k) / (fr_o + f**2 / fr_o)
                      + 0.1068 * np.exp(-3352.0 / t_k) / (fr_n + f**2 / fr_n))
    )
    return np.asarray(alpha, dtype=np.float64)


def speed_of_sound_mps(temperature_c: float) -> float:
    """Speed of sound in dry air, ``331.3 * sqrt(1 + T/273.15)``."""
    return float(331.3 * np.sqrt(1.0 + temperature_c / 273.15))


def ground_attenuation_db(range_m: FloatArray, mean_height_m: FloatArray | float) -> FloatArray:
    """ISO 9613-2 eq. (10) ground term for mostly porous ground: ``4.8 - (2h/d)(17 + 300/d)``."""
    d = np.maximum(range_m, 1.0)
    a_gr = 4.8 - (2.0 * mean_height_m / d) * (17.0 + 300.0 / d)
    return np.asarray(np.maximum(a_gr, 0.0), dtype=np.float64)


def foliage_attenuation_db(path_in_forest_m: FloatArray, freq_hz: FloatArray) -> FloatArray:
    """ISO 9613-2 Annex A foliage term: ~0.02 dB/m at 63 Hz to 0.12 dB/m at 8 kHz, <= 200 m."""
    per_m = np.interp(np.log2(np.maximum(freq_hz, 1.0)),
                      np.log2([63.0, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0]),
                      [0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.09, 0.12])
    return np.asarray(per_m * np.minimum(path_in_forest_m, 200.0), dtype=np.float64)


def received_level_db(source_db: FloatArray, range_m: FloatArray,
                      alpha_db_per_m: FloatArray | float,
                      excess_db: FloatArray) -> FloatArray:
    """``L(r) = L_1m - 20 log10(r) - alpha r - excess`` (spherical spreading from 1 m)."""
    r = np.maximum(range_m, 1.0)
    return np.asarray(source_db - 20.0 * np.log10(r) - alpha_db_per_m * r - excess_db,
                      dtype=np.float64)


def wind_noise_db(wind_mps: float) -> float:
    """Wind noise on a windscreened microphone, dB: 25 dB at 3 m/s, rising 40 dB per decade."""
    return 25.0 + 40.0 * float(np.log10(max(wind_mps, 0.1) / 3.0))


def stoica_nehorai_sigma_deg(snr_db: FloatArray, freq_hz: FloatArray | float,
                             n_mics: FloatArray | float, spacing_m: FloatArray | float,
                             snapshots: FloatArray | float, sound_speed_mps: float,
                             cos_off_broadside: FloatArray | float = 1.0) -> FloatArray:
    """Bearing 1-sigma (deg) from the Stoica–Nehorai bound for a uniform *linear* array.

    ``var = 6 / (N * SNR * M (M^2 - 1) * (2 pi d cos(theta) / lambda)^2)``, ``SNR`` per
    element (the array gain is the factor ``M`` inside), ``theta`` off broadside.
    """
    snr_lin = 10.0 ** (np.asarray(snr_db) / 10.0)
    kd = 2.0 * np.pi * spacing_m * np.asarray(freq_hz) / sound_speed_mps
    kd = kd * np.asarray(cos_off_broadside)
    m = np.asarray(n_mics, dtype=np.float64)
    var = 6.0 / (np.asarray(snapshots) * snr_lin * m * (m**2 - 1.0) * kd**2)
    return np.asarray(np.degrees(np.sqrt(var)), dtype=np.float64)


def circular_sigma_deg(snr_db: FloatArray, freq_hz: FloatArray | float,
                       n_mics: FloatArray | float, spacing_m: FloatArray | float,
                       snapshots: FloatArray | float, sound_speed_mps: float) -> FloatArray:
    """Bearing 1-sigma (deg) from the deterministic Cramér–Rao bound of a uniform *circular*
    array of ``M >= 3`` mics, adjacent ones ``spacing_m`` apart (radius
    ``d / (2 sin(pi / M))``), source in the array's plane:
    ``var = 1 / (N * SNR * M * (k r)^2)``, ``SNR`` per element; the same in every direction.
    """
    snr_lin = 10.0 ** (np.asarray(snr_db) / 10.0)
    m = np.asarray(n_mics, dtype=np.float64)
    radius = np.asarray(spacing_m) / (2.0 * np.sin(np.pi / m))
    kr = 2.0 * np.pi * radius * np.asarray(freq_hz) / sound_speed_mps
    var = 1.0 / (np.asarray(snapshots) * snr_lin * m * kr**2)
    return np.asarray(np.degrees(np.sqrt(var)), dtype=np.float64)


def alias_free_hz(spacing_m: FloatArray | float, sound_speed_mps: float) -> FloatArray:
    """Highest frequency without spatial aliasing (grating lobes): ``c / (2 d)``."""
    return np.asarray(sound_speed_mps / (2.0 * np.asarray(spacing_m)), dtype=np.float64)
