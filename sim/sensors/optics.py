"""Thermal imager optics and range performance: IFOV, Johnson criteria, TTPF, MRTD.

Formulas and sources are in docs/sensors.md.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.special import ndtr

from sim.sensors.blur import mean_peak_fraction, psf_sigma_px
from sim.sensors.detector import threshold_sigma

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
    detector_snr_db: Annotated[float, Field(ge=-10.0, le=40.0)] = 14.0
    """The imager's detector threshold ``k`` on a pixel's background-subtracted value, as
    ``20 log10(k / sigma)``: 14 dB is k = 5.0 sigma (per-pixel false alarms 2.9e-7)."""
    scene_clutter_night_k: Annotated[float, Field(ge=0.0, le=20.0)] = 0.4
    scene_clutter_day_k: Annotated[float, Field(ge=0.0, le=20.0)] = 2.0
    background_leak: Annotated[float, Field(ge=0.0, le=1.0)] = 0.25
    """Share of the scene clutter's std left in the detector's background-subtracted pixels."""
    f_number: Annotated[float, Field(gt=0.3, le=20.0)] = 1.0
    wavelength_um: Annotated[float, Field(gt=0.5, le=20.0)] = 10.0
    aberration_blur_px: Annotated[float, Field(ge=0.0, le=5.0)] = 0.2
    """Gaussian blur (1 sigma, pixels) of aberrations and crosstalk, beside diffraction."""
    mount_sigma_deg: Annotated[float, Field(ge=0.0, le=5.0)] = 0.02
    sector_deg: tuple[float, float] = (0.0, 180.0)
    """Azimuth sector watched, clockwise from ``[0]`` to ``[1]`` (degrees from grid north)."""
    pointing: Literal["scanning", "staring"] = "scanning"
    """``scanning``: ``heads`` pan/tilt heads share the sector, each stepping one field of
    view per frame (step-stare); ``staring``: a mosaic of cores watches the whole sector."""
    heads: Annotated[int, Field(ge=1, le=16)] = 2
    """Scanning heads per tower (``pointing: scanning``)."""
    max_blobs_per_frame: Annotated[int, Field(ge=1, le=512)] = 100
    """The detector reports at most this many blobs (the strongest) per tower and frame."""
    glimpse_tau_s: Annotated[float, Field(gt=0.0, le=600.0)] = 3.4
    """Time-limited search: mean time to acquire a detectable target is ``tau / P_inf``."""
    decorrelation_m: Annotated[float, Field(gt=0.0, le=10_000.0)] = 50.0
    """How far a target moves before its background (and detectability) is a new draw."""
    hot_spot_scale: Annotated[float, Field(ge=0.0, le=100.0)] = 1.0
    """Multiplies the clutter map's hot-spot densities (0: no hot spots)."""
    azimuth_bias_deg: tuple[float, float] = (0.05, 0.2)
    """Range of the magnitude of each tower's fixed azimuth bias (north alignment, twist)."""
    sway_deg_at_10mps: Annotated[float, Field(ge=0.0, le=10.0)] = 0.1
    """Std of the mast's azimuth sway at 10 m/s wind (grows with the square of the wind)."""
    sway_tau_s: Annotated[float, Field(gt=0.0, le=600.0)] = 2.0
    sigma_mismatch: Annotated[float, Field(ge=0.0, le=2.0)] = 0.25
    """Log-std of a tower's true over reported bearing sigma (the report only estimates it)."""
    size_noise: Annotated[float, Field(ge=0.0, le=2.0)] = 0.2
    """Log-std of the segmented blob size at high SNR (grows as 1 / SNR)."""
    max_range_m: Annotated[float, Field(gt=0.0, le=100_000.0)] = 20_000.0
    """Computational cut-off: targets farther than this are not evaluated (P < 1e-3)."""

    @model_validator(mode="after")
    def _check_sector(self) -> ThermalParams:
        lo, hi = self.sector_deg
        if not (0.0 <= lo < 360.0 and 0.0 < hi <= 720.0 and lo < hi <= lo + 360.0):
            raise ValueError("sector_deg must be [start, end] with 0 <= start < end <= start+360")
        b_lo, b_hi = self.azimuth_bias_deg
        if not 0.0 <= b_lo <= b_hi <= 10.0:
            raise ValueError("azimuth_bias_deg must be [low, high] with 0 <= low <= high <= 10")
        return self

    @property
    def blur_px(self) -> float:
        """1-sigma optical blur in pixels (diffraction and aberrations)."""
        return psf_sigma_px(self.wavelength_um, self.f_number, self.pixel_pitch_um,
                            self.aberration_blur_px)

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
    """Probability that a detector with a soft threshold flags a signal of this SNR (used by
    the acoustic arrays; the imagers threshold their pixels, :mod:`sim.sensors.detector`)."""
    return np.asarray(1.0 / (1.0 + np.exp(-(snr_db - threshold_db) / width_db)),
                      dtype=np.float64)


