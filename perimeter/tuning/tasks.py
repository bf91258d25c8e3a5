"""Sweep tasks: simulate one scenario at one seed once, then fuse and score it at many points.

The simulation does not depend on the thresholds (they act in fusion only), so a task runs the
world once and feeds the same messages to a fresh :class:`FusionRunner` per point, scored by the
same :func:`~perimeter.evaluation.score_run.score_run` as ``perimeter eval``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from perimeter.evaluation.covered import target_coverage
from perimeter.evaluation.report import RunReport
from perimeter.evaluation.run import fuse
from perimeter.evaluation.score_run import EvalOptions, score_run
from perimeter.thresholds import Thresholds
from sim.scenario import load_scenario
from sim.uplink import MemoryUplink
from sim.world import World

ScenarioRef = str | dict[str, Any]


@dataclass(frozen=True, slots=True)
class Task:
    """One scenario at one seed, scored at the points ``(index, thresholds)``."""

    scenario: ScenarioRef
    seed: int | None
    points: tuple[tuple[int, Thresholds], ...]
    options: EvalOptions | None = None
    duration_s: float | None = None


def scenario_seed(ref: ScenarioRef) -> int:
    """The seed a scenario file or mapping gives (the first of a ``--seeds N`` series)."""
    return load_scenario(ref).seed


def run_task(task: Task) -> list[tuple[int, RunReport]]:
    """Simulate once, then fuse and score at each point; module-level so it pickles."""
    started = time.perf_counter()
    scenario = load_scenario(task.scenario, duration_s=task.duration_s)
    if task.seed is not None:
        scenario = scenario.model_copy(update={"seed": task.seed})
    site = scenario.site_model
    uplink = MemoryUplink()
    truth = World(scenario, uplink).run(speed=None)
    sim_s = (time.perf_counter() - started) / max(1, len(task.points))
    out: list[tuple[int, RunReport]] = []
    for index, thresholds in task.points:
        t0 = time.perf_counter()
        collector = fuse(site, thresholds, uplink.messages)
        report = score_run(truth, site, collector.alerts, collector.snapshots, uplink.messages,
                           thresholds, task.options, rejected_messages=len(collector.rejects),
                           run_time_s=sim_s + time.perf_counter() - t0,
                           covered=target_coverage(scenario, truth, thresholds))
        out.append((index, report))
    return out
