"""The contract's scoring rules: which alerts detect which intrusions, and which are false.

An intrusion is a scripted target whose class is in ``alert.classes``. An alert follows a
target when its event positions lie within ``MATCH_RADIUS_M`` of the target's true position (at
each event's ``t_s``) for at least half of its events; alerts are matched one to one first
(:func:`match_one_to_one`), the rest to the target each follows best. The target is detected
when its first matched alert starts before the target reaches its last waypoint. Alerts matched
to no intrusion are false; a false alert that matches an animal is also a nuisance alert.
``tower_fault`` alerts are counted apart and never scored as false. Matched alerts beyond an
intrusion's first are duplicates; a matched alert whose class family (people: person or group;
vehicle) is not the target's, judged on the class it showed for most of its events, is
misclassified.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.optimize import linear_sum_assignment

from perimeter.contract import AlertEvent, Origin
from perimeter.fusion.reacquire import family
from sim.truth import TargetTruth, Truth

Point = tuple[float, float]
Verdict = Literal["intrusion", "false", "nuisance", "tower_fault"]

MATCH_RADIUS_M = 150.0
MATCH_FRACTION = 0.5
KIND_CLASS = {"person": "person", "group": "group", "light_vehicle": "vehicle",
              "heavy_vehicle": "vehicle", "animal": "animal"}


def class_family(class_: str) -> str:
    """The family an alert class belongs to (person and group are both ``people``); classes
    outside the families (``unknown``) are their own family: fusion's rule
    (:func:`perimeter.fusion.reacquire.family`)."""
    return family(class_)


def target_class(kind: str) -> str:
    """The alert class a target kind maps to (``light_vehicle`` → ``vehicle``)."""
    try:
        return KIND_CLASS[kind]
    except KeyError:
        raise ValueError(f"kind: unknown target kind {kind!r}; known: {list(KIND_CLASS)}") from None


@dataclass(frozen=True, slots=True)
class AlertTrack:
    """All events of one alert, in time order."""

    alert_id: str
    class_: str
    events: tuple[AlertEvent, ...]

    @property
    def first_t_s(self) -> float:
        return self.events[0].t_s

    @property
    def track_ids(self) -> frozenset[str]:
        return frozenset(e.track_id for e in self.events if e.track_id is not None)

    @property
    def shown_class(self) -> str:
        """The class the alert showed for most of its events (ties: the one shown first)."""
        return Counter(e.class_ for e in self.events).most_common(1)[0][0]

    @property
    def origin(self) -> Origin | None:
        """The origin the alert first reported (the one in force when it was raised)."""
        return next((e.origin for e in self.events if e.origin is not None), None)


def group_alerts(events: Iterable[AlertEvent]) -> list[AlertTrack]:
    """Events grouped by ``alert_id``, ordered by each alert's first event."""
    by_id: dict[str, list[AlertEvent]] = {}
    for event in events:
        by_id.setdefault(event.alert_id, []).append(event)
    alerts = []
    for alert_id, evs in by_id.items():
        evs.sort(key=lambda e: e.t_s)
        alerts.append(AlertTrack(alert_id, evs[0].class_, tuple(evs)))
    alerts.sort(key=lambda a: (a.first_t_s, a.alert_id))
    return alerts


def match_distances_m(alert: AlertTrack, target: TargetTruth) -> list[float]:
    """Distance from each positioned event of ``alert`` to the target's true position then."""
    return [math.dist((e.position.x_m, e.position.y_m), target.position(e.t_s))
            for e in alert.events if e.position is not None]


def match_score(alert: AlertTrack, target: TargetTruth,
                radius_m: float = MATCH_RADIUS_M) -> tuple[float, float]:
    """``(fraction of events within radius_m, median distance)``; ``(0, inf)`` if unpositioned."""
    dists = match_distances_m(alert, target)
    if not dists:
        return (0.0, math.inf)
    return (sum(d <= radius_m for d in dists) / len(dists), float(np.median(dists)))


def best_match(alert: AlertTrack, targets: Sequence[TargetTruth],
               radius_m: float = MATCH_RADIUS_M) -> TargetTruth | None:
    """The target the alert follows best, if it follows any by the half-of-events rule."""
    best: tuple[float, float] | None = None
    chosen = None
    for target in targets:
        fraction, med = match_score(alert, target, radius_m)
        if fraction >= MATCH_FRACTION and (best is None or (-fraction, med) < best):
            best, chosen = (-fraction, med), target
    return chosen


def match_one_to_one(alerts: Sequence[AlertTrack], targets: Sequence[TargetTruth],
                     radius_m: float = MATCH_RADIUS_M) -> dict[str, TargetTruth]:
    """Each alert that follows some target (the half-of-events rule) and the target it counts
    for. First one alert per target, as many targets as possible, the smallest total median
    distance among those (an optimal assignment, as multi-target tracking metrics match);
    every other such alert then counts for the target it follows best (a duplicate). So two
    alerts on two walkers 11 m apart count for both walkers, not twice for the nearer one."""
    if not alerts or not targets:
        return {}
    scores = [[match_score(a, t, radius_m) for t in targets] for a in alerts]
    eligible = np.array([[f >= MATCH_FRACTION for f, _ in row] for row in scores])
    median_m = np.array([[m for _, m in row] for row in scores])
    # eligible pairs cost their median distance less a constant above any sum of distances,
    # so the assignment first maximises the pairs, then minimises their distances
    big = 1.0 + float(np.sum(np.where(eligible, median_m, 0.0)))
    cost = np.where(eligible, median_m - big, 0.0)
    rows, cols = linear_sum_assignment(cost)
    matched = {alerts[r].alert_id: targets[c] for r, c in zip(rows, cols, strict=True)
               if eligible[r, c]}
    for a, alert in enumerate(alerts):  # the rest: the target each follows best
        followed = np.flatnonzero(eligible[a])
        if alert.alert_id not in matched and followed.size:
            best = min(followed.tolist(), key=lambda c: (-scores[a][c][0], scores[a][c][1]))
            matched[alert.alert_id] = targets[best]
    return matched


