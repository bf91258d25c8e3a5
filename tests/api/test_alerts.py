"""/api/v1/alerts through a real server: pages, filters, one alert, acknowledgement and auth."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from conftest import TOKEN, Live, alert_event, served
from pg_server import PgServer

from perimeter import topics
from perimeter.bus import Message
from perimeter.config import ApiSettings
from perimeter.contract import SensorReport, dump_payload
from perimeter.store import AlertStore

pytestmark = pytest.mark.integration


def test_list_newest_first_with_cursor_pages(live: Live) -> None:
    for i in range(1, 6):
        live.raise_alert(alert_event(f"a-{i:06d}", t_s=1000.0 + i))
    with live.client() as http:
        first = http.get("/api/v1/alerts", params={"limit": 2}).json()
        assert [a["alert_id"] for a in first["items"]] == ["a-000005", "a-000004"]
        assert first["items"][0]["class"] == "person" and first["items"][0]["status"] == "open"
        live.raise_alert(alert_event("a-000006", t_s=1010.0))
        second = http.get("/api/v1/alerts",
                          params={"limit": 2, "cursor": first["next_cursor"]}).json()
        assert [a["alert_id"] for a in second["items"]] == ["a-000003", "a-000002"]
        third = http.get("/api/v1/alerts",
                         params={"limit": 2, "cursor": second["next_cursor"]}).json()
        assert [a["alert_id"] for a in third["items"]] == ["a-000001"]
        assert third["next_cursor"] is None


def test_filters(live: Live) -> None:
    live.raise_alert(alert_event("a-000001", t_s=1001.0, severity="low"))
    live.raise_alert(alert_event("a-000002", t_s=1002.0, **{"class": "vehicle"}))
    live.raise_alert(alert_event("a-000002", "closed", 1003.0, **{"class": "vehicle"}))
    live.raise_alert(alert_event("a-000003", t_s=1001.0, run_id="r-2"))
    with live.client() as http:
        def ids(**params: object) -> list[str]:
            answer = http.get("/api/v1/alerts", params=params)
            assert answer.status_code == 200, answer.text
            return [a["alert_id"] for a in answer.json()["items"]]

        assert ids(status="closed") == ["a-000002"]
        assert ids(severity="low") == ["a-000001"]
        assert ids(**{"class": "vehicle"}) == ["a-000002"]
        assert ids(since=1001.5) == ["a-000002"]
        assert ids(until=1001.5) == ["a-000003", "a-000001"]
        assert ids(run_id="r-2") == ["a-000003"]
        assert http.get("/api/v1/alerts", params={"run_id": "r-2"}).json()["items"][0][
            "run_id"] == "r-2"
        assert http.get("/api/v1/alerts", params={"run_id": "bad id"}).status_code == 422


def test_geojson_page_places_alerts_and_origins_on_the_globe(live: Live) -> None:
    from perimeter.geojson import to_local_m
    from perimeter.site import western_heights

    for i in range(1, 4):
        live.raise_alert(alert_event(f"a-{i:06d}", t_s=1000.0 + i))
    with live.client() as http:
        answer = http.get("/api/v1/alerts", params={"format": "geojson", "limit": 2})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/geo+json")
        document = answer.json()
        bad = http.get("/api/v1/alerts", params={"format": "kml"})
    assert document["type"] == "FeatureCollection" and document["next_cursor"]
    alerts = [f for f in document["features"] if f["properties"]["kind"] == "alert"]
    origins = [f for f in document["features"] if f["properties"]["kind"] == "origin"]
    assert [f["properties"]["alert_id"] for f in alerts] == ["a-000003", "a-000002"]
    assert len(origins) == 2
    site_origin = western_heights().origin
    assert site_origin is not None
    x_m, y_m = to_local_m(site_origin, *alerts[0]["geometry"]["coordinates"])
    assert abs(x_m - 2300.0) < 0.5 and abs(y_m + 400.0) < 0.5
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "format"


def test_bad_query_gets_a_422_naming_the_field(live: Live) -> None:
    with live.client() as http:
        for params, field in (({"limit": 0}, "limit"), ({"limit": 10_000}, "limit"),
                              ({"severity": "extreme"}, "severity"),
                              ({"cursor": "garbage"}, "cursor"), ({"since": "nan"}, "since")):
            answer = http.get("/api/v1/alerts", params=params)
            assert answer.status_code == 422, params
            error = answer.json()["error"]
            assert error["field"] == field and field in error["message"]


def test_one_alert_with_history_and_useful_404(live: Live) -> None:
    live.raise_alert(alert_event("a-000007", t_s=1000.0))
    live.raise_alert(alert_event("a-000007", "update", 1005.0, severity="critical"))
    with live.client() as http:
        alert = http.get("/api/v1/alerts/a-000007").json()
        assert alert["severity"] == "critical" and alert["updates"] == 2
        assert [h["event"]["event"] for h in alert["history"]] == ["new", "update"]
        assert alert["origin"]["sigma_major_m"] == 30.0
        missing = http.get("/api/v1/alerts/a-999999")
        assert missing.status_code == 404
        assert "a-999999" in missing.json()["error"]["message"]
        assert http.get("/api/v1/alerts/bad%20id").status_code == 422


def test_ack_needs_the_token_and_is_idempotent(live: Live) -> None:
    live.raise_alert(alert_event("a-000003"))
    with live.client() as anon:
        assert anon.post("/api/v1/alerts/a-000003/ack").status_code == 401
        wrong = anon.post("/api/v1/alerts/a-000003/ack",
                          headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
        assert TOKEN not in wrong.text
    report = SensorReport(tower_id="T03", sensor="thermal", seq=1, t_s=1042.5)
    live.bus.publish(Message(topics.sensor("T03", "thermal"), dump_payload(report)))
    with live.writer() as http:
        before_s = time.time()
        first = http.post("/api/v1/alerts/a-000003/ack", json={"by": "alice"}).json()
        second = http.post("/api/v1/alerts/a-000003/ack", json={"by": "bob"}).json()
        # the token names who acknowledges: a name in the body is ignored
        assert first["acked"] and second["acked_by"] == "bootstrap-admin"
        # one clock per field: data time (the newest report seen) and the server's wall clock
        assert first["acked_at_t_s"] == 1042.5
        assert before_s <= first["acked_at_wall_s"] <= time.time()
        assert (second["acked_at_t_s"], second["acked_at_wall_s"]) == (
            first["acked_at_t_s"], first["acked_at_wall_s"])
        assert http.post("/api/v1/alerts/a-404404/ack").status_code == 404
        bad = http.post("/api/v1/alerts/a-000003/ack", json={"who": "x"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "who"
        big = http.post("/api/v1/alerts/a-000003/ack", content=b"{" + b" " * 100_000 + b"}",
                        headers={"Content-Type": "application/json"})
        assert big.status_code == 413 and big.json()["error"]["field"] == "body"

        def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
            yield b'{"by": "'
            for _ in range(100):
                yield b"x" * 1000
            yield b'"}'

        chunked = http.post("/api/v1/alerts/a-000003/ack", content=chunks(),
                            headers={"Content-Type": "application/json"})
        assert chunked.status_code == 413 and chunked.json()["error"]["field"] == "body"
        broken = http.post("/api/v1/alerts/a-000003/ack", content=b"{bad",
                           headers={"Content-Type": "application/json"})
        assert broken.status_code == 422 and broken.json()["error"]["field"] == "body"


def test_writes_refused_without_a_configured_token(live: Live) -> None:
    object.__setattr__(live.settings, "api_token", None)  # as if PERIMETER_API_TOKEN unset
    live.raise_alert(alert_event("a-000009"))
    with live.writer() as http:
        answer = http.post("/api/v1/alerts/a-000009/ack")
    assert answer.status_code == 403 and "PERIMETER_API_TOKEN" in answer.json()["error"]["message"]


def test_lists_follow_writes_from_another_process_and_acks(live: Live) -> None:
    live.raise_alert(alert_event("a-000001"))
    with live.client() as http, AlertStore.open(live.settings.db_url) as fusion_store:
        assert [a["alert_id"] for a in http.get("/api/v1/alerts").json()["items"]] == [
            "a-000001"]
        fusion_store.append(alert_event("a-000002", t_s=1001.0))  # another connection writes
        assert [a["alert_id"] for a in http.get("/api/v1/alerts").json()["items"]] == [
            "a-000002", "a-000001"]
        http.post("/api/v1/alerts/a-000001/ack", headers={"Authorization": f"Bearer {TOKEN}"})
        acked = {a["alert_id"]: a["acked"] for a in http.get("/api/v1/alerts").json()["items"]}
        assert acked == {"a-000002": False, "a-000001": True}


def test_alerts_served_from_postgresql(settings: ApiSettings, free_port: Callable[[], int],
                                       pg_server: PgServer) -> None:
    with AlertStore.open(pg_server.database("api")) as store, \
            served(settings, store, None, free_port()) as live, live.writer() as http:
        live.raise_alert(alert_event("a-000001"))
        live.raise_alert(alert_event("a-000002", t_s=1001.0))
        page = http.get("/api/v1/alerts", params={"limit": 1}).json()
        assert [a["alert_id"] for a in page["items"]] == ["a-000002"]
        rest = http.get("/api/v1/alerts", params={"cursor": page["next_cursor"]}).json()
        assert [a["alert_id"] for a in rest["items"]] == ["a-000001"]
        assert http.post("/api/v1/alerts/a-000001/ack").json()["acked"]
        listed = http.get("/api/v1/alerts").json()["items"]
        assert [a["acked"] for a in listed] == [False, True]
