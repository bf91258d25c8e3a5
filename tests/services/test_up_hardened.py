"""``perimeter up`` under attack and fault (findings 1 and 9 of issue 17): an anonymous client
cannot change the thresholds, and a killed fusion comes back (with a line in the output) and
the alerts go on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from perimeter import topics
from perimeter.bus import Message
from services.broker import child_env
from services.mqtt import MqttBus, MqttOptions
from tests.services.mqtt_helpers import Inbox, wait_until

pytestmark = pytest.mark.integration
TOKEN = "test-token-up"


def children(pid: int) -> dict[int, str]:
    """Live child processes of ``pid`` with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat[1]) == pid and stat[0] != "Z":
            found[int(entry.name)] = cmdline
    return found


def fusion_pid(up_pid: int) -> int | None:
    return next((p for p, cmd in children(up_pid).items() if " fusion " in cmd), None)


def latest_alert_t_s(api: str) -> float:
    try:
        items = httpx.get(f"{api}/api/v1/alerts", timeout=2).json()["items"]
    except (httpx.HTTPError, ValueError, KeyError):
        return -1.0
    return max((float(a["last_t_s"]) for a in items), default=-1.0)


def test_up_is_locked_down_and_restarts_fusion(tmp_path: Path,
                                               free_port: Callable[[], int]) -> None:
    mqtt_port, api_port = free_port(), free_port()
    api = f"http://127.0.0.1:{api_port}"
    log_path = tmp_path / "up.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "perimeter", "up", "--speed", "20", "--mqtt-port",
             str(mqtt_port), "--api-port", str(api_port), "--db", str(tmp_path / "a.db")],
            env=child_env({"PERIMETER_API_TOKEN": TOKEN}), cwd=tmp_path,
            start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: latest_alert_t_s(api) >= 0, 90.0), log_path.read_text()
        assert "broker access" in log_path.read_text()

        attacker = MqttBus(MqttOptions(port=mqtt_port, session_expiry_s=0))
        attacker.start(10.0)
        attacker.publish(Message(topics.THRESHOLDS, json.dumps(
            {"alert.classes": ["animal"], "thermal.min_snr_db": 40}).encode(), retain=True))
        assert attacker.flush(5.0)
        attacker.close()
        patched = httpx.patch(f"{api}/api/v1/config/thresholds", json={"track.confirm_m": 4},
                              headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert patched.status_code == 200, patched.text
        reader, inbox = MqttBus(MqttOptions(port=mqtt_port, session_expiry_s=0)), Inbox()
        reader.subscribe(topics.THRESHOLDS, inbox)
        reader.start(10.0)
        assert wait_until(lambda: inbox.on(topics.THRESHOLDS), 15.0)
        reader.close()
        retained = json.loads(inbox.on(topics.THRESHOLDS)[-1].payload)
        assert retained["track.confirm_m"] == 4 and retained["thermal.min_snr_db"] != 40
        in_force = httpx.get(f"{api}/api/v1/config/thresholds", timeout=5).json()
        assert in_force["thermal.min_snr_db"] != 40 and in_force["alert.classes"] != ["animal"]

        first = fusion_pid(proc.pid)
        assert first is not None
        before_t_s = latest_alert_t_s(api)
        os.kill(first, signal.SIGKILL)
        assert wait_until(lambda: fusion_pid(proc.pid) not in (None, first), 30.0), (
            log_path.read_text())
        text = log_path.read_text()
        assert "fusion exited with code -9; restarting in 1 s" in text
        assert "fusion restarted" in text
        assert proc.poll() is None
        assert wait_until(lambda: latest_alert_t_s(api) > before_t_s + 10.0, 90.0), (
            log_path.read_text())
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            code = proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert code == 0, log_path.read_text()
