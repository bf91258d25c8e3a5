"""The long generated site of ``bench/bench_scale.py``: a ridge of 3,000 towers 500 m apart
(1,500 km), and the part of it a bench simulates.

The site model is whole (:func:`long_site`); a 2-core machine cannot simulate 3,000 towers in
real time, so a bench simulates ``simulated`` of them (:func:`window_towers`): equal windows of
adjacent towers centred on the sector boundaries of a 4-shard plan of the whole site (375, 750
and 1,125 km along it), the same towers whatever the number of shards run. The simulated site
(:func:`simulated_site`) is the whole perimeter and approach with those towers only, so the
shards' sector plan is cut on the whole 1,500 km and each shard is fed the simulated towers
that see its sectors; towers not simulated are not in it (a tower never heard would be a
tower fault). Targets (:func:`long_scenario`): a crossing every ``every_s`` in one of the
windows (as ``bench_load_roles.load_scenario_for``, already on their way at 0 s), and in each
window a car driving along the approach and a person walking along it, both across the sector
boundary; the animals roam the first window. The ridge and the crossings are
``bench_load_roles``'s (``load_site``, ``crossing``).

    python bench/bench_scale_site.py [--towers 3000] [--simulated 150]   # the plans, printed
"""

from __future__ import annotations

import argparse
from typing import Any

from bench_load_roles import crossing, load_scenario_for, load_site

from perimeter.sectors import plan_sectors
from perimeter.site import Site
from sim.scenario import Scenario, load_scenario

SPACING_M = 500.0
WINDOW_SHARDS = 4  # the simulated windows sit on this plan's sector boundaries


def long_site(n_towers: int = 3000, towers: list[int] | None = None) -> dict[str, Any]:
    """The ridge of ``bench_load_roles.load_site`` with ``n_towers`` towers (``T0000`` at
    y = 0); only ``towers`` (indices) if given."""
    return load_site(n_towers, towers, digits=4)


def boundaries_y_m(n_towers: int) -> list[float]:
    """The y of the inner sector boundaries of a ``WINDOW_SHARDS``-shard plan of the site."""
    site = Site.model_validate(long_site(n_towers, towers=[0, n_towers - 1]))
    plan = plan_sectors(site, WINDOW_SHARDS)
    y0 = site.perimeter[0][1]
    return [y0 + b for b in plan.boundaries_m[1:-1]]


def window_towers(n_towers: int, simulated: int) -> list[int]:
    """``simulated`` tower indices in equal windows centred on :func:`boundaries_y_m`."""
    centres = boundaries_y_m(n_towers)
    per = max(1, simulated // len(centres))
    out: list[int] = []
    for c in centres:
        first = max(0, round(c / SPACING_M) - per // 2)
        out += range(first, min(n_towers, first + per))
    return sorted(set(out))


def simulated_site(n_towers: int, simulated: int) -> dict[str, Any]:
    """The site as a bench simulates it: the whole perimeter, the windows' towers."""
    return long_site(n_towers, window_towers(n_towers, simulated))


def long_scenario(n_towers: int, simulated: int, duration_s: float, seed: int = 1,
                  every_s: float = 20.0) -> Scenario:
    """The simulated site with crossings in its windows and boundary crossers (module doc)."""
    site = simulated_site(n_towers, simulated)
    lanes = [t["y_m"] for t in site["towers"]]
    kinds = ("person", "light_vehicle", "group")
    centres = boundaries_y_m(n_towers)
    targets = []
    for k in range(-int(3600 // every_s), max(1, int(duration_s // every_s))):
        lane = lanes[(7 * k) % len(lanes)]
        target = crossing(k, lane, kinds[k % 3], 2.0 + every_s * k)
        if target is not None:
            targets.append(target)
    for j, c in enumerate(centres):
        sign = 1.0 if j % 2 == 0 else -1.0  # alternate directions along the line
        targets.append({"id": f"car{j}", "kind": "light_vehicle", "start_s": 5.0, "count": 1,
                        "path": [[2500.0, c - sign * 1500.0], [2500.0, c + sign * 1500.0]]})
        targets.append({"id": f"walker{j}", "kind": "person", "start_s": 0.0, "count": 1,
                        "path": [[1600.0, c - sign * 150.0], [1600.0, c + sign * 450.0]]})
    ys = [y for y in lanes if len(centres) < 2 or y < (centres[0] + centres[1]) / 2.0]
    site["watch_zones"].insert(0, {"name": "roam", "polygon": [
        [1000.0, min(ys)], [7000.0, min(ys)], [7000.0, max(ys)], [1000.0, max(ys)]]})
    return load_scenario({
        "name": f"long-{n_towers}-{simulated}", "seed": seed, "duration_s": duration_s,
        "site": site, "targets": targets,
        "environment": {"start_time": "2026-01-15T22:00:00Z", "weather": "clear"},
        "nuisance": {"animals": max(4, simulated // 5)}})


def scenario_for(spec: str, duration_s: float) -> Scenario:
    """``"150/3000"``: 150 towers simulated of the long site of 3,000 (:func:`long_scenario`);
    ``"150"``: the short ridge of 150 (``bench_load_roles.load_scenario_for``)."""
    simulated, _, whole = spec.partition("/")
    if whole:
        return long_scenario(int(whole), int(simulated), duration_s)
    return load_scenario_for(int(simulated), duration_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--towers", type=int, default=3000)
    parser.add_argument("--simulated", type=int, default=150)
    args = parser.parse_args()
    whole = Site.model_validate(long_site(args.towers))
    part = Site.model_validate(simulated_site(args.towers, args.simulated))
    for shards in (1, 2, 4):
        full, sim = plan_sectors(whole, shards), plan_sectors(part, shards)
        print(f"{shards} shards: sectors of {full.boundaries_m[1] / 1000:.0f} km; towers fed "
              f"(whole site) {[len(full.towers_for(s)) for s in full.shards]}, simulated "
              f"{[len(sim.towers_for(s)) for s in sim.shards]}")


if __name__ == "__main__":
    main()
