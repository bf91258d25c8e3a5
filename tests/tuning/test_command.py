import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from perimeter.thresholds import ThresholdError
from perimeter.tuning.command import TuneOptions, tune


def test_tune_prints_the_table_and_writes_json_csv_and_plot(
        tmp_path: Path, tiny_scenario: dict[str, Any]) -> None:
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(tiny_scenario))
    text = io.StringIO()
    from perimeter.store import AlertStore

    AlertStore.open(str(tmp_path / "judged.db")).close()  # a store nobody judged in yet
    options = TuneOptions(max_false_alerts_per_km_day=1000.0, plot=tmp_path / "roc.png",
                          json_path=tmp_path / "sweep.json", csv_path=tmp_path / "sweep.csv",
                          judged_db=str(tmp_path / "judged.db"))
    result, choice = tune([str(scenario)], ["alert.min_confidence=0.99"], options,
                          console=Console(file=text, width=160))
    assert len(result.points) == 2 and choice.point is not None
    doc = json.loads((tmp_path / "sweep.json").read_text())
    assert doc["recommendation"]["thresholds"] == choice.thresholds
    assert doc["recommendation"]["warning"] == choice.warning
    assert [row["kept"]["intrusion"] for row in doc["judged"]] == [0, 0]
    assert [p["alert.min_confidence"] for p in doc["points"]] == [0.6, 0.99]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "sweep.csv").read_text())))
    assert [r["alert.min_confidence"] for r in rows] == ["0.6", "0.99"]
    assert (tmp_path / "roc.png").read_bytes()[:4] == b"\x89PNG"
    assert "RECOMMENDED" in text.getvalue() and "recommendation:" in text.getvalue()
    assert "On 0 alert(s) operators judged" in text.getvalue()


def test_tune_refuses_bad_params_before_running_anything() -> None:
    with pytest.raises(ThresholdError, match=r"alert\.min_confidence"):
        tune(["default"], ["alert.min_confidence=0:2:0.5"], TuneOptions())
    with pytest.raises(ValueError, match="--param"):
        tune(["default"], [], TuneOptions())
