"""Fixtures of the reliability tests: a mosquitto that survives ``kill -9`` with its sessions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from requirements import unavailable

from services.broker import find_mosquitto
from tests.conftest import _free_port
from tests.reliability.live import DurableMosquitto


@pytest.fixture
def durable_mosquitto(tmp_path: Path) -> Iterator[DurableMosquitto]:
    """mosquitto on a free loopback port, persisting sessions and queues every second."""
    if find_mosquitto() is None:
        unavailable("no mosquitto binary (apt-get install -y mosquitto)")
    broker = DurableMosquitto(_free_port(), tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.stop()
