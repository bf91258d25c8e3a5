"""Fusion's rejections reach the API's ``perimeter_messages_rejected_total`` (finding 3 of
issue 17: fusion published ``rejected_x``, the API read ``rejected:x``; each side's own test
passed)."""

from __future__ import annotations

from prometheus_client import generate_latest

from perimeter import topics
from perimeter.bus import InMemoryBus, Message
from perimeter.fusion.runner import FusionRunner
from perimeter.site import load_site
from perimeter.thresholds import Thresholds
from services.api.live import LiveView
from services.api.metrics import ApiMetrics
from services.fusion_service import BusOutput, FusionService


def test_fusion_rejections_reach_the_api_metric() -> None:
    bus = InMemoryBus()
    site = load_site("western-heights")
    metrics = ApiMetrics()
    live = LiveView(metrics, [t.id for t in site.towers])
    metrics.follow_fusion(live.fusion_counters)
    live.attach(bus)

    def factory(output: BusOutput) -> FusionRunner:
        return FusionRunner(site, Thresholds(), output)

    service = FusionService(bus, factory, status_interval_s=60.0)
    service.start()
    bus.publish(Message(topics.sensor("T03", "thermal"), b'{"tower_id": "T03", "seq": "x"'))
    bus.publish(Message(topics.sensor("T03", "thermal"), b"[]"))
    assert service.wait_idle(10.0)
    service.stop()
    text = generate_latest(metrics.registry).decode()
    assert ('perimeter_messages_rejected_total{reason="bad_payload",service="fusion"} 2.0'
            in text), text
