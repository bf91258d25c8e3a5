"""How an MQTT client connects: :class:`MqttOptions` (broker nodes, login, session, queues,
acknowledgement, replay) and :class:`FailoverClient`, paho's client that tries the next node
of a clustered broker after each failed attempt or lost connection. Used by
:class:`services.mqtt.MqttBus` (which re-exports :class:`MqttOptions`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from perimeter.config import MqttSettings

log = logging.getLogger(__name__)

Address = tuple[str, int]


class FailoverClient(mqtt.Client):
    """paho's client that reconnects to the next of ``addresses`` each time (its own network
    loop reconnects after a lost connection or a failed attempt, with back-off)."""

    def __init__(self, addresses: tuple[Address, ...], first: int, *args: object,
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.addresses, self.index = addresses, first
        self._first_attempt = False

    def connect(self, *args: object, **kwargs: object) -> MQTTErrorCode:
        self._first_attempt = True  # paho's connect() ends in reconnect(): not a failover
        return super().connect(*args, **kwargs)  # type: ignore[arg-type]

    def reconnect(self) -> MQTTErrorCode:
        if self._first_attempt:
            self._first_attempt = False
        elif len(self.addresses) > 1:
            self.index = (self.index + 1) % len(self.addresses)
            self._host, self._port = self.addresses[self.index]
            log.debug("mqtt reconnecting to the next node, %s:%s", self._host, self._port)
        return super().reconnect()


@dataclass(frozen=True, slots=True)
class MqttOptions:
    """How one client connects; ``session_expiry_s`` 0 means a clean, non-persistent session."""

    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = ""
    username: str | None = None
    password: str | None = None
    keepalive_s: int = 15
    session_expiry_s: int = 3600
    max_queued: int = 10_000
    max_pending: int = 1_000_000
    reconnect_min_s: int = 1
    reconnect_max_s: int = 10
    prefer_mqtt5: bool = True
    manual_ack: bool = False
    """QoS 1 messages are acknowledged by :meth:`MqttBus.ack` (after processing), not on
    receipt: a consumer that crashes first gets them again from its session."""
    replay_window_s: float = 0.0
    """QoS 1 messages sent this long before a lost connection are sent again after the
    reconnect: a broker that crashed may have acknowledged them and lost them."""
    subscribe_qos: int = 1
    """The QoS of every subscription (0: NATS delivers without JetStream, see
    :mod:`services.split_bus`)."""
    fallbacks: tuple[Address, ...] = ()
    """Other nodes of a clustered broker, in order after ``host:port``: tried in turn when
    a connection attempt fails or the connection is lost."""

    @property
    def addresses(self) -> tuple[Address, ...]:
        """Every node to try: ``host:port`` first, then the fallbacks."""
        return ((self.host, self.port), *self.fallbacks)

    @classmethod
    def from_settings(cls, settings: MqttSettings, client_id: str, *,
                      session_expiry_s: int = 3600, first_node: int = 0) -> MqttOptions:
        """Options from service settings; ``client_id`` unless the settings name one.
        ``first_node``: start at this node of the listed ones (the rest follow in ring order),
        to spread many clients of one process over a cluster."""
        password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
        nodes = settings.addresses
        start = first_node % len(nodes)
        (host, port), *rest = nodes[start:] + nodes[:start]
        return cls(host=host, port=port, fallbacks=tuple(rest),
                   client_id=settings.client_id or client_id, username=settings.mqtt_username,
                   password=password, session_expiry_s=session_expiry_s)
