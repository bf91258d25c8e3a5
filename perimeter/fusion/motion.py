"""Motion features of a track's trail (speed along the path, straightness) and their
likelihood under each class.

People and vehicles head somewhere; animals wander and pause. Over the last ``window_s`` the
trail is cut into ``chord_s`` chords: the path speed is their summed length over the span, the
straightness the net displacement over that length (1 for a straight walk, far less for a
random walk). Chords of several seconds average out the filter's position noise; what is left
of it is the window speed's own error (:func:`window_speed_error_mps`). People walk at their
gait or (a share of them) move slowly at a pace of their own; vehicles drive at log-normal
speeds and (a share of the time) halt; animals pause or amble in log-normal bouts; static
objects stand.
"""

from __future__ import annotations

import itertools
import math
import typing
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

if typing.TYPE_CHECKING:
    from perimeter.fusion.classify import ClassModel
    from perimeter.fusion.track import Track

CLASSES = ("person", "group", "vehicle", "animal", "unknown")
FloatArray = npt.NDArray[np.float64]
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


@dataclass(frozen=True, slots=True)
class Motion:
    speed_mps: float
    straightness: float
    span_s: float


def motion_of(trail: Sequence[tuple[float, float, float]], *, window_s: float = 60.0,
              chord_s: float = 10.0, min_span_s: float = 20.0) -> Motion | None:
    """Path speed and straightness over the recent trail ``[(t_s, x_m, y_m), ...]``."""
    if len(trail) < 2:
        return None
    t_end = trail[-1][0]
    recent = [p for p in trail if t_end - p[0] <= window_s]
    span = recent[-1][0] - recent[0][0]
    if span < min_span_s:
        return None
    chords = [recent[0]]
    for point in recent[1:]:
        if point[0] - chords[-1][0] >= chord_s:
            chords.append(point)
    if chords[-1] is not recent[-1]:
        chords.append(recent[-1])
    path = sum(math.hypot(b[1] - a[1], b[2] - a[2]) for a, b in itertools.pairwise(chords))
    net = math.hypot(recent[-1][1] - recent[0][1], recent[-1][2] - recent[0][2])
    straightness = net / path if path > 1e-6 else 0.0
    return Motion(speed_mps=path / span, straightness=min(straightness, 1.0), span_s=span)


def log_normal_pdf(x: float, mean: float, sigma: float) -> float:
    return -0.5 * ((x - mean) / sigma) ** 2 - math.log(sigma) - _LOG_SQRT_2PI


def _log_speed_pdf(speed: float, median: float, log_sigma: float, spread: float) -> float:
    """Log-density of a log-normal speed (widened by the estimate's own spread)."""
    v = max(speed, 0.05)
    sig = math.hypot(log_sigma, spread / max(v, 0.3))
    return -0.5 * (math.log(v / median) / sig) ** 2 - math.log(sig * v) - _LOG_SQRT_2PI


def speed_log_likelihood(cls: str, speed_mps: float, spread_mps: float, model: ClassModel
                         ) -> float:
    """Log-density of a speed (with its spread) under a class: people walk (or, a share of
    them, move slowly at 0.2-1.2 m/s), vehicles drive at log-normal speeds (their halts:
    :func:`motion_log_likelihood`), animals pause or amble in log-normal bouts, static
    objects stand."""
    if cls == "vehicle":
        return _log_speed_pdf(speed_mps, model.speed_mean_mps[cls],
                              model.vehicle_speed_log_sigma, spread_mps)
    if cls == "animal":
        pause = standing_log_pdf(speed_mps, spread_mps)
        bout = _log_speed_pdf(speed_mps, model.speed_mean_mps[cls],
                              model.animal_speed_log_sigma, spread_mps)
        share = model.animal_pause_share
        return math.log(share * math.exp(pause) + (1.0 - share) * math.exp(bout) + 1e-300)
    if cls in ("person", "group"):
        walk, slow = people_speed_branches(cls, speed_mps, spread_mps, model)
        share = model.slow_mover_share
        return float(np.logaddexp(math.log1p(-share) + walk, math.log(share) + slow))
    return standing_log_pdf(speed_mps, spread_mps)  # unknown: a static object


def stop_share(cls: str, model: ClassModel) -> float:
    """Share of the time a vehicle halts (``ClassModel.vehicle_stop_share``; 0 for the other
    classes, whose standing is modelled apart: animals' pauses, static objects)."""
    return model.vehicle_stop_share if cls == "vehicle" else 0.0


