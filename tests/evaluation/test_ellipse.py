import math

import numpy as np
import pytest

from perimeter import geometry
from perimeter.contract import Origin
from perimeter.evaluation import ellipse


def origin(major_m: float, minor_m: float, orientation_deg: float) -> Origin:
    return Origin(x_m=1000.0, y_m=0.0, t_s=0.0, sigma_major_m=major_m, sigma_minor_m=minor_m,
                  orientation_deg=orientation_deg)


def test_orientation_is_the_bearing_of_the_major_axis() -> None:
    east_west = origin(100.0, 10.0, 90.0)
    assert ellipse.normalised_error(east_west, (1150.0, 0.0)) == pytest.approx(1.5)
    assert ellipse.normalised_error(east_west, (1000.0, 150.0)) == pytest.approx(15.0)
    north_east = origin(100.0, 10.0, 45.0)
    along = (1000.0 + 100 / math.sqrt(2), 100 / math.sqrt(2))
    assert ellipse.normalised_error(north_east, along) == pytest.approx(1.0)


def test_inside_the_95_ellipse_is_chi_square_with_two_degrees() -> None:
    assert abs(ellipse.CHI2_95_2DOF - 5.991) < 1e-3
    assert ellipse.inside_95(2.44) and not ellipse.inside_95(2.45)


def test_degenerate_and_missing_ellipses() -> None:
    line = origin(100.0, 0.0, 0.0)
    assert ellipse.normalised_error(line, (1000.0, 50.0)) == pytest.approx(0.5)
    assert ellipse.normalised_error(line, (1001.0, 0.0)) == math.inf
    point = origin(0.0, 0.0, 0.0)
    assert not ellipse.has_ellipse(point)
    with pytest.raises(ValueError, match="sigma_major_m"):
        ellipse.normalised_error(point, (1000.0, 0.0))


def test_a_true_gaussian_ellipse_holds_95_percent_with_median_1_18() -> None:
    """The scoring against a case whose answer is known: starts drawn from the very Gaussian an
    origin reports (rotated, elongated) fall inside its 95 % ellipse 95 % of the time, and the
    median normalised error is sqrt(2 ln 2)."""
    rng = np.random.default_rng(3)
    cov = np.array([[900.0, 700.0], [700.0, 2500.0]])
    major, minor, orientation = geometry.ellipse(cov)
    reported = Origin(x_m=1000.0, y_m=-200.0, t_s=0.0, sigma_major_m=major,
                      sigma_minor_m=minor, orientation_deg=orientation)
    starts = rng.multivariate_normal([1000.0, -200.0], cov, size=20_000)
    d = np.array([ellipse.normalised_error(reported, (float(x), float(y))) for x, y in starts])
    assert np.mean([ellipse.inside_95(v) for v in d]) == pytest.approx(0.95, abs=0.005)
    assert float(np.median(d)) == pytest.approx(math.sqrt(2.0 * math.log(2.0)), abs=0.02)
    swapped = reported.model_copy(update={"orientation_deg": (orientation + 90.0) % 180.0})
    d_swapped = [ellipse.normalised_error(swapped, (float(x), float(y))) for x, y in starts[:2000]]
    assert np.mean([ellipse.inside_95(v) for v in d_swapped]) < 0.9  # the axes matter
