"""The recommended operating point: highest pooled Pd within a false-alert budget, and whether
the sample can tell it from the current thresholds at all."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scipy.stats import chi2

from perimeter.tuning.runner import CONFIDENCE, PointResult


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The chosen point (``None`` if no point meets the budget) and why."""

    point: PointResult | None
    max_false_alerts_per_km_day: float
    reason: str
    warning: str | None = None
    """Set when the sample cannot separate the recommended point from the current one (their
    Pd intervals and false-alert count intervals both overlap): ``--apply`` then needs
    ``--force``."""

    @property
    def thresholds(self) -> dict[str, Any]:
        """The swept thresholds to change (public names), empty when nothing is recommended."""
        return dict(self.point.values) if self.point is not None else {}


def recommend(points: Sequence[PointResult],
              max_false_alerts_per_km_day: float) -> Recommendation:
    """Maximise pooled Pd subject to ``false_alerts_per_km_day <= limit``.

    Ties on Pd go to fewer false alerts per km-day, then to the earlier point (the current
    thresholds come first), so the choice is deterministic.
    """
    limit = max_false_alerts_per_km_day
    if not (math.isfinite(limit) and limit >= 0):
        raise ValueError(f"max_false_alerts_per_km_day: must be a number >= 0, got {limit!r}")
    feasible = [p for p in points if p.pd is not None and p.false_alerts_per_km_day <= limit]
    if not feasible:
        scored = [p for p in points if p.pd is not None]
        if not scored:
            return Recommendation(None, limit, "no point has any intrusion to score Pd on")
        best = min(p.false_alerts_per_km_day for p in scored)
        return Recommendation(None, limit, f"no point stays within {limit:g} false alerts per "
                                           f"km-day (the fewest is {best:.3g})")
    chosen = min(feasible, key=lambda p: (-(p.pd or 0.0), p.false_alerts_per_km_day, p.index))
    named = ", ".join(f"{k}={v:g}" for k, v in chosen.values.items()) or "the current thresholds"
    current = next((p for p in points if p.current), None)
    return Recommendation(chosen, limit,
                          f"{named}: Pd {chosen.pd:.3f} at {chosen.false_alerts_per_km_day:.3g} "
                          f"false alerts per km-day (limit {limit:g})",
                          None if current is None else inseparable(chosen, current))


def count_interval(count: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Two-sided exact (Garwood) interval of a Poisson mean from one observed ``count``."""
    tail = (1.0 - confidence) / 2.0
    low = 0.0 if count == 0 else float(chi2.ppf(tail, 2 * count)) / 2.0
    return low, float(chi2.ppf(1.0 - tail, 2 * count + 2)) / 2.0


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def inseparable(chosen: PointResult, current: PointResult) -> str | None:
    """Why the sample cannot tell ``chosen`` from ``current`` (None when it can, or when they
    are the same point): both their Pd intervals (exact binomial) and their false-alert count
    intervals (exact Poisson; every point runs the same scenarios, so counts compare) overlap."""
    if chosen.index == current.index or chosen.values == current.values:
        return None
    if None in (chosen.pd_low_95, chosen.pd_high_95, current.pd_low_95, current.pd_high_95):
        return "the current point has no Pd to compare with"
    pd_a = (float(chosen.pd_low_95 or 0.0), float(chosen.pd_high_95 or 0.0))
    pd_b = (float(current.pd_low_95 or 0.0), float(current.pd_high_95 or 0.0))
    fa_a = count_interval(chosen.pooled.false_alerts)
    fa_b = count_interval(current.pooled.false_alerts)
    if not (_overlap(pd_a, pd_b) and _overlap(fa_a, fa_b)):
        return None
    return (f"the sample cannot separate it from the current thresholds: Pd 95 % intervals "
            f"[{pd_a[0]:.2f}, {pd_a[1]:.2f}] and [{pd_b[0]:.2f}, {pd_b[1]:.2f}] over "
            f"{chosen.pooled.intrusions} intrusion(s) overlap, and so do the false-alert counts "
            f"({chosen.pooled.false_alerts} vs {current.pooled.false_alerts}); add scenarios or "
            f"seeds")
