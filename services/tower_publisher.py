"""The tower publisher: the simulated towers on a real broker, one paho client per tower.

Without tower logins each tower uses the settings' login with the bare tower id (``T03``) as
its client id (a fixed id: its persistent session survives a reconnect, on any node of a
clustered broker). Given a cluster's nodes, the towers are spread over them in turn (the
first tower starts on the first node, the second on the second, ...), each failing over to
the next node when its own is lost; while disconnected a tower keeps its reports in order.
With ``tower_logins_file`` (``perimeter up``) or ``tower_secret`` (compose) each
tower logs in as its own id, with a client id that has a random part. Each carries the tower's
last will (its retained ``offline`` status), so the broker itself announces a tower lost
abruptly (``drop``). A broker may fire the will of a tower that is still running (a
clustered broker's node dies and the others close the connections waiting on it, see
docs/scale.md): a tower's status is therefore announced (:meth:`MqttBus.announce`): its client
sends its latest status again as soon as it reconnects, as a device's birth message after
every connection. A will that arrives after that birth (a clustered broker's delayed one)
is set right by the tower itself: its client watches its own status topic (QoS 0, no
JetStream consumer on NATS) and announces its status again when it hears its own will
(:class:`services.will_watch.WillWatch`; counters ``will_corrected``, ``will_held``).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import replace
from types import FrameType
from typing import TYPE_CHECKING

from paho.mqtt.enums import MQTTProtocolVersion as Proto

from perimeter import topics
from perimeter.access import Login, derived_tower_login, load_tower_logins
from perimeter.bus import Message
from perimeter.config import SimSettings
from services.mqtt import MqttBus, MqttOptions
from services.will_watch import WillWatch

if TYPE_CHECKING:
    from sim.scenario import Scenario

log = logging.getLogger(__name__)

REPLAY_WINDOW_S = 5.0
"""Reports sent this long before a lost broker connection are sent again after the reconnect
(a crashed broker may have acknowledged and lost them); fusion drops the repeats by seq."""


class MqttUplink:
    """:class:`sim.uplink.TowerUplink` over MQTT: one client per tower, with its will."""

    def __init__(self, settings: SimSettings, connect_timeout_s: float = 30.0) -> None:
        self.settings = settings
        self.connect_timeout_s = connect_timeout_s
        self._clients: dict[str, MqttBus] = {}
        self._wills: dict[str, Message] = {}
        self._lock = threading.Lock()
        self._nodes: dict[str, int] = {}  # tower id -> the cluster node it starts on (index)
        self._mqtt5 = True
        self._logins: dict[str, Login] | None = (
            load_tower_logins(settings.tower_logins_file) if settings.tower_logins_file
            else None)

    def _connect(self, tower_id: str, will: Message | None) -> MqttBus:
        first_node = self._nodes.setdefault(tower_id, len(self._nodes))
        options = replace(MqttOptions.from_settings(self.settings, tower_id,
                                                    first_node=first_node),
                          client_id=tower_id, prefer_mqtt5=self._mqtt5,
                          replay_window_s=REPLAY_WINDOW_S, subscribe_qos=0)
        login = self._login(tower_id)
        if login is not None:
            options = replace(options, username=login.username, password=login.password,
                              client_id=login.client_id)
        bus = MqttBus(options, will=will)
        if will is not None:
            WillWatch(bus).watch()  # before start: subscribed before the first status
        bus.start(self.connect_timeout_s)
        self._mqtt5 = bus.protocol == Proto.MQTTv5  # negotiate once, not once per tower
        return bus

    def _login(self, tower_id: str) -> Login | None:
        """The tower's own login: from the logins file, derived from the towers' secret, or
        None (every tower then uses the settings' shared login)."""
        if self._logins is not None:
            login = self._logins.get(tower_id)
            if login is None:
                log.error("tower %s has no login in %s: the broker will refuse its "
                          "reports", tower_id, self.settings.tower_logins_file)
            return login
        secret = self.settings.tower_secret
        return None if secret is None else derived_tower_login(secret.get_secret_value(),
                                                               tower_id)

    def attach(self, tower_id: str, will: Message) -> None:
        """The tower comes up: connect its client with ``will`` as the last will."""
        with self._lock:
            old = self._clients.pop(tower_id, None)
            self._wills[tower_id] = will
        if old is not None:
            old.close()
        bus = self._connect(tower_id, will)
        with self._lock:
            self._clients[tower_id] = bus

    def publish(self, message: Message) -> None:
        """Publish on the client of the tower the topic names (QoS and retain as given)."""
        parsed = topics.parse_tower_topic(message.topic)
        if parsed is None:
            raise ValueError(f"topic: {message.topic!r} is not a tower topic")
        with self._lock:
            bus = self._clients.get(parsed.tower_id)
        if bus is None:
            log.warning("tower %s published before attach; connecting without a will",
                        parsed.tower_id)
            bus = self._connect(parsed.tower_id, None)
            with self._lock:
                self._clients[parsed.tower_id] = bus
        if message.retain and message.topic == topics.tower_status(parsed.tower_id):
            bus.announce(message)  # sent again after every reconnect: its will may have fired
        else:
            bus.publish(message)

    def drop(self, tower_id: str) -> None:
        """Lose the tower abruptly: close its socket without DISCONNECT, so the will fires."""
        with self._lock:
            bus = self._clients.pop(tower_id, None)
        if bus is not None:
            bus.flush(2.0)
            bus.abort()

    def close(self, timeout_s: float = 5.0, announce_offline: bool = True) -> None:
        """Publish each tower's will (the towers stop) unless told not to, flush every client
        within one shared ``timeout_s``, then disconnect them all."""
        with self._lock:
            clients = dict(self._clients)
            self._clients.clear()
        for tower_id, bus in clients.items():
            will = self._wills.get(tower_id)
            if announce_offline and will is not None:
                bus.publish(will)
        deadline = time.monotonic() + timeout_s
        for bus in clients.values():
            bus.close(max(0.0, deadline - time.monotonic()))

    @property
    def counters(self) -> dict[str, int]:
        """Summed client counters (published, acked, buffered, dropped, ...)."""
        total: dict[str, int] = {}
        with self._lock:
            clients = list(self._clients.values())
        for bus in clients:
            for key, value in bus.counters.items():
                total[key] = total.get(key, 0) + value
        return total


def run_towers(settings: SimSettings, stop: threading.Event | None = None,
               scenario: Scenario | None = None) -> None:
    """Run the scenario in real time (``settings.speed``) with every tower on the broker.

    Returns when the scenario ends, or soon after ``stop`` is set / SIGINT / SIGTERM arrive.
    ``scenario`` (already loaded) replaces ``settings.scenario``.
    """
    from sim.scenario import load_scenario
    from sim.world import World

    if scenario is None:
        scenario = load_scenario(settings.scenario, site=settings.site)
    uplink = MqttUplink(settings)
    world = World(scenario, uplink)
    stop = stop or threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, on_signal)
    def stop_world() -> None:
        stop.wait()
        world.stop()

    watcher = threading.Thread(target=stop_world, daemon=True, name="sim-stop")
    watcher.start()
    log.info("simulating %s (%d towers) at %g x real time on %s", scenario.name,
             len(scenario.site_model.towers), settings.speed, settings.broker_url)
    try:
        world.run(speed=settings.speed)
    finally:
        stop.set()
        counters = uplink.counters
        uplink.close()
        log.info("simulation stopped: %s", counters)
