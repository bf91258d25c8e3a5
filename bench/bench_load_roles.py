"""The processes of ``bench/bench_load.py``: towers publishing, the fusion service, a bare paho
subscriber. Each prints JSON lines on stdout (``{"event": ...}``) for the orchestrator.

    python bench/bench_load_roles.py towers|fusion|subscriber BROKER_PORT TOWERS SECONDS FLOOD_S

(started by bench_load.py with the checkout on PYTHONPATH).
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perimeter import topics
from perimeter.bus import Message
from perimeter.store import AlertStore
from sim.scenario import Scenario, load_scenario
from sim.signatures import SPEED_MPS

REPORTS_PER_TOWER_S = 3.0  # thermal at 2 Hz + acoustic at 1 Hz
SAMPLE_S = 0.25


def emit(**fields: Any) -> None:
    sys.stdout.write(json.dumps({"wall_s": time.time(), **fields}) + "\n")
    sys.stdout.flush()


def load_site(n_towers: int, towers: list[int] | None = None, digits: int = 3
              ) -> dict[str, Any]:
    """A ridge of ``n_towers`` towers 500 m apart (``T000`` at y = 0, ids of ``digits``
    digits), the perimeter 1 km east along all of it, the approach 6 km deep; only ``towers``
    (indices) if given (bench_scale_site's long site simulates windows of it)."""
    length_m = 500.0 * n_towers
    keep = range(n_towers) if towers is None else sorted(set(towers))
    return {"name": f"ridge-{n_towers}",
            "towers": [{"id": f"T{i:0{digits}d}", "x_m": 0.0, "y_m": 500.0 * i} for i in keep],
            "perimeter": [[1000.0, -500.0], [1000.0, length_m]],
            "watch_zones": [{"name": "approach", "polygon": [
                [1000.0, -1000.0], [7000.0, -1000.0], [7000.0, length_m + 500.0],
                [1000.0, length_m + 500.0]]}]}


def crossing(k: int, lane_m: float, kind: str, start_s: float) -> dict[str, Any] | None:
    """Crossing ``k``: from 4.5 km out to the perimeter near ``lane_m``, starting at
    ``start_s``; one that started before 0 s is on its way already (started where it would be
    now), None if it would have arrived."""
    (x0, y0), (x1, y1) = (4500.0, lane_m + 100.0), (1100.0, lane_m + 400.0)
    done = 0.0
    if start_s < 0.0:  # on its way already: start where it would be now
        done = -start_s * SPEED_MPS[kind][0] / math.hypot(x1 - x0, y1 - y0)
        if done >= 0.95:
            return None
        start_s = 0.0
    return {"id": f"x{k}".replace("-", "m"), "kind": kind, "start_s": start_s,
            "count": 3 if kind == "group" else 1,
            "path": [[x0 + done * (x1 - x0), y0 + done * (y1 - y0)], [x1, y1]]}


def load_scenario_for(n_towers: int, duration_s: float, seed: int = 1,
                      in_flight: bool = True, every_s: float = 20.0) -> Scenario:
    """Crossings every ``every_s`` somewhere along the ridge, and wandering animals.

    ``in_flight``: the crossings that would have started in the hour before are already on
    their way at 0 s (those not yet arrived), so the number of targets is steady from the start
    rather than climbing for the ~50 min a group takes to cross; a soak then measures memory at
    a steady live state."""
    kinds = ("person", "light_vehicle", "group")
    first = -int(3600 // every_s) if in_flight else 0
    targets = []
    for k in range(first, max(1, int(duration_s // every_s))):
        target = crossing(k, 500.0 * ((7 * k) % n_towers), kinds[k % 3], 2.0 + every_s * k)
        if target is not None:
            targets.append(target)
    return load_scenario({
        "name": f"load-{n_towers}", "seed": seed, "duration_s": duration_s,
        "site": load_site(n_towers), "targets": targets,
        "environment": {"start_time": "2026-01-15T22:00:00Z", "weather": "clear"},
        "nuisance": {"animals": max(4, n_towers // 5)}})


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def publish_paced(reports: list[Message], t0_s: float, steady_s: float,
                  publish: Callable[[str, Message], None]) -> None:
    """Publish ``reports`` (each through ``publish(tower_id, message)``): those of the first
    ``steady_s`` of data in real time, the rest as fast as possible (a ``flood`` event marks
    the switch)."""
    start = time.time()
    flooding = False
    for i, message in enumerate(reports):
        t_s = json.loads(message.payload)["t_s"] - t0_s
        if t_s <= steady_s:
            delay = start + t_s - time.time()
            if delay > 0:
                time.sleep(delay)
        elif not flooding:
            flooding = True
            emit(event="flood", published=i, t_s=t_s)
        parsed = topics.parse_tower_topic(message.topic)
        assert parsed is not None
        publish(parsed.tower_id, message)


def towers(port: int, n_towers: int, steady_s: float, flood_s: float) -> None:
    """Publish the steady part in real time, then ``flood_s`` of data as fast as possible."""
    from services.mqtt import MqttBus, MqttOptions
    from sim.uplink import MemoryUplink
    from sim.world import World

    scenario = load_scenario_for(n_towers, steady_s + flood_s)
    uplink = MemoryUplink()
    World(scenario, uplink).run()
    reports = [m for m in uplink.messages if not m.topic.endswith("/status")]
    t0 = scenario.epoch_s
    clients = [MqttBus(MqttOptions(port=port, client_id=f"load-towers-{k}", max_queued=20_000))
               for k in range(8)]
    for bus in clients:
        bus.start(15.0)
    index = {f"T{i:03d}": i % len(clients) for i in range(n_towers)}
    emit(event="start", t0_s=t0, steady_s=steady_s, reports=len(reports))
    publish_paced(reports, t0, steady_s, lambda tower, m: clients[index[tower]].publish(m))
    for bus in clients:
        bus.flush(120.0)
    acked = sum(bus.counters["acked"] for bus in clients)
    emit(event="done", published=len(reports), acked=acked,
         dropped=sum(bus.counters["dropped"] for bus in clients))
    for bus in clients:
        bus.close()


def fusion(port: int, n_towers: int, steady_s: float, flood_s: float) -> None:
    """The fusion service (as ``run_fusion`` builds it), sampled every 0.25 s."""
    from perimeter.contract import AlertEvent, DeadLetter, TracksSnapshot
    from perimeter.fusion.runner import FusionOutput, FusionRunner
    from perimeter.thresholds import Thresholds
    from services.fusion_service import FusionService
    from services.mqtt import MqttBus, MqttOptions

    site = load_scenario_for(n_towers, steady_s + flood_s).site_model
    bus = MqttBus(MqttOptions(port=port, client_id="load-fusion", manual_ack=True))
    fused_t_s: list[float] = [0.0]
    alerts: list[int] = [0]

    class Spy:
        """The service's output, noting the data time of the latest track snapshot."""

        def __init__(self, out: FusionOutput) -> None:
            self.out = out

        def alert(self, event: AlertEvent) -> None:
            alerts[0] += 1
            self.out.alert(event)

        def tracks(self, snapshot: TracksSnapshot) -> None:
            fused_t_s[0] = snapshot.t_s
            self.out.tracks(snapshot)

        def reject(self, dead_letter: DeadLetter) -> None:
            self.out.reject(dead_letter)

    store = AlertStore.open(str(Path(tempfile.mkdtemp(prefix="bench-load-")) / "alerts.db"))
    service = FusionService(bus, lambda out: FusionRunner(site, Thresholds(), Spy(out)),
                            store.append)
    trace = Trace(float(os.environ.get("BENCH_LOAD_TRACE_S", "0")))
    service.start()
    bus.start(15.0)
    emit(event="ready")
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    while not stop.wait(SAMPLE_S):
        c = service.runner.counters
        emit(event="sample", clock_s=service.runner.clock_s, fused_t_s=fused_t_s[0],
             received=c["received"], reports=c["reports"], duplicates=c["duplicates"],
             rejected=sum(v for k, v in c.items() if k.startswith("rejected:")),
             alert_events=alerts[0], queue=service.counters()["queue_depth"],
             bus_received=bus.counters["received"], rss_mb=rss_mb(),
             tracks=len(service.runner.engine.tracks))
        trace.tick()
    trace.finish()
    service.stop()
    bus.close()
    store.close()


class Trace:
    """tracemalloc from ``after_s`` (wall, 0: off); a first snapshot a minute later, the second
    at the end; the sites that grew most are emitted as a ``trace`` event."""

    def __init__(self, after_s: float) -> None:
        self.start_at = time.monotonic() + after_s if after_s > 0 else None
        self.first: tracemalloc.Snapshot | None = None

    def tick(self) -> None:
        if self.start_at is None or self.first is not None or time.monotonic() < self.start_at:
            return
        if not tracemalloc.is_tracing():
            tracemalloc.start(10)
            self.start_at += 60.0
        else:
            self.first = tracemalloc.take_snapshot()

    def finish(self, top: int = 10) -> None:
        if self.first is None:
            return
        stats = tracemalloc.take_snapshot().compare_to(self.first, "traceback")
        emit(event="trace", top=[{"kib": s.size_diff / 1024, "blocks": s.count_diff,
                                  "where": s.traceback.format()[-10:]}
                                 for s in stats[:top]])


def subscriber(port: int, n_towers: int, steady_s: float, flood_s: float) -> None:
    """A bare paho client: counts reports, distinct ``(topic, seq)``, the broker's drops."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    seen: set[tuple[str, int]] = set()
    counts = {"received": 0, "distinct": 0, "dropped": -1}
    lock = threading.Lock()

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        if msg.topic.startswith("$SYS"):
            counts["dropped"] = int(msg.payload)
            return
        key = (msg.topic, int(json.loads(msg.payload)["seq"]))
        with lock:
            counts["received"] += 1
            seen.add(key)
            counts["distinct"] = len(seen)

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="load-bare",
                         protocol=mqtt.MQTTv311, clean_session=False)
    client.max_inflight_messages_set(1000)
    client.on_message = on_message
    client.on_connect = lambda c, *_a: (c.subscribe(topics.TOWER_WILDCARD, qos=1),
                                        c.subscribe("$SYS/broker/publish/messages/dropped"))
    client.connect("127.0.0.1", port)
    client.loop_start()
    emit(event="ready")
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    while not stop.wait(SAMPLE_S):
        with lock:
            emit(event="sample", **counts)
    client.disconnect()
    client.loop_stop()


ROLES = {"towers": towers, "fusion": fusion, "subscriber": subscriber}

if __name__ == "__main__":
    role, port, n, steady, flood = sys.argv[1:6]
    ROLES[role](int(port), int(n), float(steady), float(flood))
