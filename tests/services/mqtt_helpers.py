"""Helpers for tests against a real broker: a message collector, a polling wait, and a link
to the broker that a test can cut."""

from __future__ import annotations

import contextlib
import socket
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


class CuttableLink:
    """A TCP relay to a broker whose open connections a test cuts at once, as a failing
    network or broker node would: both ends are closed with no MQTT DISCONNECT, so the broker
    publishes the client's will; a client that connects again is relayed again."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="link-accept", daemon=True).start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(self._target, timeout=5.0)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for end in (src, dst):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def cut(self) -> None:
        """Drop every connection relayed so far."""
        with self._lock:
            ends, self._open = self._open, []
        for end in ends:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def close(self) -> None:
        self._server.close()
        self.cut()
