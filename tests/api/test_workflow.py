"""Operators, roles and the alarm workflow through a real server: who acts is whom the token
names; viewers read, operators ack/resolve/comment, admins change thresholds; the queue, the
counts and the live feed of every step."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from conftest import Live, alert_event

pytestmark = pytest.mark.integration


def _as(live: Live, token: str) -> httpx.Client:
    return live.client(headers={"Authorization": f"Bearer {token}"})


def _tokens(live: Live) -> dict[str, str]:
    return {name: live.store.operators.add(name, role, 0.0)[1]
            for name, role in (("vic", "viewer"), ("olga", "operator"), ("ada", "admin"))}


def test_roles_decide_who_may_do_what_and_names_come_from_tokens(live: Live) -> None:
    tokens = _tokens(live)
    live.raise_alert(alert_event("a-000001"))
    with _as(live, tokens["vic"]) as viewer:
        assert viewer.get("/api/v1/whoami").json() == {"name": "vic", "role": "viewer"}
        assert viewer.get("/api/v1/alerts/a-000001").status_code == 200
        refused = viewer.post("/api/v1/alerts/a-000001/ack")
        assert refused.status_code == 403 and refused.json()["error"]["field"] == "role"
        assert "vic is a viewer" in refused.json()["error"]["message"]
        assert viewer.post("/api/v1/alerts/a-000001/resolve",
                           json={"disposition": "test"}).status_code == 403
        assert viewer.patch("/api/v1/config/thresholds",
                            json={"track.max_coast_s": 30}).status_code == 403
    with _as(live, tokens["olga"]) as operator:
        acked = operator.post("/api/v1/alerts/a-000001/ack", json={"by": "mallory"})
        assert acked.json()["acked_by"] == "olga" and acked.json()["workflow"] == "acknowledged"
        assert operator.patch("/api/v1/config/thresholds",
                              json={"track.max_coast_s": 30}).status_code == 403
    with _as(live, tokens["ada"]) as admin:
        changed = admin.patch("/api/v1/config/thresholds", json={"track.max_coast_s": 30},
                              headers={"X-Operator": "mallory"})
        assert changed.status_code == 200, changed.text
        history = admin.get("/api/v1/config/thresholds/history").json()["items"]
        assert history[0]["by"] == "ada"
    live.store.operators.remove("olga")
    with _as(live, tokens["olga"]) as gone:
        assert gone.post("/api/v1/alerts/a-000001/ack").status_code == 401
        assert gone.get("/api/v1/whoami").status_code == 401


def test_resolve_comment_queue_counts_and_filters(live: Live) -> None:
    tokens = _tokens(live)
    live.raise_alert(alert_event("a-000001", t_s=1000.0, severity="medium"))
    live.raise_alert(alert_event("a-000002", t_s=1001.0, severity="critical"))
    live.raise_alert(alert_event("a-000003", t_s=1002.0, severity="critical"))
    with _as(live, tokens["olga"]) as http:
        queue = http.get("/api/v1/alerts/queue").json()
        assert [a["alert_id"] for a in queue["items"]] == ["a-000002", "a-000003", "a-000001"]
        assert (queue["unacknowledged"], queue["unresolved"]) == (3, 3)
        assert (queue["last_seq"], queue["last_action_id"]) == (live.store.last_seq(), 0)
        comment = http.post("/api/v1/alerts/a-000002/comments", json={"text": "camera 4"})
        assert comment.status_code == 201 and comment.json()["by"] == "olga"
        resolved = http.post("/api/v1/alerts/a-000002/resolve",
                             json={"disposition": "false_alarm", "comment": "heat shimmer"})
        assert resolved.status_code == 200, resolved.text
        record = resolved.json()
        assert (record["status"], record["disposition"], record["resolved_by"]) == (
            "resolved", "false_alarm", "olga")
        assert abs(record["resolved_at_wall_s"] - time.time()) < 60
        assert [(a["action"], a.get("text")) for a in record["actions"]] == [
            ("comment", "camera 4"), ("acknowledged", None), ("resolved", "heat shimmer")]
        again = http.post("/api/v1/alerts/a-000002/resolve", json={"disposition": "test"})
        assert again.status_code == 409 and "resolved already" in again.json()["error"]["message"]
        bad = http.post("/api/v1/alerts/a-000001/resolve", json={"disposition": "burglar"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "disposition"
        empty = http.post("/api/v1/alerts/a-000001/comments", json={"text": ""})
        assert empty.status_code == 422 and empty.json()["error"]["field"] == "text"
        assert http.post("/api/v1/alerts/a-404/resolve",
                         json={"disposition": "test"}).status_code == 404
        assert http.get("/api/v1/alerts/counts").json() == {"unacknowledged": 2,
                                                            "unresolved": 2}
        assert [a["alert_id"] for a in http.get("/api/v1/alerts/queue").json()["items"]] == [
            "a-000003", "a-000001"]
        ids = [a["alert_id"] for a in http.get(
            "/api/v1/alerts", params={"disposition": "false_alarm"}).json()["items"]]
        assert ids == ["a-000002"]
        ids = [a["alert_id"] for a in http.get(
            "/api/v1/alerts", params={"status": "resolved"}).json()["items"]]
        assert ids == ["a-000002"]
        ids = [a["alert_id"] for a in http.get(
            "/api/v1/alerts", params={"acked": "false"}).json()["items"]]
        assert ids == ["a-000003", "a-000001"]


def test_every_step_goes_out_on_the_actions_stream(live: Live) -> None:
    tokens = _tokens(live)
    live.raise_alert(alert_event("a-000001"))
    seen: list[dict[str, object]] = []
    with live.client() as http, http.stream(
            "GET", "/api/v1/alerts/actions/stream", params={"after": 0}) as stream, \
            _as(live, tokens["olga"]) as operator:
        operator.post("/api/v1/alerts/a-000001/ack")
        operator.post("/api/v1/alerts/a-000001/comments", json={"text": "on my way"})
        operator.post("/api/v1/alerts/a-000001/resolve", json={"disposition": "intrusion"})
        deadline = time.monotonic() + 10.0
        lines = stream.iter_lines()
        while len(seen) < 3 and time.monotonic() < deadline:
            line = next(lines)
            if line.startswith("data:"):
                seen.append(json.loads(line.removeprefix("data:")))
    assert [(s["action"], s["by"]) for s in seen] == [
        ("acknowledged", "olga"), ("comment", "olga"), ("resolved", "olga")]
    assert seen[2]["disposition"] == "intrusion"


def test_rollback_restores_an_earlier_change(live: Live) -> None:
    tokens = _tokens(live)
    with _as(live, tokens["ada"]) as admin:
        admin.patch("/api/v1/config/thresholds", json={"track.max_coast_s": 30})
        admin.patch("/api/v1/config/thresholds", json={"track.max_coast_s": 90,
                                                       "thermal.min_snr_db": 11.0})
        history = admin.get("/api/v1/config/thresholds/history").json()["items"]
        first_id = history[-1]["id"]
        back = admin.post("/api/v1/config/thresholds/rollback", json={"to_change_id": first_id})
        assert back.status_code == 200, back.text
        assert back.json()["track.max_coast_s"] == 30
        assert back.json()["thermal.min_snr_db"] == history[-1]["result"]["thermal.min_snr_db"]
        newest = admin.get("/api/v1/config/thresholds/history").json()["items"][0]
        assert newest["by"] == "ada" and newest["changes"]["track.max_coast_s"] == 30
        missing = admin.post("/api/v1/config/thresholds/rollback", json={"to_change_id": 999})
        assert missing.status_code == 404 and missing.json()["error"]["field"] == "to_change_id"
    with _as(live, tokens["olga"]) as operator:
        assert operator.post("/api/v1/config/thresholds/rollback",
                             json={"to_change_id": first_id}).status_code == 403
