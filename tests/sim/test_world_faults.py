"""Each fault kind's effect on the message stream."""

from __future__ import annotations

import json
from typing import Any

from perimeter.bus import Message
from sim.scenario import load_scenario
from sim.uplink import MemoryUplink
from sim.world import World

EPOCH_ISO = "2026-01-15T22:00:00Z"
IDEAL_CLOCKS = {"clock": {"offset_sigma_s": 0.0, "drift_sigma_ppm": 0.0}}
"""Fault timing is checked against exact times, so these towers' clocks are ideal (clock
errors are tested in tests/sim/test_tower_errors.py)."""


def _run(faults: list[dict[str, Any]], duration_s: float = 300.0) -> tuple[list[Message], float]:
    scenario = load_scenario({
        "name": "faults", "seed": 3, "duration_s": duration_s,
        "environment": {"start_time": EPOCH_ISO},
        "targets": [{"id": "v1", "kind": "light_vehicle", "start_s": 0, "speed_mps": 5.0,
                     "path": [[4000, -1500], [1000, -1500]]}],
        "faults": faults, "sensors": IDEAL_CLOCKS,
    })
    uplink = MemoryUplink()
    World(scenario, uplink).run()
    return uplink.messages, scenario.epoch_s


def _of(messages: list[Message], tower: str, channel: str) -> list[tuple[int, dict[str, Any]]]:
    suffix = f"/towers/{tower}/{channel}"
    return [(i, json.loads(m.payload)) for i, m in enumerate(messages) if m.topic.endswith(suffix)]


def test_offline_fires_the_will_then_comes_back_online() -> None:
    messages, epoch = _run([{"tower": "T05", "kind": "offline", "start_s": 100,
                             "duration_s": 100}])
    statuses = [p for _, p in _of(messages, "T05", "status")]
    assert [s["state"] for s in statuses] == ["online", "offline", "online"]
    assert "t_s" not in statuses[1] and statuses[1]["tower_id"] == "T05"  # the last will
    assert statuses[2]["t_s"] == epoch + 200.0
    thermal = [p for _, p in _of(messages, "T05", "thermal")]
    gap = [p for p in thermal if epoch + 100.0 <= p["t_s"] < epoch + 200.0]
    assert gap == []
    assert [p["seq"] for p in thermal] == list(range(len(thermal)))
    assert len(thermal) == 600 - 200  # 2 Hz for 300 s minus 100 s offline
    assert len([p for _, p in _of(messages, "T04", "thermal")]) == 600  # others unaffected


def test_link_down_stores_and_forwards_with_original_times() -> None:
    messages, epoch = _run([{"tower": "T02", "kind": "link_down", "start_s": 100,
                             "duration_s": 50}])
    thermal = _of(messages, "T02", "thermal")
    assert [p["seq"] for _, p in thermal] == list(range(600))  # nothing lost, in order
    assert [p["t_s"] for _, p in thermal] == sorted(p["t_s"] for _, p in thermal)
    buffered = [(i, p) for i, p in thermal if epoch + 100.0 < p["t_s"] <= epoch + 150.0]
    assert len(buffered) == 100
    first_late = buffered[0][0]
    # it was published only after another tower's report of the link's return time
    others_at_return = [i for i, p in _of(messages, "T03", "thermal")
                        if p["t_s"] == epoch + 150.0]
    assert first_late > others_at_return[0]
    states = [p["state"] for _, p in _of(messages, "T02", "status")]
    assert states == ["online"]  # the tower kept running: no will


def test_sensor_fail_degrades_the_tower_and_stops_that_sensor() -> None:
    messages, epoch = _run([{"tower": "T04", "kind": "sensor_fail", "sensor": "thermal",
                             "start_s": 100, "duration_s": 60},
                            {"tower": "T06", "kind": "sensor_fail", "sensor": "acoustic",
                             "start_s": 50}])
    statuses = [p for _, p in _of(messages, "T04", "status")]
    assert [s["state"] for s in statuses] == ["online", "degraded", "online"]
    assert statuses[1]["sensors"]["thermal"]["state"] == "failed"
    assert statuses[1]["sensors"]["acoustic"]["state"] == "ok"
    thermal = [p for _, p in _of(messages, "T04", "thermal")]
    assert not [p for p in thermal if epoch + 100.0 < p["t_s"] < epoch + 160.0]
    acoustic = [p for _, p in _of(messages, "T04", "acoustic")]
    assert len(acoustic) == 300  # the other sensor kept reporting
    t06 = [p for _, p in _of(messages, "T06", "status")]
    assert t06[-1]["state"] == "degraded" and t06[-1]["sensors"]["acoustic"]["state"] == "failed"
    assert max(p["t_s"] for _, p in _of(messages, "T06", "acoustic")) <= epoch + 50.0


def test_overlapping_offline_and_link_down() -> None:
    messages, epoch = _run([{"tower": "T08", "kind": "link_down", "start_s": 50,
                             "duration_s": 200},
                            {"tower": "T08", "kind": "offline", "start_s": 100,
                             "duration_s": 50}])
    thermal = [p for _, p in _of(messages, "T08", "thermal")]
    times = [p["t_s"] - epoch for p in thermal]
    # reports queued before the power loss are lost with it; measuring resumes after it
    assert not [t for t in times if 50.0 < t < 150.0]
    assert [t for t in times if 150.0 < t <= 250.0]
    statuses = _of(messages, "T08", "status")
    assert [p["state"] for _, p in statuses] == ["online", "offline", "online"]
    # it reconnects when the link is back (t = 250 s), its queued status first
    back = statuses[-1][0]
    assert messages[back + 1].topic.endswith("/T08/thermal")
    assert json.loads(messages[back + 1].payload)["t_s"] == epoch + 150.0


def test_truth_tags_only_for_published_reports() -> None:
    scenario = load_scenario({
        "name": "tags", "seed": 4, "duration_s": 200,
        "environment": {"start_time": EPOCH_ISO},
        "targets": [{"id": "v1", "kind": "light_vehicle", "start_s": 0, "speed_mps": 5.0,
                     "path": [[3000, -2300], [1000, -2300]]}],
        "faults": [{"tower": "T01", "kind": "link_down", "start_s": 150},
                   {"tower": "T02", "kind": "link_down", "start_s": 50, "duration_s": 60},
                   {"tower": "T02", "kind": "offline", "start_s": 100, "duration_s": 20}],
    })
    uplink = MemoryUplink()
    truth = World(scenario, uplink).run()
    published = {(p["tower_id"], p["sensor"], p["seq"]): len(p["detections"])
                 for p in (json.loads(m.payload) for m in uplink.messages) if "seq" in p}
    assert all(tag.index < published[(tag.tower_id, tag.sensor, tag.seq)]
               for tag in truth.detections)
    assert sum(published.values()) == len(truth.detections)
    assert not [k for k in published if k[0] == "T01" and k[2] >= 300 and k[1] == "thermal"]
