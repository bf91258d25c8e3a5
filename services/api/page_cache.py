"""Serialized answers kept while the store is unchanged (dashboards poll the same first page)."""

from __future__ import annotations

import threading
from collections.abc import Hashable

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
