"""Classify: person, group, vehicle, animal or unknown (static) with a probability.

A naive-Bayes combination of independent evidence: the track's path speed and straightness
over the last minute (:mod:`.motion`; animals amble and wander, people and vehicles head
somewhere; until 20 s of track exist the filter's speed is used, with its spread), the thermal
target size (pixels times range times the pixel's angle), the height of the thermal centroid
above the (flat) ground from its elevation angle seen from the mast (animals stand half as
high as people), and the acoustic ``kind_hint`` counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.special import logsumexp

from perimeter.fusion.motion import motion_of
from perimeter.fusion.scan import KIND_HINTS
from perimeter.fusion.track import Track

CLASSES = ("person", "group", "vehicle", "animal", "unknown")
FloatArray = npt.NDArray[np.float64]


def _default_hints() -> dict[str, tuple[float, ...]]:
    # P(kind_hint | class) in KIND_HINTS order: footsteps, voice, engine, tracks, impulse, unknown;
    # impulses and unknown sounds are mostly clutter that fell in a track's wide acoustic gate.
    return {
        "person": (0.50, 0.25, 0.02, 0.02, 0.1, 0.1),
        "group": (0.40, 0.35, 0.02, 0.02, 0.1, 0.1),
        "vehicle": (0.02, 0.02, 0.55, 0.20, 0.1, 0.1),
        "animal": (0.40, 0.05, 0.02, 0.02, 0.1, 0.1),
        "unknown": tuple(1.0 / len(KIND_HINTS) for _ in KIND_HINTS),
    }


@dataclass(frozen=True, slots=True)
class ClassModel:
    """Class-conditional models; speeds in m/s, sizes in metres (log-normal)."""

    prior: dict[str, float] = field(default_factory=lambda: {
        "person": 0.30, "group": 0.10, "vehicle": 0.15, "animal": 0.35, "unknown": 0.10})
    speed_mean_mps: dict[str, float] = field(default_factory=lambda: {
        "person": 1.35, "group": 1.2, "vehicle": 8.0, "animal": 0.8, "unknown": 0.0})
    speed_sigma_mps: dict[str, float] = field(default_factory=lambda: {
        "person": 0.3, "group": 0.3, "vehicle": 3.0, "animal": 0.45, "unknown": 0.2})
    animal_speed_log_sigma: float = 0.5
    """Animals amble in bouts whose speed is log-normal about the mean..."""
    slow_mover_share: float = 0.15
    """Share of people who move slowly on purpose (crawling, stalking: 0.2-1.2 m/s)."""
    slow_pace_mps: tuple[float, float] = (0.2, 1.2)
    """Range of a slow mover's own pace: the same person keeps it from window to window..."""
    slow_pace_sigma_mps: float = 0.2
    """... within this scatter of the windows' path speeds about it."""
    slow_straightness_a: float = 8.0
    """Straightness ~ Beta(a, 1) of a slow mover: over a window's few metres of chords the
    filter's position noise makes a crawl look as crooked as an animal's walk."""
    animal_pause_share: float = 0.4
    """... and stand still between bouts this share of the time (people keep walking)."""
    size_m: dict[str, tuple[float, float]] = field(default_factory=lambda: {
        "person": (0.75, 0.75), "group": (0.5, 1.5), "vehicle": (2.3, 3.0),
        "animal": (0.6, 0.6), "unknown": (0.3, 3.0)})
    """Fully visible critical size range per class (metres)."""
    height_m: dict[str, tuple[float, float]] = field(default_factory=lambda: {
        "person": (0.85, 0.12), "group": (0.85, 0.15), "vehicle": (1.0, 0.35),
        "animal": (0.45, 0.12), "unknown": (0.5, 1.5)})
    """Height of the thermal centroid above ground (mean, spread) per class, from elevation."""
    size_log_sigma: float = 0.08
    partly_visible: float = 0.15
    """Share of tracks seen only partly (size uniform below the class's size)."""
    hint_likelihood: dict[str, tuple[float, ...]] = field(default_factory=_default_hints)
    max_hint_weight: float = 6.0
    hint_clutter_share: float = 0.5
    """Share of associated acoustic detections assumed to be clutter (hint uninformative)."""
    motion_window_s: float = 25.0
    motion_min_s: float = 20.0
    window_weight: float = 0.7
    straightness_beta_a: dict[str, float] = field(default_factory=lambda: {
        "person": 20.0, "group": 15.0, "vehicle": 40.0, "animal": 8.0, "unknown": 1.0})
    """Straightness ~ Beta(a, 1): heading somewhere (large a) or wandering (a near 1)."""
    vehicle_min_size_m: float = 1.5
    """Apparent thermal size no animal or single person shows (vehicles are 2.3-3 m)."""
    vehicle_min_sounds: int = 2
    """Engine or track sounds, outnumbering footsteps and voices, that corroborate a vehicle."""
    animal_max_speed_mps: float = 5.0
    """Path speed no animal sustains over a motion window (their bouts stay below 4 m/s)."""
    vehicle_min_straightness: float = 0.8
    """... and straight (animals wander)."""


