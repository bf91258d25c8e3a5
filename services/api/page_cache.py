"""Answers kept while the store is unchanged: serialized pages (dashboards poll the same first
page), and what live streams fetch after each wake-up (:class:`SharedFetches`)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Hashable, Sequence

MAX_ENTRIES = 256


class PageCache:
    """Bodies by request key, all dropped when the store's version moves on."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._lock = threading.Lock()
        self._version: object | None = None
        self._bodies: dict[Hashable, bytes] = {}
        self._max = max_entries

    def get(self, key: Hashable, version: object | None) -> bytes | None:
        if version is None:
            return None
        with self._lock:
            if version != self._version:
                self._version, self._bodies = version, {}
                return None
            return self._bodies.get(key)

    def put(self, key: Hashable, version: object | None, body: bytes) -> None:
        if version is None:
            return
        with self._lock:
            if version != self._version:
                self._version, self._bodies = version, {}
            if len(self._bodies) >= self._max:
                self._bodies.clear()
            self._bodies[key] = body


class SharedFetches:
    """Live streams at the head of a feed, woken by the same event, all ask the store the same
    question: the first asks, the others await its answer, kept while the store's version is
    unchanged. One event loop: no lock."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._version: object | None = None
        self._answers: dict[Hashable, asyncio.Future[Sequence[object]]] = {}
        self._max = max_entries

    async def get(self, key: Hashable, version: object | None,
                  ask: Callable[[], Awaitable[Sequence[object]]]) -> Sequence[object]:
        if version is None:  # the backend cannot tell: every stream asks
            return await ask()
        if version != self._version or len(self._answers) >= self._max:
            self._version, self._answers = version, {}
        answer = self._answers.get(key)
        if answer is None:
            answer = asyncio.ensure_future(ask())
            self._answers[key] = answer
        try:
            return await asyncio.shield(answer)
        except Exception:
            self._answers.pop(key, None)  # the next stream asks again
            raise
