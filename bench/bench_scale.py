"""Sharded fusion on a 3-node NATS cluster: 1, 2 and 4 shards side by side in one run.

For each shard count, a fresh local cluster (services/nats_cluster.py), the sector plan of a
generated ridge of towers 500 m apart: with ``--site-towers 3000`` the long site of 1,500 km
of which ``--towers`` are simulated, in windows on the sector boundaries, with cars and walkers
crossing them (bench_scale_site.py); else a ridge of ``--towers`` (bench_load_roles: a crossing
every 20 s somewhere along it, animals). Each shard a process (ShardService on a SplitBus, as
``perimeter fusion --shard`` builds it; ``--tower-qos``: its towers at QoS 0, one subscription
per tower fed, or the QoS 1 wildcard), the towers one process publishing over 9 connections
spread over the nodes. Phase 1 (``--seconds``): the towers in real time. Figures: each shard's
lag (wall clock minus the wall time its data time stands for), end-to-end alert latency (an
alert event's arrival on a client of the cluster minus the wall time its data time stands for),
reports lost (each shard: its towers' reports published vs the distinct ones it took). The
latency is over every alert event (new, update, closed) of the real-time phase. Phase 2
(``--flood-s`` of data, published as fast as the publishers go): the report rate the shards
fuse together, and from it the towers they would fuse in real time (3 reports/s a tower, each
counted once however many shards it feeds). Per shard: the reports of its towers per CPU-second
it used, i.e. what one shard on a core of its own would fuse (``towers_per_core``).

    python bench/bench_scale.py [--site-towers 3000] [--towers 150] [--seconds 60]
        [--flood-s 30] [--shards 1 2 4] [--tower-qos 0]

At the end, each JetStream consumer left with unacknowledged messages (docs/scale.md,
pitfall 6) and each shard's missing reports are printed on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import RoleProcess, pct
from bench_scale_site import long_site, scenario_for

from perimeter import topics
from perimeter.bus import Message
from perimeter.config import FusionSettings
from perimeter.contract import AlertEvent, parse_payload
from perimeter.sectors import plan_sectors
from perimeter.site import Site
from services.broker import child_env
from services.mqtt import MqttBus, MqttOptions
from services.nats_cluster import NatsCluster

ROLES = str(Path(__file__).resolve().parent / "bench_scale_roles.py")
REPORTS_PER_TOWER_S = 3.0
Event = dict[str, Any]


def scale_role(args: list[str]) -> RoleProcess:
    """One role of bench_scale_roles.py."""
    return RoleProcess("role", [sys.executable, ROLES, *args], child_env())


def run_one(shards: int, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """One shard count on a fresh cluster: the figures of both phases."""
    site = scenario_for(args.spec, args.seconds + args.flood_s).site_model
    plan = plan_sectors(site, shards)
    plan_file = folder / f"plan-{shards}.json"
    plan.save(plan_file)
    fed = {s: plan.towers_for(s) for s in plan.shards}
    with NatsCluster(3, folder=folder / f"nats-{shards}") as cluster:
        urls = ",".join(cluster.urls)
        arrivals: list[tuple[float, AlertEvent]] = []
        watcher = MqttBus(MqttOptions.from_settings(FusionSettings(broker_url=urls),
                                                    "scale-watch", first_node=2))

        def on_alert(message: Message) -> None:
            arrivals.append((time.time(), parse_payload(AlertEvent, message.payload)))

        watcher.subscribe(topics.ALERTS, on_alert)
        watcher.start(30.0)
        common = [urls, args.spec, str(args.seconds), str(args.flood_s)]
        roles = {s: scale_role(["shard", *common, s, str(plan_file), str(args.tower_qos)])
                 for s in plan.shards}
        for role in roles.values():
            role.wait_event("ready", 180.0)
        towers = scale_role(["towers", *common])
        try:
            start = towers.wait_event("start", 300.0)
            flood = towers.wait_event("flood", args.seconds + 120.0)
            done = towers.wait_event("done", args.seconds + args.flood_s + 600.0)
            per_tower: dict[str, int] = start["per_tower"]
            expected = {s: sum(per_tower.get(t, 0) for t in fed[s]) for s in plan.shards}
            deadline = time.monotonic() + float(os.environ.get("BENCH_SCALE_WAIT_S", "300"))
            while time.monotonic() < deadline and not all(
                    r.samples() and r.samples()[-1]["distinct"] >= expected[s]
                    and r.samples()[-1]["queue"] == 0 for s, r in roles.items()):
                time.sleep(0.25)
            fused_wall = max(settled_wall(r) for r in roles.values())
            for line in consumer_states(cluster):
                print(f"{shards} shards: consumer {line}", file=sys.stderr)
            for s, r in roles.items():
                last = r.samples()[-1] if r.samples() else {}
                print(f"{shards} shards: {s} took {last.get('distinct')} of {expected[s]}, "
                      f"queue {last.get('queue')}", file=sys.stderr)
        finally:
            towers.stop()
            for role in roles.values():
                role.stop()
            watcher.close()
        report_gaps(shards, start, done, roles, fed)
    return analyse(shards, args, start, flood, done, roles, expected, arrivals, fused_wall,
                   per_tower)


def consumer_states(cluster: NatsCluster) -> list[str]:
    """Each JetStream consumer with pending or redelivered messages, as its leader reports it
    (:meth:`NatsCluster.consumers`)."""
    return [f"{c['stream']} {c['name']} on {c['node']}: delivered {c['delivered']} ack floor "
            f"{c['ack_floor']} ack pending {c['ack_pending']} redelivered {c['redelivered']} "
            f"pending {c['pending']}"
            for c in cluster.consumers() if c["ack_pending"] or c["redelivered"] or c["pending"]]


def settled_wall(role: RoleProcess) -> float:
    """When a shard had taken all it was going to take (its final count) with an empty queue."""
    samples = role.samples()
    final = samples[-1]["distinct"]
    return float(next(s["wall_s"] for s in samples if s["distinct"] == final and s["queue"] == 0))


def report_gaps(shards: int, start: Event, done: Event, roles: dict[str, RoleProcess],
                fed: dict[str, frozenset[str]]) -> None:
    """Which reports a shard did not take (by topic, with the seq gaps it saw), on stderr."""
    print(f"{shards} shards: towers published {done['published']}, acked {done['acked']}, "
          f"outstanding {done['outstanding']}, connects {done['connects']}", file=sys.stderr)
    for shard_id, role in roles.items():
        final = next((e for e in role.events if e["event"] == "final"), None)
        if final is None:
            continue
        short = {t: (n, final["counts"].get(t, 0)) for t, n in start["per_topic"].items()
                 if t.split("/")[3] in fed[shard_id] and final["counts"].get(t, 0) < n}
        if short or final["gaps"]:
            print(f"  {shard_id}: short {short}, seq gaps {final['gaps']}, "
                  f"bus {final['bus']}", file=sys.stderr)
        print(f"  {shard_id}: repeats {final.get('repeats')}, towers now "
              f"{final.get('towers_now')}, {final.get('shard')}", file=sys.stderr)


def analyse(shards: int, args: argparse.Namespace, start: Event, flood: Event, done: Event,
            roles: dict[str, RoleProcess], expected: dict[str, int],
            arrivals: list[tuple[float, AlertEvent]], fused_wall: float,
            per_tower: dict[str, int]) -> dict[str, Any]:
    start_wall, t0, flood_wall = start["wall_s"], start["t0_s"], flood["wall_s"]
    lags = []
    for role in roles.values():
        lags += [s["wall_s"] - (start_wall + s["clock_s"] - t0) for s in role.samples()
                 if s["clock_s"] is not None and start_wall + 10.0 <= s["wall_s"] <= flood_wall]
    latency = [wall - (start_wall + e.t_s - t0) for wall, e in arrivals
               if e.t_s - t0 <= args.seconds]
    raised = sum(1 for _, e in arrivals if e.t_s - t0 <= args.seconds and e.event == "new")
    lost = {s: expected[s] - (r.samples()[-1]["distinct"] if r.samples() else 0)
            for s, r in roles.items()}
    flood_reports = done["published"] - flood["published"]
    flood_wall_s = fused_wall - flood_wall
    rate = flood_reports / flood_wall_s if flood_wall_s > 0 else float("nan")
    fed_total = sum(expected.values())
    overlap = fed_total / max(1, sum(per_tower.values()))
    cpu = {s: round(r.samples()[-1]["cpu_s"], 1) for s, r in roles.items() if r.samples()}
    per_cpu = min(expected[s] / cpu[s] for s in cpu if cpu[s] > 0)
    return {
        "shards": shards, "towers": args.towers, "published": done["published"],
        "lag_s": {"median": pct(lags, 0.5), "p99": pct(lags, 0.99)},
        "alert_latency_s": {"events": len(latency), "new_alerts": raised,
                            "median": pct(latency, 0.5), "p99": pct(latency, 0.99)},
        "lost": sum(lost.values()), "lost_by_shard": lost, "dropped": done["dropped"],
        "feed_overlap": round(overlap, 3),
        "flood_reports_per_s": rate,
        "towers_in_real_time": rate / REPORTS_PER_TOWER_S,
        "cpu_s_by_shard": cpu,
        "reports_per_cpu_s": per_cpu,
        "towers_per_core": per_cpu / REPORTS_PER_TOWER_S,
    }


def whole_overlap(site: Site, shards: int) -> float:
    """Towers fed over towers, summed over the shards of a plan of ``site``."""
    plan = plan_sectors(site, shards)
    return sum(len(plan.towers_for(s)) for s in plan.shards) / len(site.towers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--towers", type=int, default=150)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--flood-s", type=float, default=30.0)
    parser.add_argument("--site-towers", type=int, default=3000,
                        help="the long site's towers (3000: 1,500 km), of which --towers are "
                             "simulated (bench_scale_site.py); 0: a ridge of --towers")
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--tower-qos", type=int, choices=(0, 1), default=0,
                        help="0: a QoS 0 subscription per tower fed; 1: the QoS 1 wildcard "
                             "(services/split_bus.py)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    args.spec = f"{args.towers}/{args.site_towers}" if args.site_towers else str(args.towers)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        for shards in args.shards:
            results.append(run_one(shards, args, Path(tmp)))
            print(json.dumps(results[-1]), file=sys.stderr)
    if args.site_towers:
        whole = Site.model_validate(long_site(args.site_towers))
        print(f"{args.towers} towers simulated of {args.site_towers} "
              f"({args.site_towers * 0.5:g} km), windows on the 4-shard boundaries; overlap "
              f"on the whole site: " + ", ".join(
                  f"{n} shards {whole_overlap(whole, n):.2f}" for n in args.shards))
    else:
        print(f"{args.towers} towers ({args.towers * 500 / 1000:g} km)")
    print(f"{args.seconds:g} s in real time then {args.flood_s:g} s of data flooded, 3-node "
          f"NATS cluster, towers subscribed at QoS {args.tower_qos}")
    print(f"{'shards':>6} {'lag p99 s':>10} {'alert p99 s':>12} {'new alerts':>10} "
          f"{'lost':>5} {'fused/s':>9} {'towers RT':>10} {'overlap':>8} {'towers/core':>12}")
    for r in results:
        print(f"{r['shards']:>6} {r['lag_s']['p99']:>10.2f} {r['alert_latency_s']['p99']:>12.2f}"
              f" {r['alert_latency_s']['new_alerts']:>10} {r['lost']:>5}"
              f" {r['flood_reports_per_s']:>9.0f} {r['towers_in_real_time']:>10.0f}"
              f" {r['feed_overlap']:>8.2f} {r['towers_per_core']:>12.0f}")
    print("towers RT: the whole pipeline's rate in the flood / 3 reports a tower-second; "
          "towers/core: a shard's reports per CPU-second / 3 (the slowest shard)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
