"""Sweep points over named thresholds: ``NAME=LO:HI:STEP`` ranges, grid or seeded random search.

A point is a partial public mapping (``{"thermal.min_snr_db": 9.0}``) applied over the base
thresholds with :meth:`~perimeter.thresholds.Thresholds.patched`, so every refusal names the
threshold and its range exactly as the API and ``perimeter eval`` do.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from perimeter.thresholds import LIMITS, ThresholdError, Thresholds

Point = dict[str, float]


@dataclass(frozen=True, slots=True)
class ParamRange:
    """One swept threshold: values ``lo, lo + step, ...`` up to ``hi`` inclusive."""

    name: str
    lo: float
    hi: float
    step: float

    def values(self) -> list[float]:
        """The grid values, rounded to the step's decimals, ints for integer thresholds."""
        count = math.floor((self.hi - self.lo) / self.step + 1e-9) + 1
        decimals = max(0, -math.floor(math.log10(self.step)) + 3)
        raw = [round(self.lo + i * self.step, decimals) for i in range(count)]
        return [float(int(v)) for v in raw] if LIMITS[self.name].integer else raw


def parse_param(text: str) -> ParamRange:
    """Parse ``NAME=LO:HI:STEP`` (or ``NAME=VALUE`` for one value); errors name the part."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep:
        raise ThresholdError(name or text,
                             "expected NAME=LO:HI:STEP, e.g. thermal.min_snr_db=14:19:1")
    if name not in LIMITS:
        raise ThresholdError(name, f"not a numeric threshold; known: {', '.join(LIMITS)}")
    parts = spec.split(":")
    if len(parts) == 1:
        parts = [parts[0], parts[0], "1"]
    if len(parts) != 3:
        raise ThresholdError(name, f"expected LO:HI:STEP, got {spec!r}")
    try:
        lo, hi, step = (float(p) for p in parts)
    except ValueError:
        raise ThresholdError(name, f"LO, HI and STEP must be numbers, got {spec!r}") from None
    limit = LIMITS[name]
    if not all(map(math.isfinite, (lo, hi, step))) or step <= 0:
        raise ThresholdError(name, f"STEP must be a positive number, got {spec!r}")
    if hi < lo:
        raise ThresholdError(name, f"HI must not be below LO, got {spec!r}")
    if lo < limit.lo or hi > limit.hi:
        raise ThresholdError(name, f"range {lo:g}:{hi:g} leaves the valid range: "
                                   f"must be {limit.describe()}")
    if limit.integer and not all(float(v).is_integer() for v in (lo, hi, step)):
        raise ThresholdError(name, f"must be {limit.describe()}, got {spec!r}")
    return ParamRange(name, lo, hi, step)


def grid_points(ranges: Sequence[ParamRange]) -> list[Point]:
    """Every combination of the ranges' values (first range varies slowest)."""
    names = [r.name for r in ranges]
    if len(set(names)) != len(names):
        raise ThresholdError("--param", f"a threshold is given twice: {names}")
    return [dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(r.values() for r in ranges))]


def random_points(ranges: Sequence[ParamRange], count: int,
                  rng: np.random.Generator) -> list[Point]:
    """``count`` distinct grid points drawn without replacement (all of them if fewer)."""
    if count < 1:
        raise ValueError(f"count: must be at least 1, got {count}")
    grid = grid_points(ranges)
    chosen = rng.choice(len(grid), size=min(count, len(grid)), replace=False)
    return [grid[int(i)] for i in sorted(chosen)]


def valid_points(points: Sequence[Point], base: Thresholds
                 ) -> tuple[list[tuple[Point, Thresholds]], list[tuple[Point, str]]]:
    """Split points into those the thresholds accept (with their thresholds) and the refused
    ones with the reason (e.g. ``track.confirm_m`` above ``track.confirm_n``)."""
    kept: list[tuple[Point, Thresholds]] = []
    refused: list[tuple[Point, str]] = []
    for point in points:
        try:
            kept.append((point, base.patched(point)))
        except ThresholdError as exc:
            refused.append((point, str(exc)))
    return kept, refused