def _log_normal_pdf(x: float, mean: float, sigma: float) -> float:
    return -0.5 * ((x - mean) / sigma) ** 2 - math.log(sigma)


def _log_speed_pdf(speed: float, median: float, log_sigma: float, spread: float) -> float:
    """Log-density of a log-normal speed (widened by the estimate's own spread)."""
    v = max(speed, 0.05)
    sig = math.hypot(log_sigma, spread / max(v, 0.3))
    return -0.5 * (math.log(v / median) / sig) ** 2 - math.log(sig * v)


def size_log_likelihood(size_m: float, lo_m: float, hi_m: float, model: ClassModel) -> float:
    """Log-density of an apparent size for a class whose full size lies in ``[lo_m, hi_m]``.

    Sizes within the range (log-normal edges) when fully visible; uniform below it when the
    object is partly hidden (terrain, buildings) with probability ``partly_visible``.
    """
    log_s, log_lo, log_hi = math.log(size_m), math.log(lo_m), math.log(hi_m)
    sig = model.size_log_sigma
    width = log_hi - log_lo + math.sqrt(2 * math.pi) * sig
    if log_s < log_lo:
        full = math.exp(-0.5 * ((log_s - log_lo) / sig) ** 2) / width
    elif log_s > log_hi:
        full = math.exp(-0.5 * ((log_s - log_hi) / sig) ** 2) / width
    else:
        full = 1.0 / width
    partial = (1.0 / (hi_m * 0.9)) * size_m if size_m <= hi_m else 0.0  # density in log space
    return math.log((1.0 - model.partly_visible) * full + model.partly_visible * partial + 1e-12)


def _straightness_log_pdf(straightness: float, a: float) -> float:
    """Log-density of a window's straightness under Beta(a, 1)."""
    return math.log(a) + (a - 1.0) * math.log(max(straightness, 1e-3))


def motion_log_likelihoods(speed_mps: float, spread_mps: float, straightness: float | None,
                           model: ClassModel) -> dict[str, float]:
    """Log-likelihood of a speed (with its spread) and a straightness under each class."""
    out = {}
    for cls in CLASSES:
        sigma = math.hypot(model.speed_sigma_mps[cls], spread_mps)
        ll = _log_normal_pdf(speed_mps, model.speed_mean_mps[cls], sigma)
        if cls in ("person", "group"):  # some walk slowly on purpose (crawl, stalk)
            slow = model.slow_mover_share * (1.0 if 0.2 <= speed_mps <= 1.2 else 0.0)
            ll = math.log((1.0 - model.slow_mover_share) * math.exp(ll)
                          / math.sqrt(2.0 * math.pi) + slow + 1e-300)
        if cls == "animal":
            pause = _log_normal_pdf(speed_mps, 0.0, math.hypot(0.2, spread_mps))
            bout = _log_speed_pdf(speed_mps, model.speed_mean_mps[cls],
                                  model.animal_speed_log_sigma, spread_mps)
            share = model.animal_pause_share
            ll = math.log(share * math.exp(pause) + (1.0 - share) * math.exp(bout) + 1e-300)
        if straightness is not None:
            ll += _straightness_log_pdf(straightness, model.straightness_beta_a[cls])
        out[cls] = ll
    return out


