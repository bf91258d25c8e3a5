"""Where a simulated tower's messages go: a recording file, memory, or (in services/) MQTT."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import IO, Protocol

from perimeter.bus import Message


class TowerUplink(Protocol):
    """A tower's connection to the broker, as the simulation sees it."""

    def attach(self, tower_id: str, will: Message) -> None:
        """The tower connects; ``will`` is published by the broker if it is lost abruptly."""

    def publish(self, message: Message) -> None:
        """Send one report or status message."""

    def drop(self, tower_id: str) -> None:
        """The tower's connection is lost abruptly: its last will fires."""


class MemoryUplink:
    """Collects messages in order; the will is appended on :meth:`drop`."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._wills: dict[str, Message] = {}

    def attach(self, tower_id: str, will: Message) -> None:
        self._wills[tower_id] = will

    def publish(self, message: Message) -> None:
        self.messages.append(message)

    def drop(self, tower_id: str) -> None:
        will = self._wills.pop(tower_id, None)
        if will is not None:
            self.messages.append(will)


@lru_cache(maxsize=4096)
def _topic_json(topic: str) -> str:
    return json.dumps(topic)


def recording_line(message: Message) -> str:
    """One JSON line ``{"topic": ..., "payload": {...}}`` (``"retain": true`` when retained)."""
    retain = ',"retain":true' if message.retain else ""
    topic = _topic_json(message.topic)
    return f'{{"topic":{topic},"payload":{message.payload.decode()}{retain}}}\n'


class RecordingUplink(MemoryUplink):
    """Writes every message as a JSON line to ``out`` (``perimeter sim --record``)."""

    def __init__(self, out: IO[str]) -> None:
        super().__init__()
        self._out = out

    def publish(self, message: Message) -> None:
        self._out.write(recording_line(message))

    def drop(self, tower_id: str) -> None:
        will = self._wills.pop(tower_id, None)
        if will is not None:
            self._out.write(recording_line(will))


def read_recording(lines: IO[str]) -> list[Message]:
    """Messages back from a recording (payloads re-serialised compactly)."""
    messages = []
    for line in lines:
        if not line.strip():
            continue
        obj = json.loads(line)
        payload = json.dumps(obj["payload"], separators=(",", ":")).encode()
        messages.append(Message(obj["topic"], payload, retain=bool(obj.get("retain", False))))
    return messages
