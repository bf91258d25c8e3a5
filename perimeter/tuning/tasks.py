"""Sweep tasks: simulate one scenario at one seed once, then fuse and score it at many points.

The simulation does not depend on the thresholds (they act in fusion only), so a task runs the
world once (or takes it from the evaluation's stream cache, ``$PERIMETER_EVAL_CACHE``, as
``perimeter eval`` does) and feeds the same messages to fusion at every point: one tracker per
group of points that differ only in the alert stage (:func:`.shared_fusion.fuse_points`), each
point's outputs those of its own run, scored by the same
:func:`~perimeter.evaluation.score_run.score_run` as ``perimeter eval``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perimeter.evaluation.covered import TargetCoverage, target_coverage
from perimeter.evaluation.crb import sightings_by_target
from perimeter.evaluation.report import RunReport
from perimeter.evaluation.run import simulate
from perimeter.evaluation.score_run import EvalOptions, score_run
from perimeter.thresholds import Thresholds
from perimeter.tuning.shared_fusion import fuse_points
from sim.scenario import load_scenario

ScenarioRef = str | dict[str, Any]


@dataclass(frozen=True, slots=True)
class Task:
    """One scenario at one seed, scored at the points ``(index, thresholds)``."""

    scenario: ScenarioRef
    seed: int | None
    points: tuple[tuple[int, Thresholds], ...]
    options: EvalOptions | None = None
    duration_s: float | None = None
    cache_dir: Path | None = None
    """The stream cache (:func:`~perimeter.evaluation.run.simulate`; None: the environment's)."""


def scenario_seed(ref: ScenarioRef) -> int:
    """The seed a scenario file or mapping gives (the first of a ``--seeds N`` series)."""
    return load_scenario(ref).seed


def run_task(task: Task) -> list[tuple[int, RunReport]]:
    """Simulate once (or load the cached run), fuse the points, score each; module-level so
    it pickles. A report's ``run_time_s`` is the task's simulation and fusion shared evenly
    among its points, plus its own scoring."""
    started = time.perf_counter()
    scenario = load_scenario(task.scenario, duration_s=task.duration_s)
    if task.seed is not None:
        scenario = scenario.model_copy(update={"seed": task.seed})
    site = scenario.site_model
    world = simulate(scenario, task.cache_dir)
    outputs = fuse_points(site, [t for _, t in task.points], world.messages)
    shared_s = (time.perf_counter() - started) / max(1, len(task.points))
    out: list[tuple[int, RunReport]] = []
    coverage: dict[tuple[float, float, tuple[str, ...]], dict[str, TargetCoverage]] = {}
    sightings = sightings_by_target(world.truth, world.messages)  # of no threshold
    for (index, thresholds), collector in zip(task.points, outputs, strict=True):
        t0 = time.perf_counter()
        # coverage reads only the SNR floors and alert.classes
        key = (thresholds.thermal_min_snr_db, thresholds.acoustic_min_snr_db,
               thresholds.alert_classes)
        if key not in coverage:
            coverage[key] = target_coverage(scenario, world.truth, thresholds)
        report = score_run(world.truth, site, collector.alerts, collector.snapshots,
                           world.messages, thresholds, task.options,
                           rejected_messages=len(collector.rejects),
                           run_time_s=shared_s + time.perf_counter() - t0,
                           covered=coverage[key], sightings=sightings)
        out.append((index, report))
    return out
