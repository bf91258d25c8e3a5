"""Findings 7 and 8 of issue 17 through a real server: event ids out of range are a 400, the
alert stream takes at most ``sse_max_clients`` clients, HEAD is answered where GET is, and a
half-sent request is cut off by the header and idle timeouts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest
import uvicorn
from conftest import Live, served

from perimeter.bus import InMemoryBus
from perimeter.config import ApiSettings
from perimeter.store import AlertStore
from services.api import create_app
from services.api_service import uvicorn_config
from tests.services.mqtt_helpers import wait_until

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("headers", "query", "field"), [
    ({"Last-Event-ID": str(2**63)}, "", "last-event-id"),
    ({"Last-Event-ID": "-1"}, "", "last-event-id"),
    ({}, f"?after={10**30}", "after"),
    ({}, "?after=-5", "after"),
])
def test_an_event_id_out_of_range_is_a_400(live: Live, headers: dict[str, str], query: str,
                                           field: str) -> None:
    with live.client() as http:
        answer = http.get(f"/api/v1/alerts/stream{query}", headers=headers)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == field


def test_the_largest_event_id_is_served(live: Live) -> None:
    with live.client() as http, http.stream("GET", "/api/v1/alerts/stream",
                                            headers={"Last-Event-ID": str(2**63 - 1)}) as s:
        assert s.status_code == 200
        assert next(s.iter_lines()).startswith(":")


def test_streams_beyond_the_cap_get_503(settings: ApiSettings, store: AlertStore,
                                        free_port: Callable[[], int]) -> None:
    capped = settings.model_copy(update={"sse_max_clients": 2})
    with served(capped, store, InMemoryBus(), free_port()) as live, ExitStack() as streams:
        http = streams.enter_context(live.client())
        held = []  # the line iterators: dropping one closes its stream
        for _ in range(2):
            stream = streams.enter_context(http.stream("GET", "/api/v1/alerts/stream"))
            assert stream.status_code == 200
            held.append(stream.iter_lines())
            assert next(held[-1]).startswith(":")
        refused = http.get("/api/v1/alerts/stream")
        assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
        assert "PERIMETER_SSE_MAX_CLIENTS" in refused.json()["error"]["message"]
        assert 'perimeter_sse_clients 2.0' in http.get("/metrics").text
    with served(capped, store, InMemoryBus(), free_port()) as live, live.client() as http:

        def opens() -> bool:
            with http.stream("GET", "/api/v1/alerts/stream") as stream:
                return stream.status_code == 200

        for _ in range(5):  # a closed stream gives its slot back (within the poll, 1 s)
            assert wait_until(opens, 10.0, step_s=0.2)
        assert wait_until(lambda: 'perimeter_sse_clients 0.0' in http.get("/metrics").text,
                          10.0)


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/alerts", "/api/v1/towers",
                                  "/api/v1/alerts/stream", "/", "/metrics"])
def test_head_is_answered_where_get_is(live: Live, path: str) -> None:
    with live.client() as http:
        got = http.get(path) if path != "/api/v1/alerts/stream" else None
        head = http.head(path)
    assert head.status_code == 200, head.text
    assert head.content == b""
    if got is not None:
        assert head.headers["content-type"] == got.headers["content-type"]


@contextmanager
def guarded_server(settings: ApiSettings, store: AlertStore, port: int) -> Iterator[None]:
    config = uvicorn_config(create_app(settings, store=store), settings.model_copy(update={
        "api_port": port, "header_timeout_s": 0.5, "idle_timeout_s": 0.5}),
        log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 10.0)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10.0)


def closed_by_server(sock: socket.socket, within_s: float) -> bool:
    """True when the server closes ``sock`` (EOF or reset) within ``within_s``."""
    sock.settimeout(0.1)
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if sock.recv(4096) == b"":
                return True
        except TimeoutError:
            continue
        except ConnectionResetError:
            return True
    return False


@pytest.mark.parametrize("partial", [
    b"",  # connected, sends nothing
    b"GET /api/v1/alerts HTTP/1.1\r\nHost: x\r\n",  # headers never end
    b"POST /api/v1/alerts/a-1/ack HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"by\"",
])
def test_a_half_sent_request_is_cut_off(settings: ApiSettings, store: AlertStore,
                                        free_port: Callable[[], int], partial: bytes) -> None:
    port = free_port()
    with guarded_server(settings, store, port), socket.create_connection(
            ("127.0.0.1", port)) as sock:
        sock.sendall(partial)
        assert closed_by_server(sock, 5.0)
        with httpx.Client(timeout=5.0) as http:  # and the server still serves
            assert http.get(f"http://127.0.0.1:{port}/healthz").status_code == 200


def test_a_slow_but_steady_request_is_served(settings: ApiSettings, store: AlertStore,
                                             free_port: Callable[[], int]) -> None:
    port = free_port()
    with guarded_server(settings, store, port), socket.create_connection(
            ("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        sock.settimeout(5.0)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
