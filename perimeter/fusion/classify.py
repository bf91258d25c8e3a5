"""Classify: person, group, vehicle, animal or unknown (static) with a probability.

A naive-Bayes combination of independent evidence: the track's net speed over the last
minute (wandering animals move slowly on net; the filter's instantaneous speed is used, with a
wider spread, until 20 s of track exist), the thermal target size (pixels times range times the
pixel's angle), and the acoustic ``kind_hint`` counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from perimeter.fusion.scan import KIND_HINTS
from perimeter.fusion.track import Track

CLASSES = ("person", "group", "vehicle", "animal", "unknown")


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
        "person": 1.4, "group": 1.2, "vehicle": 8.0, "animal": 0.7, "unknown": 0.0})
    speed_sigma_mps: dict[str, float] = field(default_factory=lambda: {
        "person": 0.3, "group": 0.3, "vehicle": 3.0, "animal": 0.45, "unknown": 0.12})
    size_m: dict[str, tuple[float, float]] = field(default_factory=lambda: {
        "person": (0.75, 0.75), "group": (0.5, 1.5), "vehicle": (2.3, 3.0),
        "animal": (0.6, 0.6), "unknown": (0.3, 3.0)})
    """Fully visible critical size range per class (metres)."""
    size_log_sigma: float = 0.08
    partly_visible: float = 0.15
    """Share of tracks seen only partly (size uniform below the class's size)."""
    hint_likelihood: dict[str, tuple[float, ...]] = field(default_factory=_default_hints)
    max_hint_weight: float = 6.0
    hint_clutter_share: float = 0.5
    """Share of associated acoustic detections assumed to be clutter (hint uninformative)."""
    net_window_s: float = 60.0
    net_min_s: float = 20.0


def net_speed_mps(track: Track, model: ClassModel) -> float | None:
    """Net displacement speed over the last ``net_window_s`` (None while too short)."""
    trail = track.trail
    if len(trail) < 2:
        return None
    t_end, x_end, y_end = trail[-1]
    start = trail[0]
    for point in trail:
        if t_end - point[0] <= model.net_window_s:
            start = point
            break
    span = t_end - start[0]
    if span < model.net_min_s:
        return None
    return math.hypot(x_end - start[1], y_end - start[2]) / span


def _log_normal_pdf(x: float, mean: float, sigma: float) -> float:
    return -0.5 * ((x - mean) / sigma) ** 2 - math.log(sigma)


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


def class_log_likelihoods(track: Track, model: ClassModel) -> dict[str, float]:
    """Log-likelihood of the track's evidence under each class."""
    net = net_speed_mps(track, model)
    if net is None:
        speed = track.speed_mps
        spread = math.sqrt(max(float(track.p[2, 2] + track.p[3, 3]) / 2.0, 0.0)) + 0.3
    else:
        speed, spread = net, 0.0
    feats = track.features
    size = feats.size_m
    counts = feats.hint_counts
    total = float(counts.sum())
    weight = min(1.0, model.max_hint_weight / total) if total > 0 else 0.0
    out = {}
    for cls in CLASSES:
        sigma = math.hypot(model.speed_sigma_mps[cls], spread)
        ll = _log_normal_pdf(speed, model.speed_mean_mps[cls], sigma)
        if not math.isnan(size) and size > 0:
            ll += size_log_likelihood(size, *model.size_m[cls], model)
        if total > 0:
            table = np.asarray(model.hint_likelihood[cls])
            mixed = (1.0 - model.hint_clutter_share) * table + model.hint_clutter_share / table.size
            ll += weight * float(counts @ np.log(mixed))
        out[cls] = ll
    return out


def classify(track: Track, model: ClassModel) -> dict[str, float]:
    """Posterior class probabilities of a track."""
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
