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
    """The thresholds in force: retained on the bus, else the last audited, else the defaults."""

    def __init__(self, store: AlertStore, live: LiveView) -> None:
        self._store, self._live = store, live
        self._lock = threading.Lock()
        last = store.thresholds_audit.history(limit=1)
        self._audited = Thresholds.from_public(last[0].result) if last else None

    def current(self) -> Thresholds:
        return self._live.thresholds or self._audited or Thresholds()

    def patch(self, changes: Mapping[str, Any], by: str) -> tuple[Thresholds, ThresholdChange]:
        """Apply ``changes`` (public names); raises ThresholdError naming the threshold."""
        with self._lock:
            merged = self.current().patched(changes)
            public = merged.to_public()
            change = self._store.thresholds_audit.record(changes, by, time.time(), public)
            self._audited = merged
            bus = self._live.bus
            if bus is not None:
                payload = json.dumps(public, separators=(",", ":")).encode()
                bus.publish(Message(topics.THRESHOLDS, payload, retain=True, qos=1))
        return merged, change
