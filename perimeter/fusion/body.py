"""A track's body evidence: its thermal size and heat-centre height, judged against a class's
ranges, and the animal class's as a mixture of its kinds (:mod:`.priors`).

Size and height are noisy observations of the object's own: their likelihood is of the
median reading with its error (part of it common to all of a track's detections), under a
range read as +/- 2 sigma, with a share of tracks whose reading is not their object's (mostly
hidden, a neighbour's) and so tells nothing. A reading is taken once per classification
(:meth:`Body.read`) and judged against every class's and every animal kind's range.
"""

from __future__ import annotations

import math
import statistics
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from perimeter.fusion import priors as pr
from perimeter.fusion.motion import CLASSES, log_normal_pdf
from perimeter.fusion.track_evidence import Features

if typing.TYPE_CHECKING:
    from perimeter.fusion.classify import ClassModel

Judge = Callable[[tuple[float, float]], float]
"""A reading's log-likelihood under a range: ``(lo, hi)`` of a size, ``(mean, spread)`` of
a height."""

_BROAD_LOG_SIZE = math.log(5.0 / 0.2)
"""Width (log) of the sizes an unreliable reading may take: 0.2-5 m."""


def _robust(ll_class: float, ll_broad: float, share: float) -> float:
    """The class's density mixed with the broad one every class shares."""
    return float(np.logaddexp(math.log1p(-share) + ll_class, math.log(share) + ll_broad))


def size_judge(sizes_m: Iterable[float], model: ClassModel) -> Judge | None:
    """The log-likelihood of a track's thermal sizes under a critical-dimension range (+/- 2
    sigma in log), or None without any: the median log size, with the error of a median of
    ``n`` noisy readings and the error they share."""
    logs = [math.log(v) for v in sizes_m if v > 0 and not math.isnan(v)]
    if not logs:
        return None
    med = statistics.median(logs)
    se = math.hypot(1.25 * model.size_log_sigma / math.sqrt(len(logs)),
                    model.size_common_log_sigma)
    broad = -math.log(_BROAD_LOG_SIZE)

    def judge(size_m: tuple[float, float]) -> float:
        centre, spread = pr.log_range(*size_m)
        ll = log_normal_pdf(med, math.log(centre), math.hypot(spread, se))
        return _robust(ll, broad, model.unreliable_share)
    return judge


def height_judge(feats: Features, model: ClassModel) -> Judge | None:
    """The log-likelihood of a track's centroid height under a (mean, spread), or None before
    five readings: the median reading with its error, of which ``height_common_share`` of a
    reading's does not average out."""
    height, err = feats.height_m
    if math.isnan(height):
        return None
    common = model.height_common_share * statistics.median(feats.height_sigmas_m)
    se = math.hypot(err, common)
    broad = log_normal_pdf(height, 0.8, 3.0)

    def judge(height_m: tuple[float, float]) -> float:
        mean, spread = height_m
        return _robust(log_normal_pdf(height, mean, math.hypot(spread, se)), broad,
                       model.unreliable_share)
    return judge


@dataclass(frozen=True, slots=True)
class Body:
    """A track's size and height readings, each ready to be judged (None without readings)."""

    size: Judge | None
    height: Judge | None

    @classmethod
    def read(cls, feats: Features, model: ClassModel) -> Body:
        return cls(size_judge(feats.sizes_m, model), height_judge(feats, model))

    def class_size(self, model: ClassModel) -> dict[str, float]:
        """Log-likelihood of the size under each class's range (0 without readings)."""
        size = self.size
        return {cls: size(model.size_m[cls]) if size else 0.0 for cls in CLASSES}

    def class_height(self, model: ClassModel) -> dict[str, tuple[float, float]]:
        """Log-likelihood of the height under each class, upright and (people's second
        figure) crouched or crawling; 0 before five readings."""
        height = self.height
        if height is None:
            return dict.fromkeys(CLASSES, (0.0, 0.0))
        low = height(model.low_posture_m)
        return {cls: (height(model.height_m[cls]), low) for cls in CLASSES}

    def animal(self, model: ClassModel) -> float:
        """Log-likelihood of the size and height together under the animal class, a mixture
        of its kinds (equally likely, as their silhouettes are in :mod:`.aspect`), each
        judged on its own size and height: a roe deer's size at a cow's height is no
        animal's."""
        size, height = self.size, self.height
        terms = [(size(s) if size else 0.0) + (height(h) if height else 0.0)
                 for s, h in zip(model.animal_sizes_m, model.animal_heights_m, strict=True)]
        top = max(terms)  # log-mean-exp of a few floats: math, not numpy's per-call cost
        return top + math.log(math.fsum(math.exp(t - top) for t in terms) / len(terms))


def size_log_likelihoods(sizes_m: Iterable[float], model: ClassModel) -> dict[str, float]:
    """Log-likelihood of a track's thermal sizes under each class's range (0 without any)."""
    return Body(size_judge(sizes_m, model), None).class_size(model)


def height_log_likelihoods(feats: Features, model: ClassModel
                           ) -> dict[str, tuple[float, float]]:
    """Log-likelihood of a track's centroid height under each class (:meth:`Body.class_height`)."""
    return Body(None, height_judge(feats, model)).class_height(model)


def animal_body_log_likelihood(feats: Features, model: ClassModel) -> float:
    """:meth:`Body.animal` of a track's readings."""
    return Body.read(feats, model).animal(model)
