"""Helpers for tests against a real broker: a message collector and a polling wait."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

from perimeter.bus import Bus, Message, topic_matches


class Inbox:
    """Thread-safe collector of the messages a bus delivers on paho's thread."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._cond = threading.Condition()

    def __call__(self, message: Message) -> None:
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Message]:
        """The messages so far, once there are ``count`` (or the timeout passed)."""
        with self._cond:
            self._cond.wait_for(lambda: len(self.messages) >= count, timeout_s)
            return list(self.messages)

    def on(self, topic_filter: str) -> list[Message]:
        """The messages so far whose topic matches ``topic_filter``."""
        with self._cond:
            return [m for m in self.messages if topic_matches(topic_filter, m.topic)]


def wait_until(condition: Callable[[], object], timeout_s: float = 15.0,
               step_s: float = 0.05) -> bool:
    """Poll ``condition`` until it is true or ``timeout_s`` passes; whether it came true."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step_s)
    return bool(condition())


def subscriptions_active(bus: Bus, timeout_s: float = 10.0) -> bool:
    """Wait until the broker applies every subscription ``bus`` has made so far.

    A broker handles one connection's SUBSCRIBEs in order, so once a probe subscribed last
    delivers the bus's own publication, every earlier subscription is in force too.
    """
    probe, inbox = f"probe/{uuid.uuid4().hex}", Inbox()
    bus.subscribe(probe, inbox)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        bus.publish(Message(probe, b"probe", qos=0))
        if inbox.wait_for(1, 0.2):
            return True
    return False
