"""The analyst's commands end to end on a short scripted crossing: eval, tune, coverage, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from perimeter.cli import app

runner = CliRunner()


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_eval_json_reports_the_contract_fields(tmp_path: Path,
                                               crossing_scenario: dict[str, Any]) -> None:
    scenario = write_yaml(tmp_path / "crossing.yaml", crossing_scenario)
    result = runner.invoke(app, ["eval", str(scenario), "--json"])
    assert result.exit_code == 0, result.output
    (run,) = json.loads(result.stdout)
    for key in ("scenario", "seed", "duration_s", "intrusions", "detected", "pd",
                "false_alerts", "false_alerts_per_km_day", "time_to_alert_s",
                "origin_error_m", "first_alert_distance_to_perimeter_m"):
        assert key in run, key
    assert (run["scenario"], run["seed"], run["intrusions"]) == ("test-crossing", 3, 1)
    assert run["detected"] == 1 and run["false_alerts"] == 0
    assert run["origin_error_m"]["median"] < 150.0


def test_eval_duration_scores_a_shorter_run(tmp_path: Path,
                                            crossing_scenario: dict[str, Any]) -> None:
    late = {**crossing_scenario["targets"][0], "id": "v2", "start_s": 30}
    scenario = write_yaml(tmp_path / "crossing.yaml",
                          dict(crossing_scenario, targets=[*crossing_scenario["targets"], late]))
    result = runner.invoke(app, ["eval", str(scenario), "--json", "--duration", "20"])
    assert result.exit_code == 0, result.output
    (run,) = json.loads(result.stdout)
    assert run["duration_s"] == 20.0 and run["intrusions"] == 1, "v2 starts after the end"


def test_eval_with_a_bad_thresholds_file_names_the_threshold(
        tmp_path: Path, crossing_scenario: dict[str, Any]) -> None:
    scenario = write_yaml(tmp_path / "crossing.yaml", crossing_scenario)
    bad = write_yaml(tmp_path / "t.yaml", {"thermal.min_snr_db": 99})
    result = runner.invoke(app, ["eval", str(scenario), "--thresholds", str(bad)])
    assert result.exit_code == 2
    assert "thermal.min_snr_db" in result.stderr and "[-10, 40]" in result.stderr


def test_eval_with_a_bad_scenario_names_the_field(tmp_path: Path,
                                                  crossing_scenario: dict[str, Any]) -> None:
    scenario = write_yaml(tmp_path / "bad.yaml", dict(crossing_scenario, duration_s="long"))
    result = runner.invoke(app, ["eval", str(scenario)])
    assert result.exit_code == 2
    assert "duration_s" in result.stderr


def test_tune_writes_json_and_recommends_a_point(tmp_path: Path,
                                                 crossing_scenario: dict[str, Any]) -> None:
    scenario = write_yaml(tmp_path / "crossing.yaml", crossing_scenario)
    out = tmp_path / "sweep.json"
    result = runner.invoke(app, ["tune", str(scenario), "--param",
                                 "thermal.min_snr_db=6:10:4", "--json", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["params"] == ["thermal.min_snr_db"]
    swept = sorted(p["thresholds"]["thermal.min_snr_db"] for p in document["points"])
    assert swept[0] == 6.0 and swept[-1] == 10.0
    chosen = document["recommendation"]
    assert chosen["point"] is not None
    assert chosen["thresholds"]["thermal.min_snr_db"] in swept
    assert "recommendation:" in result.stdout


def test_tune_duration_shortens_every_run(tmp_path: Path,
                                          crossing_scenario: dict[str, Any]) -> None:
    late = {**crossing_scenario["targets"][0], "id": "v2", "start_s": 30}
    scenario = write_yaml(tmp_path / "crossing.yaml",
                          dict(crossing_scenario, targets=[*crossing_scenario["targets"], late]))
    out = tmp_path / "sweep.json"
    result = runner.invoke(app, ["tune", str(scenario), "--param", "thermal.min_snr_db=6:10:4",
                                 "--duration", "20", "--json", str(out)])
    assert result.exit_code == 0, result.output
    points = json.loads(out.read_text())["points"]
    assert {p["intrusions"] for p in points} == {1}, "v2 starts after the end of every run"


def test_tune_refuses_an_unknown_threshold(tmp_path: Path,
                                           crossing_scenario: dict[str, Any]) -> None:
    scenario = write_yaml(tmp_path / "crossing.yaml", crossing_scenario)
    result = runner.invoke(app, ["tune", str(scenario), "--param", "thermal.snr=1:2:1"])
    assert result.exit_code == 2
    assert "thermal.snr" in result.stderr


def test_coverage_writes_png_and_geojson(tmp_path: Path) -> None:
    png, geo = tmp_path / "cov.png", tmp_path / "cov.geojson"
    result = runner.invoke(app, ["coverage", "--kind", "light_vehicle", "--resolution-m", "400",
                                 "--without", "T06", "--png", str(png), "--geojson", str(geo)])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(geo.read_text())["type"] == "FeatureCollection"


def test_export_from_a_recording(tmp_path: Path, crossing_scenario: dict[str, Any]) -> None:
    scenario = write_yaml(tmp_path / "crossing.yaml", crossing_scenario)
    recording = tmp_path / "rec.jsonl"
    recorded = runner.invoke(app, ["sim", "--scenario", str(scenario), "--record", str(recording)])
    assert recorded.exit_code == 0, recorded.output
    out = tmp_path / "export.geojson"
    result = runner.invoke(app, ["export", "--recording", str(recording), "--out", str(out)])
    assert result.exit_code == 0, result.output
    features = json.loads(out.read_text())["features"]
    assert any(f["geometry"]["type"] == "Point" for f in features)
    lon, lat = next(f["geometry"]["coordinates"] for f in features
                    if f["geometry"]["type"] == "Point")
    assert 9.0 < lon < 11.0 and 49.0 < lat < 51.0


def test_export_needs_exactly_one_source(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "--out", str(tmp_path / "x.geojson")])
    assert result.exit_code == 2
    assert "exactly one" in result.stderr
