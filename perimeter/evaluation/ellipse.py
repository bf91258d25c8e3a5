"""Is a reported origin's error ellipse consistent with where the target really started?

The contract's origin carries a 1-sigma ellipse: ``sigma_major_m``, ``sigma_minor_m`` and
``orientation_deg``, the bearing (clockwise from grid north) of the major axis. The error to
the true start, in the ellipse's axes, gives the normalised error
``d = sqrt((e_major / sigma_major)^2 + (e_minor / sigma_minor)^2)``; the true start is inside
the 95 % ellipse when ``d^2`` is at most the chi-square 95 % point with 2 degrees of freedom
(5.991). For an honest ellipse, 95 % of origins fall inside and the median ``d`` is
``sqrt(2 ln 2) = 1.18``.
"""

from __future__ import annotations

import math

from scipy.stats import chi2

from perimeter.contract import Origin

CHI2_95_2DOF = float(chi2.ppf(0.95, 2))


def has_ellipse(origin: Origin) -> bool:
    """The origin reports an error ellipse (a positive major axis)."""
    return origin.sigma_major_m > 0.0


def normalised_error(origin: Origin, true_xy_m: tuple[float, float]) -> float:
    """The error to ``true_xy_m`` in units of the 1-sigma ellipse (inf outside a degenerate one).

    Raises ``ValueError`` when the origin has no ellipse (:func:`has_ellipse`).
    """
    if not has_ellipse(origin):
        raise ValueError("origin.sigma_major_m: the origin reports no ellipse")
    ex, ey = true_xy_m[0] - origin.x_m, true_xy_m[1] - origin.y_m
    theta = math.radians(origin.orientation_deg)
    along = ex * math.sin(theta) + ey * math.cos(theta)  # the major axis as a bearing
    across = ex * math.cos(theta) - ey * math.sin(theta)
    d2 = (along / origin.sigma_major_m) ** 2
    if origin.sigma_minor_m > 0.0:
        d2 += (across / origin.sigma_minor_m) ** 2
    elif across != 0.0:
        return math.inf
    return math.sqrt(d2)


def inside_95(normalised: float) -> bool:
    """The true start lies inside the 95 % ellipse."""
    return normalised**2 <= CHI2_95_2DOF
