"""Transport-neutral messaging: what the core, the simulation and the services exchange.

The core never imports an MQTT library. Services implement :class:`Bus` over paho-mqtt;
tests, replay and evaluation use :class:`InMemoryBus`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Message:
    """One message as it travels: topic, UTF-8 JSON payload bytes, retain flag and QoS."""

    topic: str
    payload: bytes
    retain: bool = False
    qos: int = 1


Handler = Callable[[Message], None]


class Publisher(Protocol):
    def publish(self, message: Message) -> None: ...


class Bus(Publisher, Protocol):
    """A small publish/subscribe interface (MQTT topic filters with ``+`` and ``#``)."""

    def subscribe(self, topic_filter: str, handler: Handler) -> None: ...


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic-filter matching (``+`` one level, ``#`` the rest)."""
    f_parts = topic_filter.split("/")
    t_parts = topic.split("/")
    for i, part in enumerate(f_parts):
        if part == "#":
            return True
        if i >= len(t_parts) or (part != "+" and part != t_parts[i]):
            return False
    return len(f_parts) == len(t_parts)


class InMemoryBus:
    """A synchronous in-process bus with retained messages, for tests, replay and eval."""

    def __init__(self) -> None:
        self._subs: list[tuple[str, Handler]] = []
        self.retained: dict[str, Message] = {}

    def publish(self, message: Message) -> None:
        if message.retain:
            self.retained[message.topic] = message
        for topic_filter, handler in list(self._subs):
            if topic_matches(topic_filter, message.topic):
                handler(message)

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        self._subs.append((topic_filter, handler))
        for message in list(self.retained.values()):
            if topic_matches(topic_filter, message.topic):
                handler(message)
