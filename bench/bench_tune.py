"""Sweep wall time on 1 and 2 local worker processes, and the speed-up; the issue's two figures.

``--figures`` prints instead the two figures of issue 16 part 7: fusion's detections per CPU
second on the 12-tower recorded stream (``default``, ``--duration-12`` s, median of
``--repeats``) against 50,000/s, and the wall time of a ``--points``-point ``perimeter tune``
over the whole evaluation set (every built-in scenario at 3 seeds) on 2 cores, *extrapolated*:
each scenario is simulated for its first ``--sample-s`` s, fused at the current thresholds
alone, fused at the five ``alert.min_confidence`` values of the grid on one tracker (as the
sweep fuses points that differ only in the alert stage, :mod:`perimeter.tuning.shared_fusion`),
its intrusions' coverage computed and each point scored (alone, and the five as a sweep's
task scores them, :func:`perimeter.tuning.tasks.score_points`). The CPU per simulated second
is scaled to the scenarios' full durations, 3 seeds and the sweep's points and trackers (30
points at 6 SNR values: 6 trackers were every floor to drop other detections; SNR floors that
drop the same detections of the stream share one, so the count is taken on each sampled
stream and printed beside), and divided by the 2 workers (the sweep's measured 2-worker speed-up on
this machine is below 2, so the estimate is a lower bound); it is printed for a fusion run per
point (the sweep before trackers were shared) and for the sweep as it runs, with the simulation
and without it (a warm stream cache, ``PERIMETER_EVAL_CACHE``). The numba kernels' compile time
is measured cold (empty cache) and warm, in fresh processes.

Without ``--figures``: the built-in scenarios (cycled up to ``--scenarios``), each cut to
``--duration-s`` of simulated time, swept over ``--points`` grid points of
``alert.min_confidence`` x ``thermal.min_snr_db`` by ``run_sweep`` (the simulation runs once per
scenario and task). Prints the median wall time per worker count over ``--repeats``, the CPU
time used (CPU seconds per wall second shows how much of the cores the sweep actually got on a
shared machine) and the speed-up; the pooled figures are checked to be identical across worker
counts.

    python bench/bench_tune.py [--scenarios 20] [--points 30] [--duration-s 300] [--repeats 1]
    python bench/bench_tune.py --figures [--repeats 3] [--duration-12 600] [--sample-s 600]

The grid's thermal floors start at ``--snr-from`` (14 dB, :data:`SNR_FROM_DB`), where floors
begin to drop the simulated streams' detections.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench_fusion import TARGET_DETECTIONS_PER_S, fuse_cpu_s, recorded

from perimeter.evaluation.covered import target_coverage
from perimeter.evaluation.run import fuse
from perimeter.evaluation.score_run import score_run
from perimeter.evaluation.stream_cache import SimulatedRun
from perimeter.thresholds import Thresholds
from perimeter.tuning.executor import LocalExecutor
from perimeter.tuning.runner import run_sweep
from perimeter.tuning.shared_fusion import fuse_points, tracker_key
from perimeter.tuning.sweep import Point, valid_points
from perimeter.tuning.tasks import score_points
from sim.scenario import builtin_scenarios, load_scenario
from sim.uplink import MemoryUplink
from sim.world import World

TUNE_TARGET_S = 600.0
_COMPILE = """
import time; t = time.process_time()
import numpy as np
from perimeter.fusion import ekf
from perimeter.fusion.associate import assign
x, p = np.array([[3000.0, 0.0, -1.0, 0.0]]), np.diag([100.0, 100.0, 1.0, 1.0])[None]
xp, pp = ekf.predict(x, p, np.array([1.0]), np.array([0.05]))
nu, s, h = ekf.innovation(xp, pp, np.zeros(2), np.array([1.57]), np.array([1e-5]))
assign(nu, s, 6.6)
ekf.update(xp, pp, h, nu[:, 0], np.array([1e-5]))
ekf.update_with_gain(xp, pp, h, nu[:, 0], s[:, 0])
from perimeter.fusion import crossing_kernels, kernels
nu, s, h, *_ = kernels.late_gate(x, p, np.array([-0.1]), np.array([0.05]), 0.0, 0.0,
                                 np.array([1.57]), np.array([1e-5]), 6.6)
kernels.late_update(x, p, h, np.array([-0.1]), nu, s, np.zeros(1, np.int64), np.zeros(1, np.int64))
pool = (np.array([[0.0, 0.0], [500.0, 0.0], [1000.0, 0.0]]), np.array([0.3, 0.0, -0.3]),
        np.full(3, 1e-3), np.arange(3), np.ones(3, bool))
