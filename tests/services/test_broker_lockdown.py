"""The lock-down of ``perimeter up``'s embedded broker, on a real mosquitto and on amqtt
(findings 1 and 2 of issue 17): anonymous clients read but cannot write, a tower writes only
its own topics, only the API writes the thresholds, only fusion writes alerts, and a last will
obeys the same rules."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from perimeter import topics
from perimeter.access import Login, Logins, generate_logins
from perimeter.bus import Message
from perimeter.config import SimSettings
from perimeter.contract import TowerStatus, dump_payload
from services.broker import EmbeddedBroker, find_mosquitto
from services.mqtt import MqttBus, MqttConnectError, MqttOptions
from services.tower_publisher import MqttUplink
from tests.services.mqtt_helpers import Inbox, wait_until

pytestmark = pytest.mark.integration

ATTACK = json.dumps({"alert.classes": ["animal"], "thermal.min_snr_db": 40}).encode()


@pytest.fixture(params=["mosquitto", "amqtt"])
def locked(request: pytest.FixtureRequest,
           free_port: Callable[[], int]) -> Iterator[tuple[EmbeddedBroker, Logins]]:
    if request.param == "mosquitto" and find_mosquitto() is None:
        pytest.skip("no mosquitto binary")
    logins = generate_logins(["T01", "T02"])
    broker = EmbeddedBroker(free_port(), request.param, logins=logins).start()
    try:
        yield broker, logins
    finally:
        broker.stop()


def client(broker: EmbeddedBroker, login: Login | None = None,
           will: Message | None = None, timeout_s: float = 10.0) -> MqttBus:
    options = MqttOptions(host=broker.host, port=broker.port, session_expiry_s=0)
    if login is not None:
        options = replace(options, username=login.username, password=login.password,
                          client_id=login.client_id)
    bus = MqttBus(options, will=will)
    bus.start(timeout_s)
    return bus


def watcher(broker: EmbeddedBroker) -> tuple[MqttBus, Inbox]:
    """An anonymous reader of everything (what the README's mosquitto_sub does)."""
    bus, inbox = client(broker), Inbox()
    bus.subscribe(f"{topics.PREFIX}/#", inbox)
    assert wait_until(lambda: bus.connected.is_set(), 5.0)
    return bus, inbox


def payloads(inbox: Inbox, topic: str) -> list[bytes]:
    return [m.payload for m in inbox.on(topic)]


def test_anonymous_clients_read_but_cannot_change_the_thresholds(
        locked: tuple[EmbeddedBroker, Logins]) -> None:
    broker, logins = locked
    reader, inbox = watcher(broker)
    attacker = client(broker)
    attacker.publish(Message(topics.THRESHOLDS, ATTACK, retain=True))
    attacker.publish(Message(topics.ALERTS, b'{"event": "new"}'))
    attacker.publish(Message(topics.sensor("T01", "thermal"), b"{}"))
    assert attacker.flush(5.0)
    api = client(broker, logins.api)
    api.publish(Message(topics.THRESHOLDS, b'{"thermal.min_snr_db": 6}', retain=True))
    assert api.flush(5.0)
    assert wait_until(lambda: payloads(inbox, topics.THRESHOLDS), 10.0)
    assert payloads(inbox, topics.THRESHOLDS) == [b'{"thermal.min_snr_db": 6}']
    assert inbox.on(topics.ALERTS) == [] and inbox.on(f"{topics.PREFIX}/towers/#") == []
    late, retained = watcher(broker)  # the retained thresholds are the API's
    assert wait_until(lambda: payloads(retained, topics.THRESHOLDS), 10.0)
    assert set(payloads(retained, topics.THRESHOLDS)) == {b'{"thermal.min_snr_db": 6}'}
    for bus in (reader, attacker, api, late):
        bus.close()


def test_a_tower_writes_only_its_own_topics(locked: tuple[EmbeddedBroker, Logins]) -> None:
    broker, logins = locked
    reader, inbox = watcher(broker)
    t01 = client(broker, logins.towers["T01"])
    for topic in (topics.sensor("T02", "thermal"), topics.tower_status("T02"), topics.ALERTS,
                  topics.THRESHOLDS, topics.FUSION_STATUS):
        t01.publish(Message(topic, b'{"spoofed": true}', retain=topic.endswith("status")))
    t01.publish(Message(topics.sensor("T01", "thermal"), b'{"own": true}'))
    assert t01.flush(5.0)
    assert wait_until(lambda: inbox.on(topics.sensor("T01", "thermal")), 10.0)
    assert [m.topic for m in inbox.messages] == [topics.sensor("T01", "thermal")]
    fusion = client(broker, logins.fusion)  # fusion writes alerts; the API does not
    api = client(broker, logins.api)
    api.publish(Message(topics.ALERTS, b'{"from": "api"}'))
    assert api.flush(5.0)
    fusion.publish(Message(topics.ALERTS, b'{"from": "fusion"}'))
    assert fusion.flush(5.0)
    assert wait_until(lambda: inbox.on(topics.ALERTS), 10.0)
    assert payloads(inbox, topics.ALERTS) == [b'{"from": "fusion"}']
    for bus in (reader, t01, fusion, api):
        bus.close()


def test_a_will_obeys_the_same_rules(locked: tuple[EmbeddedBroker, Logins]) -> None:
    broker, logins = locked
    reader, inbox = watcher(broker)
    spoof = Message(topics.tower_status("T02"), b'{"state": "offline"}', retain=True)
    # amqtt refuses these clients at CONNECT; mosquitto lets them in and drops their wills
    for login, will in ((None, Message(topics.THRESHOLDS, ATTACK, retain=True)),
                        (logins.towers["T01"], spoof)):
        try:
            client(broker, login, will=will, timeout_s=3.0).abort()
        except MqttConnectError:
            assert broker.impl == "amqtt"
    own = client(broker, logins.towers["T02"],
                 will=Message(topics.tower_status("T02"), b'{"state": "gone"}', retain=True))
    own.abort()  # T02's own will does fire
    assert wait_until(lambda: inbox.on(topics.tower_status("T02")), 30.0)
    assert payloads(inbox, topics.tower_status("T02")) == [b'{"state": "gone"}']
    assert inbox.on(topics.THRESHOLDS) == []
    reader.close()


def test_wrong_passwords_and_bare_tower_ids_get_nowhere(
        locked: tuple[EmbeddedBroker, Logins]) -> None:
    broker, logins = locked
    reader, inbox = watcher(broker)
    t01 = client(broker, logins.towers["T01"])
    with pytest.raises(MqttConnectError):
        client(broker, replace(logins.towers["T01"], password="guess"), timeout_s=3.0)
    if broker.impl == "amqtt":  # mosquitto 2.0 cannot bind a login to its client id
        with pytest.raises(MqttConnectError):  # T02's password with T01's client id
            client(broker, replace(logins.towers["T02"],
                                   client_id=logins.towers["T01"].client_id), timeout_s=3.0)
    squatter = MqttBus(MqttOptions(host=broker.host, port=broker.port, client_id="T01",
                                   session_expiry_s=0))
    squatter.start(5.0)  # the bare tower id is not the tower's client id: no takeover
    t01.publish(Message(topics.sensor("T01", "thermal"), b'{"still": "here"}'))
    assert t01.flush(5.0) and t01.counters["disconnects"] == 0
    assert wait_until(lambda: inbox.on(topics.sensor("T01", "thermal")), 10.0)
    for bus in (reader, t01, squatter):
        bus.close()



def test_a_tower_reads_its_own_status_and_sets_a_late_will_right(
        locked: tuple[EmbeddedBroker, Logins], tmp_path: Path) -> None:
    """The tower's watch of its own status (``services/will_watch.py``) works under the
    lock-down: the tower may read its status topic and its correction is its own write."""
    broker, logins = locked
    reader, inbox = watcher(broker)
    logins.save_towers(tmp_path / "towers.json")
    uplink = MqttUplink(SimSettings(broker_url=f"mqtt://{broker.host}:{broker.port}",
                                    tower_logins_file=str(tmp_path / "towers.json")))
    status = topics.tower_status("T01")
    will = dump_payload(TowerStatus(tower_id="T01", state="offline"))
    online = dump_payload(TowerStatus(tower_id="T01", state="online", t_s=1.0))
    uplink.attach("T01", Message(status, will, retain=True, qos=1))
    uplink.publish(Message(status, online, retain=True, qos=1))
    assert wait_until(lambda: uplink.counters["received"] >= 1, 10.0), "read its own status"
    if broker.impl == "mosquitto":  # amqtt binds the login to one client id: no second one
        old_session = client(broker, replace(logins.towers["T01"], client_id="T01-old"))
        old_session.publish(Message(status, will, retain=True, qos=1))  # its will, late
        assert old_session.flush(5.0)
        assert wait_until(lambda: payloads(inbox, status)[-2:] == [will, online], 10.0)
        assert uplink.counters["will_corrected"] == 1
        old_session.close()
    uplink.close(announce_offline=False)
    reader.close()
