"""``perimeter tune``: the whole command as one function the CLI calls.

Parse ``--param`` ranges, build grid (or seeded random) points, run them on the chosen executor
with a rich progress bar, recommend, print the table and write the requested files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from perimeter.store import AlertStore
from perimeter.thresholds import Thresholds
from perimeter.tuning.apply import apply_recommendation
from perimeter.tuning.executor import ExecutorKind, make_executor
from perimeter.tuning.judged import JudgedRow, judged_alerts, judged_rows, judged_table
from perimeter.tuning.output import sweep_table, write_csv, write_json
from perimeter.tuning.plot import save_roc_png
from perimeter.tuning.recommend import Recommendation, recommend
from perimeter.tuning.runner import SweepResult, run_sweep
from perimeter.tuning.sweep import grid_points, parse_param, random_points

DEFAULT_MAX_FALSE_ALERTS_PER_KM_DAY = 1.0


@dataclass(frozen=True, slots=True)
class TuneOptions:
    """Everything ``perimeter tune`` takes besides the scenarios and ``--param`` s."""

    seeds: int = 1
    max_false_alerts_per_km_day: float = DEFAULT_MAX_FALSE_ALERTS_PER_KM_DAY
    random: int | None = None
    random_seed: int = 0
    plot: Path | None = None
    json_path: Path | None = None
    csv_path: Path | None = None
    workers: int = 1
    executor: ExecutorKind = "local"
    address: str | None = None
    apply_url: str | None = None
    force: bool = False
    """Apply even a recommendation the sample cannot separate from the current thresholds."""
    judged_db: str | None = None
    """An alert store (SQLite path or ``postgresql://``) whose resolved alerts to replay."""
    duration_s: float | None = None
    """Run each scenario for this many simulated seconds instead of its own duration."""
    cache_dir: Path | None = None
    """The simulated-stream cache (None: ``$PERIMETER_EVAL_CACHE``, else none)."""


def tune(scenarios: Sequence[str], params: Sequence[str], options: TuneOptions, *,
         base: Thresholds | None = None, console: Console | None = None
         ) -> tuple[SweepResult, Recommendation]:
    """Run the sweep and do what ``options`` ask; raises ``ThresholdError``/``ValueError``
    (bad input, naming the option) or ``ApplyError`` (``--apply`` refused)."""
    out = console or Console()
    if not params:
        raise ValueError("--param: give at least one NAME=LO:HI:STEP")
    ranges = [parse_param(p) for p in params]
    if options.random is None:
        points = grid_points(ranges)
    else:
        rng = np.random.default_rng(options.random_seed)
        points = random_points(ranges, options.random, rng)
    with make_executor(options.executor, workers=options.workers,
                       address=options.address) as executor, \
            Progress("[progress.description]{task.description}", BarColumn(),
                     MofNCompleteColumn(), TimeElapsedColumn(), console=out,
                     transient=True) as bar:
        job = bar.add_task(f"{len(points)} points", total=None)
        result = run_sweep(list(scenarios), points, base=base, seeds=options.seeds,
                           executor=executor, min_tasks=max(4, 2 * options.workers),
                           duration_s=options.duration_s, cache_dir=options.cache_dir,
                           progress=lambda done, total: bar.update(job, completed=done,
                                                                   total=total))
    choice = recommend(result.points, options.max_false_alerts_per_km_day)
    out.print(sweep_table(result, choice))
    for values, reason in result.refused:
        out.print(f"skipped {values}: {reason}")
    out.print(f"recommendation: {choice.reason}")
    if choice.warning is not None:
        out.print(f"[bold yellow]warning:[/] {choice.warning}")
    judged = _judged(result, options, out)
    _write(result, choice, options, out, judged)
    if options.apply_url is not None:
        in_force: dict[str, Any] = apply_recommendation(options.apply_url, choice,
                                                        force=options.force)
        out.print(f"applied to {options.apply_url}: "
                  + ", ".join(f"{k}={in_force.get(k)}" for k in choice.thresholds))
    return result, choice


def _judged(result: SweepResult, options: TuneOptions, out: Console) -> list[JudgedRow] | None:
    """The points' figures on the alerts operators resolved in ``--judged DB``, printed."""
    if options.judged_db is None:
        return None
    with AlertStore.open(options.judged_db) as store:
        judged = judged_alerts(store)
    rows = judged_rows(result.points, judged)
    out.print(judged_table(rows, judged, result.names))
    return rows


def _write(result: SweepResult, choice: Recommendation, options: TuneOptions,
           out: Console, judged: list[JudgedRow] | None = None) -> None:
    if options.json_path is not None:
        write_json(options.json_path, result, choice, judged)
        out.print(f"wrote {options.json_path}")
    if options.csv_path is not None:
        write_csv(options.csv_path, result)
        out.print(f"wrote {options.csv_path}")
    if options.plot is not None:
        save_roc_png(options.plot, result.points, recommended=choice.point,
                     max_false_alerts_per_km_day=options.max_false_alerts_per_km_day,
                     title=f"{', '.join(result.scenarios)[:60]} ({result.seeds} seed(s))")
        out.print(f"wrote {options.plot}")
