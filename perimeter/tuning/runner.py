"""Run a sweep: every point on every scenario and seed, pooled per point like ``perimeter eval``.

Work is cut into :class:`~perimeter.tuning.tasks.Task` s (one simulation each) and handed to an
:class:`~perimeter.tuning.executor.Executor`; results are put back in a fixed order, so the
pooled figures are the same whatever the executor and the number of workers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scipy.stats import binomtest

from perimeter.evaluation.report import AggregateReport, RunReport, aggregate
from perimeter.evaluation.score_run import EvalOptions
from perimeter.thresholds import Thresholds
from perimeter.tuning.executor import Executor, LocalExecutor
from perimeter.tuning.shared_fusion import tracker_key
from perimeter.tuning.sweep import Point, valid_points
from perimeter.tuning.tasks import ScenarioRef, Task, run_task, scenario_seed
from sim.scenario import load_scenario

CONFIDENCE = 0.95
Progress = Callable[[int, int], None]
"""Called with ``(tasks done, tasks in all)`` after each finished task."""


def pd_interval(detected: int, trials: int, confidence: float = CONFIDENCE
                ) -> tuple[float | None, float | None]:
    """Two-sided exact (Clopper-Pearson) interval of a detection probability."""
    if trials == 0:
        return None, None
    ci = binomtest(detected, trials).proportion_ci(confidence_level=confidence, method="exact")
    return float(ci.low), float(ci.high)


@dataclass(frozen=True, slots=True)
class PointResult:
    """One operating point: its swept values, full thresholds and pooled figures."""

    index: int
    values: Point
    thresholds: dict[str, Any]
    current: bool
    pooled: AggregateReport
    pd_low_95: float | None
    pd_high_95: float | None

    @property
    def pd(self) -> float | None:
        return self.pooled.pd

    @property
    def false_alerts_per_km_day(self) -> float:
        return self.pooled.false_alerts_per_km_day

    def row(self) -> dict[str, Any]:
        """A flat row for the table, CSV and JSON: swept values then pooled figures."""
        p = self.pooled
        return {"point": self.index, "current": self.current, **self.values,
                "pd": p.pd, "pd_low_95": self.pd_low_95, "pd_high_95": self.pd_high_95,
                "intrusions": p.intrusions, "detected": p.detected,
                "pd_observable": p.pd_observable, "false_alerts": p.false_alerts,
                "false_alerts_per_km_day": p.false_alerts_per_km_day,
                "nuisance_alerts_per_km_day": p.nuisance_alerts_per_km_day,
                "time_to_alert_median_s": p.time_to_alert_s.median,
                "origin_error_median_m": p.origin_error_m.median,
                "pd_covered": p.pd_covered, "covered_intrusions": p.covered_intrusions,
                "misclassified_alerts": p.misclassified_alerts,
                "matched_alerts": p.matched_alerts, "duplicate_alerts": p.duplicate_alerts,
                "false_nuisance_alerts_per_km_day": p.false_nuisance_alerts_per_km_day,
                "time_to_alert_after_covered_median_s": p.time_to_alert_after_covered_s.median,
                "time_to_alert_after_covered_p90_s": p.time_to_alert_after_covered_s.p90,
                "origins_with_ellipse": p.origins_with_ellipse,
                "origins_in_95_ellipse": p.origins_in_95_ellipse,
                "origin_normalised_error_median": p.origin_normalised_error.median,
                "origin_error_to_crb_median": p.origin_error_to_crb.median,
                "origin_unobservable": p.origin_unobservable,
                "gospa_intruders_mean_m": p.gospa_intruders.mean_m if p.gospa_intruders else None,
                "gospa_animals_mean_m": p.gospa_animals.mean_m if p.gospa_animals else None,
                "matched_alert_distance_median_m": p.matched_alert_distance_m.median}


@dataclass(slots=True)
class SweepResult:
    """All points of a sweep, the refused points with reasons, and the wall time."""

    scenarios: list[str]
    seeds: int
    names: list[str]
    points: list[PointResult]
    refused: list[tuple[Point, str]] = field(default_factory=list)
    wall_time_s: float = 0.0

    @property
    def current(self) -> PointResult:
        return next(p for p in self.points if p.current)


def _label(ref: ScenarioRef) -> str:
    return ref if isinstance(ref, str) else str(ref.get("name", "<inline>"))


def plan_tasks(scenarios: Sequence[ScenarioRef], seeds: int,
               points: Sequence[tuple[int, Thresholds]], options: EvalOptions | None = None,
               *, min_tasks: int = 4, duration_s: float | None = None,
               cache_dir: Path | None = None) -> list[Task]:
    """One task per scenario and seed, split into point chunks until there are ``min_tasks``;
    points that share a tracker (:func:`.shared_fusion.tracker_key`) are put next to each
    other first, so a chunk holds whole groups where it can."""
    runs = [(ref, scenario_seed(ref) + k) for ref in scenarios for k in range(seeds)]
    groups: dict[Thresholds, list[tuple[int, Thresholds]]] = {}
    for point in points:
        groups.setdefault(tracker_key(point[1]), []).append(point)
    points = [point for group in groups.values() for point in group]
    chunks = max(1, min(len(points), math.ceil(min_tasks / max(1, len(runs)))))
    size = math.ceil(len(points) / chunks)
    return [Task(ref, seed, tuple(points[i:i + size]), options, duration_s, cache_dir)
            for ref, seed in runs for i in range(0, len(points), size)]


def longest_first(tasks: Sequence[Task]) -> list[int]:
    """The tasks' indices, costliest first (simulated seconds times trackers; ties keep
    their order), so that the workers do not finish on one long task each other idles by."""
    def cost(task: Task) -> float:
        trackers = len({tracker_key(t) for _, t in task.points})
        duration_s = (task.duration_s if task.duration_s is not None  # as load_scenario sets it
                      else load_scenario(task.scenario).duration_s)
        return duration_s * trackers

    costs = [cost(task) for task in tasks]
    return sorted(range(len(tasks)), key=lambda k: -costs[k])


def run_sweep(scenarios: Sequence[ScenarioRef], points: Sequence[Point], *,
              base: Thresholds | None = None, seeds: int = 1,
              executor: Executor | None = None, options: EvalOptions | None = None,
              progress: Progress | None = None, min_tasks: int = 4,
              duration_s: float | None = None, cache_dir: Path | None = None) -> SweepResult:
    """Score the base thresholds (the current point) and every valid point; pool per point.
    ``cache_dir``: the simulated-stream cache (default ``$PERIMETER_EVAL_CACHE``), so each
    scenario and seed is simulated once across sweeps and ``perimeter eval``."""
    if not scenarios:
        raise ValueError("scenarios: give at least one scenario")
    if seeds < 1:
        raise ValueError(f"seeds: must be at least 1, got {seeds}")
    started = time.perf_counter()
    in_force = base or Thresholds()
    kept, refused = valid_points(points, in_force)
    names = list(dict.fromkeys(name for point, _ in kept for name in point))
    entries: list[tuple[Point, Thresholds]] = []
    if all(t != in_force for _, t in kept):
        public = in_force.to_public()
        entries.append(({name: public[name] for name in names}, in_force))
    entries += kept
    indexed = list(enumerate(t for _, t in entries))
    tasks = plan_tasks(scenarios, seeds, indexed, options, min_tasks=min_tasks,
                       duration_s=duration_s, cache_dir=cache_dir)
    by_task: dict[int, list[tuple[int, RunReport]]] = {}
    order = longest_first(tasks)
    for done, (i, result) in enumerate((executor or LocalExecutor()).run(
            run_task, [tasks[k] for k in order]), 1):
        by_task[order[i]] = result
        if progress is not None:
            progress(done, len(tasks))
    reports: dict[int, list[RunReport]] = {i: [] for i, _ in indexed}
    for i in range(len(tasks)):
        for index, report in by_task[i]:
            reports[index].append(report)
    results = []
    for index, (values, thresholds) in enumerate(entries):
        pooled = aggregate(reports[index])
        low, high = pd_interval(pooled.detected, pooled.intrusions)
        results.append(PointResult(index, values, thresholds.to_public(), thresholds == in_force,
                                   pooled, low, high))
    return SweepResult([_label(s) for s in scenarios], seeds, names, results, refused,
                       time.perf_counter() - started)
