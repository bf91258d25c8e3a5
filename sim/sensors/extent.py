"""A thermal blob's extent: its width across the line of sight and its height, in pixels.

Each target has a body (``length_m`` along its heading, ``breadth_m`` across it, ``height_m``
standing), drawn per run around its kind's nominals (docs/sensors.md, "Blob extent"). Seen from
a tower at relative heading ``a`` (heading minus the tower's bearing to it), the silhouette is
``|L sin a| + |B cos a|`` wide (a quadruped broadside shows its length, head-on its breadth) and
``H v`` high (``v``: the share not hidden, times a person's posture). People crouching and
crawling stretch along their heading as they lower. The reading goes through the optics like
``size_px`` (blur in quadrature, the segmentation's log-normal noise) and is then quantised to
whole pixels at a random sub-pixel phase (unbiased on average; at least one pixel).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.rand import rng_for
from sim.sensors.blur import FWHM_PER_SIGMA
from sim.signatures import ThermalSignature, signature

FloatArray = npt.NDArray[np.float64]

LENGTH_M: dict[str, float] = {"person": 0.35, "group": 0.35, "light_vehicle": 4.5,
                              "heavy_vehicle": 7.0}
"""Nominal extent along the heading of the kinds whose signature gives the breadth: a walker's
front-to-back with the swing of arms and legs, a file of one; a car; a truck (*estimates*)."""
ANIMAL_BREADTH_SHARE = 0.3
"""An animal's trunk breadth over its body length (*estimate*: a roe deer ~0.3 m across for
~1.1 m long); the signature's width is its length (seen side on)."""
LOG_SPREAD = 0.15
"""Log-std of the drawn length (people, vehicles) or breadth share (animals), per target."""
CRAWL_EXTRA_M = 1.3
"""How much longer a person gets along the heading per unit of stature lost: ~0.8 m crouching
(stature 0.63), ~1.3 m on hands and knees (0.26) (*estimates*)."""


@dataclass(frozen=True, slots=True)
class Bodies:
    """Per target: length along its heading, breadth across it, standing height (metres)."""

    length_m: FloatArray
    breadth_m: FloatArray
    height_m: FloatArray
    crouches: npt.NDArray[np.bool_]
    """Whether lowering its posture stretches it along its heading (people, groups)."""


def draw_bodies(ids: Sequence[str], kinds: Sequence[str], counts: Sequence[int],
                own: Sequence[ThermalSignature | None], seed: int,
                perturb: float = 1.0) -> Bodies:
    """Every target's body, drawn from its own stream (``truth``, ``body``, id): the breadth
    (people, vehicles) and height are its drawn signature's; the length of people and
    vehicles, an animal's breadth share, are drawn here (log-normal, ``LOG_SPREAD`` times
    ``perturb``)."""
    length, breadth, height = [], [], []
    for tid, kind, count, sig in zip(ids, kinds, counts, own, strict=True):
        s = signature(kind, count) if sig is None else sig
        factor = float(np.exp(LOG_SPREAD * perturb
                              * rng_for(seed, "truth", "body", tid).standard_normal()))
        if kind == "animal":
            length.append(s.width_m)
            breadth.append(ANIMAL_BREADTH_SHARE * factor * s.width_m)
        else:
            length.append(LENGTH_M[kind] * factor)
            breadth.append(s.width_m)
        height.append(s.height_m)
    return Bodies(np.array(length, dtype=np.float64), np.array(breadth, dtype=np.float64),
                  np.array(height, dtype=np.float64),
                  np.array([k in ("person", "group") for k in kinds], dtype=bool))


def headings_deg(xy_m: FloatArray) -> FloatArray:
    """Heading (clockwise from grid north) of each target ``(N, steps)`` on the time grid
    ``xy_m (N, steps, 2)``: the direction of its next step, held through pauses (the body
    keeps its last heading; before its first move, its first heading)."""
    n, steps = xy_m.shape[:2]
    out = np.zeros((n, steps))
    if steps < 2:
        return out
    d = np.diff(xy_m, axis=1)
    moving = np.hypot(d[..., 0], d[..., 1]) > 1e-6
    angle = np.degrees(np.arctan2(d[..., 0], d[..., 1]))
    for i in range(n):
        idx = np.nonzero(moving[i])[0]
        if not idx.size:
            continue
        # the last move at or before each step (the first move before any)
        last = np.searchsorted(idx, np.arange(steps - 1), side="right") - 1
        out[i, :-1] = angle[i, idx[np.maximum(last, 0)]]
        out[i, -1] = out[i, -2]
    return out


def silhouette_width_m(length_m: FloatArray, breadth_m: FloatArray,
                       relative_deg: FloatArray) -> FloatArray:
    """Width across the line of sight of a body at ``relative_deg`` (its heading minus the
    bearing it is seen along: 0 walking away, 90 broadside)."""
    a = np.radians(relative_deg)
    return np.asarray(np.abs(length_m * np.sin(a)) + np.abs(breadth_m * np.cos(a)),
                      dtype=np.float64)


def posture_length_m(length_m: FloatArray, stature: FloatArray,
                     crouches: npt.NDArray[np.bool_]) -> FloatArray:
    """Length along the heading in the current posture (people stretch as they lower)."""
    extra = np.where(crouches, CRAWL_EXTRA_M * (1.0 - stature), 0.0)
    return np.asarray(length_m + extra, dtype=np.float64)


def extent_px(true_px: FloatArray, blur_sigma_px: FloatArray, seg_log_sigma: FloatArray,
              rng: np.random.Generator) -> FloatArray:
    """A blob's measured extent along one axis: the true extent blurred (FWHM in quadrature),
    times the segmentation's log-normal noise, counted in whole pixels at a random phase
    (``floor(x + U)``: ``x`` on average) and at least 1."""
    m = len(true_px)
    blurred = np.hypot(true_px, FWHM_PER_SIGMA * blur_sigma_px)
    noisy = blurred * np.exp(seg_log_sigma * rng.standard_normal(m))
    return np.asarray(np.maximum(1.0, np.floor(noisy + rng.random(m))), dtype=np.float64)