def distance_to_polyline_m(point: Point, polyline: Sequence[Point]) -> float:
    """Shortest distance from ``point`` to a polyline of at least one vertex."""
    pts = np.asarray(polyline, dtype=float).reshape(-1, 2)
    p = np.asarray(point, dtype=float)
    if len(pts) == 1:
        return float(np.linalg.norm(p - pts[0]))
    a, b = pts[:-1], pts[1:]
    ab = b - a
    length2 = np.einsum("ij,ij->i", ab, ab)
    t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.where(length2 > 0, length2, 1.0), 0, 1)
    closest = a + t[:, None] * ab
    return float(np.min(np.linalg.norm(closest - p, axis=1)))


@dataclass(slots=True)
class TargetScore:
    """How one scripted intrusion fared."""

    target: TargetTruth
    class_: str
    alerts: list[AlertTrack] = field(default_factory=list)
    detected: bool = False
    time_to_alert_s: float | None = None
    origin_error_m: float | None = None
    first_alert_distance_to_perimeter_m: float | None = None

    @property
    def first_alert(self) -> AlertTrack | None:
        return self.alerts[0] if self.alerts else None

    @property
    def late(self) -> bool:
        """Followed by an alert, but only once it had reached its last waypoint."""
        return bool(self.alerts) and not self.detected

    @property
    def duplicate_alerts(self) -> int:
        """Matched alerts beyond the first: each is one more alert for an operator to handle."""
        return max(0, len(self.alerts) - 1)

    @property
    def misclassified_alerts(self) -> int:
        """Matched alerts whose shown class is not of the target's class family."""
        family = class_family(self.class_)
        return sum(class_family(a.shown_class) != family for a in self.alerts)

    @property
    def class_correct(self) -> bool | None:
        """Every matched alert showed the target's class family; None when none matched."""
        return None if not self.alerts else self.misclassified_alerts == 0


@dataclass(frozen=True, slots=True)
class AlertVerdict:
    alert: AlertTrack
    verdict: Verdict
    target_id: str | None


@dataclass(slots=True)
class Scoring:
    """Per-intrusion results and a verdict on every alert."""

    intrusions: list[TargetScore]
    verdicts: list[AlertVerdict]

    def count(self, *verdicts: Verdict) -> int:
        return sum(v.verdict in verdicts for v in self.verdicts)

    @property
    def false_alerts(self) -> int:
        """False alerts, nuisance alerts included."""
        return self.count("false", "nuisance")


def is_intrusion(target: TargetTruth, alert_classes: Iterable[str]) -> bool:
    return target.scripted and target_class(target.kind) in set(alert_classes)


def score_alerts(truth: Truth, events: Iterable[AlertEvent], alert_classes: Iterable[str],
                 perimeter: Sequence[Point], radius_m: float = MATCH_RADIUS_M) -> Scoring:
    """Apply the contract's rules to one run's alert events."""
    classes = set(alert_classes)
    intrusion_targets = [t for t in truth.targets if is_intrusion(t, classes)]
    others = [t for t in truth.targets if not is_intrusion(t, classes)]
    scores = {t.id: TargetScore(t, target_class(t.kind)) for t in intrusion_targets}
    alerts = group_alerts(events)
    matched = match_one_to_one([a for a in alerts if a.class_ != "tower_fault"],
                               intrusion_targets, radius_m)
    verdicts = []
    for alert in alerts:
        if alert.class_ == "tower_fault":
            verdicts.append(AlertVerdict(alert, "tower_fault", None))
            continue
        target = matched.get(alert.alert_id)
        if target is not None:
            scores[target.id].alerts.append(alert)
            verdicts.append(AlertVerdict(alert, "intrusion", target.id))
            continue
        other = best_match(alert, others, radius_m)
        nuisance = other is not None and other.kind == "animal"
        verdicts.append(AlertVerdict(alert, "nuisance" if nuisance else "false",
                                     other.id if other is not None else None))
    for score in scores.values():
        _fill_detection(score, perimeter)
    return Scoring(list(scores.values()), verdicts)


def _fill_detection(score: TargetScore, perimeter: Sequence[Point]) -> None:
    first = score.first_alert
    target = score.target
    if first is None or not first.first_t_s < target.end_t_s:
        return
    score.detected = True
    score.time_to_alert_s = first.first_t_s - target.start_t_s
    origin = first.origin
    if origin is not None:
        score.origin_error_m = math.dist((origin.x_m, origin.y_m), target.origin_xy_m)
    score.first_alert_distance_to_perimeter_m = distance_to_polyline_m(
        target.position(first.first_t_s), perimeter)
