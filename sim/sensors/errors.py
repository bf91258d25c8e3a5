"""Measurement errors of real towers, drawn per run around documented nominal values
(docs/sensors.md): a fixed azimuth bias, wind sway, a reported sigma that only estimates the
true one, and each tower's clock offset and drift."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.sensors.optics import ThermalParams

FloatArray = npt.NDArray[np.float64]

SWAY_GAIN_SPREAD = 0.3
"""Log-std of a mast's sway gain about the nominal (masts and mountings differ)."""


@dataclass(slots=True)
class ImagerErrors:
    """Per-tower true errors of the thermal imagers (index by tower)."""

    bias_deg: FloatArray
    sigma_factor: FloatArray  # true bearing sigma / the sigma the tower reports
    sway_std_deg: FloatArray
    sway_a: FloatArray  # AR(1) coefficient of the sway from one frame to the next
    sway_deg: FloatArray  # the sway at the last frame computed

    def sway(self, n_frames: int, rng: np.random.Generator) -> FloatArray:
        """The next ``n_frames`` frames' sway ``(F, T)``, continuing the last state."""
        a = self.sway_a
        drive = rng.standard_normal((n_frames, len(a))) * self.sway_std_deg * np.sqrt(1 - a * a)
        out = np.empty_like(drive)
        last = self.sway_deg
        for f in range(n_frames):  # one AR(1) per tower, each with its own coefficient
            last = out[f] = a * last + drive[f]
        self.sway_deg = out[-1].copy()
        return out


def draw_imager_errors(params: list[ThermalParams], wind_mps: float, frame_hz: float,
                       rng: np.random.Generator, perturb: float = 1.0) -> ImagerErrors:
    """This run's true imager errors: bias magnitude uniform in ``azimuth_bias_deg`` with a
    random sign, sigma factor lognormal, sway growing with the square of the wind. Biases and
    spreads are multiplied by ``perturb`` (0: towers exactly as fusion assumes them)."""
    n = len(params)
    lo = np.array([p.azimuth_bias_deg[0] for p in params])
    hi = np.array([p.azimuth_bias_deg[1] for p in params])
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    bias = sign * rng.uniform(lo, hi) * perturb
    mismatch = np.array([p.sigma_mismatch for p in params]) * perturb
    factor = np.exp(mismatch * rng.standard_normal(n))
    gain = np.array([p.sway_deg_at_10mps for p in params]) * np.exp(
        SWAY_GAIN_SPREAD * perturb * rng.standard_normal(n))
    std = gain * (wind_mps / 10.0) ** 2
    a = np.exp(-1.0 / (frame_hz * np.array([p.sway_tau_s for p in params])))
    return ImagerErrors(bias, factor, std, a, std * rng.standard_normal(n))


@dataclass(frozen=True, slots=True)
class Clock:
    """A tower's clock: ``local = true + offset_s + drift_ppm 1e-6 (true - epoch)``."""

    offset_s: float = 0.0
    drift_ppm: float = 0.0

    def local(self, true_s: float, epoch_s: float) -> float:
        return true_s + self.offset_s + self.drift_ppm * 1e-6 * (true_s - epoch_s)


def draw_clocks(n: int, offset_sigma_s: float, drift_sigma_ppm: float,
                rng: np.random.Generator, perturb: float = 1.0) -> list[Clock]:
    """Each tower's clock error for this run: normal offset and drift about zero (spreads
    times ``perturb``)."""
    offsets = rng.standard_normal(n) * offset_sigma_s * perturb
    drifts = rng.standard_normal(n) * drift_sigma_ppm * perturb
    return [Clock(float(o), float(d)) for o, d in zip(offsets, drifts, strict=True)]
