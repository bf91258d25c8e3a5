"""Reference message streams for the reliability tests: a short scripted crossing, simulated
once (fast, in memory) and fused without faults."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from perimeter.bus import Message
from perimeter.contract import AlertEvent
from perimeter.fusion.replay import CollectingOutput
from perimeter.fusion.runner import FusionRunner
from perimeter.thresholds import Thresholds
from sim.scenario import Scenario, load_scenario
from sim.uplink import MemoryUplink
from sim.world import World


def crossing_spec(duration_s: float = 40.0, **extra: Any) -> dict[str, Any]:
    """One car through the open approach (the conftest ``crossing_scenario``, with its
    staring, aligned imagers), no animals."""
    return {
        "name": "reliability-crossing", "seed": 3, "duration_s": duration_s,
        "site": "western-heights",
        "environment": {"start_time": "2026-01-15T22:00:00Z", "weather": "clear",
                        "wind_mps": 1.0},
        "targets": [{"id": "v1", "kind": "light_vehicle", "start_s": 2, "speed_mps": 9.0,
                     "path": [[3500, -2300], [2000, -2050], [1100, -1900]]}],
        "nuisance": {"animals": 0},
        "sensors": {"thermal": {"pointing": "staring", "hot_spot_scale": 0.0,
                                "azimuth_bias_deg": [0.0, 0.0],
                                "detector_snr_db": 16.0},
                    # ideal clocks: late reports here are the held ones only (fusion does
                    # not estimate the towers' clock offsets yet, issue 16)
                    "clock": {"offset_sigma_s": 0.0, "drift_sigma_ppm": 0.0}},
        **extra,
    }


@lru_cache(maxsize=8)
def _simulate(spec_json: str) -> tuple[Scenario, tuple[Message, ...]]:
    scenario = load_scenario(json.loads(spec_json))
    uplink = MemoryUplink()
    World(scenario, uplink).run()
    return scenario, tuple(uplink.messages)


def simulate(spec: dict[str, Any]) -> tuple[Scenario, list[Message]]:
    """The scenario and every message its towers publish, in publishing order (cached)."""
    scenario, messages = _simulate(json.dumps(spec, sort_keys=True))
    return scenario, list(messages)


def fuse(scenario: Scenario, messages: list[Message], *, finish: bool = False,
         **runner_kw: Any) -> tuple[FusionRunner, CollectingOutput]:
    """Feed ``messages`` to a fresh runner (``finish`` closes what is open at the end)."""
    out = CollectingOutput()
    runner = FusionRunner(scenario.site_model, Thresholds(), out, **runner_kw)
    for message in messages:
        runner.feed(message)
    if finish:
        runner.finish()
    return runner, out


def alert_keys(events: list[AlertEvent]) -> list[tuple[str, str, str]]:
    """``(event, alert_id, class)`` of every alert event, in order."""
    return [(e.event, e.alert_id, e.class_) for e in events]


def rejected_total(counters: dict[str, int]) -> int:
    return sum(v for k, v in counters.items() if k.startswith("rejected:"))


def report_t_s(message: Message) -> float | None:
    """``t_s`` of a sensor report or timed status, None for anything else."""
    try:
        value = json.loads(message.payload).get("t_s")
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) else None
