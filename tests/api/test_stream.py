"""The SSE alert feed through a real server: live events, resume with Last-Event-ID, wake-ups."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from conftest import Live, alert_event

from services.api import create_app
from services.api.sse import POLL_S
from services.api_service import ApiServer
from tests.services.mqtt_helpers import wait_until

pytestmark = pytest.mark.integration


def sse_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Parse ``text/event-stream`` lines into events with ``id`` and decoded ``data``."""
    fields: dict[str, Any] = {}
    for line in lines:
        if not line:
            if "data" in fields:
                yield {"id": fields.get("id"), "data": json.loads(fields["data"])}
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


def read_events(live: Live, count: int, headers: dict[str, str] | None = None,
                during: Any = None) -> list[dict[str, Any]]:
    """Connect, run ``during()`` once connected, and return the first ``count`` events."""
    got: list[dict[str, Any]] = []
    with live.client() as http, http.stream("GET", "/api/v1/alerts/stream",
                                            headers=headers or {}) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        lines = answer.iter_lines()
        assert next(lines).startswith(":")  # the opening comment: connected
        helper = threading.Thread(target=during or (lambda: None), daemon=True)
        helper.start()
        for event in sse_events(lines):
            got.append(event)
            if len(got) == count:
                break
    helper.join(timeout=10.0)  # its event may arrive before its own call returns
    return got


def test_new_client_gets_events_from_now_on(live: Live) -> None:
    live.raise_alert(alert_event("a-000001"))
    seqs: list[int] = []

    def raise_two() -> None:
        seqs.append(live.raise_alert(alert_event("a-000002", t_s=1001.0)))
        seqs.append(live.raise_alert(alert_event("a-000002", "closed", 1002.0)))

    events = read_events(live, 2, during=raise_two)
    assert [e["data"]["alert_id"] for e in events] == ["a-000002", "a-000002"]
    assert [e["data"]["event"] for e in events] == ["new", "closed"]
    assert [int(e["id"]) for e in events] == seqs


def test_resume_with_last_event_id_misses_nothing(live: Live) -> None:
    seqs = [live.raise_alert(alert_event("a-000001", "update" if i else "new", 1000.0 + i))
            for i in range(4)]
    later: list[int] = []
    events = read_events(live, 3, headers={"Last-Event-ID": str(seqs[1])},
                         during=lambda: later.append(live.raise_alert(
                             alert_event("a-000001", "closed", 1010.0))))
    assert [int(e["id"]) for e in events] == [seqs[2], seqs[3], later[0]]
    assert [e["data"]["t_s"] for e in events] == [1002.0, 1003.0, 1010.0]


def test_bus_wake_delivers_faster_than_the_poll(live: Live) -> None:
    sent: list[float] = []

    def raise_later() -> None:
        time.sleep(0.2)  # the stream is waiting by now
        sent.append(time.monotonic())
        live.raise_alert(alert_event("a-000005"))

    read_events(live, 1, during=raise_later)
    assert time.monotonic() - sent[0] < 0.8 * POLL_S


def test_bad_last_event_id_is_refused(live: Live) -> None:
    with live.client() as http:
        answer = http.get("/api/v1/alerts/stream", headers={"Last-Event-ID": "x1"})
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "last-event-id"


def test_stream_without_bus_polls_the_store(no_bus_live: Live) -> None:
    events = read_events(no_bus_live, 1,
                         during=lambda: no_bus_live.raise_alert(alert_event("a-000008")))
    assert events[0]["data"]["alert_id"] == "a-000008"


def test_shutdown_ends_open_streams_instead_of_waiting_for_the_timeout(
        settings: Any, store: Any, free_port: Any) -> None:
    """A server stopping with a client on the stream closes it and exits, well before a
    graceful timeout that would otherwise hold the shutdown (30 s here)."""
    stopping = threading.Event()
    port = free_port()
    config = uvicorn.Config(create_app(settings, store=store, stopping=stopping),
                            host="127.0.0.1", port=port, log_level="warning",
                            timeout_graceful_shutdown=30, lifespan="on")
    server = ApiServer(config, stopping)
    thread = threading.Thread(target=server.run, name="uvicorn-shutdown", daemon=True)
    thread.start()
    assert wait_until(lambda: server.started, 10.0)
    ended = threading.Event()

    def follow() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60.0) as http, \
                http.stream("GET", "/api/v1/alerts/stream") as answer:
            for _ in answer.iter_lines():
                pass
        ended.set()

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    assert wait_until(lambda: store_clients(server) >= 1, 10.0)
    server.handle_exit(signal.SIGTERM, None)
    thread.join(10.0)
    assert not thread.is_alive(), "the server waited for the open stream"
    assert ended.wait(5.0), "the client's stream did not end"


def store_clients(server: ApiServer) -> int:
    """Open HTTP connections of a running uvicorn server."""
    return len(server.server_state.connections)