def detector_sigma_k(netd_k: FloatArray | float, scene_clutter_k: FloatArray | float,
                     leak: FloatArray | float) -> FloatArray:
    """Std of a background-subtracted pixel: temporal noise and the scene clutter's leak."""
    return np.asarray(np.sqrt(np.square(netd_k) + np.square(np.multiply(leak, scene_clutter_k))),
                      dtype=np.float64)


def apparent_contrast_k(contrast_k: FloatArray, extinction_per_m: FloatArray,
                        range_m: FloatArray, visible: FloatArray) -> FloatArray:
    """Contrast at the aperture: extinction along the path and the unoccluded fraction."""
    return np.asarray(contrast_k * np.exp(-extinction_per_m * range_m) * visible,
                      dtype=np.float64)


def acquisition_probability(range_m: FloatArray, apparent_k: FloatArray, visible: FloatArray,
                            critical_dim_m: FloatArray, ifov_rad: FloatArray,
                            netd_k: FloatArray, mrtd_nyquist_k: FloatArray,
                            n50_cycles: FloatArray) -> FloatArray:
    """``P_inf``: the TTPF of the resolvable cycles across the target's critical dimension."""
    frac = resolvable_fraction(apparent_k, netd_k, mrtd_nyquist_k)
    cycles = critical_dim_m * visible / (2.0 * ifov_rad * range_m) * frac
    return ttpf(cycles / n50_cycles)


DEFAULT_BLUR_PX = psf_sigma_px(10.0, 1.0, 17.0, 0.2)


def frame_detection(range_m: FloatArray, contrast_k: FloatArray, visible: FloatArray,
                    extinction_per_m: FloatArray, critical_dim_m: FloatArray,
                    width_m: FloatArray, height_m: FloatArray, ifov_rad: FloatArray,
                    netd_k: FloatArray, mrtd_nyquist_k: FloatArray, n50_cycles: FloatArray,
                    scene_clutter_k: FloatArray, detector_snr_db: FloatArray,
                    blur_px: FloatArray | float = DEFAULT_BLUR_PX,
                    leak: FloatArray | float = 0.25
                    ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Apparent contrast (K), mean peak-pixel SNR (dB, blur averaged over the sub-pixel
    phase) and ``P_inf x P(peak > threshold)``: the long-run share of looks that detect.

    ``visible`` is the unoccluded fraction from terrain; all arguments broadcast together.
    """
    apparent = apparent_contrast_k(contrast_k, extinction_per_m, range_m, visible)
    p_inf = acquisition_probability(range_m, apparent, visible, critical_dim_m, ifov_rad,
                                    netd_k, mrtd_nyquist_k, n50_cycles)
    foot = range_m * ifov_rad
    frac = mean_peak_fraction(width_m / foot, height_m * visible / foot, blur_px)
    snr = apparent * frac / detector_sigma_k(netd_k, scene_clutter_k, leak)
    p_detect = ndtr(snr - threshold_sigma(detector_snr_db))
    snr_db = 20.0 * np.log10(np.maximum(snr, 1e-6))
    return (np.asarray(apparent, dtype=np.float64), np.asarray(snr_db, dtype=np.float64),
            np.asarray(p_inf * p_detect, dtype=np.float64))


def bearing_sigma_deg(snr_db: FloatArray, ifov_deg: FloatArray | float,
                      mount_sigma_deg: FloatArray | float) -> FloatArray:
    """Bearing 1-sigma: centroid error ``IFOV * (1 + 10 / SNR)`` with the mount in quadrature.

    Never below the pixel's angular size; grows as the (amplitude) SNR falls.
    """
    snr_lin = 10.0 ** (np.asarray(snr_db) / 20.0)
    centroid = ifov_deg * (1.0 + 10.0 / np.maximum(snr_lin, 0.1))
    return np.asarray(np.sqrt(centroid**2 + np.asarray(mount_sigma_deg) ** 2), dtype=np.float64)
