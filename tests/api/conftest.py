"""API fixtures: a store, an in-memory bus, and the app served by a real uvicorn on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from perimeter import topics
from perimeter.bus import Bus, InMemoryBus, Message
from perimeter.config import ApiSettings
from perimeter.contract import AlertEvent, dump_payload
from perimeter.store import AlertStore
from services.api import create_app

TOKEN = "test-token-5f1e"


def alert_event(alert_id: str, kind: str = "new", t_s: float = 1000.0, **extra: Any) -> AlertEvent:
    fields: dict[str, Any] = {
        "event": kind, "alert_id": alert_id, "track_id": "k-000001", "t_s": t_s,
        "class": "person", "confidence": 0.9, "severity": "high",
        "position": {"x_m": 2300.0, "y_m": -400.0}, "towers": ["T03", "T04"],
        "origin": {"x_m": 3100.0, "y_m": -600.0, "t_s": t_s - 60.0, "sigma_major_m": 30.0,
                   "sigma_minor_m": 10.0, "orientation_deg": 80.0},
    }
    fields.update(extra)
    return AlertEvent.model_validate(fields)


@dataclass
class Live:
    """A served app with its store and bus; ``raise_alert`` does what fusion does."""

    url: str
    store: AlertStore
    bus: InMemoryBus
    settings: ApiSettings

    def raise_alert(self, event: AlertEvent) -> int:
        seq = self.store.append(event)
        self.bus.publish(Message(topics.ALERTS, dump_payload(event)))
        return seq

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=5.0, **kwargs)

    def writer(self) -> httpx.Client:
        return self.client(headers={"Authorization": f"Bearer {TOKEN}"})


@pytest.fixture
def settings(tmp_path: Path) -> ApiSettings:
    return ApiSettings(db_url=f"sqlite:///{tmp_path / 'api.db'}", api_token=SecretStr(TOKEN),
                       site="western-heights", cors_origins=[])


@pytest.fixture
def store(settings: ApiSettings) -> Iterator[AlertStore]:
    with AlertStore.open(settings.db_url) as opened:
        yield opened


@pytest.fixture
def bus() -> InMemoryBus:
    return InMemoryBus()


def serve(app: Any, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            timeout_graceful_shutdown=1, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10.0
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    return server, thread


@contextmanager
def served(settings: ApiSettings, store: AlertStore, bus: Bus | None,
           port: int) -> Iterator[Live]:
    """``create_app`` served by uvicorn in a thread on ``port`` until the block ends; the
    handle's ``bus`` is ``bus`` when in-memory, else a spare one that reaches nobody."""
    server, thread = serve(create_app(settings, bus=bus, store=store), port)
    local = bus if isinstance(bus, InMemoryBus) else InMemoryBus()
    try:
        yield Live(f"http://127.0.0.1:{port}", store, local, settings)
    finally:
        server.should_exit = True
        thread.join(10.0)


@pytest.fixture
def live(settings: ApiSettings, store: AlertStore, bus: InMemoryBus,
         free_port: Callable[[], int]) -> Iterator[Live]:
    """The app through a real uvicorn server on a free loopback port."""
    with served(settings, store, bus, free_port()) as handle:
        yield handle


@pytest.fixture
def no_bus_live(settings: ApiSettings, store: AlertStore,
                free_port: Callable[[], int]) -> Iterator[Live]:
    """The app without a bus: it serves the store only (its ``bus`` reaches nobody)."""
    with served(settings, store, None, free_port()) as handle:
        yield handle