def motion_log_likelihood(cls: str, speed_mps: float, spread_mps: float,
                          straightness: float | None, model: ClassModel) -> float:
    """Log-likelihood of a speed (with its spread) and a straightness under ``cls``. A
    vehicle drives (its speeds, its straightness) or halts (:func:`stop_share`); a halt is
    judged as an animal's pause is, the same standing speed and the animal's straightness,
    so that a standing window moves the odds between the two by their shares alone (before,
    a vehicle never stood, and a halted car's windows made it an animal for certain). An
    ambiguous window (:func:`ambiguous_window_log_likelihoods`) excuses no halt: its speed
    is only bounded, and a party abreast as wide as a car must not pass for a halted one."""
    straight = (0.0 if straightness is None
                else straightness_log_pdf(straightness, model.straightness_beta_a[cls]))
    share = stop_share(cls, model)
    if share <= 0.0:
        return speed_log_likelihood(cls, speed_mps, spread_mps, model) + straight
    halt_straight = (0.0 if straightness is None
                     else straightness_log_pdf(straightness,
                                               model.straightness_beta_a["animal"]))
    drive = _log_speed_pdf(speed_mps, model.speed_mean_mps[cls],
                           model.vehicle_speed_log_sigma, spread_mps)
    return float(np.logaddexp(
        math.log(share) + standing_log_pdf(speed_mps, spread_mps) + halt_straight,
        math.log1p(-share) + drive + straight))


def standing_log_pdf(speed_mps: float, spread_mps: float) -> float:
    """Log-density of the path speed of an object standing still (half-normal: speeds are
    never negative; 0.2 m/s of the filter's position noise)."""
    return log_normal_pdf(speed_mps, 0.0, math.hypot(0.2, spread_mps)) + math.log(2.0)


def people_speed_branches(cls: str, speed_mps: float, spread_mps: float, model: ClassModel
                          ) -> tuple[float, float]:
    """Log-density of a speed for people walking, and for people moving slowly on purpose
    (crawling, stalking: uniform over ``slow_pace_mps``)."""
    sigma = math.hypot(model.speed_sigma_mps[cls], spread_mps)
    walk = log_normal_pdf(speed_mps, model.speed_mean_mps[cls], sigma)
    lo, hi = model.slow_pace_mps
    slow = math.log(max(float(ndtr((hi - speed_mps) / max(spread_mps, 0.05))
                              - ndtr((lo - speed_mps) / max(spread_mps, 0.05))), 1e-300)
                    / (hi - lo))
    return walk, slow


def motion_log_likelihoods(speed_mps: float, spread_mps: float, straightness: float | None,
                           model: ClassModel) -> dict[str, float]:
    """Log-likelihood of a speed (with its spread) and a straightness under each class."""
    return {cls: motion_log_likelihood(cls, speed_mps, spread_mps, straightness, model)
            for cls in CLASSES}


def straightness_log_pdf(straightness: float, a: float) -> float:
    """Log-density of a window's straightness under Beta(a, 1)."""
    return math.log(a) + (a - 1.0) * math.log(max(straightness, 1e-3))


def slow_paces_mps(model: ClassModel) -> FloatArray:
    """The candidate paces of a slow mover (uniform prior over them), 0.05 m/s apart."""
    lo, hi = model.slow_pace_mps
    return np.linspace(lo, hi, round((hi - lo) / 0.05) + 1)


def window_log_likelihoods(speed_mps: float, straightness: float, model: ClassModel,
                           spread_mps: float = 0.0) -> tuple[dict[str, float], FloatArray]:
    """One motion window's log-likelihood under each class (people as steady walkers), and
    under a slow mover at each candidate pace of :func:`slow_paces_mps`; ``spread_mps`` is
    the error of the window's speed itself (:func:`window_speed_error_mps`)."""
    lls = motion_log_likelihoods(speed_mps, spread_mps, straightness, model)
    for cls in ("person", "group"):
        lls[cls] = (log_normal_pdf(speed_mps, model.speed_mean_mps[cls],
                                    math.hypot(model.speed_sigma_mps[cls], spread_mps))
                    + straightness_log_pdf(straightness, model.straightness_beta_a[cls]))
    sigma = math.hypot(model.slow_pace_sigma_mps, spread_mps)
    slow = (-0.5 * ((speed_mps - slow_paces_mps(model)) / sigma) ** 2
            - math.log(sigma) - _LOG_SQRT_2PI
            + straightness_log_pdf(straightness, model.slow_straightness_a))
    return lls, slow


