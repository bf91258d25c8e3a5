"""/api/v1/config/thresholds: read, validated PATCH published retained for fusion, audit log."""

from __future__ import annotations

import json
import time

import pytest
from conftest import Live

from perimeter import topics
from perimeter.bus import Message
from perimeter.contract import SensorReport, dump_payload
from perimeter.thresholds import Thresholds

pytestmark = pytest.mark.integration


def test_get_returns_every_threshold(live: Live) -> None:
    with live.client() as http:
        values = http.get("/api/v1/config/thresholds").json()
    assert values == Thresholds().to_public()


def test_patch_publishes_retained_and_audits(live: Live) -> None:
    report = SensorReport(tower_id="T05", sensor="acoustic", seq=3, t_s=2077.0)
    live.bus.publish(Message(topics.sensor("T05", "acoustic"), dump_payload(report)))
    before_s = time.time()
    with live.writer() as http:
        answer = http.patch("/api/v1/config/thresholds", headers={"X-Operator": "analyst"},
                            json={"thermal.min_snr_db": 9.5, "alert.classes": ["person"]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["thermal.min_snr_db"] == 9.5
        assert http.get("/api/v1/config/thresholds").json()["alert.classes"] == ["person"]
        history = http.get("/api/v1/config/thresholds/history").json()["items"]
    retained = live.bus.retained[topics.THRESHOLDS]
    assert retained.retain and json.loads(retained.payload)["thermal.min_snr_db"] == 9.5
    assert Thresholds.from_public(json.loads(retained.payload)).alert_classes == ("person",)
    assert history[0]["by"] == "bootstrap-admin"  # the token's name, not the X-Operator
    assert history[0]["changes"] == {"thermal.min_snr_db": 9.5, "alert.classes": ["person"]}
    # one clock per field: data time (the newest report seen), the server's wall clock apart
    assert history[0]["at_t_s"] == 2077.0
    assert before_s <= history[0]["at_wall_s"] <= time.time()


def test_out_of_range_names_threshold_and_range(live: Live) -> None:
    with live.writer() as http:
        answer = http.patch("/api/v1/config/thresholds", json={"track.max_coast_s": 5000})
        unknown = http.patch("/api/v1/config/thresholds", json={"track.nonsense": 1})
        empty = http.patch("/api/v1/config/thresholds", json={})
        not_object = http.patch("/api/v1/config/thresholds", json=[1, 2])
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["field"] == "track.max_coast_s" and "[1, 600]" in error["message"]
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "track.nonsense"
    assert empty.status_code == 422 and not_object.status_code == 422
    assert topics.THRESHOLDS not in live.bus.retained


def test_patch_needs_the_token(live: Live) -> None:
    with live.client() as http:
        answer = http.patch("/api/v1/config/thresholds", json={"thermal.min_snr_db": 9.0})
    assert answer.status_code == 401


def test_thresholds_in_force_follow_the_bus(live: Live) -> None:
    changed = {**Thresholds().to_public(), "acoustic.min_snr_db": 3.0}
    live.bus.publish(Message(topics.THRESHOLDS, json.dumps(changed).encode(), retain=True))
    with live.client() as http:
        assert http.get("/api/v1/config/thresholds").json()["acoustic.min_snr_db"] == 3.0
