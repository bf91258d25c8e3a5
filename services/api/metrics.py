"""Prometheus metrics of the API process, in a registry of its own (one per app)."""

from __future__ import annotations

import threading
from collections import Counter as Tally
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from perimeter.contract import REJECTED_COUNTER_PREFIX

LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class _FusionCounters(Collector):
    """The fusion service's own counters from its retained status, as gauges, and every
    refused payload (the API's own and fusion's ``rejected_<reason>`` counters) as
    ``perimeter_messages_rejected_total{service, reason}``."""

    def __init__(self) -> None:
        self.source: Callable[[], dict[str, int]] = dict
        self._api_rejected: Tally[str] = Tally()
        self._lock = threading.Lock()

    def reject(self, reason: str) -> None:
        with self._lock:
            self._api_rejected[reason] += 1

    def collect(self) -> Iterable[Metric]:
        counters = self.source()
        family = GaugeMetricFamily("perimeter_fusion_counter",
                                   "Counters the fusion service last reported in its status.",
                                   labels=["name"])
        for name, value in sorted(counters.items()):
            family.add_metric([name], value)
        yield family
        rejected = CounterMetricFamily(
            "perimeter_messages_rejected",
            "Payloads refused, by service and reason (fusion's from its last status).",
            labels=["service", "reason"])
        with self._lock:
            for reason, count in sorted(self._api_rejected.items()):
                rejected.add_metric(["api", reason], count)
        for name, value in sorted(counters.items()):
            if name.startswith(REJECTED_COUNTER_PREFIX):
                rejected.add_metric(["fusion", name.removeprefix(REJECTED_COUNTER_PREFIX)],
                                    value)
        yield rejected


class ApiMetrics:
    """Everything ``GET /metrics`` exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.reports_received = Counter(
            "perimeter_reports_received", "Sensor reports seen on the bus by the API.",
            ["sensor"], registry=r)
        self.alert_events = Counter(
            "perimeter_alert_events", "Alert events seen on the bus.",
            ["event", "class", "severity"], registry=r)
        self.alerts = Counter(
            "perimeter_alerts", "New alerts seen on the bus, by class and severity.",
            ["class", "severity"], registry=r)
        self.tracks = Gauge(
            "perimeter_tracks", "Live tracks in the latest snapshot, by status.",
            ["status"], registry=r)
        self.fusion_lag_s = Gauge(
            "perimeter_fusion_lag_seconds",
            "Data time between the newest sensor report and the latest tracks snapshot.",
            registry=r)
        self.alert_latency_s = Histogram(
            "perimeter_alert_latency_seconds",
            "Wall time from the first report at or after an alert event's t_s to the event's "
            "arrival (fusion, store and bus together).",
            buckets=LATENCY_BUCKETS_S, registry=r)
        self.sse_clients = Gauge(
            "perimeter_sse_clients", "Clients connected to the alert stream.", registry=r)
        self._fusion = _FusionCounters()
        r.register(self._fusion)

    def reject(self, reason: str) -> None:
        """Count a bus payload the API refused."""
        self._fusion.reject(reason)

    def follow_fusion(self, counters: Callable[[], dict[str, int]]) -> None:
        """Expose what ``counters()`` returns as ``perimeter_fusion_counter{name}``."""
        self._fusion.source = counters
