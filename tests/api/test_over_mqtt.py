"""The API on a real broker (mosquitto started by a fixture): a thresholds PATCH reaches the
running fusion service within a second; an alert fusion stores and publishes reaches the SSE
stream; the API follows towers' retained status, a late will the tower sets right included."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import Live, alert_event, served
from test_stream import read_events

from perimeter import topics
from perimeter.bus import Message
from perimeter.config import ApiSettings, SimSettings
from perimeter.contract import TowerStatus, dump_payload
from perimeter.fusion.runner import FusionRunner
from perimeter.site import western_heights
from perimeter.store import AlertStore
from perimeter.thresholds import Thresholds
from services.fusion_service import FusionService
from services.mqtt import MqttBus, MqttOptions
from services.tower_publisher import MqttUplink

pytestmark = pytest.mark.integration


@pytest.fixture
def mqtt_live(mosquitto_broker: Any, settings: ApiSettings, store: AlertStore,
              free_port: Callable[[], int]) -> Iterator[tuple[Live, FusionService, MqttBus]]:
    """Broker, fusion service (store as its sink) and the API following the broker."""
    port: int = mosquitto_broker.port
    api_bus = MqttBus(MqttOptions(port=port, client_id="test-api", session_expiry_s=0))
    fusion_bus = MqttBus(MqttOptions(port=port, client_id="test-fusion"))
    service = FusionService(fusion_bus, lambda out: FusionRunner(
        western_heights(), Thresholds(), out), store.append)
    service.start()
    fusion_bus.start()
    with served(settings, store, api_bus, free_port()) as live:
        api_bus.start()
        yield live, service, fusion_bus
    service.stop()
    fusion_bus.close()
    api_bus.close()


def test_thresholds_patch_reaches_fusion_within_a_second(
        mqtt_live: tuple[Live, FusionService, MqttBus]) -> None:
    live, service, _ = mqtt_live
    with live.writer() as http:
        answer = http.patch("/api/v1/config/thresholds", json={"thermal.min_snr_db": 11.5})
    assert answer.status_code == 200
    sent = time.monotonic()
    while service.runner.thresholds.thermal_min_snr_db != 11.5:
        assert time.monotonic() - sent < 1.0, "fusion did not apply the change within 1 s"
        time.sleep(0.01)


def test_alert_from_fusion_reaches_the_stream(
        mqtt_live: tuple[Live, FusionService, MqttBus]) -> None:
    live, _, fusion_bus = mqtt_live
    event = alert_event("a-000077")

    def as_fusion() -> None:
        live.store.append(event)
        fusion_bus.publish(Message(topics.ALERTS, dump_payload(event)))

    got = read_events(live, 1, during=as_fusion)
    assert got[0]["data"]["alert_id"] == "a-000077"


def test_towers_follow_retained_status(mqtt_live: tuple[Live, FusionService, MqttBus]) -> None:
    live, _, fusion_bus = mqtt_live
    fusion_bus.publish(Message(topics.tower_status("T07"), json.dumps(
        {"tower_id": "T07", "state": "degraded"}).encode(), retain=True))
    deadline = time.monotonic() + 5.0
    with live.client() as http:
        while True:
            towers = {t["tower_id"]: t for t in http.get("/api/v1/towers").json()["items"]}
            if towers["T07"]["state"] == "degraded":
                break
            assert time.monotonic() < deadline
            time.sleep(0.05)


def tower_state(live: Live, tower_id: str) -> str:
    with live.client() as http:
        towers = {t["tower_id"]: t for t in http.get("/api/v1/towers").json()["items"]}
    state: str = towers[tower_id]["state"]
    return state


def test_towers_show_a_tower_online_again_after_its_late_will(
        mqtt_live: tuple[Live, FusionService, MqttBus], mosquitto_broker: Any) -> None:
    """A clustered broker's late will of a running tower (docs/scale.md, (c)): the tower sets
    its retained status right, and the API, which shows the retained status, follows."""
    live, _, fusion_bus = mqtt_live
    uplink = MqttUplink(SimSettings(broker_url=mosquitto_broker.url))
    status = topics.tower_status("T07")
    will = dump_payload(TowerStatus(tower_id="T07", state="offline"))
    uplink.attach("T07", Message(status, will, retain=True, qos=1))
    uplink.publish(Message(status, dump_payload(TowerStatus(tower_id="T07", state="online")),
                           retain=True, qos=1))
    try:
        assert wait(lambda: tower_state(live, "T07") == "online", 5.0)
        fusion_bus.publish(Message(status, will, retain=True, qos=1))  # the late will
        assert wait(lambda: uplink.counters["will_corrected"] == 1, 5.0)
        assert wait(lambda: tower_state(live, "T07") == "online", 5.0)
    finally:
        uplink.close(announce_offline=False)


def wait(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
