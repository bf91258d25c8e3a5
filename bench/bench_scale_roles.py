"""The processes of ``bench/bench_scale.py``: the towers publishing a long generated site's
stream over the cluster's nodes, and one fusion shard. Each prints JSON lines on stdout.

    python bench/bench_scale_roles.py towers URLS TOWERS SECONDS FLOOD_S
    python bench/bench_scale_roles.py shard URLS TOWERS SECONDS FLOOD_S SHARD_ID PLAN_FILE QOS

(TOWERS: ``150``, the short ridge, or ``150/3000``, 150 simulated of the long site.)

(started by bench_scale.py with the checkout on PYTHONPATH).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load_roles import emit, publish_paced, rss_mb
from bench_scale_site import scenario_for

from perimeter import topics
from perimeter.bus import Message
from perimeter.config import FusionSettings

SAMPLE_S = 0.25
CONNECTIONS = 9  # publishing clients, three per node


def towers(urls: str, n_towers: str, steady_s: float, flood_s: float) -> None:
    """The steady part in real time, then ``flood_s`` of data as fast as possible."""
    from services.mqtt import MqttBus, MqttOptions
    from sim.uplink import MemoryUplink
    from sim.world import World

    scenario = scenario_for(n_towers, steady_s + flood_s)
    uplink = MemoryUplink()
    World(scenario, uplink).run()
    reports = [m for m in uplink.messages if not m.topic.endswith("/status")]
    settings = FusionSettings(broker_url=urls)
    clients = [MqttBus(replace(MqttOptions.from_settings(settings, f"scale-towers-{k}",
                                                          first_node=k), max_queued=20_000))
               for k in range(CONNECTIONS)]
    for bus in clients:
        bus.start(30.0)
    per_tower: dict[str, int] = {}
    per_topic: dict[str, int] = {}
    for message in reports:
        parsed = topics.parse_tower_topic(message.topic)
        assert parsed is not None
        per_tower[parsed.tower_id] = per_tower.get(parsed.tower_id, 0) + 1
        per_topic[message.topic] = per_topic.get(message.topic, 0) + 1
    index = {tower: i % CONNECTIONS for i, tower in enumerate(sorted(per_tower))}
    t0 = scenario.epoch_s
    emit(event="start", t0_s=t0, steady_s=steady_s, reports=len(reports), per_tower=per_tower,
         per_topic=per_topic)
    publish_paced(reports, t0, steady_s, lambda tower, m: clients[index[tower]].publish(m))
    for bus in clients:
        bus.flush(300.0)
    emit(event="done", published=len(reports),
         acked=sum(bus.counters["acked"] for bus in clients),
         dropped=sum(bus.counters["dropped"] for bus in clients),
         connects=sum(bus.counters["connects"] for bus in clients),
         outstanding=sum(bus.outstanding for bus in clients))
    for bus in clients:
        bus.close()


def shard(urls: str, n_towers: str, steady_s: float, flood_s: float, shard_id: str,
          plan_file: str, tower_qos: int = 1) -> None:
    """One shard as ``perimeter fusion --shard`` builds it (no store), sampled every 0.25 s:
    its data time, the distinct reports it took, its queue."""
    from perimeter.sectors import load_plan
    from perimeter.shard import ShardRunner
    from perimeter.thresholds import Thresholds
    from services.broker_probe import BrokerProbe
    from services.mqtt import MqttOptions
    from services.shard_service import ShardBusOutput, ShardService
    from services.split_bus import SplitBus

    site = scenario_for(n_towers, steady_s + flood_s).site_model
    plan = load_plan(plan_file)
    client_id = f"scale-{shard_id}"
    options = MqttOptions.from_settings(FusionSettings(broker_url=urls), client_id,
                                        first_node=int(shard_id.lstrip("s")) - 1)
    bus = SplitBus(replace(options, manual_ack=True), tower_qos=tower_qos)

    def make(output: ShardBusOutput) -> ShardRunner:
        return ShardRunner(site, plan, shard_id, Thresholds(), output, run_id="bench-scale")

    service = ShardService(bus, make, probe=BrokerProbe(bus, client_id))
    seen: set[tuple[str, int]] = set()
    fed = frozenset(service.shard.towers)  # the plan's, whatever takeovers do later
    repeats = [0]
    feed = service.feed

    def counted(message: Message) -> None:
        parsed = topics.parse_tower_topic(message.topic)
        if parsed is not None and parsed.tower_id in fed \
                and parsed.channel is not topics.TowerChannel.STATUS:
            key = (message.topic, int(json.loads(message.payload)["seq"]))
            repeats[0] += key in seen
            seen.add(key)
        feed(message)

    service.feed = counted
    service.start()
    bus.start(60.0)
    emit(event="ready", towers=len(service.shard.towers))
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    while not stop.wait(SAMPLE_S):
        counters = service.shard.counters
        emit(event="sample", clock_s=service.shard.clock_s, distinct=len(seen),
             received=counters["received"], queue=service.counters()["queue_depth"],
             rss_mb=rss_mb(), cpu_s=time.process_time())
    service.stop()
    bus.close()
    by_topic: dict[str, list[int]] = {}
    for topic, seq in seen:
        by_topic.setdefault(topic, []).append(seq)
    gaps = {t: sorted(set(range(min(q), max(q) + 1)) - set(q)) for t, q in by_topic.items()}
    emit(event="final", counts={t: len(q) for t, q in by_topic.items()},
         gaps={t: g for t, g in gaps.items() if g},
         bus=bus.counters, repeats=repeats[0], towers_now=len(service.shard.towers),
         shard={k: v for k, v in service.shard.counters.items()
                if k in ("takeovers", "plan_updates", "late_dropped", "duplicates",
                         "dropped_not_fed", "received")})


if __name__ == "__main__":
    role, urls, n, steady, flood = sys.argv[1:6]
    if role == "towers":
        towers(urls, n, float(steady), float(flood))
    else:
        shard(urls, n, float(steady), float(flood), sys.argv[6], sys.argv[7], int(sys.argv[8]))
