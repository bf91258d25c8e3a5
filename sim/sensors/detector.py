"""The imagers' detector: a threshold on background-subtracted pixels, then peak grouping.

Each pixel's residual after the background estimate (spatial CFAR and temporal background
model) is modelled as N(0, 1) in units of its std ``sigma = sqrt(NETD^2 + (leak * scene)^2)``.
A blob is reported where a pixel exceeds ``k`` sigma and is the largest of its 3 x 3
neighbourhood (non-maximum suppression groups adjacent exceedances into one blob). For white
noise the blob rate per pixel is ``kappa(k) = int_k^inf phi(x) Phi(x)^8 dx``, which tends to
the Gaussian tail ``Q(k)`` as ``k`` grows and to 1/9 as it falls: lowering the threshold
floods the stream, as it would. A target's peak pixel holding ``s`` sigma of signal is
reported when ``s + n > k``.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

NEIGHBOURS = 8
_GRID = 4096


def threshold_sigma(detector_snr_db: FloatArray | float) -> FloatArray:
    """The threshold ``k`` in sigma from its decibel form ``20 log10 k``."""
    return np.asarray(10.0 ** (np.asarray(detector_snr_db, dtype=np.float64) / 20.0))


@cache
def _tail_table(k: float) -> tuple[float, FloatArray, FloatArray]:
    """``kappa(k)`` and the peak value's conditional tail ``P(X > x | X > k)`` on a grid."""
    x = np.linspace(k, max(k, 0.0) + 12.0, _GRID)
    density = np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi) * ndtr(x) ** NEIGHBOURS
    cells = 0.5 * (density[1:] + density[:-1]) * np.diff(x)
    tail = np.concatenate([np.cumsum(cells[::-1])[::-1], [0.0]])
    kappa = float(tail[0])
    return kappa, x, tail / kappa


def peaks_per_pixel(k: float) -> float:
    """Expected blobs per pixel of white Gaussian noise at threshold ``k`` sigma."""
    return _tail_table(float(k))[0]


def peak_values(k: float, tail_prob: FloatArray) -> FloatArray:
    """Noise-blob peak values (sigma) with conditional tail probabilities ``tail_prob``."""
    _, x, tail = _tail_table(float(k))
    return np.asarray(np.interp(tail_prob, tail[::-1], x[::-1]), dtype=np.float64)


def detect(snr_sigma: FloatArray, k: FloatArray, rng: np.random.Generator
           ) -> tuple[npt.NDArray[np.bool_], FloatArray]:
    """A target's measured peak ``snr + N(0, 1)`` and whether it passes the threshold."""
    measured = snr_sigma + rng.standard_normal(np.shape(snr_sigma))
    return np.asarray(measured > k, dtype=bool), np.asarray(measured, dtype=np.float64)


def noise_blobs(rng: np.random.Generator, pixels: FloatArray, k: FloatArray, n_frames: int,
                max_blobs: IntArray) -> tuple[IntArray, IntArray, FloatArray]:
    """False blobs from pixel noise for ``n_frames`` frames of every tower: frame index,
    tower index and peak value (sigma). A tower's count per frame is Poisson with mean
    ``pixels * kappa(k)``; above ``max_blobs`` only the strongest are reported."""
    rate = np.array([peaks_per_pixel(float(v)) for v in k]) * pixels
    counts = rng.poisson(np.broadcast_to(rate, (n_frames, len(k))))
    shown = np.minimum(counts, max_blobs[None, :])
    f_i, t_i = np.nonzero(shown)
    reps = shown[f_i, t_i]
    frames, towers = np.repeat(f_i, reps), np.repeat(t_i, reps)
    tails = rng.random(len(frames))
    over = np.nonzero(counts[f_i, t_i] > reps)[0]
    if over.size:  # the strongest of many: order statistics of the tail probabilities
        starts = np.concatenate([[0], np.cumsum(reps)[:-1]])
        for j in over.tolist():
            a, n = starts[j], reps[j]
            spacing = rng.exponential(1.0, n)
            tails[a:a + n] = np.minimum(np.cumsum(spacing) / counts[f_i[j], t_i[j]], 1.0)
    values = np.empty(len(frames))
    for tower in np.unique(towers).tolist():
        sel = towers == tower
        values[sel] = peak_values(float(k[tower]), tails[sel])
    return frames, towers, values
