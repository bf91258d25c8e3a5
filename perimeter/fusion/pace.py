"""A moving object's own pace, kept from motion window to motion window.

The classes' speed ranges are of a population: Bohannon's 1.27-1.46 m/s is over people, not
over one walker's windows, and a vehicle's 3-15 m/s is over vehicles and ground. One walker
keeps a gait and one vehicle a speed for minutes. So a track's windows are judged together
(a hierarchical model): at each candidate pace of a class, drawn from the population's range,
the windows scatter about that one pace, and the class's motion evidence is the mean of
their joint likelihood over the paces. The population's spread is paid once per track, not
once per window: twenty windows at a steady 4 m/s are a slow vehicle's, not twenty draws
that a standing object stitched to other objects would explain as well. Animals amble in
bouts and pause, each window a fresh draw (:mod:`.motion`): they keep no pace, and neither
does a standing object. A slow mover's own pace is kept the same way
(:func:`.motion.window_log_likelihoods`). In force for vehicles (``ClassModel.kept_pace``):
with walkers and parties pacing too, their paces out to 3 sigma, a standing object's noise
(windows of a median 0.25 m/s, nearly every one ambiguous) passed for a party keeping a
slow pace and false alerts rose; kept to their walking range, two intrusions were lost
(docs/fusion.md, "A vehicle keeps its pace").

An ambiguous window (:func:`.motion.ambiguous_window_log_likelihoods`) is at the object's
own pace or stitched from several objects, faster than the pace
(:func:`.motion.stitched_density`).
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.special import logsumexp, ndtr

from perimeter.fusion.motion import standing_log_pdf, stitched_density, straightness_log_pdf

if typing.TYPE_CHECKING:
    from perimeter.fusion.classify import ClassModel

FloatArray = npt.NDArray[np.float64]
PACED = ("person", "group", "vehicle")
"""The classes whose objects may keep a pace (``ClassModel.kept_pace`` says which do)."""
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_STEP = 0.05
"""Grid step: 0.05 m/s for people, 0.05 in log for vehicles."""
DRIVE_PACE_SIGMAS = 3.0
"""A vehicle's paces span its population's median +/- this many sigma (in log): 2.0-22 m/s.
Beyond, a steady pace is no longer a vehicle's own: paid once per track, the far tail of the
population would let a walker pass for a vehicle that creeps (twenty straight windows at
1.25 m/s: a vehicle 7 nats behind a walker with paces out to 4 sigma, 17 at 3 sigma, 91
with each window judged alone). A vehicle slower still halts and drives
(``ClassModel.vehicle_stop_share``)."""


@dataclass(frozen=True, slots=True)
class PaceGrid:
    """Candidate paces of a class and their prior (log, normalised over the grid)."""

    paces_mps: FloatArray
    log_prior: FloatArray


@lru_cache(maxsize=32)
def _walk_grid(mean_mps: float, sigma_mps: float, sigmas: float) -> PaceGrid:
    reach = sigmas * sigma_mps
    paces = np.arange(max(0.1, mean_mps - reach), mean_mps + reach + 1e-9, _STEP)
    log_prior = -0.5 * ((paces - mean_mps) / sigma_mps) ** 2
    return PaceGrid(paces, log_prior - logsumexp(log_prior))


@lru_cache(maxsize=32)
def _drive_grid(median_mps: float, log_sigma: float) -> PaceGrid:
    reach = DRIVE_PACE_SIGMAS * log_sigma
    logs = np.arange(math.log(median_mps) - reach, math.log(median_mps) + reach + 1e-9, _STEP)
    log_prior = -0.5 * ((logs - math.log(median_mps)) / log_sigma) ** 2
    return PaceGrid(np.exp(logs), log_prior - logsumexp(log_prior))


def pace_grid(cls: str, model: ClassModel) -> PaceGrid:
    """The population of paces of ``cls`` (one of :data:`PACED`): people's walk normal about
    their class's mean, vehicles' speeds log-normal about their median."""
    if cls not in PACED:
        raise ValueError(f"kept_pace: {cls!r} keeps no pace; one of {', '.join(PACED)}")
    if cls == "vehicle":
        return _drive_grid(model.speed_mean_mps[cls], model.vehicle_speed_log_sigma)
    return _walk_grid(model.speed_mean_mps[cls], model.speed_sigma_mps[cls],
                      model.walk_pace_sigmas)


def _own(cls: str, speed_mps: float, spread_mps: float, paces: FloatArray,
         model: ClassModel) -> tuple[FloatArray, FloatArray]:
    """Log-density of a window's speed at each pace (a vehicle's as
    :func:`.motion.speed_log_likelihood`'s log-normal, about the pace), and
    ``P(speed <= observed)`` there."""
    if cls == "vehicle":
        v = max(speed_mps, 0.05)
        sig = math.hypot(model.vehicle_pace_log_scatter, spread_mps / max(v, 0.3))
        z = (math.log(v) - np.log(paces)) / sig
        return -0.5 * z**2 - math.log(sig * v) - _LOG_SQRT_2PI, ndtr(z)
    sigma = math.hypot(model.walk_pace_scatter_mps, spread_mps)
    z = (speed_mps - paces) / sigma
    return -0.5 * z**2 - math.log(sigma) - _LOG_SQRT_2PI, ndtr(z)


def window_pace_log_likelihoods(cls: str, speed_mps: float, spread_mps: float,
                                straightness: float | None, model: ClassModel) -> FloatArray:
    """One motion window's log-likelihood at each of the class's candidate paces.

    ``straightness`` None marks an ambiguous window, judged on its speed alone as an upper
    bound; otherwise the class's straightness is judged too, and a vehicle may halt
    (``ClassModel.vehicle_stop_share``, judged as :func:`.motion.motion_log_likelihood`
    does)."""
    own, below = _own(cls, speed_mps, spread_mps, pace_grid(cls, model).paces_mps, model)
    if straightness is None:
        return np.log(stitched_density(np.exp(own), below) + 1e-300)
    moving = own + straightness_log_pdf(straightness, model.straightness_beta_a[cls])
    halt_share = model.vehicle_stop_share if cls == "vehicle" else 0.0
    if halt_share <= 0.0:
        return moving
    halt = (standing_log_pdf(speed_mps, spread_mps)
            + straightness_log_pdf(straightness, model.straightness_beta_a["animal"]))
    return np.logaddexp(math.log(halt_share) + halt, math.log1p(-halt_share) + moving)


def kept_pace_log_likelihood(cls: str, evidence: FloatArray, model: ClassModel) -> float:
    """``log`` of the windows' joint likelihood averaged over the class's paces, from the
    per-pace sums ``evidence`` of :func:`window_pace_log_likelihoods`."""
    return float(logsumexp(pace_grid(cls, model).log_prior + evidence))
