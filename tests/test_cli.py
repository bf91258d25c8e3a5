"""The ``perimeter`` command: scenario validation, recording, replay, option errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from perimeter.cli import app
from perimeter.contract import AlertEvent, parse_payload

runner = CliRunner()


def write_scenario(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_validate_accepts_a_good_scenario(tmp_path: Path,
                                          crossing_scenario: dict[str, Any]) -> None:
    result = runner.invoke(app, ["scenario", "validate", str(write_scenario(tmp_path,
                                                                            crossing_scenario))])
    assert result.exit_code == 0, result.output
    assert "ok: test-crossing" in result.stdout


def test_validate_names_the_bad_field(tmp_path: Path,
                                      crossing_scenario: dict[str, Any]) -> None:
    bad = dict(crossing_scenario, duration_s=-5)
    bad["targets"] = [dict(crossing_scenario["targets"][0], speed_mps="fast")]
    result = runner.invoke(app, ["scenario", "validate", str(write_scenario(tmp_path, bad))])
    assert result.exit_code == 1
    assert "duration_s" in result.stderr
    assert "speed_mps" in result.stderr


def test_scenario_list_names_every_builtin_scenario_in_full() -> None:
    from sim.scenario import builtin_scenarios

    result = runner.invoke(app, ["scenario", "list"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    names = [line.split()[0] for line in result.stdout.splitlines()[1:] if line[:1] == " "
             and line.split() and not line.startswith("   ")]
    assert set(builtin_scenarios()) <= set(names), "no name may be truncated"
    assert "…" not in result.stdout


def test_validate_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["scenario", "validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "nope.yaml" in result.stderr


def test_record_then_replay_gives_alert_lines(tmp_path: Path,
                                              crossing_scenario: dict[str, Any]) -> None:
    scenario = write_scenario(tmp_path, crossing_scenario)
    recording = tmp_path / "run.jsonl"
    result = runner.invoke(app, ["sim", "--scenario", str(scenario), "--record", str(recording)])
    assert result.exit_code == 0, result.output
    lines = recording.read_text(encoding="utf-8").splitlines()
    assert len(lines) > 1000
    assert json.loads(lines[-1])["topic"].startswith("perimeter/v1/towers/")
    with recording.open("a", encoding="utf-8") as handle:  # a malformed payload on purpose
        handle.write('{"topic": "perimeter/v1/towers/T01/thermal", "payload": "{oops"}\n')
    result = runner.invoke(app, ["fusion", "--replay", str(recording)])
    assert result.exit_code == 0, result.output
    events = [parse_payload(AlertEvent, line) for line in result.stdout.splitlines()]
    assert events[0].event == "new" and events[0].class_ == "vehicle"
    assert events[-1].event == "closed"
    assert "bad_payload" in result.stderr


def test_bad_option_value_is_named() -> None:
    result = runner.invoke(app, ["sim", "--speed", "0", "--record", "-"])
    assert result.exit_code == 2
    assert "speed" in result.stderr


def test_bad_broker_url_is_named(monkeypatch: Any) -> None:
    monkeypatch.setenv("PERIMETER_BROKER_URL", "http://nowhere")
    result = runner.invoke(app, ["fusion"])
    assert result.exit_code == 2
    assert "broker_url" in result.stderr


def test_python_dash_m_perimeter_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "perimeter", "--help"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0
    for command in ("up", "sim", "fusion", "api", "scenario"):
        assert command in done.stdout


def test_operators_add_list_remove(tmp_path: Path) -> None:
    from perimeter.store import AlertStore

    db = str(tmp_path / "ops.db")
    added = runner.invoke(app, ["operators", "add", "alice", "--role", "admin", "--db", db])
    assert added.exit_code == 0, added.output
    token = added.stdout.strip()
    assert token.startswith("wh_") and "shown once" in added.stderr
    with AlertStore.open(db) as store:
        operator = store.operators.authenticate(token)
        assert operator is not None and (operator.name, operator.role) == ("alice", "admin")
    listed = runner.invoke(app, ["operators", "list", "--db", db])
    assert listed.exit_code == 0 and listed.stdout.startswith("alice\tadmin\t")
    assert token not in listed.stdout
    bad = runner.invoke(app, ["operators", "add", "bob", "--role", "root", "--db", db])
    assert bad.exit_code == 2 and "role: must be one of viewer, operator, admin" in bad.stderr
    assert runner.invoke(app, ["operators", "remove", "alice", "--db", db]).exit_code == 0
    missing = runner.invoke(app, ["operators", "remove", "alice", "--db", db])
    assert missing.exit_code == 1 and "no operator named 'alice'" in missing.stderr


def test_help_names_the_defaults_and_environment_variables() -> None:
    result = runner.invoke(app, ["sim", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for variable in ("PERIMETER_SCENARIO", "PERIMETER_SPEED", "PERIMETER_BROKER_URL"):
        assert f"env {variable}]" in result.stdout
    assert "[default: 1; env PERIMETER_SPEED]" in result.stdout


def test_sim_duration_records_only_that_long(tmp_path: Path) -> None:
    out = tmp_path / "short.jsonl"
    result = runner.invoke(app, ["sim", "--scenario", "default", "--duration", "30",
                                 "--record", str(out)])
    assert result.exit_code == 0, result.output
    times = [json.loads(line)["payload"].get("t_s") for line in out.read_text().splitlines()]
    stamped = [t for t in times if t is not None]
    assert stamped and max(stamped) - min(stamped) <= 30.0 + 1.0
