from pathlib import Path

import pytest

from perimeter.thresholds import ThresholdError, Thresholds, load_thresholds


def test_yaml_and_json_files_patch_the_defaults(tmp_path: Path) -> None:
    yml = tmp_path / "t.yaml"
    yml.write_text("thermal.min_snr_db: 11.5\nalert.classes: [person, vehicle]\n")
    loaded = load_thresholds(yml)
    assert loaded.thermal_min_snr_db == 11.5
    assert loaded.alert_classes == ("person", "vehicle")
    assert loaded.track_confirm_n == Thresholds().track_confirm_n
    js = tmp_path / "t.json"
    js.write_text('{"track.confirm_m": 2, "track.confirm_n": 4}')
    assert (load_thresholds(js).track_confirm_m, load_thresholds(js).track_confirm_n) == (2, 4)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_thresholds(empty) == Thresholds()


@pytest.mark.parametrize(("text", "match"), [
    ("thermal.min_snr_db: 99\n", r"thermal\.min_snr_db: must be a number in \[-10, 40\]"),
    ("bogus.name: 1\n", r"bogus\.name: unknown threshold"),
    ("- 1\n- 2\n", "must hold one mapping"),
    ("{unclosed: [\n", "not valid YAML or JSON"),
])
def test_bad_files_name_the_fault(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ThresholdError, match=match):
        load_thresholds(path)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ThresholdError, match=r"nope\.yaml: cannot read"):
        load_thresholds(tmp_path / "nope.yaml")
