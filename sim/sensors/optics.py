"""Thermal imager optics and range performance: IFOV, Johnson criteria, TTPF, MRTD.

Formulas and sources are in docs/sensors.md.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

FloatArray = npt.NDArray[np.float64]

Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]


class ThermalParams(BaseModel):
    """A tower's thermal imager; every field may be overridden per tower or per scenario."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    focal_length_mm: Annotated[float, Field(gt=1.0, le=1000.0)] = 75.0
    pixel_pitch_um: Annotated[float, Field(gt=1.0, le=100.0)] = 17.0
    width_px: Annotated[int, Field(ge=16, le=8192)] = 640
    height_px: Annotated[int, Field(ge=16, le=8192)] = 512
    netd_k: Annotated[float, Field(gt=0.0, le=1.0)] = 0.040
    mrtd_nyquist_k: Annotated[float, Field(gt=0.0, le=20.0)] = 1.0
    """Minimum resolvable temperature difference at the detector's Nyquist frequency."""
    n50_cycles: Annotated[float, Field(gt=0.0, le=10.0)] = 0.75
    """Johnson cycles across the critical dimension for 50 % detection (1.5 pixels)."""
    detector_snr_db: Annotated[float, Field(ge=-10.0, le=40.0)] = 3.0
    """The imager's own detector threshold (50 % point) on signal-to-clutter ratio."""
    scene_clutter_night_k: Annotated[float, Field(ge=0.0, le=20.0)] = 0.4
    scene_clutter_day_k: Annotated[float, Field(ge=0.0, le=20.0)] = 1.0
    mount_sigma_deg: Annotated[float, Field(ge=0.0, le=5.0)] = 0.02
    sector_deg: tuple[float, float] = (0.0, 180.0)
    """Azimuth sector watched, clockwise from ``[0]`` to ``[1]`` (degrees from grid north)."""
    pointing: Literal["staring", "slewing"] = "staring"
    """``staring``: a mosaic of cores watches the whole sector every frame; ``slewing``: one
    core steps across the sector, one field of view per frame."""
    clutter_per_frame: Annotated[float, Field(ge=0.0, le=50.0)] = 0.05
    """Mean number of false detections per frame (Poisson)."""
    max_range_m: Annotated[float, Field(gt=0.0, le=100_000.0)] = 20_000.0
    """Computational cut-off: targets farther than this are not evaluated (P < 1e-3)."""

    @model_validator(mode="after")
    def _check_sector(self) -> ThermalParams:
        lo, hi = self.sector_deg
        if not (0.0 <= lo < 360.0 and 0.0 < hi <= 720.0 and lo < hi <= lo + 360.0):
            raise ValueError("sector_deg must be [start, end] with 0 <= start < end <= start+360")
        return self

    @property
    def ifov_rad(self) -> float:
        """Instantaneous field of view of one pixel."""
        return self.pixel_pitch_um * 1e-6 / (self.focal_length_mm * 1e-3)

    @property
    def hfov_deg(self) -> float:
        """Horizontal field of view of one core."""
        half = self.width_px * self.pixel_pitch_um * 1e-6 / 2.0 / (self.focal_length_mm * 1e-3)
        return math.degrees(2.0 * math.atan(half))


def johnson_range_m(critical_dim_m: float, focal_length_mm: float, pixel_pitch_um: float,
                    cycles: float) -> float:
    """Geometry-only range at which ``cycles`` (2 pixels each) span the critical dimension."""
    return critical_dim_m * focal_length_mm * 1e-3 / (2.0 * cycles * pixel_pitch_um * 1e-6)


def ttpf(cycle_ratio: FloatArray) -> FloatArray:
    """Target transfer probability function, ``P = r^E / (1 + r^E)``, ``E = 2.7 + 0.7 r``."""
    ratio = np.clip(cycle_ratio, 0.0, 20.0)  # P is 1 to double precision well before 20
    power = ratio ** (2.7 + 0.7 * ratio)
    return np.asarray(power / (1.0 + power), dtype=np.float64)


def resolvable_fraction(apparent_k: FloatArray, netd_k: FloatArray | float,
                        mrtd_nyquist_k: FloatArray | float) -> FloatArray:
    """Highest resolvable spatial frequency as a fraction of Nyquist, for a contrast.

    MRTD is modelled as ``NETD * (MRTD_N / NETD)^(f / f_N)``, rising exponentially from the
    NETD at low frequency to ``MRTD_N`` at Nyquist; inverted at the apparent contrast.
    """
    contrast = np.maximum(np.abs(apparent_k), 1e-9)
    frac = np.log(contrast / netd_k) / np.log(np.asarray(mrtd_nyquist_k) / netd_k)
    return np.asarray(np.clip(frac, 0.0, 1.0), dtype=np.float64)


def snr_detect_probability(snr_db: FloatArray, threshold_db: FloatArray | float,
                           width_db: float = 1.5) -> FloatArray:
    """Probability that the imager's detector flags a blob of this signal-to-clutter ratio."""
    return np.asarray(1.0 / (1.0 + np.exp(-(snr_db - threshold_db) / width_db)),
                      dtype=np.float64)


def frame_detection(range_m: FloatArray, contrast_k: FloatArray, visible: FloatArray,
                    extinction_per_m: FloatArray, critical_dim_m: FloatArray,
                    width_m: FloatArray, height_m: FloatArray, ifov_rad: FloatArray,
                    netd_k: FloatArray, mrtd_nyquist_k: FloatArray, n50_cycles: FloatArray,
                    scene_clutter_k: FloatArray, detector_snr_db: FloatArray
                    ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Apparent contrast (K), signal-to-clutter ratio (dB) and per-frame detection probability.

    ``visible`` is the unoccluded fraction from terrain; all arguments broadcast together.
    """
    apparent = contrast_k * np.exp(-extinction_per_m * range_m) * visible
    frac = resolvable_fraction(apparent, netd_k, mrtd_nyquist_k)
    cycles = critical_dim_m * visible / (2.0 * ifov_rad * range_m) * frac
    foot = range_m * ifov_rad
    fill = np.minimum(1.0, width_m / foot) * np.minimum(1.0, height_m * visible / foot)
    noise = np.sqrt(netd_k**2 + scene_clutter_k**2)
    snr_db = 20.0 * np.log10(np.maximum(apparent * fill / noise, 1e-6))
    p = ttpf(cycles / n50_cycles) * snr_detect_probability(snr_db, detector_snr_db)
    return (np.asarray(apparent, dtype=np.float64), np.asarray(snr_db, dtype=np.float64),
            np.asarray(p, dtype=np.float64))


def bearing_sigma_deg(snr_db: FloatArray, ifov_deg: FloatArray | float,
                      mount_sigma_deg: FloatArray | float) -> FloatArray:
    """Bearing 1-sigma: centroid error ``IFOV * (1 + 10 / SNR)`` with the mount in quadrature.

    Never below the pixel's angular size; grows as the (amplitude) SNR falls.
    """
    snr_lin = 10.0 ** (np.asarray(snr_db) / 20.0)
    centroid = ifov_deg * (1.0 + 10.0 / np.maximum(snr_lin, 0.1))
    return np.asarray(np.sqrt(centroid**2 + np.asarray(mount_sigma_deg) ** 2), dtype=np.float64)
