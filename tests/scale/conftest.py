"""Fixtures of the scale tests: a real 3-node NATS Server cluster with MQTT on every node."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from requirements import unavailable

from services.nats_cluster import NatsCluster, find_nats_server


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    """Three nats-server nodes on free loopback ports (JetStream, MQTT), formed and ready."""
    if find_nats_server() is None:
        unavailable("no nats-server binary (apt-get install -y nats-server)")
    cluster = NatsCluster(3, folder=tmp_path / "nats").start()
    yield cluster
    cluster.stop()
