"""Sweep wall time on 1 and 2 local worker processes, and the speed-up.

The issue's benchmark is 20 scenarios x 30 points; each point fuses every scenario once (the
simulation runs once per scenario and task), so that sweep costs about 600 fusion runs of
the full scenarios -- hours of CPU on two cores. This bench takes the built-in scenarios
(cycled up to ``--scenarios``), cuts each to ``--duration-s`` of simulated time, and sweeps
``--points`` grid points of ``alert.min_confidence`` x ``thermal.min_snr_db``. Prints the
median wall time per worker count over ``--repeats``, the CPU time used (CPU seconds per wall
second shows how much of the cores the sweep actually got on a shared machine) and the
speed-up; the pooled figures are checked to be identical across worker counts.

    python bench/bench_tune.py [--scenarios 20] [--points 30] [--duration-s 300] [--repeats 1]
"""

from __future__ import annotations

import argparse
import itertools
import resource
import statistics
import time
from typing import Any

from perimeter.tuning.executor import LocalExecutor
from perimeter.tuning.runner import run_sweep
from perimeter.tuning.sweep import Point
from sim.scenario import builtin_scenarios, load_scenario


def shortened(name: str, duration_s: float) -> dict[str, Any]:
    """A built-in scenario as an inline mapping (site inlined) cut to ``duration_s``."""
    scenario = load_scenario(name)
    data = scenario.model_dump(mode="json", exclude={"base_dir"})
    data["site"] = scenario.site_model.model_dump(mode="json")
    data["duration_s"] = min(scenario.duration_s, duration_s)
    data["targets"] = [t for t in data["targets"] if t["start_s"] < data["duration_s"]]
    data["faults"] = [f for f in data["faults"] if f["start_s"] < data["duration_s"]]
    data["name"] = f"{name}-{duration_s:g}s"
    return data


def points(count: int) -> list[Point]:
    """``count`` points of a confidence x SNR grid (5 confidences, then SNR steps)."""
    confidences = [0.4, 0.5, 0.6, 0.7, 0.8]
    snrs = [6.0 + i for i in range(-(-count // len(confidences)))]
    grid = [{"alert.min_confidence": c, "thermal.min_snr_db": s}
            for s, c in itertools.product(snrs, confidences)]
    return grid[:count]


def cpu_s() -> float:
    """CPU seconds of this process and its reaped children (the pool's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=20)
    parser.add_argument("--points", type=int, default=30)
    parser.add_argument("--duration-s", type=float, default=300.0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    names = list(itertools.islice(itertools.cycle(builtin_scenarios()), args.scenarios))
    scenarios = [shortened(n, args.duration_s) for n in names]
    grid = points(args.points)
    print(f"{len(scenarios)} scenarios x {len(grid)} points (+ current), "
          f"{args.duration_s:g} s each, repeats {args.repeats}")
    medians: dict[int, float] = {}
    rows: dict[int, list[dict[str, Any]]] = {}
    for workers in args.workers:
        walls, cpus = [], []
        for _ in range(args.repeats):
            started, cpu0 = time.perf_counter(), cpu_s()
            result = run_sweep(scenarios, grid, executor=LocalExecutor(workers),
                               min_tasks=2 * workers)
            walls.append(time.perf_counter() - started)
            cpus.append(cpu_s() - cpu0)
            rows[workers] = [p.row() for p in result.points]
        medians[workers] = statistics.median(walls)
        cpu = statistics.median(cpus)
        print(f"workers {workers}: median wall {medians[workers]:.1f} s "
              f"(runs: {', '.join(f'{w:.1f}' for w in walls)}); CPU {cpu:.1f} s, "
              f"{cpu / medians[workers]:.2f} CPU s per wall s")
    first = args.workers[0]
    same = all(rows[w] == rows[first] for w in args.workers)
    print(f"pooled figures identical across worker counts: {same}")
    for workers in args.workers[1:]:
        print(f"speed-up {workers} vs {first} workers: {medians[first] / medians[workers]:.2f}x")


if __name__ == "__main__":
    main()
