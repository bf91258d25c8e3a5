"""``perimeter up`` as a user runs it: an alert on the API within a minute, tower reports on the
broker for any MQTT client, and Ctrl-C (SIGINT to the process group) stops every part."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from perimeter.bus import topic_matches
from perimeter.contract import SensorReport, parse_payload
from services.broker import child_env, port_is_free
from services.mqtt import MqttBus, MqttOptions

pytestmark = pytest.mark.integration


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def thermal_reports(port: int) -> list[bytes]:
    """A few thermal reports, through mosquitto_sub when installed, else a paho client.

    amqtt 0.12.1 also hands a new subscriber retained messages of topics outside its filter
    once another client holds a wildcard subscription, so lines are kept by topic."""
    sub = shutil.which("mosquitto_sub")
    if sub is not None:
        done = subprocess.run([sub, "-h", "127.0.0.1", "-p", str(port), "-t",
                               "perimeter/v1/towers/+/thermal", "-C", "30", "-W", "20",
                               "-F", "%t %p"], capture_output=True, timeout=30, check=False)
        lines = [line.split(b" ", 1) for line in done.stdout.splitlines()]
        return [payload for topic, payload in lines
                if topic_matches("perimeter/v1/towers/+/thermal", topic.decode())][:3]
    got: list[bytes] = []
    bus = MqttBus(MqttOptions(port=port, client_id="test-sub", session_expiry_s=0))
    bus.subscribe("perimeter/v1/towers/+/thermal", lambda m: got.append(m.payload))
    bus.start(10)
    deadline = time.monotonic() + 20
    while len(got) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    bus.close()
    return got


@pytest.mark.parametrize("impl", ["auto", "amqtt"])
def test_up_alerts_within_two_minutes_and_stops_on_ctrl_c(
        impl: str, tmp_path: Path, free_port: Callable[[], int]) -> None:
    mqtt_port, api_port = free_port(), free_port()
    command = [sys.executable, "-m", "perimeter", "up", "--speed", "20",
               "--mqtt-port", str(mqtt_port), "--api-port", str(api_port),
               "--db", str(tmp_path / "alerts.db"), "--broker-impl", impl]
    env = child_env({"PERIMETER_API_TOKEN": "test-token"})
    started = time.monotonic()
    log_path = tmp_path / "up.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, env=env, cwd=tmp_path, start_new_session=True,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        items: list[dict[str, object]] = []
        # the default scenario's first alert is its car, found by the scanning imagers
        # ~400 s in (20 s of wall time at --speed 20), plus start-up and the broker's pace
        while not items and time.monotonic() - started < 120:
            time.sleep(0.5)
            assert proc.poll() is None, log_path.read_text()
            try:
                items = httpx.get(f"http://127.0.0.1:{api_port}/api/v1/alerts",
                                  timeout=2).json()["items"]
            except httpx.HTTPError:
                continue
        first_alert_s = time.monotonic() - started
        assert items, "no alert on GET /api/v1/alerts within two minutes at --speed 20"
        print(f"{impl}: first alert {first_alert_s:.1f} s after start")
        reports = thermal_reports(mqtt_port)
        assert len(reports) == 3, reports
        assert all(parse_payload(SensorReport, line).sensor == "thermal" for line in reports), (
            reports)
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        try:
            code = proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    err = log_path.read_text()
    assert code == 0, err
    assert "perimeter up: stopped" in err
    (run_id,) = {item["run_id"] for item in items}  # this run's session, printed at start
    assert isinstance(run_id, str) and run_id.startswith("r-") and run_id in err
    assert "Traceback" not in err
    assert group_members(proc.pid) == []
    assert port_is_free("127.0.0.1", mqtt_port), "the embedded broker was stopped"
    assert port_is_free("127.0.0.1", api_port)


def test_up_stops_everything_when_a_service_fails(tmp_path: Path,
                                                  free_port: Callable[[], int]) -> None:
    mqtt_port = free_port()
    with socket.socket() as busy:  # the API cannot bind its port: up must stop the rest
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        api_port = busy.getsockname()[1]
        proc = subprocess.Popen(
            [sys.executable, "-m", "perimeter", "up", "--mqtt-port", str(mqtt_port),
             "--api-port", str(api_port), "--db", str(tmp_path / "a.db")],
            env=child_env(), cwd=tmp_path, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert proc.returncode == 1
    assert "api exited with code" in err.decode()
    assert group_members(proc.pid) == []
    assert port_is_free("127.0.0.1", mqtt_port)
