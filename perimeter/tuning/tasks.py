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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perimeter.evaluation.covered import CoverageShare, TargetCoverage, target_coverage
from perimeter.evaluation.crb import sightings_by_target
from perimeter.evaluation.gospa import GospaMemo, TruthAt
from perimeter.evaluation.report import RunReport
from perimeter.evaluation.run import Collector, simulate
from perimeter.evaluation.score_run import EvalOptions, score_run
from perimeter.evaluation.stream_cache import SimulatedRun
from perimeter.thresholds import Thresholds
from perimeter.tuning.shared_fusion import fuse_points
from sim.scenario import Scenario, load_scenario

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
    trackers: dict[int, int] = {}
    outputs = fuse_points(site, [t for _, t in task.points], world.messages, trackers=trackers)
    shared_s = (time.perf_counter() - started) / max(1, len(task.points))
    return score_points(scenario, world, task.points, outputs, trackers, task.options, shared_s)


def score_points(scenario: Scenario, world: SimulatedRun,
                 points: Sequence[tuple[int, Thresholds]], outputs: Sequence[Collector],
                 trackers: Mapping[int, int], options: EvalOptions | None = None,
                 shared_s: float = 0.0) -> list[tuple[int, RunReport]]:
    """Score each point's outputs (``trackers``: each point's tracker, by position, as
    :func:`.shared_fusion.fuse_points` gives it) as ``perimeter eval`` would. What points
    share is computed once: the run's sightings, the intrusions' coverage (it reads the SNR
    floors and alert.classes), the truth at each snapshot time, a tracker's GOSPA series
    (its points' snapshots differ only in alert ids), and the report of a point whose alerts
    equal those of a point scored before on its tracker with its classes and SNR floors. A report's
    ``run_time_s`` is ``shared_s`` and its own scoring."""
    out: list[tuple[int, RunReport]] = []
    coverage: dict[tuple[float, float, tuple[str, ...]], dict[str, TargetCoverage]] = {}
    share = CoverageShare.of(scenario)  # terrain, horizons, thermal terms before the floors
    sightings = sightings_by_target(world.truth, world.messages)  # of no threshold
    truth_at = TruthAt(world.truth.targets)
    memos: dict[int, GospaMemo] = {}
    scored: dict[tuple[int, tuple[str, ...], float, float], list[tuple[Collector, RunReport]]] = {}
    site = scenario.site_model
    for k, ((index, thresholds), collector) in enumerate(zip(points, outputs, strict=True)):
        t0 = time.perf_counter()
        # a report reads the point's alerts, its tracker's tracks, SNR floors, alert.classes
        same = scored.setdefault((trackers[k], thresholds.alert_classes,
                                  thresholds.thermal_min_snr_db, thresholds.acoustic_min_snr_db),
                                 [])
        report = next((r for c, r in same if c.alerts == collector.alerts
                       and len(c.rejects) == len(collector.rejects)), None)
        if report is None:
            key = (thresholds.thermal_min_snr_db, thresholds.acoustic_min_snr_db,
                   thresholds.alert_classes)
            if key not in coverage:
                coverage[key] = target_coverage(scenario, world.truth, thresholds,
                                                share=share)
            if trackers[k] not in memos:
                memos[trackers[k]] = GospaMemo(truth_at)
            report = score_run(world.truth, site, collector.alerts, collector.snapshots,
                               world.messages, thresholds, options,
                               rejected_messages=len(collector.rejects),
                               covered=coverage[key], sightings=sightings,
                               gospa_memo=memos[trackers[k]])
            same.append((collector, report))
        run_time_s = shared_s + time.perf_counter() - t0
        out.append((index, report.model_copy(update={"run_time_s": run_time_s})))
    return out