crossing_kernels.crossing_search(-500.0, 0.0, 0.5, 1e-6, 3, True, pool, np.ones(3, bool),
                                 (100.0, 8000.0, 0.035, 9.0), np.array([3, 4, 5, 3]))
kernels.shadow_pairs(np.zeros(1, np.int64), np.ones(1, np.int64), np.zeros(1, np.int64),
                     np.zeros(1), np.zeros((1, 2)), np.ones(1), 2, 1)
print(time.process_time() - t)
"""


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


CONFIDENCES = (0.4, 0.5, 0.6, 0.7, 0.8)
SNR_FROM_DB = 14.0
"""The grid's lowest thermal SNR floor: the simulated imagers report nothing below 14 dB
(docs/sensors.md), so lower floors drop nothing and a sweep of them is one tracker doing the
same run (docs/tuning.md, "Points whose SNR floors drop the same detections")."""


def points(count: int, snr_from_db: float = SNR_FROM_DB) -> list[Point]:
    """``count`` points of a confidence x SNR grid (5 confidences, then 1 dB SNR steps from
    ``snr_from_db``)."""
    snrs = [snr_from_db + i for i in range(-(-count // len(CONFIDENCES)))]
    grid = [{"alert.min_confidence": c, "thermal.min_snr_db": s}
            for s, c in itertools.product(snrs, CONFIDENCES)]
    return grid[:count]


def cpu_s() -> float:
    """CPU seconds of this process and its reaped children (the pool's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def compile_cpu_s() -> tuple[float, float]:
    """CPU seconds of a fresh process importing fusion and calling every kernel once, with an
    empty numba cache (cold: compiles) and again with the cache it left (warm)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs = [subprocess.run([sys.executable, "-c", _COMPILE], env=env, check=True,
                               capture_output=True, text=True) for _ in range(2)]
    cold, warm = (float(r.stdout.strip()) for r in runs)
    return cold, warm


def point_cpu_s(name: str, sample_s: float, grid: list[Thresholds]) -> dict[str, float]:
    """A scenario's first ``sample_s`` s: CPU s of its simulation (``sim``); of fusing it at
    the current thresholds alone (``fuse``); of fusing the five ``alert.min_confidence`` values
    of :func:`points` at the current SNR with one tracker (``group``, the sweep's way); of
    the intrusions' coverage (``cover``: once per point alone, once per tracker in a sweep's
    task); of scoring one point (``score``, the median of those five); and the sampled s
    (``sim_s``)."""
    scenario = load_scenario(shortened(name, sample_s))
    site = scenario.site_model
    start = time.process_time()
    uplink = MemoryUplink()
    truth = World(scenario, uplink).run(speed=None)
    sim = time.process_time() - start
    start = time.process_time()
    fuse(site, Thresholds(), uplink.messages)
    alone = time.process_time() - start
    group = [Thresholds().patched({"alert.min_confidence": c}) for c in CONFIDENCES]
    trackers: dict[int, int] = {}
    start = time.process_time()
    outputs = fuse_points(site, group, uplink.messages, trackers=trackers)
    shared = time.process_time() - start
    start = time.process_time()
    covered = target_coverage(scenario, truth, Thresholds())  # once per tracker in a task
    cover = time.process_time() - start
    scores = []
    for thresholds, collector in zip(group, outputs, strict=True):
        start = time.process_time()
        score_run(truth, site, collector.alerts, collector.snapshots, uplink.messages,
                  thresholds, None, rejected_messages=0, run_time_s=0.0, covered=covered)
        scores.append(time.process_time() - start)
    start = time.process_time()  # the task's way: coverage, sightings, GOSPA shared
    score_points(scenario, SimulatedRun(uplink.messages, truth), list(enumerate(group)),
                 outputs, trackers)
    scored = time.process_time() - start
    start = time.process_time()  # the sweep's task at every point of the grid, but simulating
    trackers.clear()
    outputs = fuse_points(site, grid, uplink.messages, trackers=trackers)
    score_points(scenario, SimulatedRun(uplink.messages, truth), list(enumerate(grid)),
                 outputs, trackers)
    task = time.process_time() - start
    return {"sim": sim, "fuse": alone, "group": shared, "cover": cover,
            "score": statistics.median(scores), "scored": scored, "sim_s": scenario.duration_s,
            "task": task, "trackers": len(set(trackers.values()))}


def sweep_shape(count: int, snr_from_db: float = SNR_FROM_DB) -> tuple[list[Thresholds], int]:
    """The points a ``count``-point sweep of :func:`points` scores (the current thresholds
    added when not on the grid, as ``run_sweep`` does) and its trackers were every SNR floor
    to drop other detections (one per group of points that differ only in the alert stage)."""
    kept = [t for _, t in valid_points(points(count, snr_from_db), Thresholds())[0]]
    scored = kept if Thresholds() in kept else [Thresholds(), *kept]
    return scored, len({tracker_key(t) for t in scored})


def figures(args: argparse.Namespace) -> None:
    """Issue 16's two figures (see the module docstring)."""
    cold, warm = compile_cpu_s()
    print(f"numba kernels, import and first calls in a fresh process: cold (compile) "
          f"{cold:.2f} CPU s, warm (cached) {warm:.2f} CPU s")
    scenario = load_scenario("default")
    messages = recorded(scenario, args.duration_12)
    runs = [fuse_cpu_s(scenario.site_model, messages) for _ in range(args.repeats)]
    cpu = statistics.median(r[0] for r in runs)
    print(f"12-tower default stream, {args.duration_12:g} s, {runs[0][1]} detections: "
          f"{runs[0][1] / cpu:,.0f} detections per CPU s (median of {args.repeats}: "
          f"{', '.join(f'{r[0]:.2f}' for r in runs)} s), "
          f"{runs[0][1] / cpu / TARGET_DETECTIONS_PER_S:.2f} of {TARGET_DETECTIONS_PER_S:,.0f}")
    grid, trackers = sweep_shape(args.points, args.snr_from)
    scored = len(grid)
    sims = separate = shared = every = 0.0
    counts = []
    for name in builtin_scenarios():
        c = point_cpu_s(name, args.sample_s, grid)
        full_s = load_scenario(name).duration_s
        scale = 3 * full_s / c["sim_s"]
        sims += c["sim"] * scale
        separate += scored * (c["fuse"] + c["cover"] + c["score"]) * scale
        scoring = scored / len(CONFIDENCES) * c["scored"]
        shared += c["task"] * scale
        every += (trackers * c["group"] + scoring) * scale
        counts.append(int(c["trackers"]))
        print(f"  {name:22} sampled {c['sim_s']:6.0f} of {full_s:6.0f} s:"
              f" sim {c['sim']:6.2f}, fuse {c['fuse']:6.2f} per point alone, "
              f"{c['group']:6.2f} per {len(CONFIDENCES)} points on one tracker, "
              f"coverage {c['cover']:5.2f}, score {c['score']:5.2f} per point alone, "
              f"{c['scored']:5.2f} per {len(CONFIDENCES)} points of a tracker; the task at all "
              f"{scored} points {c['task']:6.2f} on {c['trackers']:.0f} trackers (CPU s)",
              flush=True)
    print(f"{args.points}-point tune ({scored} points scored; {trackers} trackers if every SNR "
          f"floor dropped other detections, {min(counts)}-{max(counts)} on the sampled "
          f"streams), {len(builtin_scenarios())} scenarios x 3 seeds, 2 workers, extrapolated "
          f"from the first {args.sample_s:g} s of each scenario (simulation {sims:,.0f} CPU s, "
          f"none with a warm stream cache):")
    for label, fusion in (("a fusion run per point", separate),
                          (f"{trackers} trackers (floors dropping others)", every),
                          ("points sharing a tracker (the sweep)", shared)):
        wall = (sims + fusion) / 2
        print(f"  {label:38}: {sims + fusion:7,.0f} CPU s, >= {wall / 60:6.1f} min wall "
              f"({fusion / 2 / 60:.1f} min warm), {wall / TUNE_TARGET_S:.1f}x the "
              f"{TUNE_TARGET_S / 60:.0f} min target")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=20)
    parser.add_argument("--points", type=int, default=30)
    parser.add_argument("--duration-s", type=float, default=300.0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--figures", action="store_true")
    parser.add_argument("--snr-from", type=float, default=SNR_FROM_DB,
                        help="the grid's lowest thermal.min_snr_db (6 gives the grid before "
                             "December 2026, whose floors drop nothing)")
    parser.add_argument("--duration-12", type=float, default=600.0)
    parser.add_argument("--sample-s", type=float, default=600.0)
    args = parser.parse_args()
    if args.figures:
        figures(args)
        return
    names = list(itertools.islice(itertools.cycle(builtin_scenarios()), args.scenarios))
    scenarios = [shortened(n, args.duration_s) for n in names]
    grid = points(args.points, args.snr_from)
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
