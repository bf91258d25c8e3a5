"""docs/schemas and docs/asyncapi.yaml: current with the models, valid, and as strict as parsing.

The AsyncAPI 3.0.0 JSON Schema is vendored from the `@asyncapi/specs` package 6.11.1
(`schemas/3.0.0.json`, Apache-2.0) as `tests/asyncapi-3.0.0.schema.json`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from perimeter import contract
from perimeter.contract_docs import PAYLOADS, asyncapi, json_schemas, rendered
from perimeter.thresholds import Thresholds

REPO = Path(__file__).resolve().parents[1]
ASYNCAPI_SCHEMA = Path(__file__).with_name("asyncapi-3.0.0.schema.json")

REPORT = {"tower_id": "T03", "sensor": "thermal", "seq": 1234, "t_s": 1768514400.25,
          "detections": [{"bearing_deg": 87.4, "bearing_sigma_deg": 0.3, "snr_db": 12.5}]}
ALERT = {"event": "new", "alert_id": "a-000017", "track_id": "k-000042", "t_s": 1768514460.0,
         "class": "person", "class_confidence": 0.91, "confidence": 0.97, "severity": "high",
         "position": {"x_m": 2310.0, "y_m": -420.0}, "velocity": {"vx_mps": -1.2, "vy_mps": 0.3},
         "origin": {"x_m": 3105.0, "y_m": -610.0, "t_s": 1768514401.0, "sigma_major_m": 35.0,
                    "sigma_minor_m": 12.0, "orientation_deg": 80.0},
         "distance_to_perimeter_m": 2280.0, "towers": ["T03", "T04"],
         "sensors": ["thermal", "acoustic"]}


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json_schemas()[name])


def test_the_committed_documents_are_current() -> None:
    stale = [str(path.relative_to(REPO)) for path, text in rendered(REPO / "docs").items()
             if not path.is_file() or path.read_text(encoding="utf-8") != text]
    assert stale == [], "run `perimeter contract write` and commit the result"


def test_every_json_schema_is_a_valid_2020_12_schema() -> None:
    for name, schema in json_schemas().items():
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$schema"].endswith("2020-12/schema"), name


def test_the_asyncapi_document_validates_against_asyncapi_3_0() -> None:
    schema = json.loads(ASYNCAPI_SCHEMA.read_text(encoding="utf-8"))
    checker = jsonschema.Draft7Validator(schema)
    document = yaml.safe_load((REPO / "docs" / "asyncapi.yaml").read_text(encoding="utf-8"))
    assert [e.message for e in checker.iter_errors(document)] == []
    broken: dict[str, Any] = {**document, "channels": {"alerts": {"address": 7}}}
    assert list(checker.iter_errors(broken)), "the validator must be able to refuse a document"


def test_asyncapi_names_every_topic_and_payload() -> None:
    document = asyncapi()
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == {"perimeter/v1/towers/{tower_id}/status",
                         "perimeter/v1/towers/{tower_id}/thermal",
                         "perimeter/v1/towers/{tower_id}/acoustic", "perimeter/v1/alerts",
                         "perimeter/v1/tracks", "perimeter/v1/fusion/status",
                         "perimeter/v1/config/thresholds", "perimeter/v1/deadletter",
                         "perimeter/v1/fusion/handover",
                         "perimeter/v1/fusion/shards/{shard_id}/status"}
    schemas = document["components"]["schemas"]
    assert {m.__name__ for m in PAYLOADS.values()} | {"Thresholds"} <= set(schemas)


@pytest.mark.parametrize(("name", "payload"), [("sensor-report", REPORT),
                                               ("alert-event", ALERT)])
def test_the_contract_examples_validate(name: str, payload: dict[str, Any]) -> None:
    assert list(validator(name).iter_errors(payload)) == []
    contract.parse_payload(PAYLOADS[name], json.dumps(payload))  # and parse


@pytest.mark.parametrize(("name", "payload"), [
    ("alert-event", {**ALERT, "class": "dragon"}),
    ("alert-event", {**ALERT, "confidence": 1.5}),
    ("sensor-report", {**REPORT, "tower_id": "T 03"}),
    ("sensor-report", {**REPORT, "detections": [{"bearing_deg": 360.0,
                                                 "bearing_sigma_deg": 0.3, "snr_db": 1.0}]}),
])
def test_the_schema_refuses_what_parsing_refuses(name: str, payload: dict[str, Any]) -> None:
    assert list(validator(name).iter_errors(payload))
    with pytest.raises(contract.ContractError):
        contract.parse_payload(PAYLOADS[name], json.dumps(payload))


def test_the_thresholds_schema_matches_the_defaults_and_refuses_out_of_range() -> None:
    check = validator("thresholds")
    assert list(check.iter_errors(Thresholds().to_public())) == []
    assert list(check.iter_errors({"thermal.min_snr_db": 99.0}))
    assert list(check.iter_errors({"thermal.snr": 9.0}))


def test_contract_write_then_check(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from perimeter.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["contract", "write", "--docs", str(tmp_path)]).exit_code == 0
    assert (tmp_path / "asyncapi.yaml").is_file()
    assert runner.invoke(app, ["contract", "write", "--docs", str(tmp_path), "--check"]
                         ).exit_code == 0
    (tmp_path / "schemas" / "alert-event.schema.json").write_text("{}", encoding="utf-8")
    stale = runner.invoke(app, ["contract", "write", "--docs", str(tmp_path), "--check"])
    assert stale.exit_code == 1 and "alert-event.schema.json" in stale.stderr
