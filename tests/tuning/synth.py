"""Synthetic operating points with chosen Pd and false-alert rates (no simulation)."""

from __future__ import annotations

from perimeter.evaluation.report import aggregate
from perimeter.tuning.runner import PointResult, pd_interval


def point(index: int, detected: int, intrusions: int, false_per_km_day: float,
          *, current: bool = False) -> PointResult:
    """A point whose pooled figures are exactly the given ones."""
    pooled = aggregate([]).model_copy(update={
        "intrusions": intrusions, "detected": detected,
        "pd": detected / intrusions if intrusions else None,
        "false_alerts_per_km_day": false_per_km_day})
    low, high = pd_interval(detected, intrusions)
    return PointResult(index, {"alert.min_confidence": 0.1 * index}, {}, current, pooled,
                       low, high)
