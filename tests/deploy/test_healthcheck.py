"""deploy/healthcheck.py, the compose health probes, against the repository's broker config and
a small HTTP server: healthy only when the service's own status says so."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType

import pytest
from deploy_helpers import (
    REPO,
    TEST_PASSWORDS,
    TEST_TOWERS_SECRET,
    Client,
    RepoBroker,
    free_port,
    mosquitto_version,
    password_of,
    repo_broker,
)
from requirements import unavailable

from perimeter import topics

pytestmark = pytest.mark.integration


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("perimeter_healthcheck",
                                                  REPO / "deploy" / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


healthcheck = _load()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RepoBroker]:
    version = mosquitto_version()
    if version is None or not version.startswith("2.0."):
        unavailable(f"needs mosquitto 2.0.x, found {version}")
    with repo_broker(tmp_path, free_port(), TEST_PASSWORDS) as started:
        yield started


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str]]:
    """Run the probe of ``service`` with that service's PERIMETER_* variables."""

    def probe(service: str, broker_url: str = "", role: str = "", password: str = "",
              **env: str) -> tuple[int, str]:
        monkeypatch.setenv("PERIMETER_BROKER_URL", broker_url or "mqtt://127.0.0.1:1")
        monkeypatch.setenv("PERIMETER_MQTT_USERNAME", role or "nobody")
        monkeypatch.setenv("PERIMETER_MQTT_PASSWORD", password or TEST_PASSWORDS.get(role, "x"))
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        code = healthcheck.main([service, "--timeout-s", "1"])
        out = capsys.readouterr()
        return code, out.out + out.err

    return probe


def publish_retained(broker: RepoBroker, role: str, client_id: str, topic: str,
                     payload: bytes) -> None:
    client = Client(broker.port, role, password_of(role), client_id)
    assert not client.connect().is_failure
    assert client.publish(topic, payload, retain=True) in {"Success", "No matching subscribers"}
    client.close()


def test_fusion_is_healthy_only_while_its_status_says_online(
        broker: RepoBroker, run: Callable[..., tuple[int, str]]) -> None:
    assert run("fusion", broker.url, "fusion") == (
        1, f"unhealthy: fusion: no status on {topics.FUSION_STATUS} within 1 s\n")
    publish_retained(broker, "fusion", "fusion", topics.FUSION_STATUS, b'{"state": "offline"}')
    code, text = run("fusion", broker.url, "fusion")
    assert code == 1 and "offline" in text
    publish_retained(broker, "fusion", "fusion", topics.FUSION_STATUS, b'{"state": "online"}')
    assert run("fusion", broker.url, "fusion") == (0, "healthy: fusion: fusion is online\n")


def test_sim_is_healthy_while_any_tower_is_up(
        broker: RepoBroker, run: Callable[..., tuple[int, str]]) -> None:
    publish_retained(broker, "T01", "T01-a", topics.tower_status("T01"), b'{"state": "offline"}')
    publish_retained(broker, "T02", "T02-a", topics.sensor("T02", "thermal"), b"{}")
    secret = {"PERIMETER_TOWER_SECRET": TEST_TOWERS_SECRET}  # the probe logs in as tower T01
    code, text = run("sim", broker.url, **secret)
    assert code == 1 and "offline" in text
    publish_retained(broker, "T02", "T02-a", topics.tower_status("T02"), b'{"state": "degraded"}')
    assert run("sim", broker.url, **secret) == (0, "healthy: sim: a tower is degraded\n")
    code, text = run("sim", broker.url, PERIMETER_TOWER_SECRET="wrong")
    assert code == 1 and "refused" in text


def test_refused_credentials_and_an_absent_broker_are_unhealthy(
        broker: RepoBroker, run: Callable[..., tuple[int, str]]) -> None:
    code, text = run("fusion", broker.url, "fusion", password="wrong")
    assert code == 1 and "refused the credentials" in text
    code, text = run("fusion", f"mqtt://127.0.0.1:{free_port()}", "fusion")
    assert code == 1 and "unreachable" in text


def test_a_bad_setting_is_unhealthy_not_a_crash(run: Callable[..., tuple[int, str]]) -> None:
    code, text = run("fusion", "http://nowhere")
    assert code == 1 and "broker_url" in text


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_api_probe_asks_healthz_on_the_api_port(
        run: Callable[..., tuple[int, str]], status: int, healthy: bool) -> None:
    handler = type("Handler", (_Health,), {"status": status})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        code, text = run("api", PERIMETER_API_HOST="0.0.0.0",
                         PERIMETER_API_PORT=str(server.server_port))
    finally:
        server.shutdown()
        server.server_close()
    url = f"http://127.0.0.1:{server.server_port}/healthz"
    assert (code, url in text) == ((0 if healthy else 1), True)


def test_api_probe_fails_when_nothing_listens(run: Callable[..., tuple[int, str]]) -> None:
    code, text = run("api", PERIMETER_API_PORT=str(free_port()))
    assert code == 1 and "failed" in text
