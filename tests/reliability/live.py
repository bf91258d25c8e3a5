"""Live harness of the reliability tests and the load bench: a crash-safe mosquitto, towers
publishing a scenario in real time, and a fusion service whose intake is recorded."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

from perimeter import topics
from perimeter.bus import Message
from perimeter.config import SimSettings
from perimeter.contract import AlertEvent
from perimeter.fusion.runner import FusionRunner
from perimeter.thresholds import Thresholds
from services.broker import find_mosquitto, mosquitto_config, port_is_free, wait_listening
from services.fusion_service import FusionService
from services.mqtt import MqttBus, MqttOptions
from services.tower_publisher import MqttUplink
from sim.scenario import Scenario
from sim.world import World
from tests.services.mqtt_helpers import wait_until

ReportKey = tuple[str, int]


class DurableMosquitto:
    """mosquitto saving its sessions and queues every ``autosave_s`` (so a ``kill -9`` loses
    at most that much broker state); ``kill9()`` then ``start()`` on the same port."""

    def __init__(self, port: int, data_dir: Path, autosave_s: int = 1,
                 max_queued: int = 100_000, host: str = "127.0.0.1") -> None:
        self.host, self.port, self.data_dir = host, port, data_dir
        self.autosave_s, self.max_queued = autosave_s, max_queued
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self, timeout_s: float = 15.0) -> None:
        binary = find_mosquitto()
        assert binary is not None, "no mosquitto binary"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "mosquitto.conf"
        conf.write_text(mosquitto_config(self.port, self.data_dir, self.host, self.max_queued)
                        + f"autosave_interval {self.autosave_s}\nsys_interval 1\n",
                        encoding="utf-8")
        deadline = time.monotonic() + timeout_s
        while not port_is_free(self.host, self.port) and time.monotonic() < deadline:
            time.sleep(0.05)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([binary, "-c", str(conf)], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)
        wait_listening(self.host, self.port, timeout_s, self.proc)

    def kill9(self) -> None:
        """SIGKILL: no clean shutdown, no final save; clients see the connection drop."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def report_key(message: Message) -> ReportKey | None:
    """``(topic, seq)`` of a sensor report; None for anything else."""
    parsed = topics.parse_tower_topic(message.topic)
    if parsed is None or parsed.channel is topics.TowerChannel.STATUS:
        return None
    try:
        return message.topic, int(json.loads(message.payload)["seq"])
    except (ValueError, KeyError, TypeError):
        return None


wait_for = wait_until  # the name the reliability tests use


class LiveFusion:
    """The fusion service as ``run_fusion`` builds it (persistent session, acknowledging each
    message once fused); records every report it takes in and every alert it stores."""

    def __init__(self, broker_url: str, scenario: Scenario, client_id: str = "rel-fusion",
                 first_alert_number: int = 1) -> None:
        host, port = broker_url.removeprefix("mqtt://").split(":")
        self.bus = MqttBus(MqttOptions(host=host, port=int(port), client_id=client_id,
                                       reconnect_min_s=1, reconnect_max_s=2, manual_ack=True))
        self.alerts: list[AlertEvent] = []
        self.taken: list[ReportKey] = []
        self._lock = threading.Lock()
        self.service = FusionService(self.bus, lambda out: FusionRunner(
            scenario.site_model, Thresholds(), out, first_alert_number=first_alert_number),
            self._store)
        self.bus.subscribe(topics.TOWER_WILDCARD, self._record)

    def _store(self, event: AlertEvent) -> None:
        with self._lock:
            self.alerts.append(event)

    def _record(self, message: Message) -> None:
        key = report_key(message)
        if key is not None:
            with self._lock:
                self.taken.append(key)

    def start(self) -> LiveFusion:
        self.service.start()
        self.bus.start(15.0)
        return self

    def stop(self) -> None:
        self.service.wait_idle(30.0)
        self.service.stop()
        self.bus.close()

    @property
    def counters(self) -> dict[str, int]:
        return dict(self.service.runner.counters)


class LiveTowers:
    """A scenario's towers in real time (``speed`` x) on the broker, one client per tower."""

    def __init__(self, broker_url: str, scenario: Scenario, speed: float) -> None:
        self.uplink = MqttUplink(SimSettings(broker_url=broker_url, speed=speed))
        self.world = World(scenario, self.uplink)
        self.speed = speed
        self.flushed = False
        self.counters: dict[str, int] = {}
        self.thread = threading.Thread(target=self._run, name="live-towers", daemon=True)

    def _run(self) -> None:
        try:
            self.world.run(speed=self.speed)
        finally:
            self.counters = self.uplink.counters
            self.uplink.close(60.0, announce_offline=False)  # no end-of-run wills
            self.flushed = True

    def start(self) -> LiveTowers:
        self.thread.start()
        return self

    def join(self, timeout_s: float) -> bool:
        self.thread.join(timeout_s)
        return not self.thread.is_alive()
