"""Is the coverage model calibrated? Its Pd of two towers per 10 s path sample against what
the towers reported (the truth's detection tags joined with the stream).

    python bench/coverage_calibration.py SCENARIO...

For every scripted intrusion of each scenario (own seed), at each 10 s sample of its path:
the model's Pd with the imagers' search followed along the path (``covered.py``, in force),
the static map's steady state (``static_search``, the model before), and whether at least
two towers (any sensor) reported the target within that 10 s. Prints, per class family and
band of model Pd, the samples, the mean model Pd and the share observed.
"""

from __future__ import annotations

import sys

import numpy as np

from perimeter.evaluation import crb
from perimeter.evaluation.covered import STEP_S, pd_along_path
from perimeter.evaluation.scoring import class_family, target_class
from perimeter.thresholds import Thresholds
from sim.scenario import load_scenario
from sim.uplink import MemoryUplink
from sim.world import World

BANDS = ((0.0, 0.5), (0.5, 0.9), (0.9, 1.01))


def samples(scenario_ref: str, thresholds: Thresholds) -> list[tuple[str, float, float, bool]]:
    """``(family, pd_static, pd_path, observed)`` per path sample of each intrusion."""
    scenario = load_scenario(scenario_ref)
    uplink = MemoryUplink()
    truth = World(scenario, uplink).run(speed=None)
    sightings = crb.sightings_by_target(truth, uplink.messages)
    out = []
    for target in truth.targets:
        cls = target_class(target.kind)
        if not (target.scripted and cls in thresholds.alert_classes):
            continue
        times, static = pd_along_path(scenario, target, thresholds, static_search=True)
        _, path = pd_along_path(scenario, target, thresholds)
        seen = sightings.get(target.id, [])
        for t, a, b in zip(times, static, path, strict=True):
            towers = {s.tower_id for s in seen if t <= s.t_s < t + STEP_S}
            out.append((class_family(cls), float(a), float(b), len(towers) >= 2))
    return out


def main(argv: list[str]) -> int:
    rows = [r for ref in argv for r in samples(ref, Thresholds())]
    print("| family | model Pd | static search: samples, model, observed "
          "| search along the path: samples, model, observed |")
    print("| --- | --- | --- | --- |")
    for family in [*sorted({r[0] for r in rows}), "all"]:
        mine = [r for r in rows if family in ("all", r[0])]
        observed = np.array([r[3] for r in mine], dtype=float)
        cells = []
        for lo, hi in [*BANDS, (0.0, 1.01)]:
            parts = []
            for k in (1, 2):
                pd = np.array([r[k] for r in mine])
                sel = (pd >= lo) & (pd < hi)
                parts.append(f"{sel.sum()}, {pd[sel].mean():.2f}, {observed[sel].mean():.2f}"
                             if sel.any() else "–")
            band = "all" if (lo, hi) == (0.0, 1.01) else f"{lo:.1f}–{min(hi, 1.0):.1f}"
            cells.append(f"| {family} | {band} | {parts[0]} | {parts[1]} |")
        print("\n".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
