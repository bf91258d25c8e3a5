"""A broker outage is not the towers' fault (finding 4 of issue 17): while fusion's link is
down, and for a grace period after it returns, no tower becomes ``silent``; after the grace,
silence counts again."""

from __future__ import annotations

import json
import threading
from typing import Any

from perimeter import topics
from perimeter.bus import InMemoryBus, Message
from perimeter.contract import AlertEvent, parse_payload
from perimeter.fusion.runner import FusionRunner
from perimeter.link_watch import LinkWatch
from perimeter.site import load_site
from perimeter.thresholds import Thresholds
from services.fusion_service import BusOutput, FusionService
from tests.services.mqtt_helpers import Inbox, wait_until

SITE = load_site("western-heights")
TOWERS = [t.id for t in SITE.towers]


class LinkBus(InMemoryBus):
    """An in-memory bus with a broker link that a test cuts and restores, as MqttBus has."""

    def __init__(self) -> None:
        super().__init__()
        self.connected = threading.Event()
        self.counters: dict[str, Any] = {"connects": 0}

    def link(self, up: bool) -> None:
        if up:
            self.counters["connects"] += 1
            self.connected.set()
        else:
            self.connected.clear()


class Feeder:
    def __init__(self, bus: InMemoryBus) -> None:
        self.bus, self.seq = bus, dict.fromkeys(TOWERS, 0)

    def reports(self, towers: list[str], t0_s: float, t1_s: float) -> None:
        t_s = t0_s
        while t_s <= t1_s:
            for tower in towers:
                self.seq[tower] += 1
                self.bus.publish(Message(topics.sensor(tower, "thermal"), json.dumps(
                    {"tower_id": tower, "sensor": "thermal", "seq": self.seq[tower],
                     "t_s": t_s, "detections": []}).encode()))
            t_s += 0.5


def silent_towers(inbox: Inbox) -> set[str]:
    events = [parse_payload(AlertEvent, m.payload) for m in inbox.on(topics.ALERTS)]
    return {e.towers[0] for e in events
            if e.class_ == "tower_fault" and e.event == "new"
            and (e.model_extra or {}).get("fault", getattr(e, "fault", None)) == "silent"}


def test_an_outage_raises_no_silent_faults_but_silence_counts_after_the_grace() -> None:
    bus, alerts = LinkBus(), Inbox()
    bus.subscribe(topics.ALERTS, alerts)

    def factory(output: BusOutput) -> FusionRunner:
        return FusionRunner(SITE, Thresholds(), output)

    service = FusionService(bus, factory, status_interval_s=60.0, silence_grace_s=1.0)
    service.start()
    bus.link(True)
    feed = Feeder(bus)
    feed.reports(TOWERS, 0.0, 10.0)
    assert service.wait_idle(10.0)
    bus.link(False)  # the broker goes away ...
    bus.link(True)  # ... and comes back; T01 reconnects first and sends its backlog
    feed.reports(["T01"], 10.5, 40.0)
    feed.reports(TOWERS, 40.5, 42.0)  # then the rest are back
    assert service.wait_idle(10.0)
    assert silent_towers(alerts) == set(), "the outage made healthy towers silent"
    assert wait_until(lambda: service._listening, 5.0)  # the grace is over
    feed.reports(["T01"], 42.5, 70.0)  # now only T01 talks: the others are silent
    assert service.wait_idle(10.0)
    service.stop()
    assert silent_towers(alerts) == set(TOWERS) - {"T01"}


def test_link_watch_holds_while_down_and_for_the_grace_after() -> None:
    watch = LinkWatch(grace_s=10.0)
    assert watch.listening(False, 0, 0.0)  # never connected: nothing held
    assert watch.listening(True, 1, 1.0)  # the first connection needs no grace
    assert not watch.listening(False, 1, 2.0)
    assert not watch.listening(True, 2, 3.0)
    assert not watch.listening(True, 2, 12.9)
    assert watch.listening(True, 2, 13.0)
    assert not watch.listening(True, 3, 14.0)  # an outage between two looks still counts
