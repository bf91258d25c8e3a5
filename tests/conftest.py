"""Shared fixtures: free loopback ports and real brokers (mosquitto, embedded amqtt) of our own.

Tests never use the system's broker on 1883: every broker here listens on a fresh free port.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pg_server import PgServer
from requirements import unavailable

from perimeter.store import AlertStore
from services.broker import BrokerImpl, EmbeddedBroker, find_mosquitto


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class BrokerHandle:
    """A broker process on a fixed loopback port that a test may kill and start again."""

    def __init__(self, impl: BrokerImpl, port: int, data_dir: Path) -> None:
        self.impl, self.host, self.port, self.data_dir = impl, "127.0.0.1", port, data_dir
        self._broker: EmbeddedBroker | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> None:
        self._broker = EmbeddedBroker(self.port, self.impl, self.host, self.data_dir).start()

    def kill(self) -> None:
        """SIGKILL: the broker vanishes without a goodbye, as in a crash."""
        if self._broker is not None and self._broker.proc is not None:
            self._broker.proc.kill()
            self._broker.proc.wait()
            self._broker.stop()

    def restart(self) -> None:
        """A clean stop and start: mosquitto saves and restores its sessions (``data_dir``)."""
        self.stop()
        self.start()

    def stop(self) -> None:
        if self._broker is not None:
            self._broker.stop()


@pytest.fixture
def free_port() -> Callable[[], int]:
    """A function returning a currently free TCP port on 127.0.0.1."""
    return _free_port


@pytest.fixture
def mosquitto_broker(tmp_path: Path) -> Iterator[BrokerHandle]:
    """A real mosquitto on a free loopback port (temp config, anonymous, current user)."""
    if find_mosquitto() is None:
        unavailable("no mosquitto binary (apt-get install -y mosquitto)")
    handle = BrokerHandle("mosquitto", _free_port(), tmp_path)
    handle.start()
    yield handle
    handle.stop()


@pytest.fixture
def amqtt_broker(tmp_path: Path) -> Iterator[BrokerHandle]:
    """The embedded amqtt broker (``python -m services.broker``) on a free loopback port."""
    handle = BrokerHandle("amqtt", _free_port(), tmp_path)
    handle.start()
    yield handle
    handle.stop()


@pytest.fixture(params=["mosquitto", "amqtt"])
def any_broker(request: pytest.FixtureRequest) -> BrokerHandle:
    """Each test using it runs once against mosquitto and once against the embedded amqtt."""
    handle: BrokerHandle = request.getfixturevalue(f"{request.param}_broker")
    return handle


@pytest.fixture
def crossing_scenario() -> dict[str, object]:
    """A short scripted crossing: one car through the open approach, no animals, 40 s.

    For the plumbing tests: staring imagers (a look every frame, so the car is found within
    seconds; the default scanning heads look every 5.5 s) with a 6.3-sigma detector threshold
    (almost no noise blobs: 11 staring cores at 5 sigma give ~2 per tower and frame, which
    slow fusion 7x), no hot spots, towers aligned to north exactly and clocks in step
    (fusion does not estimate the towers' azimuth biases and clock offsets yet, issue 16;
    the default world draws 0.05-0.2 deg and ~10 ms per tower, and the biases break its
    association)."""
    return {
        "name": "test-crossing", "seed": 3, "duration_s": 40, "site": "western-heights",
        "environment": {"start_time": "2026-01-15T22:00:00Z", "weather": "clear",
                        "wind_mps": 1.0},
        "targets": [{"id": "v1", "kind": "light_vehicle", "start_s": 2, "speed_mps": 9.0,
                     "path": [[3500, -2300], [2000, -2050], [1100, -1900]]}],
        "nuisance": {"animals": 0},
        "sensors": {"thermal": {"pointing": "staring", "hot_spot_scale": 0.0,
                                "azimuth_bias_deg": [0.0, 0.0],
                                "detector_snr_db": 16.0},
                    "clock": {"offset_sigma_s": 0.0, "drift_sigma_ppm": 0.0}},
    }


_databases = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One throwaway PostgreSQL server for the session (its own data dir and free port)."""
    try:
        server = PgServer().start()
    except FileNotFoundError as exc:
        unavailable(str(exc))
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each kind: a SQLite file, a new database on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'alerts.db'}"
    server: PgServer = request.getfixturevalue("pg_server")
    return server.database(f"store_{next(_databases)}")


@pytest.fixture
def store(db_url: str) -> Iterator[AlertStore]:
    """An alert store on each kind of database."""
    with AlertStore.open(db_url) as opened:
        yield opened