def slow_paces_mps(model: ClassModel) -> FloatArray:
    """The candidate paces of a slow mover (uniform prior over them), 0.05 m/s apart."""
    lo, hi = model.slow_pace_mps
    return np.linspace(lo, hi, round((hi - lo) / 0.05) + 1)


def window_log_likelihoods(speed_mps: float, straightness: float, model: ClassModel
                           ) -> tuple[dict[str, float], FloatArray]:
    """One motion window's log-likelihood under each class (people as steady walkers), and
    under a slow mover at each candidate pace of :func:`slow_paces_mps`."""
    lls = motion_log_likelihoods(speed_mps, 0.0, straightness, model)
    for cls in ("person", "group"):
        lls[cls] = (_log_normal_pdf(speed_mps, model.speed_mean_mps[cls],
                                    model.speed_sigma_mps[cls]) - 0.5 * math.log(2.0 * math.pi)
                    + _straightness_log_pdf(straightness, model.straightness_beta_a[cls]))
    sigma = model.slow_pace_sigma_mps
    slow = (-0.5 * ((speed_mps - slow_paces_mps(model)) / sigma) ** 2
            - math.log(sigma * math.sqrt(2.0 * math.pi))
            + _straightness_log_pdf(straightness, model.slow_straightness_a))
    return lls, slow


def accumulate_motion(track: Track, t_s: float, model: ClassModel) -> None:
    """Add one window's motion evidence once every ``motion_window_s`` of track life.

    An object keeps its class, so evidence from successive windows adds up (tempered by
    ``window_weight`` for their dependence): one straight stretch of a wandering animal does
    not make it a person. A person also keeps a gait: a walker's windows are summed as a
    walker's, a slow mover's (crawling, stalking) at the one pace it keeps, so the share of
    slow movers is paid once per person, not once per window (:func:`motion_evidence`).
    """
    ev = track.evidence
    if t_s - ev.class_window_t_s < model.motion_window_s:
        return
    motion = motion_of(track.state.trail, window_s=model.motion_window_s,
                       min_span_s=0.8 * model.motion_window_s)
    if motion is None:
        return
    if motion_is_ambiguous(track, t_s, model):  # judged, but its motion says nothing
        ev.class_windows += 1
        ev.class_window_t_s = t_s
        return
    lls, slow = window_log_likelihoods(motion.speed_mps, motion.straightness, model)
    for cls, ll in lls.items():
        ev.class_evidence[cls] = ev.class_evidence.get(cls, 0.0) + model.window_weight * ll
    previous = ev.slow_pace_evidence
    ev.slow_pace_evidence = (model.window_weight * slow if previous is None
                             else previous + model.window_weight * slow)
    ev.motion_evidence = motion_evidence(track, model)
    ev.class_windows += 1
    ev.class_window_t_s = t_s


def motion_is_ambiguous(track: Track, t_s: float, model: ClassModel) -> bool:
    """Whether the motion window ending at ``t_s`` holds an ambiguous association (see
    :attr:`.TrackEvidence.ambiguous_t_s`): its speed and straightness may be of a path stitched from
    several objects (a fast straight segment passed for a vehicle among people abreast)."""
    return track.evidence.ambiguous_t_s >= t_s - model.motion_window_s


def motion_evidence(track: Track, model: ClassModel) -> dict[str, float]:
    """The accumulated windows' log-likelihood per class: people walk at their own gait, or
    (share ``slow_mover_share``) move slowly at a pace of their own, unknown but steady."""
    out = dict(track.evidence.class_evidence)
    if track.evidence.slow_pace_evidence is None:
        return out
    paces = track.evidence.slow_pace_evidence
    slow = float(logsumexp(paces)) - math.log(paces.size)  # uniform prior over the paces
    share = model.slow_mover_share
    for cls in ("person", "group"):
        out[cls] = float(np.logaddexp(out[cls] + math.log(1.0 - share), slow + math.log(share)))
    return out


