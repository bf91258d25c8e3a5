"""Machine-readable copies of the message contract, generated from the pydantic models.

`docs/schemas/*.schema.json` (one JSON Schema per payload) and `docs/asyncapi.yaml` (the MQTT
interface as an AsyncAPI 3.0 document) are written by ``perimeter contract write`` and checked
current by the tests, so the documents cannot drift from the code that parses the payloads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from perimeter import contract, thresholds, topics

PAYLOADS: dict[str, type[BaseModel]] = {
    "sensor-report": contract.SensorReport,
    "tower-status": contract.TowerStatus,
    "alert-event": contract.AlertEvent,
    "tracks-snapshot": contract.TracksSnapshot,
    "fusion-status": contract.FusionStatus,
    "dead-letter": contract.DeadLetter,
    "handover": contract.Handover,
    "shard-status": contract.ShardStatus,
}
"""Each payload model under the file name of its schema (``docs/schemas/{name}.schema.json``)."""

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def thresholds_schema() -> dict[str, Any]:
    """The retained thresholds payload: a flat object of public names to values."""
    properties: dict[str, Any] = {}
    for name, limit in thresholds.LIMITS.items():
        kind = "integer" if limit.integer else "number"
        properties[name] = {"type": kind, "minimum": limit.lo, "maximum": limit.hi}
    properties["alert.classes"] = {
        "type": "array", "uniqueItems": True,
        "items": {"enum": list(thresholds.ALERTABLE_CLASSES)}}
    return {"title": "Thresholds", "type": "object", "properties": properties,
            "additionalProperties": False,
            "description": "The thresholds in force (GET returns all; PATCH takes any subset)."}


def json_schemas() -> dict[str, dict[str, Any]]:
    """``{file stem: JSON Schema}`` for every payload, thresholds included."""
    out = {name: {"$schema": SCHEMA_DIALECT, **model.model_json_schema(by_alias=True)}
           for name, model in PAYLOADS.items()}
    out["thresholds"] = {"$schema": SCHEMA_DIALECT, **thresholds_schema()}
    return out


def _channel(address: str, message: str, description: str) -> dict[str, Any]:
    return {"address": address, "description": description,
            "messages": {message: {"$ref": f"#/components/messages/{message}"}}}


def _operation(action: str, channel: str, message: str, summary: str) -> dict[str, Any]:
    return {"action": action, "summary": summary, "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{message}"}]}


def asyncapi() -> dict[str, Any]:
    """The MQTT interface as an AsyncAPI 3.0 document (a plain dict, YAML-ready)."""
    _, defs = models_json_schema([(m, "validation") for m in PAYLOADS.values()], by_alias=True,
                                 ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = dict(defs["$defs"])
    schemas["Thresholds"] = thresholds_schema()
    tower = f"{topics.PREFIX}/towers/{{tower_id}}"

    def tower_param() -> dict[str, Any]:
        return {"tower_id": {"description": "The tower's id, e.g. T03."}}

    channels = {
        "towerStatus": {**_channel(f"{tower}/status", "TowerStatus",
                                   "Retained tower state; the last will says offline."),
                        "parameters": tower_param()},
        "towerThermal": {**_channel(f"{tower}/thermal", "SensorReport",
                                    "One thermal frame's report (QoS 1)."),
                         "parameters": tower_param()},
        "towerAcoustic": {**_channel(f"{tower}/acoustic", "SensorReport",
                                     "One acoustic window's report (QoS 1)."),
                          "parameters": tower_param()},
        "alerts": _channel(topics.ALERTS, "AlertEvent", "Alert events: new, update, closed."),
        "tracks": _channel(topics.TRACKS, "TracksSnapshot", "Periodic snapshot of live tracks."),
        "fusionStatus": _channel(topics.FUSION_STATUS, "FusionStatus",
                                 "Retained fusion state and counters."),
        "thresholds": _channel(topics.THRESHOLDS, "Thresholds",
                               "Retained thresholds in force; written only by the API."),
        "deadLetter": _channel(topics.DEADLETTER, "DeadLetter",
                               "A rejected payload's topic, reason and first bytes."),
        "handover": _channel(topics.HANDOVER, "Handover",
                             "Sharded fusion: an alert's track handed to the next shard."),
        "shardStatus": {**_channel(f"{topics.PREFIX}/fusion/shards/{{shard_id}}/status",
                                   "ShardStatus",
                                   "Sharded fusion: a shard's retained state; its last will "
                                   "says offline."),
                        "parameters": {"shard_id": {"description": "The shard's id, e.g. s1."}}},
    }
    messages = {
        name: {"name": name, "contentType": "application/json",
               "payload": {"$ref": f"#/components/schemas/{name}"}}
        for name in ("TowerStatus", "SensorReport", "AlertEvent", "TracksSnapshot",
                     "FusionStatus", "Thresholds", "DeadLetter", "Handover", "ShardStatus")}
    operations = {
        "publishTowerStatus": _operation("send", "towerStatus", "TowerStatus",
                                         "A tower publishes its state (again when it "
                                         "hears its own last will while it is up)."),
        "publishThermal": _operation("send", "towerThermal", "SensorReport",
                                     "A tower publishes a thermal report."),
        "publishAcoustic": _operation("send", "towerAcoustic", "SensorReport",
                                      "A tower publishes an acoustic report."),
        "publishAlert": _operation("send", "alerts", "AlertEvent", "Fusion raises alerts."),
        "publishTracks": _operation("send", "tracks", "TracksSnapshot",
                                    "Fusion publishes live tracks."),
        "publishFusionStatus": _operation("send", "fusionStatus", "FusionStatus",
                                          "Fusion publishes its state."),
        "publishThresholds": _operation("send", "thresholds", "Thresholds",
                                        "The API publishes the thresholds in force."),
        "publishDeadLetter": _operation("send", "deadLetter", "DeadLetter",
                                        "A consumer dead-letters a payload it rejects."),
        "publishHandover": _operation("send", "handover", "Handover",
                                      "A fusion shard hands an alert's track over."),
        "publishShardStatus": _operation("send", "shardStatus", "ShardStatus",
                                         "A fusion shard publishes its state."),
    }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Western Heights perimeter monitor", "version": "1.0.0",
                 "description": "The MQTT interface of towers, fusion and the API "
                                "(docs/contract.md). Generated by `perimeter contract write`."},
        "defaultContentType": "application/json",
        "servers": {"local": {"host": "127.0.0.1:1883", "protocol": "mqtt",
                              "description": "The broker of `perimeter up`."}},
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def rendered(docs_dir: Path) -> dict[Path, str]:
    """Every generated document's path under ``docs_dir`` and its exact text."""
    out = {docs_dir / "schemas" / f"{name}.schema.json": _json(schema)
           for name, schema in json_schemas().items()}
    out[docs_dir / "asyncapi.yaml"] = yaml.safe_dump(asyncapi(), sort_keys=False, width=100)
    return out


def write(docs_dir: Path) -> list[Path]:
    """Write every generated document; return the paths whose text changed."""
    changed = []
    for path, text in rendered(docs_dir).items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def _json(value: Any) -> str:
    return json.dumps(value, indent=2) + "\n"
