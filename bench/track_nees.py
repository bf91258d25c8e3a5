"""Is the tracker's claimed position error honest? The NEES of confirmed tracks against the
truth, by distance from the nearest mast and by the class of the object followed.

    PERIMETER_EVAL_CACHE=/tmp/evalcache python bench/track_nees.py SCENARIO... [--every-s 5]
        [--json] [--config NAME] [--perturb P]

Fuses each scenario's stream (from the evaluation's stream cache where it holds it) with the
live ``FusionRunner`` and, every ``--every-s`` of data time, compares each confirmed track's
position with the nearest true object (any kind, animals included, within 300 m; a track
further from every object follows nothing and is counted apart), both at the time the
track's estimate is of, its last update (:mod:`perimeter.evaluation.nees`: NEES, mean 2 and
median 1.39 when honest; ``z`` along and across the nearest mast's line of sight, RMS 1).
A height from an elevation angle is wrong by the error along the sight times the
depression's tangent, steep near a mast. The truth is read here for diagnosis only: fusion
never sees it. ``--perturb 0`` draws the towers (bias, sway, sigma
mismatch, clocks) and targets exactly as fusion assumes them, which separates the world's
errors from fusion's own model (give it its own ``PERIMETER_EVAL_CACHE``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from perimeter.evaluation.nees import CHI2_2DOF_95, consistency, nearest_at_state
from perimeter.evaluation.run import Collector, simulate
from perimeter.evaluation.scoring import target_class
from perimeter.fusion.runner import FusionRunner
from perimeter.site import Site
from perimeter.thresholds import Thresholds
from sim.scenario import load_scenario, with_perturb
from sim.truth import Truth

MATCH_M = 300.0
"""A confirmed track further than this from every true object follows none."""
BINS_M = (0.0, 500.0, 1000.0, 1500.0, 2500.0, math.inf)
"""Distance from the nearest mast."""


@dataclass(slots=True)
class Cell:
    """Samples of one (distance bin, class)."""

    nees: list[float] = field(default_factory=list)
    z_range: list[float] = field(default_factory=list)
    z_cross: list[float] = field(default_factory=list)
    tracks: set[tuple[str, int]] = field(default_factory=set)

    def row(self) -> dict[str, float]:
        nees = np.asarray(self.nees)
        z = np.asarray(self.z_range)
        zc = np.asarray(self.z_cross)
        return {"samples": float(nees.size), "tracks": float(len(self.tracks)),
                "nees_mean": float(nees.mean()), "nees_median": float(np.median(nees)),
                "over_95": float(np.mean(nees > CHI2_2DOF_95)),
                "z_range_rms": float(math.sqrt(np.mean(z**2))),
                "z_cross_rms": float(math.sqrt(np.mean(zc**2)))}


class NeesRunner(FusionRunner):
    """The live runner, its confirmed tracks compared with the truth at every probe."""

    def __init__(self, site: Site, thresholds: Thresholds, output: Collector, truth: Truth,
                 every_s: float, cells: dict[tuple[str, str], Cell], name: str,
                 **options: Any) -> None:
        super().__init__(site, thresholds, output, **options)
        self.truth, self.every_s, self.cells, self.name = truth, every_s, cells, name
        self.masts = np.array([(t.x_m, t.y_m) for t in site.towers])
        self.next_probe_s = -math.inf
        self.unmatched = 0

    def _housekeeping(self, t_s: float, *, force: bool = False) -> None:
        super()._housekeeping(t_s, force=force)
        if t_s >= self.next_probe_s:
            self.next_probe_s = t_s + self.every_s
            self.probe(t_s)

    def probe(self, t_s: float) -> None:
        for track in self.engine.tracks:
            if track.score.status != "confirmed":
                continue
            # the truth at the time the estimate is of (its last update), not the probe's:
            # the objects that exist at that time
            state = track.state
            live = [o for o in self.truth.targets if o.t_s[0] <= state.t_s <= o.t_s[-1]]
            if not live:
                self.unmatched += 1
                continue
            k = nearest_at_state(state.t_s, state.x, [o.position for o in live], MATCH_M)
            if k is None:
                self.unmatched += 1
                continue
            c = consistency(state.x, state.p, np.asarray(live[k].position(state.t_s)),
                            self.masts)
            if c is None:
                continue
            b = int(np.searchsorted(BINS_M, c.mast_m, side="right")) - 1
            label = f"{BINS_M[b]:.0f}-{BINS_M[b + 1]:.0f} m"
            for key in ((label, target_class(live[k].kind)), (label, "all"), ("all", "all")):
                cell = self.cells[key]
                cell.nees.append(c.nees)
                cell.z_range.append(c.z_along)
                cell.z_cross.append(c.z_across)
                cell.tracks.add((self.name, track.number))


def run(scenarios: list[str], every_s: float, options: dict[str, Any] | None = None,
        perturb: float | None = None) -> tuple[dict[tuple[str, str], Cell], int]:
    cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
    unmatched = 0
    for ref in scenarios:
        scenario = load_scenario(ref)
        if perturb is not None:
            scenario = with_perturb(scenario, perturb)
        world = simulate(scenario)
        runner = NeesRunner(scenario.site_model, Thresholds(), Collector(), world.truth,
                            every_s, cells, ref, **(options or {}))
        for message in world.messages:
            runner.feed(message)
        runner.finish()
        unmatched += runner.unmatched
    return cells, unmatched


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="+")
    parser.add_argument("--every-s", type=float, default=5.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--config", default="default",
                        help="a configuration of bench/eval_config.py (fusion options)")
    parser.add_argument("--perturb", type=float, default=None,
                        help="the world's true-parameter spreads times this (0: nominal towers)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from eval_config import configurations

    cells, unmatched = run(args.scenarios, args.every_s, configurations()[args.config](),
                             args.perturb)
    rows: list[dict[str, Any]] = [{"mast_distance": k[0], "class": k[1], **c.row()}
                                  for k, c in sorted(cells.items())]
    if args.json:
        print(json.dumps({"rows": rows, "unmatched_samples": unmatched}, indent=1))
        return 0
    print("| distance from mast | class | samples | tracks | NEES mean (2) | median (1.39) "
          "| > 5.99 (0.05) | z along sight, RMS (1) | z across, RMS (1) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['mast_distance']} | {r['class']} | {r['samples']:.0f} | {r['tracks']:.0f} "
              f"| {r['nees_mean']:.1f} | {r['nees_median']:.2f} | {r['over_95']:.2f} "
              f"| {r['z_range_rms']:.1f} | {r['z_cross_rms']:.1f} |")
    print(f"confirmed-track samples further than {MATCH_M:.0f} m from every object: {unmatched}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
