import numpy as np
import pytest

from perimeter.thresholds import ThresholdError, Thresholds
from perimeter.tuning.sweep import grid_points, parse_param, random_points, valid_points


def test_a_range_includes_both_ends_and_integers_stay_integers() -> None:
    assert parse_param("thermal.min_snr_db=6:8:0.5").values() == [6.0, 6.5, 7.0, 7.5, 8.0]
    assert parse_param("alert.min_confidence=0.1:0.3:0.1").values() == [0.1, 0.2, 0.3]
    assert parse_param("track.confirm_m=2:4:1").values() == [2, 3, 4]
    assert parse_param("track.max_coast_s=20").values() == [20.0]


@pytest.mark.parametrize(("text", "named"), [
    ("thermal.min_snr_db", "thermal.min_snr_db"),
    ("bogus.name=1:2:1", "bogus.name"),
    ("alert.min_confidence=0.5:1.5:0.1", "alert.min_confidence"),
    ("thermal.min_snr_db=9:6:1", "thermal.min_snr_db"),
    ("thermal.min_snr_db=6:9:0", "thermal.min_snr_db"),
    ("thermal.min_snr_db=a:b:c", "thermal.min_snr_db"),
    ("track.confirm_m=1.5:3:1", "track.confirm_m"),
])
def test_bad_ranges_are_refused_naming_the_threshold(text: str, named: str) -> None:
    with pytest.raises(ThresholdError) as err:
        parse_param(text)
    assert err.value.name == named


def test_grid_is_the_cartesian_product_and_random_is_a_seeded_subset() -> None:
    ranges = [parse_param("track.confirm_m=2:4:1"), parse_param("track.confirm_n=3:5:1")]
    grid = grid_points(ranges)
    assert len(grid) == 9 and grid[0] == {"track.confirm_m": 2, "track.confirm_n": 3}
    picked = random_points(ranges, 4, np.random.default_rng(1))
    again = random_points(ranges, 4, np.random.default_rng(1))
    assert picked == again and len(picked) == 4 and all(p in grid for p in picked)
    assert len({tuple(p.items()) for p in picked}) == 4


def test_points_the_thresholds_refuse_are_set_aside_with_the_reason() -> None:
    grid = grid_points([parse_param("track.confirm_m=3:5:2"), parse_param("track.confirm_n=4")])
    kept, refused = valid_points(grid, Thresholds())
    assert [p for p, _ in kept] == [{"track.confirm_m": 3, "track.confirm_n": 4}]
    assert refused[0][0] == {"track.confirm_m": 5, "track.confirm_n": 4}
    assert "must not exceed track.confirm_n" in refused[0][1]


def test_a_threshold_given_twice_is_refused() -> None:
    with pytest.raises(ThresholdError, match="twice"):
        grid_points([parse_param("thermal.min_snr_db=6"), parse_param("thermal.min_snr_db=7")])
