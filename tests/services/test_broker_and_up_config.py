"""Embedded broker start-up errors and the command lines ``perimeter up`` builds."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from requirements import unavailable
from rich.console import Console

from perimeter.config import FusionSettings
from perimeter.site import load_site
from services.broker import (
    BrokerError,
    EmbeddedBroker,
    find_mosquitto,
    mosquitto_config,
    port_is_free,
    relay_lines,
    usual_or_free_port,
)
from services.session import new_run_id
from services.up import UpConfig, child_commands, site_reference, with_ports


def test_busy_port_is_refused_with_advice(free_port: Callable[[], int]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not port_is_free("127.0.0.1", port)
        with pytest.raises(BrokerError, match="--mqtt-port"):
            EmbeddedBroker(port, "amqtt").start()
    assert port_is_free("127.0.0.1", free_port())


def test_mosquitto_config_is_loopback_anonymous_with_deep_queues(tmp_path: Path) -> None:
    lines = mosquitto_config(18999, tmp_path).splitlines()
    assert "listener 18999 127.0.0.1" in lines
    assert "allow_anonymous true" in lines
    assert "max_queued_messages 100000" in lines
    assert f"persistence_location {tmp_path}/" in lines


def test_forced_mosquitto_without_binary_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("services.broker.find_mosquitto", lambda: None)
    with pytest.raises(BrokerError, match="no mosquitto"):
        EmbeddedBroker(18999, "mosquitto")
    assert EmbeddedBroker(18999, "auto").impl == "amqtt"


def test_children_share_broker_db_and_site(tmp_path: Path) -> None:
    config = UpConfig(speed=20.0, api_port=8123, db_path=tmp_path / "a.db")
    commands = child_commands(config, "mqtt://127.0.0.1:18830", "western-heights")
    assert list(commands) == ["fusion", "api", "sim"]
    for command in commands.values():
        assert command[command.index("--broker") + 1] == "mqtt://127.0.0.1:18830"
    assert commands["fusion"][commands["fusion"].index("--db") + 1] == str(tmp_path / "a.db")
    assert commands["api"][commands["api"].index("--port") + 1] == "8123"
    assert commands["sim"][commands["sim"].index("--speed") + 1] == "20.0"
    assert "--run-id" not in commands["fusion"]
    fusion = child_commands(replace(config, run_id="r-5"), "mqtt://127.0.0.1:18830",
                            "western-heights")["fusion"]
    assert fusion[fusion.index("--run-id") + 1] == "r-5"  # a restarted fusion keeps its run


def test_every_run_of_up_is_a_new_session() -> None:
    first, second = new_run_id(), new_run_id()
    assert first != second and first.startswith("r-")
    assert FusionSettings(run_id=first).run_id == first


def test_inline_site_is_written_for_fusion_and_api(tmp_path: Path) -> None:
    site = load_site("western-heights").model_dump(mode="json")
    site["name"] = "inline-heights"
    scenario = {"name": "s", "duration_s": 60, "site": site,
                "environment": {"start_time": "2026-01-15T22:00:00Z"}}
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(scenario), encoding="utf-8")
    ref = site_reference(UpConfig(scenario=str(path)), tmp_path)
    assert load_site(ref).name == "inline-heights"
    assert site_reference(UpConfig(scenario="default"), tmp_path) == "western-heights"


def test_up_takes_the_usual_port_when_free_else_a_free_one(
        free_port: Callable[[], int], monkeypatch: pytest.MonkeyPatch) -> None:
    usual = free_port()
    assert usual_or_free_port("127.0.0.1", usual) == usual
    with socket.socket() as busy:  # something else (a system broker) listens there
        busy.bind(("127.0.0.1", usual))
        busy.listen()
        other = usual_or_free_port("127.0.0.1", usual)
        assert other != usual and port_is_free("127.0.0.1", other)
        monkeypatch.setattr("services.up.USUAL_MQTT_PORT", usual)
        console = Console(record=True, width=200)
        chosen = with_ports(UpConfig(), console)
        assert chosen.mqtt_port not in (0, usual) and chosen.api_port != 0
        assert f"port {usual} is in use" in console.export_text()
        assert with_ports(UpConfig(mqtt_port=usual, api_port=8123), console).mqtt_port == usual
        assert with_ports(UpConfig(broker_url="mqtt://127.0.0.1:1"), console).mqtt_port == 0


def test_the_broker_output_is_relayed_without_the_root_warning() -> None:
    source = io.BytesIO(b"1: Warning: Mosquitto should not be run as root/administrator.\n"
                        b"2: Error: Address already in use\n")
    sink = io.BytesIO()
    relay_lines(source, sink)
    assert sink.getvalue() == b"2: Error: Address already in use\n"


def test_a_mosquitto_started_by_up_does_not_warn_about_root(
        free_port: Callable[[], int], capfd: pytest.CaptureFixture[str]) -> None:
    if find_mosquitto() is None:
        unavailable("no mosquitto binary (apt-get install -y mosquitto)")
    with EmbeddedBroker(free_port(), "mosquitto"):
        pass
    assert "should not be run as root" not in capfd.readouterr().err
