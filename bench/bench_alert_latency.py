"""End-to-end alert latency: from the publish of the report that lets fusion raise an alert to
that alert's event on the API's SSE stream, through a real broker, fusion and the API server.

A recording of a scenario is replayed onto the broker at ``--speed`` (data-time spacing kept);
fusion runs in this process (the live service code, store as sink), the API in its own process.
An alert event with ``t_s`` is attributed to the first report published with ``t_s`` at or after
it. Run from the repository root after ``pip install -e .``.

    python bench/bench_alert_latency.py [--scenario default] [--duration-s 900] [--speed 20]
    python bench/bench_alert_latency.py --towers 200 --duration-s 600 --speed 1
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import tempfile
import threading
import time
from pathlib import Path

import httpx
from bench_api import free_port, pct, start_server

from perimeter.bus import Message
from perimeter.fusion.runner import FusionRunner
from perimeter.store import AlertStore
from perimeter.thresholds import Thresholds
from services.broker import EmbeddedBroker
from services.fusion_service import FusionService
from services.mqtt import MqttBus, MqttOptions
from sim.record import record
from sim.scenario import load_scenario


def replay(bus: MqttBus, lines: list[str], speed: float) -> tuple[list[float], list[float]]:
    """Publish every recorded message, paced by data time; the (t_s, wall) of each report."""
    data_t, wall_t = [], []
    start_wall = time.perf_counter()
    start_t_s: float | None = None
    for line in lines:
        row = json.loads(line)
        payload = row["payload"]
        t_s = payload.get("t_s")
        if isinstance(t_s, float | int) and "seq" in payload:
            start_t_s = t_s if start_t_s is None else start_t_s
            delay = (t_s - start_t_s) / speed - (time.perf_counter() - start_wall)
            if delay > 0:
                time.sleep(delay)
        bus.publish(Message(row["topic"], json.dumps(payload).encode(),
                            retain=bool(row.get("retain")), qos=1))
        if "seq" in payload:
            data_t.append(float(t_s))
            wall_t.append(time.perf_counter())
    return data_t, wall_t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="default")
    parser.add_argument("--duration-s", type=float, default=900.0)
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--towers", type=int, default=0,
                        help="the default scenario on a generated N-tower site (bench_sim)")
    args = parser.parse_args()
    if args.towers:
        from bench_sim import scaled_scenario

        scenario = scaled_scenario(args.towers, 4200.0, replicate_targets=True)  # cut below
    else:
        scenario = load_scenario(args.scenario)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        recording = tmp / "run.jsonl"
        record(scenario, recording, until_s=args.duration_s)
        lines = recording.read_text().splitlines()
        db_url = f"sqlite:///{tmp / 'alerts.db'}"
        store = AlertStore.open(db_url)
        broker_port = free_port()
        (tmp / "broker").mkdir()
        with EmbeddedBroker(broker_port, data_dir=tmp / "broker"):
            proc, url = start_server(db_url, broker_port)
            fusion_bus = MqttBus(MqttOptions(port=broker_port, client_id="bench-fusion"))
            service = FusionService(fusion_bus, lambda out: FusionRunner(
                scenario.site_model, Thresholds(), out), store.append)
            service.start()
            fusion_bus.start()
            towers_bus = MqttBus(MqttOptions(port=broker_port, client_id="bench-towers"))
            towers_bus.start()
            arrivals: list[tuple[float, float]] = []  # (alert t_s, wall) of "new" events
            stop = threading.Event()

            def read() -> None:
                with (contextlib.suppress(httpx.HTTPError),  # the server stops at the end
                      httpx.stream("GET", f"{url}/api/v1/alerts/stream", timeout=None) as answer):
                    for line in answer.iter_lines():
                        if stop.is_set():
                            return
                        if line.startswith("data:"):
                            alert = json.loads(line[5:])
                            if alert["event"] == "new":
                                arrivals.append((alert["t_s"], time.perf_counter()))

            threading.Thread(target=read, daemon=True).start()
            time.sleep(1.0)
            data_t, wall_t = replay(towers_bus, lines, args.speed)
            time.sleep(3.0)
            stop.set()
            service.stop()
            for bus in (towers_bus, fusion_bus):
                bus.close()
            proc.terminate()
            proc.wait()
        store.close()
    latencies = []
    for t_s, wall in arrivals:
        i = bisect.bisect_left(data_t, t_s)
        if i < len(data_t):
            latencies.append(wall - wall_t[i])
    print(f"{args.scenario}, {len(scenario.site_model.towers)} towers, {args.duration_s:g} s at "
          f"x{args.speed:g}: {len(latencies)} new alerts; report publish → SSE event "
          f"p50 {pct(latencies, 50) * 1e3:.0f} ms, p99 {pct(latencies, 99) * 1e3:.0f} ms, "
          f"max {max(latencies) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
