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
    # P(kind_hint | class) in KIND_HINTS order: footsteps, voice, engine, tracks, impulse, unknown
    return {
        "person": (0.45, 0.30, 0.02, 0.01, 0.07, 0.15),
        "group": (0.40, 0.40, 0.02, 0.01, 0.02, 0.15),
        "vehicle": (0.02, 0.02, 0.60, 0.25, 0.01, 0.10),
        "animal": (0.30, 0.05, 0.01, 0.01, 0.03, 0.60),
        "unknown": tuple(1.0 / len(KIND_HINTS) for _ in KIND_HINTS),
    }


@dataclass(frozen=True, slots=True)
class ClassModel:
    """Class-conditional models; speeds in m/s, sizes in metres (log-normal)."""

    prior: dict[str, float] = field(default_factory=lambda: {
        "person": 0.30, "group": 0.10, "vehicle": 0.15, "animal": 0.35, "unknown": 0.10})
    speed_mean_mps: dict[str, float] = field(default_factory=lambda: {
        "person": 1.35, "group": 1.15, "vehicle": 8.0, "animal": 0.35, "unknown": 0.0})
    speed_sigma_mps: dict[str, float] = field(default_factory=lambda: {
        "person": 0.4, "group": 0.4, "vehicle": 5.0, "animal": 0.35, "unknown": 0.12})
    size_median_m: dict[str, float] = field(default_factory=lambda: {
        "person": 1.0, "group": 2.5, "vehicle": 4.0, "animal": 1.0, "unknown": 1.5})
    size_log_sigma: float = 0.6
    hint_likelihood: dict[str, tuple[float, ...]] = field(default_factory=_default_hints)
    max_hint_weight: float = 6.0
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
            ll += _log_normal_pdf(math.log(size), math.log(model.size_median_m[cls]),
                                  model.size_log_sigma)
        if total > 0:
            ll += weight * float(counts @ np.log(np.asarray(model.hint_likelihood[cls])))
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
