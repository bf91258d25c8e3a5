"""The API's live view of the bus: towers, the latest tracks snapshot, fusion status, thresholds
in force, and a wake-up for alert streams. Handlers run on the bus's thread; bad payloads are
counted by reason and never raise."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from perimeter import topics
from perimeter.bus import Bus, Message
from perimeter.contract import (
    AlertEvent,
    ContractError,
    FusionStatus,
    SensorReport,
    TowerStatus,
    TracksSnapshot,
    parse_payload,
)
from perimeter.thresholds import ThresholdError, Thresholds
from services.api.latency import ReportArrivals
from services.api.metrics import ApiMetrics
from services.api.towers_monitor import TowersMonitor

log = logging.getLogger(__name__)


class AlertWaker:
    """Wakes every waiting alert stream when an alert event goes by (from any thread)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def wake(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed since the check
            loop.call_soon_threadsafe(self._set)

    def _set(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = asyncio.Event()

    def token(self) -> asyncio.Event | None:
        """Take before looking for new events; :meth:`wait` on it then misses no wake-up."""
        return self._event

    async def wait(self, token: asyncio.Event | None, timeout_s: float) -> None:
        """Return once an alert event went by since ``token`` was taken, or after ``timeout_s``."""
        if token is None:
            await asyncio.sleep(timeout_s)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(token.wait(), timeout_s)


class LiveView:
    """Subscribes on a :class:`Bus` and keeps what the API serves live."""

    def __init__(self, metrics: ApiMetrics, tower_ids: Iterable[str]) -> None:
        self.metrics = metrics
        self.towers = TowersMonitor(tower_ids)
        self.arrivals = ReportArrivals()
        self.waker = AlertWaker()
        self.bus: Bus | None = None
        self._lock = threading.Lock()
        self._tracks: TracksSnapshot | None = None
        self._fusion: FusionStatus | None = None
        self.on_thresholds: Callable[[Thresholds, bytes], None] | None = None
        """Told of every valid thresholds message on the bus (with its payload)."""
        self.closed = False

    def attach(self, bus: Bus) -> None:
        """Subscribe to every topic the API follows."""
        self.bus = bus
        bus.subscribe(topics.TOWER_WILDCARD, self._guarded(self._on_tower))
        bus.subscribe(topics.ALERTS, self._guarded(self._on_alert))
        bus.subscribe(topics.TRACKS, self._guarded(self._on_tracks))
        bus.subscribe(topics.FUSION_STATUS, self._guarded(self._on_fusion))
        bus.subscribe(topics.THRESHOLDS, self._guarded(self._on_thresholds))

    @property
    def tracks(self) -> TracksSnapshot | None:
        with self._lock:
            return self._tracks

    @property
    def fusion(self) -> FusionStatus | None:
        with self._lock:
            return self._fusion

    def fusion_counters(self) -> dict[str, int]:
        fusion = self.fusion
        return dict(fusion.counters) if fusion is not None else {}

    def _guarded(self, handler: Any) -> Any:
        def on_message(message: Message) -> None:
            if self.closed:
                return
            try:
                handler(message)
            except ContractError as exc:
                self.metrics.reject("bad_payload")
                log.debug("refused %s: %s", message.topic, exc)
            except ThresholdError as exc:
                self.metrics.reject("bad_thresholds")
                log.debug("refused %s: %s", message.topic, exc)
            except Exception:  # a handler bug must not kill the bus thread
                self.metrics.reject("internal")
                log.exception("handling %s failed", message.topic)
        return on_message

    def _on_tower(self, message: Message) -> None:
        parsed = topics.parse_tower_topic(message.topic)
        if parsed is None:
            return
        if parsed.channel is topics.TowerChannel.STATUS:
            status = parse_payload(TowerStatus, message.payload)
            if status.tower_id != parsed.tower_id:
                raise ContractError("tower_id", "does not match the topic")
            if not self.towers.on_status(status):
                self.metrics.reject("unknown_tower")
            return
        report = parse_payload(SensorReport, message.payload)
        if report.tower_id != parsed.tower_id or report.sensor != parsed.channel.value:
            raise ContractError("tower_id", "does not match the topic")
        if not self.towers.on_report(report):
            self.metrics.reject("unknown_tower")
            return
        self.arrivals.seen(report.t_s, time.monotonic())
        self.metrics.reports_received.labels(sensor=report.sensor).inc()

    def _on_alert(self, message: Message) -> None:
        self.waker.wake()
        event = parse_payload(AlertEvent, message.payload)
        self.metrics.alert_events.labels(event=event.event, severity=event.severity,
                                         **{"class": event.class_}).inc()
        if event.event == "new":
            self.metrics.alerts.labels(severity=event.severity, **{"class": event.class_}).inc()
        if event.reason != "superseded":  # closed by a new run: no report of this one raised it
            latency_s = self.arrivals.latency_s(event.t_s, time.monotonic())
            if latency_s is not None:
                self.metrics.alert_latency_s.observe(latency_s)

    def _on_tracks(self, message: Message) -> None:
        snapshot = parse_payload(TracksSnapshot, message.payload)
        with self._lock:
            self._tracks = snapshot
        for status in ("tentative", "confirmed"):
            count = sum(1 for t in snapshot.tracks if t.status == status)
            self.metrics.tracks.labels(status=status).set(count)
        newest_t_s = self.towers.newest_report_t_s()
        if newest_t_s is not None:
            self.metrics.fusion_lag_s.set(max(0.0, newest_t_s - snapshot.t_s))

    def _on_fusion(self, message: Message) -> None:
        status = parse_payload(FusionStatus, message.payload)
        with self._lock:
            self._fusion = status

    def _on_thresholds(self, message: Message) -> None:
        try:
            values = json.loads(message.payload)
        except (ValueError, UnicodeDecodeError):
            raise ContractError("", "thresholds are not valid JSON") from None
        if not isinstance(values, dict):
            raise ContractError("", "thresholds must be a JSON object")
        thresholds = Thresholds.from_public(values)
        if self.on_thresholds is not None:
            self.on_thresholds(thresholds, message.payload)
