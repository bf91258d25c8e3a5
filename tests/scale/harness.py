"""Sharded fusion on a real NATS cluster, for the scale tests: live shards (the service as
``perimeter fusion --shard`` builds it), towers spread over the nodes, an alerts recorder, and
the same recording fused without faults in memory as the reference."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from typing import Any

from perimeter import topics
from perimeter.bus import InMemoryBus, Message
from perimeter.config import FusionSettings
from perimeter.contract import AlertEvent, Handover, parse_payload
from perimeter.sectors import SectorPlan
from perimeter.shard import ShardRunner
from perimeter.shard_output import BusShardOutput
from perimeter.thresholds import Thresholds
from services.broker_probe import BrokerProbe
from services.mqtt import MqttBus, MqttOptions
from services.shard_service import ShardBusOutput, ShardService, shard_status_message
from services.shard_watch import shard_will
from services.split_bus import SplitBus
from sim.scenario import Scenario

RUN_ID = "scale-test"


def crossing_along_spec(duration_s: float = 100.0, start_y_m: float = -500.0
                        ) -> dict[str, Any]:
    """One car driving at 12 m/s along the approach of western-heights, 1 km out, from
    ``start_y_m`` to +600 m: across the boundary of a 2-shard plan (y = 0) about 44 s in from
    the default start. Staring, aligned imagers and ideal clocks, as the reliability tests'
    crossing."""
    return {
        "name": "scale-boundary", "seed": 5, "duration_s": duration_s,
        "site": "western-heights",
        "environment": {"start_time": "2026-01-15T22:00:00Z", "weather": "clear",
                        "wind_mps": 1.0},
        "targets": [{"id": "v1", "kind": "light_vehicle", "start_s": 2, "speed_mps": 12.0,
                     "path": [[2000, start_y_m], [2000, 600]]}],
        "nuisance": {"animals": 0},
        "sensors": {"thermal": {"pointing": "staring", "hot_spot_scale": 0.0,
                                "azimuth_bias_deg": [0.0, 0.0], "detector_snr_db": 16.0},
                    "clock": {"offset_sigma_s": 0.0, "drift_sigma_ppm": 0.0}},
    }


def reference_alerts(scenario: Scenario, plan: SectorPlan,
                     messages: list[Message]) -> list[AlertEvent]:
    """Every shard of ``plan`` on one in-memory bus, fed ``messages`` in order: the alerts."""
    bus, alerts = InMemoryBus(), list[AlertEvent]()
    bus.subscribe(topics.ALERTS, lambda m: alerts.append(parse_payload(AlertEvent, m.payload)))
    for shard_id in plan.shards:
        runner = ShardRunner(scenario.site_model, plan, shard_id, Thresholds(),
                             BusShardOutput(bus), active=shard_id in plan.active_shards,
                             run_id=RUN_ID)
        for topic_filter in (topics.TOWER_WILDCARD, topics.HANDOVER, topics.ALERTS):
            bus.subscribe(topic_filter, runner.feed)
    for message in messages:
        bus.publish(message)
    return alerts


def new_alerts(events: list[AlertEvent]) -> Counter[str]:
    """How many alerts of each class were raised (``new`` events), tower faults aside (a
    broker node's death rightly raises some, see docs/scale.md)."""
    return Counter(e.class_ for e in events if e.event == "new" and e.class_ != "tower_fault")


def unrecovered_faults(events: list[AlertEvent], before_t_s: float) -> list[str]:
    """Tower faults raised before data time ``before_t_s`` and not closed as recovered, each
    as ``alert_id shard fault towers t_s`` (what a failure needs to be read)."""
    raised = {e.alert_id: e for e in events
              if e.event == "new" and e.class_ == "tower_fault" and e.t_s < before_t_s}
    recovered = {e.alert_id for e in events if e.event == "closed" and e.reason == "recovered"}
    return [f"{a} {e.shard_id} {e.fault} {','.join(e.towers)} t={e.t_s:.1f}"
            for a, e in sorted(raised.items()) if a not in recovered]


class LiveShard:
    """One shard on the cluster, starting on node ``first_node``; its alerts recorded."""

    def __init__(self, urls: list[str], first_node: int, scenario: Scenario, plan: SectorPlan,
                 shard_id: str, *, standby: bool = False) -> None:
        settings = FusionSettings(broker_url=",".join(urls))
        client_id = f"scale-{shard_id}"
        options = replace(MqttOptions.from_settings(settings, client_id, first_node=first_node),
                          manual_ack=True, reconnect_min_s=1, reconnect_max_s=2)
        will = shard_status_message(shard_will(shard_id, RUN_ID))
        self.bus = SplitBus(options, will=will)
        self.alerts: list[AlertEvent] = []
        self.taken_over = 0
        """Takeovers counted before the run's end (the test sets it)."""
        self._lock = threading.Lock()

        def make(output: ShardBusOutput) -> ShardRunner:
            return ShardRunner(scenario.site_model, plan, shard_id, Thresholds(), output,
                               active=not standby, run_id=RUN_ID)

        self.service = ShardService(self.bus, make, self._store,
                                    probe=BrokerProbe(self.bus, client_id), stale_after_s=12.0,
                                    status_interval_s=1.0, will_grace_s=2.5)
        # a will's grace is wall time: the default 6 s (three status intervals, 6 s of data at
        # 1x) would be 30 s of data at the tests' 5x, the car across the boundary by then. It
        # must outlast a status interval and its delivery: a node's death can deliver a live
        # shard's will after its status, and only its next status takes it back (with 1.5 s
        # against a 2 s interval, one CI run's node kill had s1 take over a live s2)

    def _store(self, event: AlertEvent) -> None:
        with self._lock:
            self.alerts.append(event)

    def start(self) -> LiveShard:
        self.service.start()
        self.bus.start(30.0)
        return self

    def kill(self) -> None:
        """Dies abruptly: no more work, and the socket closes without DISCONNECT (the will
        fires)."""
        self.service.halt(5.0)
        self.bus.abort()

    def stop(self) -> None:
        self.service.wait_idle(60.0)
        self.service.stop()
        self.bus.close()

    @property
    def counters(self) -> dict[str, int]:
        return dict(self.service.shard.counters)


class AlertsRecorder:
    """A client on one node recording every alert event and handover on the bus.

    MQTT QoS 1 is at-least-once: a publish whose PUBACK died with a broker node is sent again
    on reconnect and may arrive twice. Like the alert store (same alert, kind and ``t_s`` is
    one event), the recorder keeps one copy of a byte-identical redelivery and counts it; an
    event that differs in any byte is kept, so a second raise still shows."""

    def __init__(self, urls: list[str], first_node: int) -> None:
        settings = FusionSettings(broker_url=",".join(urls))
        options = MqttOptions.from_settings(settings, "scale-recorder", first_node=first_node)
        self.bus = MqttBus(replace(options, reconnect_min_s=1, reconnect_max_s=2))
        self.alerts: list[AlertEvent] = []
        self.handovers: list[Handover] = []
        self.redelivered = 0
        self._payloads: set[bytes] = set()
        self._lock = threading.Lock()
        self.bus.subscribe(topics.ALERTS, self._alert)
        self.bus.subscribe(topics.HANDOVER, self._handover)

    def _alert(self, message: Message) -> None:
        with self._lock:
            if message.payload in self._payloads:
                self.redelivered += 1
                return
            self._payloads.add(message.payload)
            self.alerts.append(parse_payload(AlertEvent, message.payload))

    def _handover(self, message: Message) -> None:
        with self._lock:
            self.handovers.append(parse_payload(Handover, message.payload))

    def start(self) -> AlertsRecorder:
        self.bus.start(30.0)
        return self

    def snapshot(self) -> list[AlertEvent]:
        with self._lock:
            return list(self.alerts)
