"""Blob aspect (posture) evidence: how tall a track's thermal blob is for its width.

An upright person is tall and narrow, a quadruped broadside long and low (head on narrower),
a crawling person low and long, a vehicle wide, a party as its formation makes it (abreast,
in file, a cluster: :func:`.priors.group_formations`, weighed by their shares). Each class's
bodies (:func:`.priors.silhouettes`: length along the heading, breadth across it, height)
are seen at the track's headings relative to each reading tower's line of sight (the width
seen is ``L |sin a| + B |cos a|``: a car end on is narrow, a quadruped broadside long, a
party in file narrow end on and long side on) for the readings with a known heading; the
others (all of them while fewer than :data:`MIN_READINGS` have one) at one unknown relative
heading, each equally likely; their ranges by a three-
point rule, and read as the imager would at the track's pixel footprint: blur in quadrature
and at least one whole pixel per axis. So at long range, where a person is a pixel wide and
an animal two, the classes' predicted readings draw together and the likelihood flattens by
itself. The track's evidence is the trimmed mean (a tenth off each end) of its readings'
``log(height_px / width_px)``: a median of whole-pixel counts sticks to one count where the
mean of a blob read at random phases follows its extent. Its error is a mean's of ``n``
readings (segmentation noise and whole pixels on both axes) with a part they share; and the
same share of unreliable readings as size and height (a neighbour's blob, a partly hidden
one): uninformative, not decisive.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from perimeter.fusion import priors as pr
from perimeter.fusion.track_evidence import Features

FloatArray = npt.NDArray[np.float64]

MIN_READINGS = 5
"""Readings before the aspect says anything (as the centroid height)."""
QUANT_PX_SIGMA = 1.0 / math.sqrt(6.0)
"""A whole-pixel count's error about the extent it stands for: at a random sub-pixel phase
the count is the extent's whole part plus one with probability its fraction ``f``, a variance
``f (1 - f)``, 1/6 on average over ``f``."""
BROAD_LOG_ASPECT = 5.0
"""Width of the log aspects an unreliable reading may take (1:12 to 12:1)."""
TRIM_EFFICIENCY = 1.1
"""A 10 % trimmed mean's error over a mean's (about 1.06 for normal readings, rounded up)."""
HEADINGS = 9
"""Relative headings, equally spaced over a quadrant (the silhouette's width is symmetric)."""
UNIFORM = tuple([1.0 / HEADINGS] * HEADINGS)
_NODES = ((-math.sqrt(3.0), 1.0 / 6.0), (0.0, 2.0 / 3.0), (math.sqrt(3.0), 1.0 / 6.0))
"""Three-point Gauss-Hermite rule: a range ``lo``-``hi`` read as mean +/- 2 sigma."""


def _points(bounds: tuple[float, float]) -> list[tuple[float, float]]:
    lo, hi = bounds
    mid, sigma = 0.5 * (lo + hi), 0.25 * (hi - lo)
    return [(max(mid + z * sigma, 0.05), w) for z, w in _NODES]


def trimmed_mean(values: Iterable[float], cut: float = 0.1) -> float:
    """Mean of the values without the ``cut`` share at each end."""
    ordered = sorted(values)
    k = int(cut * len(ordered))
    kept = ordered[k:len(ordered) - k]
    return math.fsum(kept) / len(kept)


@lru_cache(maxsize=16)
def _grid(bodies: tuple[pr.Silhouette, ...]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Widths and heights (metres, one row per body, one column per relative heading) and
    each body's weight (summing to 1)."""
    angles = (np.arange(HEADINGS) + 0.5) * (0.5 * math.pi / HEADINGS)
    sin, cos = np.sin(angles), np.cos(angles)
    widths, heights, weights = [], [], []
    total = math.fsum(body.share for body in bodies)
    for body in bodies:
        for length, wl in _points(body.length_m):
            for breadth, wb in _points(body.breadth_m):
                for height, wh in _points(body.height_m):
                    widths.append(length * sin + breadth * cos)
                    heights.append(np.full(HEADINGS, height))
                    weights.append(wl * wb * wh * body.share / total)
    return np.array(widths), np.array(heights), np.array(weights)


def known_share(headings_rad: Sequence[float]) -> float:
    """Share of a track's readings whose relative heading is known (to a twentieth); 0 with
    fewer than :data:`MIN_READINGS` of those (:func:`heading_shares` is then uniform)."""
    known = sum(1 for a in headings_rad if not math.isnan(a))
    if known < MIN_READINGS:
        return 0.0
    return round(20.0 * known / len(headings_rad)) / 20.0


def heading_shares(headings_rad: Iterable[float]) -> tuple[float, ...]:
    """Share of a track's readings in each relative-heading bin (0 to pi/2 in
    :data:`HEADINGS` bins, to a twentieth), from the readings with a known heading;
    :data:`UNIFORM` with fewer than :data:`MIN_READINGS` of those."""
    known = [a for a in headings_rad if not math.isnan(a)]
    if len(known) < MIN_READINGS:
        return UNIFORM
    bins = np.minimum((np.asarray(known) / (0.5 * math.pi) * HEADINGS).astype(int), HEADINGS - 1)
    counts = np.round(np.bincount(bins, minlength=HEADINGS) / len(known) * 20.0)
    return tuple((counts / counts.sum()).tolist())


_SILHOUETTES = pr.silhouettes()


def _read_px(extent_m: FloatArray, footprint_m: float, blur_fwhm_px: float) -> FloatArray:
    """The extent a blob reads in pixels: blurred, at least one pixel."""
    return np.asarray(np.maximum(1.0, np.hypot(extent_m / footprint_m, blur_fwhm_px)),
                      dtype=np.float64)


def _mixture_log_pdf(value: float, bodies: tuple[pr.Silhouette, ...], footprint_m: float,
                     n: int, blur_fwhm_px: float, noise_log_sigma: float,
                     common_log_sigma: float, shares: tuple[float, ...],
                     known: float) -> float:
    """Each body's predicted mean reading: the share ``known`` of the readings over the
    headings in ``shares`` (their mean is the mean of their headings' readings), the rest at
    one unknown heading (each equally likely): all of them so without known headings."""
    widths, heights, body_weights = _grid(bodies)
    w_px = _read_px(widths, footprint_m, blur_fwhm_px)
    h_px = _read_px(heights, footprint_m, blur_fwhm_px)
    predicted = np.log(h_px / w_px)
    one = (2.0 * noise_log_sigma**2 + (QUANT_PX_SIGMA / w_px) ** 2
           + (QUANT_PX_SIGMA / h_px) ** 2)
    w = np.asarray(shares)
    if known >= 1.0:
        weights, predicted, one = body_weights, predicted @ w, one @ w
    else:
        weights = np.repeat(body_weights[:, None] / HEADINGS, HEADINGS, axis=1).ravel()
        predicted = (known * (predicted @ w)[:, None] + (1.0 - known) * predicted).ravel()
        one = (known * (one @ w)[:, None] + (1.0 - known) * one).ravel()
    var = TRIM_EFFICIENCY**2 * one / n + common_log_sigma**2
    log_pdf = -0.5 * ((value - predicted) ** 2 / var + np.log(2.0 * math.pi * var))
    top = float(np.max(log_pdf))
    return top + math.log(float(np.sum(weights * np.exp(log_pdf - top))))


@lru_cache(maxsize=4096)
def _table(value: float, log_footprint: float, n: int, blur_fwhm_px: float,
           noise_log_sigma: float, common_log_sigma: float, unreliable_share: float,
           shares: tuple[float, ...], known: float) -> tuple[tuple[str, float, float], ...]:
    footprint = math.exp(log_footprint)
    broad = math.log(unreliable_share / BROAD_LOG_ASPECT)
    keep = math.log1p(-unreliable_share)
    out = []
    for cls, (upright, low) in _SILHOUETTES.items():
        pair = [float(np.logaddexp(keep + _mixture_log_pdf(
            value, bodies, footprint, n, blur_fwhm_px, noise_log_sigma, common_log_sigma,
            shares, known),
            broad)) for bodies in (upright, low)]
        out.append((cls, pair[0], pair[1]))
    return tuple(out)


def aspect_log_likelihoods(feats: Features, blur_fwhm_px: float, noise_log_sigma: float,
                           common_log_sigma: float, unreliable_share: float,
                           classes: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """Log-likelihood of a track's blob aspects under each class, upright and in a low
    posture (people's second figure; the same for the others), at the track's relative
    headings where known (:func:`heading_shares`, for the share of readings that have one,
    :func:`known_share`); ``(0, 0)`` for every class
    before :data:`MIN_READINGS` readings. The class ``unknown`` (anything) takes the broad
    density the unreliable readings have; shifted by a constant, so that it is 0."""
    n = len(feats.aspects)
    if n < MIN_READINGS:
        return dict.fromkeys(classes, (0.0, 0.0))
    value = round(trimmed_mean(feats.aspects), 2)
    log_foot = round(math.log(statistics.median(feats.aspect_footprints_m)), 2)
    headings = feats.aspect_headings_rad  # appended with the aspects
    table = _table(value, log_foot, n, blur_fwhm_px, noise_log_sigma, common_log_sigma,
                   unreliable_share, heading_shares(headings), known_share(headings))
    flat = -math.log(BROAD_LOG_ASPECT)
    out = {cls: (upright - flat, low - flat) for cls, upright, low in table}
    return {cls: out.get(cls, (0.0, 0.0)) for cls in classes}
