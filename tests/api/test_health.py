"""/healthz, /readyz, /metrics, /api/v1/tracks, the map page, OpenAPI, CORS, error shape."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest
from conftest import TOKEN, Live, alert_event, served

from perimeter import topics
from perimeter.bus import InMemoryBus, Message
from perimeter.config import ApiSettings
from perimeter.store import AlertStore

pytestmark = pytest.mark.integration
Ports = Callable[[], int]


@pytest.fixture
def client(live: Live) -> Iterator[httpx.Client]:
    with live.client() as http:
        yield http


class FlakyBus(InMemoryBus):
    def __init__(self) -> None:
        super().__init__()
        self.connected = threading.Event()


def test_health_and_readiness(settings: ApiSettings, store: AlertStore, free_port: Ports) -> None:
    bus = FlakyBus()
    with served(settings, store, bus, free_port()) as live, live.client() as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        down = http.get("/readyz")
        assert down.status_code == 503 and down.json()["checks"]["broker_connected"] is False
        bus.connected.set()
        up = http.get("/readyz")
        assert up.status_code == 200 and up.json()["checks"] == {
            "store_writable": True, "broker_connected": True}


def test_tracks_latest_snapshot(client: httpx.Client, bus: InMemoryBus) -> None:
    assert client.get("/api/v1/tracks").json() == {"t_s": None, "tracks": []}
    snapshot = {"t_s": 1000.0, "tracks": [
        {"track_id": "k-000001", "status": "confirmed", "class": "vehicle",
         "position": {"x_m": 3000.0, "y_m": 10.0}, "velocity": {"vx_mps": -5.0, "vy_mps": 0.0}}]}
    bus.publish(Message(topics.TRACKS, json.dumps(snapshot).encode()))
    answer = client.get("/api/v1/tracks").json()
    assert answer["t_s"] == 1000.0 and answer["tracks"][0]["class"] == "vehicle"
    metrics = client.get("/metrics").text
    assert 'perimeter_tracks{status="confirmed"} 1.0' in metrics


def test_metrics_count_alerts_and_fusion(client: httpx.Client, bus: InMemoryBus,
                                         store: AlertStore) -> None:
    bus.publish(Message(topics.sensor("T01", "thermal"), json.dumps(
        {"tower_id": "T01", "sensor": "thermal", "seq": 1, "t_s": 1000.0}).encode()))
    live = Live("", store, bus, ApiSettings())
    live.raise_alert(alert_event("a-000001", t_s=1000.0))  # raised on that report
    live.raise_alert(alert_event("a-000001", "update", t_s=1020.0))  # no report that late
    bus.publish(Message(topics.FUSION_STATUS, json.dumps(
        {"state": "online", "t_s": 1.0, "counters": {"reports": 42}}).encode(), retain=True))
    text = client.get("/metrics").text
    assert 'perimeter_alerts_total{class="person",severity="high"} 1.0' in text
    assert 'perimeter_fusion_counter{name="reports"} 42.0' in text
    # wall time from the report to its alert: more than 0 (it summed to 0 when it measured
    # data time), and only for the event a report is known for
    assert "perimeter_alert_latency_seconds_count 1.0" in text
    (total,) = [float(line.split()[1]) for line in text.splitlines()
                if line.startswith("perimeter_alert_latency_seconds_sum")]
    assert 0.0 < total < 5.0


def test_map_page_and_openapi(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/alerts", "/api/v1/alerts/{alert_id}", "/api/v1/alerts/{alert_id}/ack",
                 "/api/v1/alerts/stream", "/api/v1/towers", "/api/v1/tracks",
                 "/api/v1/config/thresholds", "/api/v1/config/thresholds/history"):
        assert path in spec["paths"], path
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_cors_closed_unless_configured(settings: ApiSettings, store: AlertStore,
                                      free_port: Ports) -> None:
    preflight = {"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"}
    with served(settings, store, None, free_port()) as live, live.client() as closed:
        answer = closed.get("/api/v1/alerts", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in answer.headers
    opened = settings.model_copy(update={"cors_origins": ["http://ops.example"]})
    with served(opened, store, None, free_port()) as live, live.client() as http:
        ok = http.options("/api/v1/alerts", headers={**preflight, "Origin": "http://ops.example"})
        assert ok.headers["access-control-allow-origin"] == "http://ops.example"
        refused = http.options("/api/v1/alerts", headers=preflight)
        assert "access-control-allow-origin" not in refused.headers


def test_errors_share_one_shape(client: httpx.Client) -> None:
    for answer in (client.get("/api/v1/nowhere"), client.get("/api/v1/alerts?limit=x"),
                   client.delete("/api/v1/alerts")):
        error = answer.json()["error"]
        assert set(error) == {"status", "code", "message", "field"}
        assert error["status"] == answer.status_code


def test_tokens_never_reach_the_logs(live: Live, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    live.raise_alert(alert_event("a-000001"))
    with live.writer() as http:
        http.post("/api/v1/alerts/a-000001/ack")
        http.patch("/api/v1/config/thresholds", json={"thermal.min_snr_db": 99})
    with live.client(headers={"Authorization": "Bearer wrong-secret-77"}) as http:
        http.post("/api/v1/alerts/a-000001/ack")
    assert caplog.records  # the server did log at debug level
    assert TOKEN not in caplog.text and "wrong-secret-77" not in caplog.text
    assert "**********" in repr(live.settings)  # the settings hide it too
