"""The recommended operating point: highest pooled Pd within a false-alert budget."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from perimeter.tuning.runner import PointResult


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The chosen point (``None`` if no point meets the budget) and why."""

    point: PointResult | None
    max_false_alerts_per_km_day: float
    reason: str

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
    return Recommendation(chosen, limit,
                          f"{named}: Pd {chosen.pd:.3f} at {chosen.false_alerts_per_km_day:.3g} "
                          f"false alerts per km-day (limit {limit:g})")
