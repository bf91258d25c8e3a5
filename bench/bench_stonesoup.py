"""Peer comparison: our fusion against Stone Soup's GNN, JPDA and multi-frame assignment
trackers, each with an EKF, on the same detections, side by side in one run.

Needs the ``bench`` extra (``pip install -e '.[bench]'``). A scenario is recorded once: a
built-in one (``--scenario``, default ``default``) or, with ``--dense``, people abreast
(``--abreast`` people ``--spacing-m`` apart, 6 and 40 m by default) walking the approach of
``night-crossing`` at night, with its six nuisance animals. The first ``--duration-s`` seconds
are used. Ours: every message through ``FusionRunner.feed`` (JSON decoding included; the ratio
is also printed with the decoding, timed alone, subtracted). Stone Soup: each report, decoded
and SNR-thresholded beforehand (outside the timing), is one batch through the trackers of
``stonesoup_trackers.py`` (``--trackers``, default all three: GNN, JPDA with EHM, MFA with a
3-scan window), with the two-tower initiator written for this bench (Stone Soup has none for
bearings). Scored with GOSPA (c = 150 m, p = 2, ``perimeter.evaluation.gospa``) once per second:
over the intruders (people, groups, vehicles: a track on an animal counts as false there), and
over every target (its false term: tracks on nothing). Ours on confirmed tracks, Stone Soup's
on tracks hit ``--confirm-updates`` times. Throughput is detections per CPU second of each
tracker loop. ``--from-s`` drops the reports before that many seconds after the first (a
scenario whose targets come late, as ``crossover-group``'s at 1,500 s); ``--ours-jpda`` adds a
row of ours with the JPDA stage on (``perimeter.fusion.jpda``, its default settings). Run
from the repository root:

    python bench/bench_stonesoup.py [--dense] [--duration-s 300] [--trackers gnn jpda mfa]
        [--scenario line-abreast] [--from-s 0] [--ours-jpda]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_fusion import decode_cpu_s
from stonesoup_trackers import KINDS, clutter_per_rad, make_tracker, run, stonesoup_batches

from perimeter.bus import Message
from perimeter.contract import TracksSnapshot
from perimeter.evaluation.gospa import GospaTerms, gospa, present
from perimeter.fusion.engine import EngineConfig
from perimeter.fusion.jpda import JpdaConfig
from perimeter.fusion.replay import CollectingOutput, parse_line
from perimeter.fusion.runner import FusionRunner
from perimeter.site import Site
from perimeter.thresholds import Thresholds
from sim.record import record
from sim.scenario import Scenario, load_scenario
from sim.truth import TargetTruth

INTRUDER_KINDS = ("person", "group", "light_vehicle", "heavy_vehicle")


def dense_scenario(people: int, spacing_m: float) -> Scenario:
    """``night-crossing`` with ``people`` walkers abreast, ``spacing_m`` apart (north-south)."""
    base = load_scenario("night-crossing")
    data: dict[str, Any] = base.model_dump(mode="json", exclude={"base_dir"})
    data["site"] = base.site_model.model_dump(mode="json")
    data["name"] = f"abreast-{people}x{spacing_m:g}m"
    data["faults"] = []
    path = [[3200.0, -600.0], [2400.0, -400.0], [900.0, -150.0]]
    offset = (people - 1) * spacing_m / 2
    data["targets"] = [{"id": f"p{k + 1}", "kind": "person", "start_s": 120, "speed_mps": 1.4,
                        "path": [[x, y + k * spacing_m - offset] for x, y in path]}
                       for k in range(people)]
    return load_scenario(data)


class Scorer:
    """GOSPA once per second over the intruders and over every target."""

    def __init__(self, targets: list[TargetTruth]) -> None:
        self.intruders = [t for t in targets if t.kind in INTRUDER_KINDS]
        self.everyone = targets
        self.terms: list[tuple[GospaTerms, GospaTerms]] = []

    def __call__(self, t_s: float, est: list[tuple[float, float]]) -> None:
        xy = np.array(est, dtype=float).reshape(-1, 2)
        self.terms.append((self._gospa(self.intruders, t_s, xy),
                           self._gospa(self.everyone, t_s, xy)))

    @staticmethod
    def _gospa(targets: list[TargetTruth], t_s: float, xy: np.ndarray) -> GospaTerms:
        truth = np.array([t.position(t_s) for t in targets if present(t, t_s)], dtype=float)
        return gospa(truth.reshape(-1, 2), xy, 150.0)

    def row(self, name: str, cpu: float, detections: int) -> str:
        mine = [a for a, _ in self.terms]
        return (f"{name:12} {statistics.fmean(g.gospa_m for g in mine):13.1f} "
                f"{statistics.median(g.gospa_m for g in mine):9.1f} "
                f"{statistics.fmean(g.localisation_m for g in mine):7.1f} "
                f"{statistics.fmean(g.missed for g in mine):7.2f} "
                f"{statistics.fmean(g.false for g in mine):6.2f} "
                f"{statistics.fmean(b.false for _, b in self.terms):9.2f} "
                f"{detections / cpu:10.0f} {cpu:8.2f}")


def run_ours(messages: list[Message], site: Site, score: Scorer, *, jpda: bool = False) -> float:
    out = CollectingOutput(keep_snapshots=True)
    config = EngineConfig(jpda=JpdaConfig(enabled=True)) if jpda else None
    runner = FusionRunner(site, Thresholds(), out, engine_config=config)
    start = time.process_time()
    for message in messages:
        runner.feed(message)
    runner.finish()
    cpu = time.process_time() - start
    snaps: list[TracksSnapshot] = out.snapshots
    for s in snaps:
        score(s.t_s, [(k.position.x_m, k.position.y_m) for k in s.tracks
                      if k.status == "confirmed"])
    return cpu


def report_t_s(message: Message) -> float:
    """A message's report time (``inf`` for one without: kept by ``--from-s``)."""
    try:
        value = json.loads(message.payload).get("t_s")
    except (ValueError, AttributeError):
        return float("inf")
    return float(value) if isinstance(value, int | float) else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="default")
    parser.add_argument("--dense", action="store_true")
    parser.add_argument("--abreast", type=int, default=6)
    parser.add_argument("--spacing-m", type=float, default=40.0)
    parser.add_argument("--duration-s", type=float, default=300.0)
    parser.add_argument("--from-s", type=float, default=0.0)
    parser.add_argument("--ours-jpda", action="store_true")
    parser.add_argument("--confirm-updates", type=int, default=5)
    parser.add_argument("--trackers", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--repeats", type=int, default=5,
                        help="runs of our fusion (a second or two each): the median CPU time")
    args = parser.parse_args()
    scenario = (dense_scenario(args.abreast, args.spacing_m) if args.dense
                else load_scenario(args.scenario))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rec.jsonl"
        truth = record(scenario, path, until_s=args.from_s + args.duration_s)
        lines = path.read_text(encoding="utf-8").splitlines()
    parsed = [m for m in (parse_line(line) for line in lines) if m is not None]
    start_s = min((report_t_s(m) for m in parsed), default=0.0)  # reports carry epoch times
    messages = [m for m in parsed if report_t_s(m) >= start_s + args.from_s]
    site = scenario.site_model
    batches = stonesoup_batches(messages, site, Thresholds())
    detections = sum(len(d) for _, d in batches)
    clutter = clutter_per_rad(batches)
    print(f"scenario {scenario.name}, {args.from_s:.0f}-{args.from_s + args.duration_s:.0f} s: "
          f"{len(messages)} messages, "
          f"{detections} detections above the SNR thresholds, {len(truth.targets)} targets "
          f"({sum(t.kind in INTRUDER_KINDS for t in truth.targets)} intruders); Stone Soup's "
          f"clutter density {clutter:.3f}/rad, Pd 0.8, gate 0.99")
    ours = Scorer(truth.targets)
    ours_cpus = [run_ours(messages, site, ours)]
    ours_jpda = Scorer(truth.targets)
    jpda_cpu = run_ours(messages, site, ours_jpda, jpda=True) if args.ours_jpda else 0.0
    rows = []
    for kind in args.trackers:
        score = Scorer(truth.targets)
        cpu = run(make_tracker(kind, clutter), batches, args.confirm_updates, score)
        rows.append((kind, cpu, score))
    # ours takes a second or two and is noisy: the median of --repeats runs, the first
    # before Stone Soup's and the rest after them
    ours_cpus += [run_ours(messages, site, Scorer(truth.targets))
                  for _ in range(max(args.repeats, 1) - 1)]
    ours_cpu = statistics.median(ours_cpus)
    decode_cpu = statistics.median(decode_cpu_s(messages) for _ in range(max(args.repeats, 1)))
    print(f"{'tracker':12} {'GOSPA mean m':>13} {'median m':>9} {'loc. m':>7} {'missed':>7} "
          f"{'false':>6} {'on nothing':>9} {'det/CPU-s':>10} {'CPU s':>8}")
    print(f"{'':12} {'(intruders; a track on an animal is false)':>45} {'(all targets)':>17}")
    print(ours.row("perimeter", ours_cpu, detections))
    if args.ours_jpda:
        print(ours_jpda.row("perim. JPDA", jpda_cpu, detections))
    for kind, cpu, score in rows:
        print(score.row(f"SS {kind}", cpu, detections))
    print(f"perimeter CPU s over {len(ours_cpus)} runs: "
          + ", ".join(f"{c:.2f}" for c in ours_cpus))
    for kind, cpu, _ in rows:
        print(f"speed ratio perimeter / Stone Soup {kind}: {cpu / ours_cpu:.0f}x "
              f"({cpu / (ours_cpu - decode_cpu):.0f}x without our JSON decoding, "
              f"{decode_cpu:.2f} CPU s timed alone: Stone Soup's input was decoded beforehand)")


if __name__ == "__main__":
    main()
