"""The repository's mosquitto config, password script and ACL, run by the system's mosquitto
2.0 on a free loopback port: who may connect, and who may publish where."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from deploy_helpers import (
    TEST_PASSWORDS,
    TEST_TOWERS_SECRET,
    Client,
    RepoBroker,
    free_port,
    interpolate,
    load_compose,
    mosquitto_version,
    password_of,
    repo_broker,
)
from requirements import unavailable

from perimeter import topics

pytestmark = pytest.mark.integration

MARK = b"marker"
DENIED = "Not authorized"
ACCEPTED = {"Success", "No matching subscribers"}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RepoBroker]:
    version = mosquitto_version()
    if version is None:
        unavailable("no mosquitto binary (apt-get install -y mosquitto)")
    if not version.startswith("2.0."):
        unavailable(f"mosquitto {version}: the repository's config targets 2.0.x")
    with repo_broker(tmp_path_factory.mktemp("mosquitto"), free_port(), TEST_PASSWORDS) as b:
        yield b


@pytest.fixture
def connect(broker: RepoBroker) -> Iterator[Callable[..., Client]]:
    """Connected clients by role (``None`` for anonymous); all closed after the test."""
    made: list[Client] = []

    def make(role: str | None, client_id: str, password: str | None = None) -> Client:
        pw = password if password is not None else password_of(role or "")
        client = Client(broker.port, role, pw if role else None, client_id)
        made.append(client)
        reason = client.connect()
        assert reason is not None and not reason.is_failure, f"{role}/{client_id}: {reason}"
        return client

    yield make
    for client in made:
        client.close()


def refused(broker: RepoBroker, role: str | None, password: str | None, client_id: str) -> str:
    client = Client(broker.port, role, password, client_id)
    try:
        reason = client.connect()
    finally:
        client.close()
    assert reason is not None, "no CONNACK"
    assert reason.is_failure, f"{role}/{client_id} was let in"
    return str(reason)


def test_anonymous_client_is_refused(broker: RepoBroker) -> None:
    assert refused(broker, None, None, "T01") == "Not authorized"


@pytest.mark.parametrize("role", ["T01", "fusion", "api", "health"])
def test_wrong_password_is_refused(broker: RepoBroker, role: str) -> None:
    assert refused(broker, role, password_of(role) + "x", f"{role}-1") in {
        "Bad user name or password", "Not authorized"}


def test_tower_publishes_only_under_its_own_id(connect: Callable[..., Client]) -> None:
    watcher = connect("fusion", "fusion")  # reads every tower topic
    watcher.subscribe("perimeter/v1/towers/#")
    api = connect("api", "api")  # reads alerts, tracks, fusion status and thresholds
    for topic_filter in (topics.ALERTS, topics.TRACKS, topics.FUSION_STATUS,
                         topics.THRESHOLDS, "perimeter/v1/towers/#"):
        api.subscribe(topic_filter)
    t03 = connect("T03", "T03-a1")
    for topic in (topics.sensor("T04", "thermal"), topics.tower_status("T04"), topics.ALERTS,
                  topics.TRACKS, topics.FUSION_STATUS, topics.THRESHOLDS, topics.DEADLETTER,
                  "perimeter/v1/towers/T03x/thermal"):
        assert t03.publish(topic, b"forged") == DENIED, topic
    own = [topics.sensor("T03", "thermal"), topics.sensor("T03", "acoustic"),
           topics.tower_status("T03")]
    for topic in own:
        assert t03.publish(topic, b"own") in ACCEPTED, topic
    t03.publish(own[0], MARK)  # one publisher's messages arrive in order: this one comes last
    assert watcher.wait_for(own[0], MARK) and api.wait_for(own[0], MARK)
    assert [t for t, p in watcher.received() if p == b"own"] == own
    assert all(payload != b"forged" for _, payload in watcher.received() + api.received())


def test_each_tower_logs_in_only_with_the_password_derived_for_it(broker: RepoBroker) -> None:
    from perimeter.access import tower_password

    assert refused(broker, "T02", password_of("T03"), "T02-e5") in {
        "Bad user name or password", "Not authorized"}
    assert refused(broker, "T02", tower_password(TEST_TOWERS_SECRET + "x", "T02"), "T02-e6") in {
        "Bad user name or password", "Not authorized"}
    assert refused(broker, "towers", "anything", "T02") in {  # no shared towers login any more
        "Bad user name or password", "Not authorized"}


def test_a_tower_cannot_write_another_towers_topics_whatever_its_client_id(
        connect: Callable[..., Client]) -> None:
    watcher = connect("fusion", "fusion-watch-2")
    watcher.subscribe("perimeter/v1/towers/T06/#")
    impostor = connect("T04", "T06")  # T04's login with T06's bare id as client id
    assert impostor.publish(topics.sensor("T06", "thermal"), b"forged") == DENIED
    assert all(p != b"forged" for _, p in watcher.received())


def test_other_roles_cannot_pose_as_a_tower(connect: Callable[..., Client]) -> None:
    watcher = connect("fusion", "fusion-watch")
    watcher.subscribe("perimeter/v1/towers/#")
    for role in ("api", "fusion", "health"):
        impostor = connect(role, "T05")
        assert impostor.publish(topics.sensor("T05", "thermal"), b"forged") == DENIED, role
        impostor.close()
    real = connect("T05", "T05-b2")
    real.publish(topics.sensor("T05", "thermal"), MARK)
    assert watcher.wait_for(topics.sensor("T05", "thermal"), MARK)
    assert [p for _, p in watcher.received()] == [MARK]


def test_fusion_writes_its_topics_and_api_writes_thresholds(
        connect: Callable[..., Client]) -> None:
    api = connect("api", "api")
    for topic_filter in (topics.ALERTS, topics.TRACKS, topics.FUSION_STATUS):
        api.subscribe(topic_filter)
    fusion = connect("fusion", "fusion")
    fusion.subscribe(topics.THRESHOLDS)
    assert fusion.publish(topics.THRESHOLDS, b"forged") == DENIED  # only the API sets them
    for topic in (topics.ALERTS, topics.TRACKS, topics.FUSION_STATUS):
        assert fusion.publish(topic, b"fused") in ACCEPTED, topic
    assert api.publish(topics.ALERTS, b"forged") == DENIED  # the API may not raise alerts
    assert api.publish(topics.THRESHOLDS, b'{"alert.min_confidence": 0.9}', retain=True) in ACCEPTED
    assert fusion.wait_for(topics.THRESHOLDS, b'{"alert.min_confidence": 0.9}')
    assert api.wait_for(topics.FUSION_STATUS, b"fused")
    assert [(t, p) for t, p in api.received()] == [
        (topics.ALERTS, b"fused"), (topics.TRACKS, b"fused"), (topics.FUSION_STATUS, b"fused")]
    assert all(p != b"forged" for _, p in fusion.received())


def test_dead_letters_are_written_by_services_only(connect: Callable[..., Client]) -> None:
    fusion, api = connect("fusion", "fusion"), connect("api", "api")
    tower = connect("T07", "T07-c3")
    assert fusion.publish(topics.DEADLETTER, b"dead") in ACCEPTED
    assert api.publish(topics.DEADLETTER, b"dead") in ACCEPTED
    assert tower.publish(topics.DEADLETTER, b"dead") == DENIED
    for client in (fusion, api, tower):  # reading them is an operator's job, not a service's
        client.subscribe(topics.DEADLETTER)
    fusion.subscribe(topics.tower_status("T07"))
    assert fusion.publish(topics.DEADLETTER, b"dead") in ACCEPTED
    assert tower.publish(topics.tower_status("T07"), MARK) in ACCEPTED
    assert fusion.wait_for(topics.tower_status("T07"), MARK)
    assert all(t != topics.DEADLETTER for c in (fusion, api, tower) for t, _ in c.received())


def _broker_healthcheck(broker: RepoBroker, password: str) -> subprocess.CompletedProcess[str]:
    test = load_compose()["services"]["mosquitto"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    command = interpolate(test[1], {}).replace("-p 1883", f"-p {broker.port}")
    return subprocess.run(["sh", "-c", command], env={"PATH": "/usr/bin:/bin",
                          "MQTT_HEALTH_PASSWORD": password},
                          capture_output=True, text=True, timeout=15, check=False)


def test_compose_broker_healthcheck_needs_the_health_password(broker: RepoBroker) -> None:
    assert _broker_healthcheck(broker, TEST_PASSWORDS["health"]).returncode == 0
    assert _broker_healthcheck(broker, "wrong").returncode != 0


def test_password_script_refuses_a_missing_password(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "make-passwd.sh"
    result = subprocess.run(["sh", str(script), str(tmp_path / "passwd")],
                            env={"PATH": "/usr/bin:/bin", "MQTT_TOWERS_SECRET": "x"},
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "MQTT_FUSION_PASSWORD is empty or unset" in result.stderr
    assert not (tmp_path / "passwd").exists()


@pytest.mark.parametrize(("will_tower", "delivered"), [("T08", True), ("T09", False)])
def test_a_tower_will_is_published_only_on_its_own_topic(
        broker: RepoBroker, connect: Callable[..., Client], will_tower: str,
        delivered: bool) -> None:
    watcher = connect("fusion", "fusion")
    watcher.subscribe(topics.tower_status(will_tower))
    tower = Client(broker.port, "T08", password_of("T08"), "T08-d4")
    tower.paho.will_set(topics.tower_status(will_tower), b'{"state": "offline"}', qos=1)
    reason = tower.connect()
    if not delivered and reason.is_failure:  # a broker may refuse a forbidden will outright
        tower.close()
        return
    assert not reason.is_failure
    tower.paho.loop_stop()
    sock = tower.paho.socket()
    assert isinstance(sock, socket.socket)
    sock.shutdown(socket.SHUT_RDWR)  # vanish without DISCONNECT: the will fires
    sock.close()
    arrived = watcher.wait_for(topics.tower_status(will_tower), b'{"state": "offline"}', 3.0)
    assert arrived is delivered


def test_broker_scripts_are_posix_sh_and_use_the_config_paths() -> None:
    folder = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
    for script in ("make-passwd.sh", "start.sh"):
        subprocess.run(["sh", "-n", str(folder / script)], check=True)
    start = (folder / "start.sh").read_text()
    conf = (folder / "mosquitto.conf").read_text()
    assert "make-passwd.sh /mosquitto/auth/passwd" in start
    assert "password_file /mosquitto/auth/passwd" in conf
    assert "cp /perimeter-deploy/acl /mosquitto/auth/acl" in start
    assert "acl_file /mosquitto/auth/acl" in conf
    assert "exec /usr/sbin/mosquitto -c /perimeter-deploy/mosquitto.conf" in start
