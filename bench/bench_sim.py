"""Simulation speed: simulated seconds per wall second, recording to a file.

Run from the repository root after ``pip install -e .``. Runs the default scenario on the
12-tower western-heights site, and the same pattern
repeated along a generated 200-tower site (more towers *and* more targets), plus the
200-tower site with the default's targets only, to separate the two costs. Prints medians,
per wall second and per CPU second (the latter is steadier on a shared machine).

    python bench/bench_sim.py [--repeats 3] [--duration-12 4200] [--duration-200 600]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from sim.record import record
from sim.scenario import Scenario, load_scenario

BLOCK_M = 6000.0


def generated_site(n_towers: int) -> dict[str, Any]:
    """``n_towers`` on a ridge at x = 0, 500 m apart, with western-heights' terrain repeated
    every 6 km along a perimeter line at x = 1000."""
    span = 500.0 * n_towers
    y0 = -span / 2.0 + 250.0
    towers = [{"id": f"G{i + 1:03d}", "x_m": 0.0, "y_m": y0 + 500.0 * i, "height_m": 15.0}
              for i in range(n_towers)]
    blocks = int(span // BLOCK_M) + 1
    terrain = []
    for b in range(blocks):
        cy = -span / 2.0 + BLOCK_M * (b + 0.5)
        terrain.append({"kind": "forest", "polygon": [[1500, cy + 1500], [6000, cy + 1500],
                                                      [6000, cy + 2900], [1500, cy + 2900]]})
        terrain.append({"kind": "built", "polygon": [[1000, cy - 1500], [2500, cy - 1500],
                                                     [2500, cy + 1500], [1000, cy + 1500]]})
    return {"name": f"generated-{n_towers}", "towers": towers,
            "perimeter": [[1000.0, -span / 2.0], [1000.0, span / 2.0]], "terrain": terrain,
            "watch_zones": [{"name": "approach", "polygon": [
                [1000, -span / 2], [7000, -span / 2], [7000, span / 2], [1000, span / 2]]}]}


def scaled_scenario(n_towers: int, duration_s: float, replicate_targets: bool) -> Scenario:
    """The default scenario on a generated site; targets repeated per 6 km block if asked
    (the copies that would leave the site are left out)."""
    base = yaml.safe_load((Path(__file__).parents[1] / "sim/scenarios/default.yaml")
                          .read_text(encoding="utf-8"))
    site = generated_site(n_towers)
    span = 500.0 * n_towers
    targets = [t for t in base["targets"] if t["start_s"] < duration_s]  # those that start
    animals = base["nuisance"]["animals"]
    if replicate_targets:
        blocks = int(span // BLOCK_M)
        copies = [{**t, "id": f"{t['id']}-{b}",
                   "path": [[x, y - span / 2.0 + BLOCK_M * (b + 0.5)] for x, y in t["path"]]}
                  for b in range(blocks) for t in targets]
        # a copy reaching past the site's end (the first block's southernmost paths) would
        # start outside the watch zone, which scenario validation refuses: left out
        targets = [t for t in copies if all(abs(y) <= span / 2.0 for _, y in t["path"])]
        animals = animals * blocks
    return load_scenario({**base, "name": site["name"], "site": site, "duration_s": duration_s,
                          "targets": targets, "nuisance": {**base["nuisance"],
                                                           "animals": animals}})


def measure(scenario: Scenario, repeats: int) -> tuple[float, float, float, int]:
    """Median wall time, sim-s per wall-s, sim-s per CPU-s, and lines written."""
    walls, cpus = [], []
    lines = 0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rec.jsonl"
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            record(scenario, out)
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - start_cpu)
            lines = sum(1 for _ in out.open(encoding="utf-8"))
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    return wall, scenario.duration_s / wall, scenario.duration_s / cpu, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--duration-12", type=float, default=4200.0)
    parser.add_argument("--duration-200", type=float, default=600.0)
    args = parser.parse_args()
    cases = [
        ("western-heights (default)", load_scenario("default").model_copy(
            update={"duration_s": args.duration_12})),
        ("generated 200, default targets", scaled_scenario(200, args.duration_200, False)),
        ("generated 200, targets x16", scaled_scenario(200, args.duration_200, True)),
    ]
    print(f"{'case':34} {'towers':>6} {'targets':>7} {'sim s':>7} {'wall s':>7} "
          f"{'sim-s/wall-s':>12} {'sim-s/cpu-s':>11} {'msgs/wall-s':>11}")
    for label, scenario in cases:
        wall, speed, cpu_speed, lines = measure(scenario, args.repeats)
        n_targets = len(scenario.targets) + scenario.nuisance.animals
        print(f"{label:34} {len(scenario.site_model.towers):6d} {n_targets:7d} "
              f"{scenario.duration_s:7.0f} {wall:7.2f} {speed:12.0f} {cpu_speed:11.0f} "
              f"{lines / wall:11.0f}")


if __name__ == "__main__":
    main()
