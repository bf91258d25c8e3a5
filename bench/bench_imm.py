"""Base (one constant velocity) against the IMM (``EngineConfig.imm``), side by side in one run.

Each scenario and seed is simulated once (from ``PERIMETER_EVAL_CACHE`` where it is held, as
``perimeter eval``), then fused twice by the live fusion code: with ``EngineConfig()`` and with
``EngineConfig(imm=ImmConfig())``, each timed in CPU seconds of the process; both are scored as
``perimeter eval`` scores them and pooled as ``--aggregate`` pools them. The same runs as

    python -m perimeter eval SCENARIO... --seeds N --aggregate --json --workers 1

for each estimator. Prints a side-by-side table of the headline figures and writes both pooled
reports (``{"base": ..., "imm": ...}``) to ``--out``. Run from the repository root:

    python bench/bench_imm.py stop-and-go haze-slow-movers animals-only default \\
        night-crossing --seeds 1 --out /tmp/imm.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from perimeter.evaluation.covered import target_coverage
from perimeter.evaluation.render import headline
from perimeter.evaluation.report import RunReport, aggregate
from perimeter.evaluation.run import SEED_STEP, Collector, fuse, simulate
from perimeter.evaluation.score_run import score_run
from perimeter.fusion.engine import EngineConfig
from perimeter.fusion.imm import ImmConfig
from perimeter.fusion.runner import FusionRunner
from perimeter.thresholds import Thresholds
from sim.scenario import load_scenario

CONFIGS = {"base": EngineConfig(), "imm": EngineConfig(imm=ImmConfig())}


def run(ref: str, seed: int | None, cpu_s: dict[str, float],
        duration_s: float | None = None) -> dict[str, RunReport]:
    scenario = load_scenario(ref, duration_s=duration_s)
    if seed is not None:
        scenario = scenario.model_copy(update={"seed": seed})
    world = simulate(scenario)
    thresholds = Thresholds()
    covered = target_coverage(scenario, world.truth, thresholds)
    if not cpu_s["warm"]:  # compile (or load) the kernels and import lazily outside timing
        for config in CONFIGS.values():
            runner = FusionRunner(scenario.site_model, thresholds, Collector(),
                                  engine_config=config)
            for message in world.messages[:3000]:
                runner.feed(message)
        cpu_s["warm"] = 1.0
    out = {}
    for name, config in CONFIGS.items():
        start = time.process_time()
        output = fuse(scenario.site_model, thresholds, world.messages, {"engine_config": config})
        cpu_s[name] += time.process_time() - start
        out[name] = score_run(world.truth, scenario.site_model, output.alerts,
                              output.snapshots, world.messages, thresholds, None,
                              rejected_messages=len(output.rejects), covered=covered)
    return out


def figures(reports: list[RunReport]) -> dict[str, Any]:
    pooled = aggregate(reports)
    doc = pooled.model_dump(mode="json")
    return {"headline": headline(pooled), **doc}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="+")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--duration", type=float, default=None)
    args = parser.parse_args()
    cpu_s = {name: 0.0 for name in CONFIGS} | {"warm": 0.0}
    reports: dict[str, list[RunReport]] = {name: [] for name in CONFIGS}
    for ref in args.scenarios:
        first = load_scenario(ref).seed if args.seeds > 1 else None
        for k in range(args.seeds):
            seed = None if first is None else first + k * SEED_STEP
            pair = run(ref, seed, cpu_s, args.duration)
            for name, report in pair.items():
                reports[name].append(report)
            print(f"{ref} seed {seed}: " + "; ".join(
                f"{name} {sum(t.detected for t in r.targets)}/{len(r.targets)} detected "
                f"(tta {[round(t.time_to_alert_s) for t in r.targets if t.time_to_alert_s]}), "
                f"false {r.false_alerts}, dup {sum(t.duplicate_alerts for t in r.targets)}"
                for name, r in pair.items()), flush=True)
    pooled = {name: figures(r) for name, r in reports.items()}
    if args.out is not None:
        args.out.write_text(json.dumps({**pooled, "fusion_cpu_s": cpu_s}, indent=1))
    rows = [("pd", ("headline", "pd")), ("pd_covered", ("headline", "pd_covered")),
            ("false_alerts", ("headline", "false_alerts")),
            ("duplicate_alerts", ("headline", "duplicate_alerts")),
            ("gospa_intruders_mean_m", ("headline", "gospa_intruders_mean_m")),
            ("time_to_alert_s median", ("time_to_alert_s", "median")),
            ("origin_error_m median", ("origin_error_m", "median")),
            ("origin_crb_m median", ("origin_crb_m", "median")),
            ("origin_error_to_crb median", ("origin_error_to_crb", "median")),
            ("origin_in_95_ellipse_rate", ("headline", "origin_in_95_ellipse_rate"))]
    print(f"{'figure':32s} {'base':>10s} {'imm':>10s}")
    for label, (a, b) in rows:
        vals = [pooled[n][a][b] for n in CONFIGS]
        print(f"{label:32s} " + " ".join(f"{v if v is not None else '-':>10.4}"
                                         if isinstance(v, float) else f"{v!s:>10s}"
                                         for v in vals))
    for cls in sorted(set(pooled["base"]["classes"]) | set(pooled["imm"]["classes"])):
        vals = [pooled[n]["classes"].get(cls, {}).get("pd") for n in CONFIGS]
        dets = [pooled[n]["classes"].get(cls, {}).get("detected") for n in CONFIGS]
        tot = pooled["base"]["classes"].get(cls, {}).get("intrusions")
        print(f"{'pd ' + cls:32s} {dets[0]!s:>6s}/{tot!s:<3s} {dets[1]!s:>6s}/{tot!s:<3s}"
              f"  ({vals[0]}, {vals[1]})")
    print(f"fusion CPU s: base {cpu_s['base']:.1f}, imm {cpu_s['imm']:.1f}, "
          f"ratio {cpu_s['imm'] / max(cpu_s['base'], 1e-9):.2f}")


if __name__ == "__main__":
    main()