def window_speed_error_mps(track: Track, span_s: float) -> float:
    """Error of a window's path speed from the track's position error: two ends each
    ``sigma`` off (per axis) move the displacement by ``sqrt(2) sigma`` over the span. A
    filter that follows a walker from one scanning tower at a time drifts along the range
    axis by tens of metres, half a metre per second over a window."""
    p = track.state.p
    sigma_m = math.sqrt(max(float(p[0, 0] + p[1, 1]) / 2.0, 0.0))
    return math.sqrt(2.0) * sigma_m / max(span_s, 1.0)


def _speed_cdfs(speed_mps: float, model: ClassModel, spread_mps: float = 0.0
                ) -> tuple[dict[str, float], FloatArray]:
    """``P(speed <= speed_mps)`` under each class (people as steady walkers) and under a
    slow mover at each candidate pace; pauses and standing are half-normal about zero."""
    def lognormal(median: float, log_sigma: float) -> float:
        v = max(speed_mps, 1e-3)
        return float(ndtr(math.log(v / median) / math.hypot(log_sigma, spread_mps / max(v, 0.3))))

    standing = float(2.0 * ndtr(speed_mps / math.hypot(0.2, spread_mps)) - 1.0)
    share = model.animal_pause_share
    out = {"vehicle": lognormal(model.speed_mean_mps["vehicle"], model.vehicle_speed_log_sigma),
           "animal": share * standing + (1.0 - share) * lognormal(
               model.speed_mean_mps["animal"], model.animal_speed_log_sigma),
           "unknown": standing}
    for cls in ("person", "group"):
        out[cls] = float(ndtr((speed_mps - model.speed_mean_mps[cls])
                              / math.hypot(model.speed_sigma_mps[cls], spread_mps)))
    slow = ndtr((speed_mps - slow_paces_mps(model))
                / math.hypot(model.slow_pace_sigma_mps, spread_mps))
    return out, np.asarray(slow, dtype=np.float64)


UNSTITCHED_SHARE = 0.2
"""Share of ambiguous windows whose path is the object's alone (assumed: most are not)."""
STITCH_MAX_MPS = 20.0
"""A stitched path's excess speed is taken as uniform up to this (assumed: a jump of up to
200 m between objects per 10 s chord)."""

Density = typing.TypeVar("Density", float, FloatArray)


def stitched_density(own: Density, below: Density) -> Density:
    """An ambiguous window's density from the object's own density of its speed and the
    probability ``below`` that the object's own speed is no faster: its own path with
    ``UNSTITCHED_SHARE``, else stitched, its excess uniform up to ``STITCH_MAX_MPS``."""
    return UNSTITCHED_SHARE * own + (1.0 - UNSTITCHED_SHARE) * below / STITCH_MAX_MPS


def ambiguous_window_log_likelihoods(speed_mps: float, model: ClassModel,
                                     spread_mps: float = 0.0
                                     ) -> tuple[dict[str, float], FloatArray]:
    """An ambiguous window's log-likelihood per class and per slow pace, from its speed
    alone (straightness is not judged: a stitched path has any shape). Its path may be
    stitched from several objects, which only adds length: with ``UNSTITCHED_SHARE`` it is
    the object's own speed, otherwise the object's plus an excess uniform up to
    ``STITCH_MAX_MPS``, so ``P(speed <= observed) / STITCH_MAX_MPS``. A slow window still
    rules out a vehicle, a walker's pace favours a mover over a standing object a little,
    and a fast window favours nothing (a fast straight stitch passed for a vehicle once)."""
    cdfs, slow_cdf = _speed_cdfs(speed_mps, model, spread_mps)
    lls = {}
    for cls in CLASSES:
        if cls in ("person", "group"):
            own = log_normal_pdf(speed_mps, model.speed_mean_mps[cls],
                                 math.hypot(model.speed_sigma_mps[cls], spread_mps))
        else:
            own = speed_log_likelihood(cls, speed_mps, spread_mps, model)
        lls[cls] = math.log(stitched_density(math.exp(own), cdfs[cls]) + 1e-300)
    # a slow mover's own pace is only learnt from windows that are surely its own: here it
    # is only bounded from above
    slow = np.log(slow_cdf / STITCH_MAX_MPS + 1e-300)
    return lls, slow
