"""``kill -9`` of the fusion service mid-scenario, started again on the same store and MQTT
session: reports sent meanwhile are delivered by the broker, numbering continues from the
store, no alert id is used twice."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from requirements import unavailable

from perimeter import topics
from perimeter.bus import Message
from perimeter.contract import AlertEvent, FusionStatus, parse_payload
from perimeter.store import AlertStore
from services.broker import child_env, find_mosquitto
from services.mqtt import MqttBus, MqttOptions
from tests.conftest import _free_port
from tests.reliability.live import (
    DurableMosquitto,
    LiveFusion,
    LiveTowers,
    report_key,
    wait_for,
)
from tests.reliability.streams import crossing_spec, fuse, simulate

pytestmark = pytest.mark.integration

SPEED = 5.0
DURATION_S = 60.0
KILL_AT_S = 4.0  # wall: 20 s of data time, the vehicle's alert is open
DOWN_S = 2.0  # wall: 10 s of data time queued in the broker for the fusion session


@dataclass
class RestartRun:
    expected: list[tuple[str, int]]
    taken: list[list[tuple[str, int]]]
    events: list[AlertEvent]  # from the store, in commit order
    clean: list[AlertEvent]
    epoch_s: float


def read_taken(path: Path) -> list[tuple[str, int]]:
    """The reports a fusion child took, as it wrote them (none before it has started)."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        topic, seq = line.rsplit(" ", 1)
        if seq != "None":
            out.append((topic, int(seq)))
    return out


def start_fusion(broker: DurableMosquitto, db_url: str, taken: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tests.reliability.fusion_child",
                             broker.url, db_url, str(taken)], env=child_env(),
                            stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def restart_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartRun]:
    if find_mosquitto() is None:
        unavailable("no mosquitto binary")
    tmp = tmp_path_factory.mktemp("fusion-restart")
    broker = DurableMosquitto(_free_port(), tmp / "mosquitto")
    broker.start()
    scenario, reference = simulate(crossing_spec(DURATION_S))
    db_url = f"sqlite:///{tmp / 'alerts.db'}"
    statuses: list[FusionStatus] = []

    def on_status(message: Message) -> None:
        statuses.append(parse_payload(FusionStatus, message.payload))

    watcher = MqttBus(MqttOptions(host=broker.host, port=broker.port, client_id="rel-watch"))
    watcher.subscribe(topics.FUSION_STATUS, on_status)
    watcher.start(10.0)
    taken = [tmp / "taken-1.txt", tmp / "taken-2.txt"]
    procs = [start_fusion(broker, db_url, taken[0])]
    try:
        assert wait_for(lambda: any(s.state == "online" for s in statuses), 30.0)
        towers = LiveTowers(broker.url, scenario, SPEED).start()
        time.sleep(KILL_AT_S)
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait()
        time.sleep(DOWN_S)
        procs.append(start_fusion(broker, db_url, taken[1]))
        assert towers.join(DURATION_S / SPEED + 60.0)
        expected = [k for k in map(report_key, reference) if k is not None]
        # a busy machine may take long to start the second child (imports, compiled kernels)
        wait_for(lambda: set(expected) <= set(read_taken(taken[0]) + read_taken(taken[1])),
                 120.0)
        procs[1].send_signal(signal.SIGTERM)
        assert procs[1].wait(30.0) == 0
        with AlertStore.open(db_url) as store:
            events = [e for _, e in store.events_after(0, 10_000)]
        yield RestartRun(expected, [read_taken(p) for p in taken], events,
                         fuse(scenario, reference)[1].alerts, scenario.epoch_s)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        watcher.close()
        broker.stop()


def number(alert_id: str) -> int:
    return int(alert_id.rsplit("-", 1)[1])


def test_no_report_is_lost_across_the_restart(restart_run: RestartRun) -> None:
    first, second = restart_run.taken
    assert first and second
    lost = set(restart_run.expected) - set(first) - set(second)
    assert not lost, f"{len(lost)} of {len(restart_run.expected)} reports never fused"
    repeats = set(first) & set(second)
    alerts = [(e.event, e.alert_id, e.class_, round(e.t_s - restart_run.epoch_s, 1))
              for e in restart_run.events if e.event != "update"]
    print(f"fusion 1 fused {len(first)}, fusion 2 fused {len(second)} reports "
          f"({len(repeats)} fused by both) of {len(restart_run.expected)}; alerts {alerts}")
    assert len(repeats) <= 50, "the session replays only what was in flight at the kill"


def test_numbering_continues_and_no_alert_id_is_used_twice(restart_run: RestartRun) -> None:
    news = [e for e in restart_run.events if e.event == "new"]
    assert Counter(e.alert_id for e in news).most_common(1)[0][1] == 1
    numbers = [number(e.alert_id) for e in news]
    assert numbers == sorted(numbers) == list(range(1, len(numbers) + 1))
    vehicle = [e for e in news if e.class_ == "vehicle"]
    assert vehicle and vehicle[0].alert_id == "a-000001"


def test_the_vehicle_is_alerted_after_the_restart_too(restart_run: RestartRun) -> None:
    killed_t_s = restart_run.epoch_s + KILL_AT_S * SPEED
    after = [e for e in restart_run.events if e.class_ == "vehicle" and e.t_s > killed_t_s + 5]
    assert after, "fusion resumed and follows the vehicle"


def test_open_alerts_continue_across_the_restart(restart_run: RestartRun) -> None:
    vehicle_ids = {e.alert_id for e in restart_run.events if e.class_ == "vehicle"}
    assert vehicle_ids == {e.alert_id for e in restart_run.clean if e.class_ == "vehicle"}


def test_a_crash_with_a_backlog_loses_no_report(durable_mosquitto: DurableMosquitto) -> None:
    scenario, reference = simulate(crossing_spec(DURATION_S))
    reports = [m for m in reference if report_key(m) is not None][:300]
    gate = threading.Event()
    fused: list[tuple[str, int]] = []

    def slow_fusion(message: Message) -> None:
        gate.wait()  # the worker is busy: everything else waits in the service's queue
        key = report_key(message)
        if key is not None:
            fused.append(key)

    first = LiveFusion(durable_mosquitto.url, scenario, client_id="rel-crash")
    first.service.feed = slow_fusion  # what the worker hands each message to
    first.start()
    publisher = MqttBus(MqttOptions(host=durable_mosquitto.host, port=durable_mosquitto.port,
                                    client_id="rel-crash-towers"))
    publisher.start(10.0)
    for message in reports:
        publisher.publish(message)
    assert publisher.flush(20.0)
    assert wait_for(lambda: len(first.taken) >= 10, 20.0)  # the broker's inflight window
    first.bus.abort()  # crash: the socket closes without DISCONNECT, the queue is gone
    first.service.publish_status = lambda state="online": None  # type: ignore[method-assign]
    second = LiveFusion(durable_mosquitto.url, scenario, client_id="rel-crash").start()
    wait_for(lambda: len(second.taken) >= len(reports), 10.0)
    second.stop()
    publisher.close()
    gate.set()
    assert set(second.taken) | set(fused) >= {report_key(m) for m in reports}
