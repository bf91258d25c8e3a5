"""The whole chain in one process: towers → real broker → fusion → store → API over uvicorn."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn

from perimeter import topics
from perimeter.config import ApiSettings, FusionSettings, SimSettings
from perimeter.contract import FusionStatus, parse_payload
from services.api.app import create_app
from services.fusion_service import run_fusion
from services.mqtt import MqttBus, MqttOptions
from services.tower_publisher import run_towers
from sim.scenario import load_scenario

if TYPE_CHECKING:
    from tests.conftest import BrokerHandle

pytestmark = pytest.mark.integration


@pytest.fixture
def api_server(any_broker: BrokerHandle, tmp_path: Path,
               free_port: Callable[[], int]) -> Iterator[tuple[str, str]]:
    """The API on a real uvicorn server (its own thread); yields (base URL, db URL)."""
    db_url = f"sqlite:///{tmp_path / 'alerts.db'}"
    settings = ApiSettings(broker_url=any_broker.url, db_url=db_url, api_port=free_port())
    bus = MqttBus(MqttOptions(host=any_broker.host, port=any_broker.port,
                              client_id="test-api", session_expiry_s=0))
    bus.start(10)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, bus=bus), host="127.0.0.1",
                                           port=settings.api_port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{settings.api_port}"
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield base, db_url
    server.should_exit = True
    thread.join(10)
    bus.close()


def test_crossing_alert_readable_through_the_api(any_broker: BrokerHandle,
                                                 api_server: tuple[str, str],
                                                 crossing_scenario: dict[str, Any]) -> None:
    base, db_url = api_server
    scenario = load_scenario(crossing_scenario)
    stop_fusion = threading.Event()
    fusion = threading.Thread(target=run_fusion, args=(
        FusionSettings(broker_url=any_broker.url, db_url=db_url), stop_fusion))
    online = threading.Event()
    watcher = MqttBus(MqttOptions(host=any_broker.host, port=any_broker.port,
                                  client_id="test-watch", session_expiry_s=0))
    watcher.subscribe(topics.FUSION_STATUS, lambda m: online.set()
                      if parse_payload(FusionStatus, m.payload).state == "online" else None)
    watcher.start(10)
    fusion.start()
    try:
        # fusion subscribes on connect, before it publishes its online status
        assert online.wait(30), "fusion came online"
        run_towers(SimSettings(broker_url=any_broker.url, speed=50.0), scenario=scenario)
        items: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while not items and time.monotonic() < deadline:
            items = httpx.get(f"{base}/api/v1/alerts", timeout=5).json()["items"]
            items = [a for a in items if a.get("class") == "vehicle"]
            time.sleep(0.2)
    finally:
        stop_fusion.set()
        fusion.join(20)
        watcher.close()
    assert items, "the crossing raised an alert readable through the API"
    alert = items[0]
    one = httpx.get(f"{base}/api/v1/alerts/{alert['alert_id']}", timeout=5)
    assert one.status_code == 200
    origin = alert["origin"]
    # the imagers find the car by time-limited search (seconds per tower, not the first
    # frame), so the track starts up to a few hundred metres along its path
    assert abs(origin["x_m"] - 3500.0) < 400.0 and abs(origin["y_m"] + 2300.0) < 200.0
    assert set(alert["towers"]) <= {f"T{i:02d}" for i in range(1, 13)}
    towers = httpx.get(f"{base}/api/v1/towers", timeout=5)
    assert towers.status_code == 200
    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
