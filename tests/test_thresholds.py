from __future__ import annotations

import pytest

from perimeter.thresholds import ThresholdError, Thresholds, names


def test_public_names_cover_the_contract() -> None:
    public = Thresholds().to_public()
    for name in ("thermal.min_snr_db", "acoustic.min_snr_db", "association.gate_probability",
                 "track.confirm_m", "track.confirm_n", "track.max_coast_s",
                 "alert.min_confidence", "alert.classes"):
        assert name in public
    assert sorted(public) == sorted(names())


def test_patch_applies_a_subset_and_keeps_the_rest() -> None:
    base = Thresholds()
    patched = base.patched({"thermal.min_snr_db": 11, "alert.classes": ["person", "vehicle"]})
    assert patched.thermal_min_snr_db == 11.0
    assert patched.alert_classes == ("person", "vehicle")
    assert patched.acoustic_min_snr_db == base.acoustic_min_snr_db
    assert Thresholds.from_public(patched.to_public()) == patched


def test_each_sensor_reads_its_own_snr_floor() -> None:
    floors = Thresholds(thermal_min_snr_db=11.0, acoustic_min_snr_db=4.0)
    assert floors.min_snr_db("thermal") == 11.0
    assert floors.min_snr_db("acoustic") == 4.0


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"thermal.min_snr_db": 99}, "thermal.min_snr_db: must be a number in [-10, 40]"),
        ({"association.gate_probability": 1.5}, "association.gate_probability"),
        ({"track.confirm_n": 2.5}, "track.confirm_n: must be an integer"),
        ({"track.confirm_m": 9, "track.confirm_n": 4}, "must not exceed track.confirm_n"),
        ({"alert.classes": ["person", "ufo"]}, "unknown classes ['ufo']"),
        ({"alert.classes": "person"}, "alert.classes: must be a list"),
        ({"thermal.min_snr": 3}, "unknown threshold"),
        ({"track.max_coast_s": True}, "track.max_coast_s"),
    ],
)
def test_out_of_range_values_name_the_threshold_and_range(
    changes: dict[str, object], needle: str
) -> None:
    with pytest.raises(ThresholdError) as err:
        Thresholds().patched(changes)
    assert needle in str(err.value)
