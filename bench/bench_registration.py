"""Registration against the simulation's truth: each tower's estimated azimuth bias beside the
bias the simulated world drew for it (scoring only: the truth is read beside the run, never fed
to fusion). Run from the repository root:

    python bench/bench_registration.py default --until 1500 [--every 300] [--cache DIR]

Printed per checkpoint (data time since the first report): the rms error of the estimates
over all towers, the same with their common rotation removed (weakly observable, see
docs/fusion.md), how many are applied, and the landmarks in use; at the end, per tower.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import pickle
from pathlib import Path

import numpy as np

from perimeter.bus import Message
from perimeter.evaluation.stream_cache import source_digest
from perimeter.fusion.replay import CollectingOutput
from perimeter.fusion.runner import FusionRunner
from perimeter.thresholds import Thresholds
from sim.scenario import Scenario, load_scenario
from sim.uplink import MemoryUplink
from sim.world import World


def simulate(scenario: Scenario, until_s: float, cache: Path | None
             ) -> tuple[list[Message], np.ndarray]:
    """The scenario's messages up to ``until_s`` and its towers' true biases (deg); with
    ``cache`` (a directory), kept there keyed by the scenario as run, ``until_s`` and the
    simulation's source digest (as ``perimeter eval``'s cache), so another scenario, length
    or world is simulated afresh rather than served a stale stream."""
    path = None
    if cache is not None:
        key = hashlib.sha256(source_digest().encode())
        key.update(scenario.model_dump_json().encode())
        key.update(repr(float(until_s)).encode())
        path = cache / f"registration-{key.hexdigest()[:32]}.pickle"
        if path.exists():
            with path.open("rb") as handle:
                messages, bias = pickle.load(handle)
            print(f"simulated stream from {path}", flush=True)
            return messages, bias
    uplink = MemoryUplink()
    world = World(scenario, uplink)
    world.run(until_s=until_s)
    bias = np.asarray(world.imager_errors.bias_deg, dtype=np.float64)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            pickle.dump((uplink.messages, bias), handle)
    return uplink.messages, bias


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario")
    parser.add_argument("--until", type=float, default=1500.0)
    parser.add_argument("--every", type=float, default=300.0)
    parser.add_argument("--cache", type=Path, default=None,
                        help="directory of simulated streams (keyed by scenario, --until and "
                             "the simulation's source), made if missing")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    messages, truth = simulate(scenario, args.until, args.cache)
    runner = FusionRunner(scenario.site_model, Thresholds(), CollectingOutput())
    ids = [t.id for t in scenario.site_model.towers]
    start: float | None = None
    next_s = args.every

    def report(t_s: float) -> None:
        status = runner.registration.status()
        est = np.array([status[i].azimuth_bias_deg for i in ids])
        err = est - truth
        rel = err - err.mean()
        applied = sum(status[i].applied for i in ids)
        used = np.array([status[i].azimuth_bias_deg if status[i].applied else 0.0 for i in ids])
        left = math.sqrt(float(np.mean((used - truth) ** 2)))
        extra = getattr(runner.registration, "landmark_summary", lambda: "")()
        print(f"t={t_s:7.0f} s  rms {math.sqrt(float(np.mean(err ** 2))):.4f} deg  "
              f"rms-rot {math.sqrt(float(np.mean(rel ** 2))):.4f}  applied {applied:2d}  "
              f"left after correction {left:.4f}  "
              f"{extra}", flush=True)

    for message in messages:
        runner.feed(message)
        clock = runner.clock_s
        if clock is None:
            continue
        if start is None:
            start = clock
        if clock - start >= next_s:
            report(clock - start)
            next_s += args.every
    runner.finish()
    report((runner.clock_s or 0.0) - (start or 0.0))
    status = runner.registration.status()
    print(f"true biases rms {math.sqrt(float(np.mean(truth ** 2))):.4f} deg (unregistered)")
    for k, tid in enumerate(ids):
        s = status[tid]
        print(f"{tid} true {truth[k]:+.4f} est {s.azimuth_bias_deg:+.4f} "
              f"± {s.azimuth_bias_sigma_deg:.4f} err {s.azimuth_bias_deg - truth[k]:+.4f} "
              f"snapshots {s.snapshots} landmarks {s.landmarks} applied {s.applied}")
    faults = [e for e in runner.output.alerts if e.fault == "bias_jump"]  # type: ignore[attr-defined]
    print(f"bias_jump events {len(faults)}")


if __name__ == "__main__":
    main()
