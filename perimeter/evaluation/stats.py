"""Summary statistics for the evaluation report: exact binomial bounds and quantiles."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import binomtest

CONFIDENCE = 0.95


def pd_lower_bound(detected: int, trials: int, confidence: float = CONFIDENCE) -> float | None:
    """One-sided exact (Clopper-Pearson) lower confidence bound of a detection probability.

    ``None`` when there were no trials. 29/29, 45/46 and 59/61 all give a bound above 0.9 at
    95 %, the acceptance figures quoted for perimeter intrusion detection.
    """
    if trials < 0 or not 0 <= detected <= trials:
        raise ValueError(f"detected: must be in [0, trials={trials}], got {detected}")
    if trials == 0:
        return None
    if detected == 0:
        return 0.0
    result = binomtest(detected, trials, alternative="greater")
    return float(result.proportion_ci(confidence_level=confidence, method="exact").low)


def ratio(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, or ``None`` when the denominator is zero."""
    return numerator / denominator if denominator else None


def median(values: Sequence[float]) -> float | None:
    """The median of finite ``values``, or ``None`` when there is none."""
    return quantile(values, 0.5)


def quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (linear interpolation) of finite ``values``, or ``None`` if none."""
    finite = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    if finite.size == 0:
        return None
    return float(np.quantile(finite, q))


def mean(values: Sequence[float]) -> float | None:
    """The mean of ``values``, or ``None`` when empty."""
    return float(np.mean(values)) if len(values) else None
