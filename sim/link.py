"""A tower's radio link: store and forward through a SimPy ``Store`` while the link is down."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from perimeter.bus import Message
from sim.truth import DetectionTag
from sim.uplink import TowerUplink

Tags = list[DetectionTag] | None


class StoreForwardLink:
    """Sends messages to the uplink; while down, buffers them (original ``t_s`` kept) and
    forwards them in order when the link returns. Faults arrive as ``simpy.Interrupt``."""

    def __init__(self, env: simpy.Environment, uplink: TowerUplink,
                 capacity: int = 1_000_000, published_tags: list[DetectionTag] | None = None
                 ) -> None:
        self.env = env
        self.uplink = uplink
        self.published_tags = published_tags if published_tags is not None else []
        """Truth tags of the detections actually published, in publishing order."""
        self.capacity = capacity
        self.store: simpy.Store = simpy.Store(env)
        self.up = True
        self.dropped = 0
        self.forwarded_late = 0
        self._queued = 0  # in the store or taken by the forwarder, not yet published
        self._generation = 0  # bumped by clear(): older queued messages are discarded
        self._restored: simpy.Event = env.event()
        self._waiting = False  # the forwarder is blocked on the store
        self._process = env.process(self._forward())

    @property
    def queued(self) -> int:
        return self._queued

    def send(self, message: Message, tags: Tags = None) -> None:
        """Publish now if the link is up and nothing is queued, else queue it (the oldest
        is dropped when the buffer is full). ``tags`` join the truth once it is published."""
        if self.up and self._queued == 0:
            self.uplink.publish(message)
            if tags:
                self.published_tags.extend(tags)
            return
        if len(self.store.items) >= self.capacity:
            self.store.items.pop(0)
            self.dropped += 1
            self._queued -= 1
        self._queued += 1
        self.store.put((self._generation, message, tags))

    def go_down(self) -> None:
        """The link fails: sending stops, messages queue."""
        if self.up:
            self.up = False
            if self._waiting:
                self._process.interrupt("link down")

    def come_up(self) -> None:
        """The link returns: the queue is forwarded in order."""
        if not self.up:
            self.up = True
            self._restored.succeed()
            self._restored = self.env.event()

    def clear(self) -> None:
        """Lose everything queued (the tower lost power)."""
        self.dropped += self._queued
        self._queued = 0
        self._generation += 1
        self.store.items.clear()

    def _forward(self) -> Generator[simpy.Event, Any, None]:
        while True:
            if not self.up:
                yield self._restored
                continue
            get = self.store.get()
            self._waiting = True
            try:
                generation, message, tags = yield get
            except simpy.Interrupt:
                self._waiting = False
                if get.triggered:  # an item was already taken: keep it at the head
                    self.store.items.insert(0, get.value)
                else:
                    get.cancel()
                continue
            self._waiting = False
            if generation != self._generation:
                continue
            if self.up:
                self._queued -= 1
                self.forwarded_late += 1
                self.uplink.publish(message)
                if tags:
                    self.published_tags.extend(tags)
            else:  # went down in the same instant: keep it at the head of the queue
                self.store.items.insert(0, (generation, message, tags))
