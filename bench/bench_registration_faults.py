"""Tower faults and registration estimates of one scenario, against the world's drawn biases
(scoring only: the truth is read beside the run, never fed to fusion). Uses the evaluation's
stream cache. Run from the repository root:

    PERIMETER_EVAL_CACHE=DIR python bench/bench_registration_faults.py animals-only --every 600

Printed per checkpoint: the bias error rms and worst tower of the estimates in fusion's status,
how many are applied, landmarks and snapshots per tower (``-v``: each tower's estimate, sigma
and truth); at the end every tower-fault alert (kind, tower, time since the first report) and
the landmark shift check's "moved" checks with their chance probability.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

import numpy as np

from perimeter.evaluation.run import simulate
from perimeter.fusion.landmark_shift import ShiftWatch
from perimeter.fusion.replay import CollectingOutput
from perimeter.fusion.runner import FusionRunner
from perimeter.thresholds import Thresholds
from sim.scenario import load_scenario
from sim.uplink import MemoryUplink
from sim.world import World


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario")
    parser.add_argument("--every", type=float, default=600.0)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    cache = os.environ.get("PERIMETER_EVAL_CACHE")
    run = simulate(scenario, Path(cache) if cache else None)
    world = World(scenario, MemoryUplink())
    world._feeds()  # draws the imagers' errors
    truth = np.asarray(world.imager_errors.bias_deg, dtype=np.float64)
    runner = FusionRunner(scenario.site_model, Thresholds(), CollectingOutput())
    reg = runner.registration
    ids = [t.id for t in scenario.site_model.towers]
    moves: list[tuple[float, str, int, float, float | None]] = []
    check = ShiftWatch.check

    def logged(self: ShiftWatch, *a, **k):  # type: ignore[no-untyped-def]
        out = check(self, *a, **k)
        for i, count in enumerate(self.moved):
            if count:
                moves.append((runner.clock_s or 0.0, ids[i], count,
                              math.degrees(self.last.get(i, 0.0)), self.probability.get(i)))
        return out

    ShiftWatch.check = logged  # type: ignore[method-assign]
    start: float | None = None

    def report(t_s: float) -> None:
        status = reg.status()
        est = np.array([status[i].azimuth_bias_deg for i in ids])
        sig = np.array([status[i].azimuth_bias_sigma_deg for i in ids])
        err = est - truth
        worst = int(np.argmax(np.abs(err)))
        print(f"t={t_s:6.0f} s  rms {math.sqrt(float(np.mean(err ** 2))):.4f} deg  worst "
              f"{ids[worst]} {err[worst]:+.3f}  applied {sum(status[i].applied for i in ids)}"
              f"  landmarks {len(reg.landmarks.landmarks)}  snapshots {reg.snapshots.tolist()}")
        if args.verbose:
            for k, tid in enumerate(ids):
                print(f"    {tid} true {truth[k]:+.3f} est {est[k]:+.3f} ± {sig[k]:.3f} "
                      f"applied {status[tid].applied} landmarks {status[tid].landmarks}")

    next_s = args.every
    for message in run.messages:
        runner.feed(message)
        if runner.clock_s is None:
            continue
        if start is None:
            start = runner.clock_s
        if runner.clock_s - start >= next_s:
            report(runner.clock_s - start)
            next_s += args.every
    runner.finish()
    t0 = start or 0.0
    report((runner.clock_s or 0.0) - t0)
    for e in runner.output.alerts:  # type: ignore[attr-defined]
        if e.class_ == "tower_fault" and e.event in ("new", "closed"):
            jump = getattr(e, "bias_jump_deg", None)
            print(f"fault {e.event} {e.towers} {e.fault} at {e.t_s - t0:.0f} s"
                  f"{f' ({jump:+.3f} deg)' if jump is not None else ''}")
    print(f"moved checks {len(moves)}")
    for t_s, tid, count, shift, chance in moves:
        print(f"    {t_s - t0:6.0f} s {tid} {count} in a row, shift {shift:+.3f} deg, "
              f"chance {chance if chance is not None else float('nan'):.2e}")


if __name__ == "__main__":
    main()
