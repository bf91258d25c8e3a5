"""Live threshold tuning: validate a change, publish it retained for fusion, keep it audited."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any

from perimeter import topics
from perimeter.bus import Message
from perimeter.store import AlertStore, ThresholdChange
from perimeter.thresholds import Thresholds
from services.api.live import LiveView


class ThresholdsKeeper:
    """The thresholds in force: the newest of this API's changes and those seen retained on
    the bus; at start the last audited change, else the defaults."""

    def __init__(self, store: AlertStore, live: LiveView) -> None:
        self._store, self._live = store, live
        self._lock = threading.RLock()
        last = store.thresholds_audit.history(limit=1)
        self._current = Thresholds.from_public(last[0].result) if last else Thresholds()
        self._unechoed: list[bytes] = []
        live.on_thresholds = self.on_bus

    def current(self) -> Thresholds:
        with self._lock:
            return self._current

    def on_bus(self, thresholds: Thresholds, payload: bytes) -> None:
        """A thresholds message from the bus: the echo of one of ours (already in force, as
        is anything we sent after it), or another's change, which then takes over."""
        with self._lock:
            if payload in self._unechoed:
                del self._unechoed[: self._unechoed.index(payload) + 1]
                return
            self._current = thresholds

    def patch(self, changes: Mapping[str, Any], by: str) -> tuple[Thresholds, ThresholdChange]:
        """Apply ``changes`` (public names); raises ThresholdError naming the threshold."""
        with self._lock:
            merged = self._current.patched(changes)
            public = merged.to_public()
            change = self._store.thresholds_audit.record(
                changes, by, time.time(), public, self._live.towers.newest_report_t_s())
            self._current = merged
            bus = self._live.bus
            if bus is not None:
                payload = json.dumps(public, separators=(",", ":")).encode()
                self._unechoed = [*self._unechoed[-63:], payload]
                # under the lock, so changes go out in order; an in-process bus echoes at once
                bus.publish(Message(topics.THRESHOLDS, payload, retain=True, qos=1))
        return merged, change
