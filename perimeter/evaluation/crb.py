"""Cramér-Rao bound of a bearing-only origin fix, from the towers that saw a target begin.

``J = sum_i u_i u_i^T / (sigma_i^2 r_i^2)`` with ``u_i`` the unit vector across tower ``i``'s
line of sight; the RMS position error of any unbiased estimate is at least ``sqrt(trace(J^-1))``
(docs/evaluation.md).
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from perimeter import topics
from perimeter.bus import Message
from perimeter.thresholds import Thresholds
from sim.truth import Truth

Point = tuple[float, float]
_SEQ = re.compile(rb'"seq"\s*:\s*(\d+)')


@dataclass(frozen=True, slots=True)
class Sighting:
    """One published detection of a true target, as the truth tags and the stream give it."""

    tower_id: str
    sensor: str
    t_s: float
    bearing_sigma_deg: float
    snr_db: float = math.inf
    """As reported; fusion drops a detection below its sensor's threshold (:func:`usable`)."""


def usable(sightings: Iterable[Sighting], thresholds: Thresholds) -> list[Sighting]:
    """The sightings fusion keeps: at or above their sensor's SNR threshold in force
    (:meth:`.Thresholds.min_snr_db`; the bounds count only data the tracker had)."""
    return [s for s in sightings if s.snr_db >= thresholds.min_snr_db(s.sensor)]


def bearing_crb_m(target_xy_m: Point, observers: Sequence[tuple[Point, float]]) -> float:
    """RMS position bound (m) at ``target_xy_m`` from ``(tower_xy_m, bearing_sigma_deg)`` pairs.

    ``inf`` when the bearings cannot fix a position (fewer than two distinct lines of sight).
    """
    info = np.zeros((2, 2))
    tx, ty = target_xy_m
    for (ox, oy), sigma_deg in observers:
        if not sigma_deg > 0.0:
            raise ValueError(f"bearing_sigma_deg: must be positive, got {sigma_deg}")
        dx, dy = tx - ox, ty - oy
        range_m = math.hypot(dx, dy)
        if range_m == 0.0:
            raise ValueError(f"target_xy_m: coincides with an observer at {(ox, oy)}")
        across = np.array([-dy, dx]) / range_m
        info += np.outer(across, across) / (math.radians(sigma_deg) ** 2 * range_m**2)
    if np.linalg.matrix_rank(info, tol=1e-12 * max(float(np.trace(info)), 1e-300)) < 2:
        return math.inf
    return float(math.sqrt(np.trace(np.linalg.inv(info))))


def tower_sigmas_deg(sightings: Iterable[Sighting]) -> dict[str, float]:
    """Each tower's effective bearing sigma: its sensors' median sigmas combined as information."""
    by_sensor: dict[tuple[str, str], list[float]] = defaultdict(list)
    for s in sightings:
        by_sensor[(s.tower_id, s.sensor)].append(s.bearing_sigma_deg)
    info: dict[str, float] = defaultdict(float)
    for (tower_id, _sensor), sigmas in by_sensor.items():
        info[tower_id] += 1.0 / float(np.median(sigmas)) ** 2
    return {tower_id: 1.0 / math.sqrt(value) for tower_id, value in info.items()}


def origin_crb_m(
    origin_xy_m: Point,
    start_t_s: float,
    sightings: Iterable[Sighting],
    towers_xy_m: Mapping[str, Point],
    window_s: float,
) -> float:
    """The bound at the origin from the towers that saw the target in its first ``window_s``."""
    early = [s for s in sightings if start_t_s <= s.t_s <= start_t_s + window_s]
    sigmas = tower_sigmas_deg(early)
    return bearing_crb_m(origin_xy_m, [(towers_xy_m[t], sigma) for t, sigma in sigmas.items()])


def sightings_by_target(truth: Truth, messages: Iterable[Message]) -> dict[str, list[Sighting]]:
    """Join the truth's detection tags with the published reports: who saw what, when, how well."""
    wanted: dict[tuple[str, str, int], list[tuple[int, str]]] = defaultdict(list)
    for tag in truth.detections:
        if tag.target_id is not None:
            wanted[(tag.tower_id, tag.sensor, tag.seq)].append((tag.index, tag.target_id))
    found: dict[str, list[Sighting]] = defaultdict(list)
    for message in messages:
        parsed = topics.parse_tower_topic(message.topic)
        if parsed is None or parsed.channel is topics.TowerChannel.STATUS:
            continue
        seq = _SEQ.search(message.payload)  # cheap pre-filter; most reports hold no target
        if seq is not None and (parsed.tower_id, parsed.channel.value,
                                int(seq.group(1))) not in wanted:
            continue
        report = json.loads(message.payload)
        tags = wanted.get((parsed.tower_id, parsed.channel.value, int(report["seq"])))
        if not tags:
            continue
        detections = report["detections"]
        for index, target_id in tags:
            if 0 <= index < len(detections):
                detection = detections[index]
                sigma = float(detection["bearing_sigma_deg"])
                snr_db = float(detection.get("snr_db", math.inf))
                found[target_id].append(Sighting(parsed.tower_id, parsed.channel.value,
                                                 float(report["t_s"]), sigma, snr_db))
    return dict(found)
