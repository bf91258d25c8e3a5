"""In-process soak: a long ridge recording fused by one ``FusionRunner`` faster than real time,
watching what grows with time rather than with the live tracks.

The scenario is ``bench_load_roles``' ridge (a crossing every 20 s along it, crossers already
on their way at 0 s, wandering animals), recorded once to a file (in a child process) and fed
line by line. Every ``--every-s`` of data time it samples the process RSS, the live tracks and
the size of every container reachable from the runner (a census:
``engine.manager.tracks[*].score.looks`` is the sum over live tracks), and, from ``--warm-s`` on,
tracemalloc (``--trace-depth`` frames): the allocation sites that grew most between the first
and the last snapshot are printed at the end, with the containers that grew in the second half.

    python bench/bench_soak.py [--towers 50] [--hours 3] [--every-s 600] [--warm-s 3600]
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import signal
import tempfile
import time
import tracemalloc
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from bench_load_roles import load_scenario_for, rss_mb

from perimeter.bus import Message
from perimeter.contract import AlertEvent, DeadLetter, TracksSnapshot
from perimeter.fusion.runner import FusionRunner
from perimeter.thresholds import Thresholds
from sim.record import record

PREFIX = '{"topic":'


class CountingOutput:
    """Counts what fusion publishes and keeps nothing (so the output cannot be what grows)."""

    def __init__(self) -> None:
        self.alerts = self.snapshots = self.dead_letters = 0

    def alert(self, event: AlertEvent) -> None:
        self.alerts += 1

    def tracks(self, snapshot: TracksSnapshot) -> None:
        self.snapshots += 1

    def reject(self, dead_letter: DeadLetter) -> None:
        self.dead_letters += 1


def messages(path: Path) -> Iterator[Message]:
    """The recording's messages, the payload cut out of each line as it was written."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            line = line.rstrip("\n")
            topic_end = line.index('","payload":')
            topic = line[len(PREFIX) + 1:topic_end]
            retain = line.endswith(',"retain":true}')
            body = line[topic_end + len('","payload":'):
                        -len(',"retain":true}') if retain else -1]
            yield Message(topic, body.encode(), retain=retain)


def census(obj: object, path: str = "runner", depth: int = 0,
           out: dict[str, int] | None = None, seen: set[int] | None = None) -> dict[str, int]:
    """Sizes of the containers reachable from ``obj``: lists, dicts, sets, deques, arrays.
    Elements of a container that are objects are visited under ``path[*]`` (sizes summed)."""
    out = {} if out is None else out
    seen = set() if seen is None else seen
    if depth > 6 or id(obj) in seen or isinstance(obj, (str, bytes, int, float, type)):
        return out
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        out[path] = out.get(path, 0) + int(obj.size)
        return out
    if isinstance(obj, (list, tuple, set, frozenset, deque, dict)):
        out[path] = out.get(path, 0) + len(obj)
        values = obj.values() if isinstance(obj, dict) else obj
        for value in list(values)[:100_000]:
            census(value, f"{path}[*]", depth + 1, out, seen)
        return out
    names: list[str] = []
    for klass in type(obj).__mro__:
        names += list(getattr(klass, "__slots__", ()))
    names += list(getattr(obj, "__dict__", {}))
    for name in names:
        if name.startswith("__") or not hasattr(obj, name):
            continue
        value = getattr(obj, name)
        if callable(value) and not isinstance(value, (list, dict, set, deque)):
            continue
        census(value, f"{path}.{name}", depth + 1, out, seen)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--towers", type=int, default=50)
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--every-s", type=float, default=600.0, help="data seconds per sample")
    parser.add_argument("--warm-s", type=float, default=3600.0, help="tracemalloc from here")
    parser.add_argument("--trace-depth", type=int, default=10)
    parser.add_argument("--no-trace", action="store_true")
    parser.add_argument("--until-s", type=float, help="stop at this data time")
    parser.add_argument("--crossing-every-s", type=float,
                        help="default: as dense per km as bench_load's 200 towers (20 s there)")
    parser.add_argument("--recording", type=Path, help="reuse (or write) this recording")
    args = parser.parse_args()
    duration_s = args.hours * 3600.0
    every_s = args.crossing_every_s or 20.0 * 200 / args.towers
    scenario = load_scenario_for(args.towers, duration_s, every_s=every_s)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        path = args.recording or Path(tmp) / "soak.jsonl"
        if not path.exists():  # in a child, so this process's RSS is fusion's alone
            start = time.monotonic()
            child = multiprocessing.get_context("spawn").Process(
                target=_record, args=(args.towers, duration_s, every_s, path))
            child.start()
            child.join()
            print(f"recorded {duration_s:.0f} s of {args.towers} towers in "
                  f"{time.monotonic() - start:.0f} s", flush=True)
        soak(args, scenario.site_model, scenario.epoch_s, path)


