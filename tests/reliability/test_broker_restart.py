"""``kill -9`` of mosquitto mid-scenario, restarted on the same port: every client reconnects
and resubscribes, QoS 1 sessions (persisted every second) deliver what was sent meanwhile, and
fusion gives the alerts the same scenario and seed gives without the fault."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from tests.reliability.live import DurableMosquitto, LiveFusion, LiveTowers, report_key, wait_for
from tests.reliability.streams import alert_keys, crossing_spec, fuse, simulate

pytestmark = pytest.mark.integration

SPEED = 5.0
DURATION_S = 40.0


def test_alerts_survive_a_broker_kill(durable_mosquitto: DurableMosquitto) -> None:
    scenario, reference = simulate(crossing_spec(DURATION_S))
    expected = [k for k in map(report_key, reference) if k is not None]
    _, clean = fuse(scenario, reference)

    fusion = LiveFusion(durable_mosquitto.url, scenario).start()
    towers = LiveTowers(durable_mosquitto.url, scenario, SPEED).start()

    def fifteen_seconds_in() -> bool:  # 2 Hz thermal frames: seq 30 is 15 s of data time
        seqs = [seq for topic, seq in list(fusion.taken) if topic.endswith("/thermal")]
        return max(seqs, default=0) >= 30 and any(a.event == "new" for a in list(fusion.alerts))

    assert wait_for(fifteen_seconds_in, 60.0), \
        "15 s of data time, with the vehicle's alert open, before the broker dies"
    durable_mosquitto.kill9()
    killed_at = time.monotonic()
    time.sleep(0.5)
    durable_mosquitto.start()
    outage_s = time.monotonic() - killed_at

    assert towers.join(DURATION_S / SPEED + 60.0), "towers did not finish"
    wait_for(lambda: set(expected) <= set(fusion.taken), 30.0)
    fusion.stop()

    taken = Counter(fusion.taken)
    lost = set(expected) - set(taken)
    assert not lost, f"{len(lost)} of {len(expected)} reports lost: {sorted(lost)[:12]}"
    assert fusion.counters["reports"] == len(expected)  # repeats after the restore: dropped
    assert fusion.counters.get("duplicates", 0) == sum(taken.values()) - len(taken)
    assert fusion.bus.counters["connects"] >= 2, "fusion reconnected"
    assert towers.counters["connects"] >= 2 * len(scenario.site_model.towers)
    assert towers.counters["dropped"] == 0
    print(f"outage {outage_s:.2f} s; fusion took {sum(taken.values())} reports "
          f"({fusion.counters['duplicates']} repeats, {fusion.counters['late_reports']} late)")
    assert alert_keys(fusion.alerts) == alert_keys(clean.alerts)
