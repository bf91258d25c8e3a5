"""Real-time runs, stopping, and the scanning imager."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from sim.scenario import load_scenario
from sim.uplink import MemoryUplink
from sim.world import World

BASE: dict[str, Any] = {
    "name": "rt", "seed": 2, "duration_s": 3600,
    "environment": {"start_time": "2026-01-15T22:00:00Z"},
    "targets": [{"id": "v1", "kind": "light_vehicle", "start_s": 0, "speed_mps": 9.0,
                 "path": [[4000, -2000], [1000, -2000]]}],
}


def test_realtime_runs_at_the_requested_speed() -> None:
    world = World(load_scenario(BASE), MemoryUplink())
    start = time.monotonic()
    world.run(speed=20.0, until_s=10.0)
    assert 0.4 < time.monotonic() - start < 2.0  # 10 sim-s at 20x = 0.5 s of wall time


def test_stop_from_another_thread() -> None:
    uplink = MemoryUplink()
    world = World(load_scenario(BASE), uplink)
    timer = threading.Timer(0.3, world.stop)
    timer.start()
    start = time.monotonic()
    world.run(speed=10.0)
    assert time.monotonic() - start < 2.0
    assert uplink.messages
    with pytest.raises(RuntimeError, match="runs once"):
        world.run()


def test_a_scanning_head_looks_at_one_field_of_view_per_frame() -> None:
    data = {**BASE, "duration_s": 120,
            "sensors": {"thermal": {"pointing": "scanning", "heads": 1, "sector_deg": [45, 135],
                                    "hot_spot_scale": 0.0}}}
    uplink = MemoryUplink()
    world = World(load_scenario(data), uplink)
    world.run()
    heads = world._feeds()["thermal"].compute.heads  # a fresh array over the same scenario
    lo, width = heads.views(np.arange(1, 40))
    hfov = world.scenario.sensors.thermal.hfov_deg
    assert np.allclose(width, hfov)
    assert lo.min() >= 45.0 and lo.max() + hfov <= 135.0 + 1e-9
    steps = int(np.ceil(90.0 / hfov))
    assert len(np.unique(np.round(lo[:, 0, 0], 6))) == steps
    assert heads.revisit_s[0] == pytest.approx(steps / 2.0)  # 2 Hz frames
    frames: dict[str, set[int]] = {}
    for t in world.truth.detections:
        if t.sensor == "thermal" and t.target_id == "v1":
            frames.setdefault(t.tower_id, set()).add(t.seq)
    # the car is in view of each tower's head on only a share of the frames
    assert frames and max(len(seen) for seen in frames.values()) < 240 / steps * 2