def vehicle_corroborated(track: Track, model: ClassModel) -> bool:
    """Evidence for a vehicle that an animal cannot give: a vehicle-sized thermal image, engine
    or track sounds outnumbering footsteps and voices, or a fast straight path over a motion
    window. Speed from a young filter alone is not enough: a convergence jump looks fast."""
    feats = track.evidence.features
    if len(feats.sizes_m) >= 3 and feats.size_m >= model.vehicle_min_size_m:
        return True
    hints = dict(zip(KIND_HINTS, feats.hint_counts, strict=True))
    machine = float(hints["engine"] + hints["tracks"])
    living = float(hints["footsteps"] + hints["voice"])
    if machine >= model.vehicle_min_sounds and machine > living:
        return True
    motion = motion_of(track.state.trail, window_s=model.motion_window_s,
                       min_span_s=model.motion_min_s)
    return (motion is not None and motion.speed_mps >= model.animal_max_speed_mps
            and motion.straightness >= model.vehicle_min_straightness
            and not motion_is_ambiguous(track, track.state.trail[-1][0], model))


def class_log_likelihoods(track: Track, model: ClassModel) -> dict[str, float]:
    """Log-likelihood of the track's evidence under each class."""
    if track.evidence.class_windows:  # no evidence yet when every window judged was ambiguous
        out = dict(track.evidence.motion_evidence) or dict.fromkeys(CLASSES, 0.0)
    else:
        motion = motion_of(track.state.trail, window_s=model.motion_window_s,
                           min_span_s=model.motion_min_s)
        if track.state.trail and motion_is_ambiguous(track, track.state.trail[-1][0], model):
            out = dict.fromkeys(CLASSES, 0.0)
        elif motion is None:
            state = track.state
            out = motion_log_likelihoods(state.speed_mps, state.velocity_sigma_mps + 0.3,
                                         None, model)
        else:
            out = motion_log_likelihoods(motion.speed_mps, 0.0, motion.straightness, model)
    feats = track.evidence.features
    size = feats.size_m
    counts = feats.hint_counts
    total = float(counts.sum())
    weight = min(1.0, model.max_hint_weight / total) if total > 0 else 0.0
    height, height_err = feats.height_m
    for cls in CLASSES:
        if not math.isnan(size) and size > 0:
            out[cls] += size_log_likelihood(size, *model.size_m[cls], model)
        if not math.isnan(height):
            mean, spread = model.height_m[cls]
            out[cls] += _log_normal_pdf(height, mean, math.hypot(spread, height_err))
        if total > 0:
            row = _log_hint_row(model.hint_likelihood[cls], model.hint_clutter_share)
            out[cls] += weight * float(counts @ row)
    return out


@lru_cache(maxsize=64)
def _log_hint_row(likelihoods: tuple[float, ...], clutter_share: float) -> FloatArray:
    """``log P(kind_hint | class)`` with the clutter share mixed in (computed once; read only)."""
    table = np.asarray(likelihoods)
    return np.log((1.0 - clutter_share) * table + clutter_share / table.size)


def classify(track: Track, model: ClassModel, t_s: float | None = None) -> dict[str, float]:
    """Posterior class probabilities of a track (accumulating motion evidence at ``t_s``)."""
    if t_s is not None:
        accumulate_motion(track, t_s, model)
    lls = class_log_likelihoods(track, model)
    logs = {c: lls[c] + math.log(model.prior[c]) for c in CLASSES}
    top = max(logs.values())
    weights = {c: math.exp(v - top) for c, v in logs.items()}
    norm = sum(weights.values())
    return {c: w / norm for c, w in weights.items()}


def label(probabilities: dict[str, float]) -> tuple[str, float]:
    """The most probable class and its probability."""
    cls = max(probabilities, key=lambda c: probabilities[c])
    return cls, probabilities[cls]


def refresh_class(track: Track, t_s: float, model: ClassModel) -> None:
    """Bring a track's class up to data time ``t_s``: a due motion window is added, and the
    probabilities are computed again only when what they depend on changed (see
    :attr:`.TrackEvidence.classified_at`)."""
    accumulate_motion(track, t_s, model)
    ev = track.evidence
    inputs = (track.score.updates, ev.class_windows)
    if inputs == ev.classified_at:
        return
    ev.classified_at = inputs
    ev.probabilities = classify(track, model)
    ev.label, ev.label_probability = label(ev.probabilities)
    if ev.label == "vehicle" and not ev.vehicle_corroborated:  # the alerter's need
        ev.vehicle_corroborated = vehicle_corroborated(track, model)