def _record(towers: int, duration_s: float, every_s: float, path: Path) -> None:
    record(load_scenario_for(towers, duration_s, every_s=every_s), path)


def soak(args: argparse.Namespace, site: Any, t0_s: float, path: Path) -> None:
    output = CountingOutput()
    runner = FusionRunner(site, Thresholds(), output)
    rows: list[tuple[float, float, int, dict[str, int]]] = []
    snaps: list[tuple[float, tracemalloc.Snapshot]] = []
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        feed(args, runner, output, path, t0_s, rows, snaps)
    except KeyboardInterrupt:  # SIGINT or SIGTERM: summarise what was sampled so far
        print("interrupted", flush=True)
    summary(rows, snaps)


def feed(args: argparse.Namespace, runner: FusionRunner, output: CountingOutput, path: Path,
         t0_s: float, rows: list[tuple[float, float, int, dict[str, int]]],
         snaps: list[tuple[float, tracemalloc.Snapshot]]) -> None:
    next_s = args.every_s
    started = time.monotonic()
    n = 0
    for message in messages(path):
        runner.feed(message)
        n += 1
        clock = runner.clock_s
        if clock is None or clock - t0_s < next_s:
            continue
        data_s = clock - t0_s
        next_s += args.every_s
        if args.until_s is not None and data_s > args.until_s:
            break
        gc.collect()
        rows.append((data_s, rss_mb(), len(runner.engine.tracks), census(runner)))
        print(f"data {data_s:7.0f} s  wall {time.monotonic() - started:6.0f} s  messages {n:9d}"
              f"  RSS {rows[-1][1]:7.1f} MB  live tracks {rows[-1][2]:4d}  alerts "
              f"{output.alerts}", flush=True)
        if not args.no_trace and data_s >= args.warm_s:
            if not tracemalloc.is_tracing():
                tracemalloc.start(args.trace_depth)
            else:
                snaps.append((data_s, tracemalloc.take_snapshot()))


def summary(rows: list[tuple[float, float, int, dict[str, int]]],
            snaps: list[tuple[float, tracemalloc.Snapshot]]) -> None:
    if len(rows) < 2:
        return
    half = rows[len(rows) // 2]
    last = rows[-1]
    print(f"\nlive tracks: middle {half[2]}, end {last[2]}; RSS middle {half[1]:.1f} MB, "
          f"end {last[1]:.1f} MB")
    print("containers grown in the second half (entries at middle -> end):")
    for key in sorted(last[3]):
        before, after = half[3].get(key, 0), last[3][key]
        if after > before * 1.1 + 10:
            trail = " ".join(str(r[3].get(key, 0)) for r in rows)
            print(f"  {key:60} {before:9d} -> {after:9d}   [{trail}]")
    if len(snaps) >= 2:
        (t_a, a), (t_b, b) = snaps[0], snaps[-1]
        keep = [tracemalloc.Filter(False, tracemalloc.__file__),
                tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
        stats = b.filter_traces(keep).compare_to(a.filter_traces(keep), "traceback")
        print(f"\ntracemalloc, top growth from data {t_a:.0f} s to {t_b:.0f} s:")
        for stat in stats[:12]:
            if stat.size_diff <= 0:
                break
            print(f"  {stat.size_diff / 1024:+9.1f} KiB  {stat.count_diff:+7d} blocks")
            for line in stat.traceback.format()[-12:]:
                print("     " + line)


if __name__ == "__main__":
    main()
