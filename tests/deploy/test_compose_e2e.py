"""End to end: each compose service's command and environment, started locally against the
repository's own mosquitto config, password file and ACL, produce an alert.

From docker-compose.yml only what a container would see differently is mapped: the broker's
host name and port to the test broker, the shared ``/data`` volume to a temp folder, the API's
listen address and port to a free loopback port, and ``/app/healthcheck.py`` to the repository's
script. The compose variables come from a test .env (passwords, token, ``PERIMETER_SPEED=20``).
Services start in dependency order and wait on the compose health checks, as compose does.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from deploy_helpers import (
    REPO,
    TEST_PASSWORDS,
    TEST_TOWERS_SECRET,
    Client,
    RepoBroker,
    free_port,
    load_compose,
    mosquitto_version,
    repo_broker,
    service_environment,
)
from requirements import unavailable

from perimeter import topics

pytestmark = pytest.mark.integration

PYTHON_SERVICES = ("sim", "fusion", "api")
API_TOKEN = "e2e-token"
COMPOSE_VARS = {**{f"MQTT_{role.upper()}_PASSWORD": pw for role, pw in TEST_PASSWORDS.items()},
                "MQTT_TOWERS_SECRET": TEST_TOWERS_SECRET,
                "PERIMETER_API_TOKEN": API_TOKEN, "PERIMETER_SPEED": "20"}
ALERT_TIMEOUT_S = 120.0


def local_environment(env: dict[str, str], broker: RepoBroker, api_port: int,
                      data_dir: Path) -> dict[str, str]:
    """A container's environment mapped to this machine (see the module docstring)."""
    local = dict(env)
    url = urlsplit(env["PERIMETER_BROKER_URL"])
    assert (url.hostname, url.port) == ("mosquitto", 1883), env["PERIMETER_BROKER_URL"]
    local["PERIMETER_BROKER_URL"] = broker.url
    if "PERIMETER_DB_URL" in env:
        assert env["PERIMETER_DB_URL"].startswith("sqlite:////data/"), env["PERIMETER_DB_URL"]
        local["PERIMETER_DB_URL"] = env["PERIMETER_DB_URL"].replace("/data", str(data_dir), 1)
    if "PERIMETER_API_PORT" in env:
        local["PERIMETER_API_HOST"] = "127.0.0.1"
        local["PERIMETER_API_PORT"] = str(api_port)
    return local


def local_command(argv: list[str]) -> list[str]:
    """A compose command or health check with the image's paths mapped to this checkout."""
    bin_dir = Path(sys.executable).parent
    mapped = {"python": sys.executable, "/app/healthcheck.py": str(REPO / "deploy/healthcheck.py")}
    out = [mapped.get(arg, arg) for arg in argv]
    if out[0] == "perimeter":  # the console script, or the same app where it is not installed
        found = shutil.which("perimeter", path=str(bin_dir))
        out[:1] = [found] if found else [sys.executable, "-m", "perimeter"]
    return out


class Stack:
    """The compose services as local processes, with logs for failure messages."""

    def __init__(self, compose: dict[str, Any], broker: RepoBroker, tmp: Path) -> None:
        self.compose, self.tmp = compose["services"], tmp
        (tmp / "data").mkdir()
        api_port = free_port()
        base = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp),
                "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}  # the image installs it
        self.env = {name: base | local_environment(
            service_environment(self.compose[name], COMPOSE_VARS), broker, api_port, tmp / "data")
            for name in PYTHON_SERVICES}
        self.api_url = f"http://127.0.0.1:{api_port}"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        log = (self.tmp / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(local_command(self.compose[name]["command"]),
                                            env=self.env[name], cwd=self.tmp, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

    def healthy(self, name: str) -> bool:
        test = self.compose[name]["healthcheck"]["test"]
        assert test[0] == "CMD"
        return subprocess.run(local_command(test[1:]), env=self.env[name], capture_output=True,
                              timeout=30, check=False).returncode == 0

    def wait_healthy(self, name: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.healthy(name):
            proc = self.procs[name]
            assert proc.poll() is None, f"{name} exited {proc.returncode}\n{self.logs()}"
            assert time.monotonic() < deadline, f"{name} not healthy\n{self.logs()}"
            time.sleep(0.5)

    def start_in_order(self) -> None:
        """Start each service once the services it depends on are healthy."""
        pending = list(PYTHON_SERVICES)
        while pending:
            name = next(n for n in pending
                        if not set(self.compose[n]["depends_on"]) & set(pending))
            for dep, rule in self.compose[name]["depends_on"].items():
                if dep in self.procs and rule["condition"] == "service_healthy":
                    self.wait_healthy(dep)
            self.start(name)
            pending.remove(name)

    def logs(self) -> str:
        """Each service's log tail and the broker's first ACL denials."""
        text = "\n".join(f"--- {n}.log (tail)\n" + (self.tmp / f"{n}.log").read_text(
            errors="replace")[-3000:] for n in self.procs)
        broker_log = self.tmp / "broker" / "mosquitto.log"
        if broker_log.exists():
            text += "\n--- broker log (tail)\n" + broker_log.read_text(errors="replace")[-1500:]
        return text

    def stop(self) -> None:
        for proc in reversed(self.procs.values()):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Stack, RepoBroker]]:
    version = mosquitto_version()
    if version is None or not version.startswith("2.0."):
        unavailable(f"needs mosquitto 2.0.x, found {version}")
    (tmp_path / "broker").mkdir()
    with repo_broker(tmp_path / "broker", free_port(), TEST_PASSWORDS) as broker:
        started = Stack(load_compose(), broker, tmp_path)
        try:
            yield started, broker
        finally:
            started.stop()


def test_compose_services_started_locally_produce_an_alert(
        stack: tuple[Stack, RepoBroker]) -> None:
    services, broker = stack
    observer = Client(broker.port, "api", TEST_PASSWORDS["api"], f"e2e-{os.getpid()}")
    assert not observer.connect().is_failure
    observer.subscribe(topics.ALERTS)
    observer.subscribe(topics.TOWER_WILDCARD)  # to tell "no tower data" from "no alert"
    try:
        services.start_in_order()
        deadline = time.monotonic() + ALERT_TIMEOUT_S
        alert: dict[str, Any] | None = None
        while alert is None and time.monotonic() < deadline:
            events = [json.loads(p) for t, p in observer.received() if t == topics.ALERTS]
            alert = next((e for e in events if e.get("event") == "new"), None)
            for name, proc in services.procs.items():
                assert proc.poll() is None, f"{name} exited {proc.returncode}\n{services.logs()}"
            time.sleep(0.5)
        towers = {t for t, _ in observer.received() if topics.parse_tower_topic(t)}
        assert alert is not None, (f"no alert in {ALERT_TIMEOUT_S:g} s; tower topics seen: "
                                   f"{sorted(towers)[:5]} (tower client ids must equal tower "
                                   f"ids, see docs/docker.md)\n{services.logs()}")
        for name in PYTHON_SERVICES:
            assert services.healthy(name), f"{name} unhealthy\n{services.logs()}"
        listed: list[str] = []
        while alert["alert_id"] not in listed and time.monotonic() < deadline:
            page = httpx.get(f"{services.api_url}/api/v1/alerts", timeout=5).json()
            listed = [item["alert_id"] for item in page["items"]]
            time.sleep(0.5)
        assert alert["alert_id"] in listed, f"{alert} not served\n{services.logs()}"
    finally:
        observer.close()
