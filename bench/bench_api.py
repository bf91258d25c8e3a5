"""REST API figures on loopback: ``GET /api/v1/alerts`` throughput and p99 under concurrent load,
and alert latency from fusion's store-and-publish to the event on the SSE stream, through a real
broker, with the towers of a 12- or 200-tower site reporting in the background.

Run from the repository root after ``pip install -e .``; the server runs in its own process.

    python bench/bench_api.py [--seconds 5] [--concurrency 32] [--alerts 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from perimeter import topics
from perimeter.bus import Message, Publisher
from perimeter.contract import AlertEvent, dump_payload
from perimeter.store import AlertStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def event(i: int, t_s: float) -> AlertEvent:
    return AlertEvent.model_validate({
        "event": "new", "alert_id": f"a-{i:06d}", "track_id": f"k-{i:06d}", "t_s": t_s,
        "class": "person", "confidence": 0.9, "severity": "high",
        "position": {"x_m": 2300.0, "y_m": -400.0}, "towers": ["T03", "T04"]})


def serve(db_url: str, port: int, broker_port: int | None) -> None:
    """The server process: the app on uvicorn, following the broker when given."""
    import uvicorn

    from perimeter.config import ApiSettings
    from services.api import create_app

    settings = ApiSettings(db_url=db_url, api_port=port,
                           broker_url=f"mqtt://127.0.0.1:{broker_port or 1}")
    bus = None
    if broker_port is not None:
        from services.mqtt import MqttBus, MqttOptions

        bus = MqttBus(MqttOptions.from_settings(settings, "bench-api", session_expiry_s=0))
        bus.start()
    uvicorn.run(create_app(settings, bus=bus), host="127.0.0.1", port=port, log_level="error",
                access_log=False, timeout_graceful_shutdown=1)


def start_server(db_url: str, broker_port: int | None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    args = [sys.executable, __file__, "serve", db_url, str(port), str(broker_port or 0)]
    proc = subprocess.Popen(args)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: int) -> float:
    """The ``q``-th percentile."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def load(url: str, seconds: float, concurrency: int) -> tuple[list[float], int]:
    """``concurrency`` keep-alive connections, each sending requests back to back. A bare
    asyncio HTTP/1.1 client, so the load generator costs little CPU beside the server."""
    host, port = url.removeprefix("http://").split(":")
    request = (f"GET /api/v1/alerts?limit=50 HTTP/1.1\r\nHost: {host}\r\n\r\n").encode()
    latencies: list[float] = []
    errors = 0
    end = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        while time.monotonic() < end:
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            errors += not head.startswith(b"HTTP/1.1 200")
        writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors


def bench_throughput(tmp: Path, seconds: float, concurrency: int) -> None:
    db_url = f"sqlite:///{tmp / 'throughput.db'}"
    with AlertStore.open(db_url) as store:
        for i in range(2000):
            store.append(event(i + 1, 1000.0 + i))
    proc, url = start_server(db_url, None)
    try:
        cpu0 = cpu_s(proc.pid)
        latencies, errors = asyncio.run(load(url, seconds, concurrency))
        cpu = cpu_s(proc.pid) - cpu0
    finally:
        proc.terminate()
        proc.wait()
    rps = len(latencies) / seconds
    print(f"GET /api/v1/alerts?limit=50, {concurrency} concurrent, {seconds:g} s: "
          f"{rps:,.0f} req/s, p50 {pct(latencies, 50) * 1e3:.1f} ms, "
          f"p99 {pct(latencies, 99) * 1e3:.1f} ms, errors {errors}; "
          f"server {len(latencies) / cpu:,.0f} req per CPU-second")


def tower_traffic(bus: Publisher, towers: int, stop: threading.Event) -> None:
    """Each tower's thermal (5 Hz) and acoustic (2 Hz) heartbeats, as the sim sends them."""
    seq = 0
    while not stop.is_set():
        t_s = time.time()
        for tower in range(towers):
            tid = f"T{tower + 1:03d}"
            for sensor, every in (("thermal", 1), ("acoustic", 3)):
                if seq % every == 0:
                    payload = {"tower_id": tid, "sensor": sensor, "seq": seq // every,
                               "t_s": t_s, "detections": []}
                    bus.publish(Message(topics.sensor(tid, sensor),
                                        json.dumps(payload).encode(), qos=1))
        seq += 1
        stop.wait(0.2)


def bench_latency(tmp: Path, towers: int, alerts: int) -> None:
    from services.broker import EmbeddedBroker
    from services.mqtt import MqttBus, MqttOptions

    broker_port = free_port()
    db_url = f"sqlite:///{tmp / f'latency{towers}.db'}"
    store = AlertStore.open(db_url)
    data_dir = tmp / f"broker{towers}"
    data_dir.mkdir()
    with EmbeddedBroker(broker_port, data_dir=data_dir):
        proc, url = start_server(db_url, broker_port)
        bus = MqttBus(MqttOptions(port=broker_port, client_id="bench-fusion"))
        bus.start()
        stop = threading.Event()
        traffic = threading.Thread(target=tower_traffic, args=(bus, towers, stop), daemon=True)
        traffic.start()
        sent: dict[str, float] = {}
        got: dict[str, float] = {}

        def read() -> None:
            with httpx.stream("GET", f"{url}/api/v1/alerts/stream", timeout=30) as answer:
                for line in answer.iter_lines():
                    if line.startswith("data:"):
                        got[json.loads(line[5:])["alert_id"]] = time.perf_counter()
                        if len(got) == alerts:
                            return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        time.sleep(1.0)
        for i in range(alerts):
            alert = event(i + 1, time.time())
            sent[alert.alert_id] = time.perf_counter()
            store.append(alert)  # as fusion: store, then publish
            bus.publish(Message(topics.ALERTS, dump_payload(alert), qos=1))
            time.sleep(0.05)
        reader.join(30)
        stop.set()
        bus.close()
        proc.terminate()
        proc.wait()
    store.close()
    latencies = [got[k] - sent[k] for k in sent if k in got]
    print(f"alert latency to SSE, {towers} towers reporting, {len(latencies)}/{alerts} alerts: "
          f"p50 {pct(latencies, 50) * 1e3:.1f} ms, p99 {pct(latencies, 99) * 1e3:.1f} ms")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) or None)
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--only", choices=["throughput", "latency"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "latency":
            bench_throughput(Path(tmp), args.seconds, args.concurrency)
        for towers in (12, 200) if args.only != "throughput" else ():
            bench_latency(Path(tmp), towers, args.alerts)


if __name__ == "__main__":
    main()
