"""``perimeter sim --record``: a scenario's messages as a JSONL recording, as fast as possible."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from sim.scenario import Scenario, load_scenario
from sim.truth import Truth
from sim.uplink import RecordingUplink
from sim.world import World


def record(scenario: Scenario | str | Path | dict[str, Any], out: Path | IO[str],
           until_s: float | None = None) -> Truth:
    """Run ``scenario`` and write every message to ``out``; byte-identical for the same seed."""
    loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if isinstance(out, Path):
        with out.open("w", encoding="utf-8", newline="\n", buffering=1 << 20) as handle:
            return World(loaded, RecordingUplink(handle)).run(until_s=until_s)
    return World(loaded, RecordingUplink(out)).run(until_s=until_s)
