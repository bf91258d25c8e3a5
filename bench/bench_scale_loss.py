"""Reproduction: do QoS 1 messages acknowledged by a NATS cluster's MQTT listener all reach
subscribers that acknowledge late (after processing, as the fusion shards do)?

A 3-node cluster (services/nats_cluster.py), ``--publishers`` connections publishing
``--messages`` QoS 1 messages over ``--topics`` tower topics as fast as they go, and
``--subscribers`` clients (``MqttBus`` with ``manual_ack``, as a shard) subscribed to the towers'
wildcard and three other filters, each handing messages to a worker thread that takes
``--work-ms`` per message and acknowledges only then (``--ack receipt``: on receipt instead;
``--window N``: the handler blocks while N messages are received and not yet acknowledged).
Prints, per subscriber, the distinct messages taken, those missing, repeats, reconnections,
and the JetStream consumers' state (``/jsz``) at the end.

    python bench/bench_scale_loss.py [--messages 20000] [--subscribers 2] [--max-ack-pending 8000]
        [--ack-wait-s 30] [--work-ms 0.3] [--ack after|receipt] [--window 0] [--settle-s 90]
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from perimeter.bus import Message
from perimeter.config import FusionSettings
from services.mqtt import MqttBus, MqttOptions
from services.nats_cluster import NatsCluster

OTHER_FILTERS = ("perimeter/v1/alerts", "perimeter/v1/fusion/handover",
                 "perimeter/v1/fusion/shards/+/status")


class Subscriber:
    """A late-acknowledging subscriber: distinct (topic, seq) taken, repeats."""

    def __init__(self, urls: str, name: str, node: int, args: argparse.Namespace) -> None:
        options = MqttOptions.from_settings(FusionSettings(broker_url=urls), name,
                                            first_node=node)
        self.bus = MqttBus(replace(options, manual_ack=True, prefer_mqtt5=False))
        self.work_s, self.mode = args.work_ms / 1000.0, args.ack
        self.window = threading.Semaphore(args.window) if args.window > 0 else None
        self.queue: queue.Queue[Message] = queue.Queue()
        self.seen: set[tuple[str, int]] = set()
        self.received = 0
        self.towers_seen = 0
        """Distinct tower reports taken (the settle check: the side traffic is not counted)."""
        self.worker = threading.Thread(target=self._work, daemon=True)
        for topic_filter in ("perimeter/v1/towers/+/+", *OTHER_FILTERS):
            self.bus.subscribe(topic_filter, self._on_message)

    def _on_message(self, message: Message) -> None:
        if self.window is not None:
            self.window.acquire()
        if self.mode == "receipt":
            self.bus.ack(message)
        self.queue.put(message)

    def _work(self) -> None:
        while True:
            message = self.queue.get()
            if self.work_s > 0:
                time.sleep(self.work_s)
            self.received += 1
            key = (message.topic, int(json.loads(message.payload)["seq"]))
            if key not in self.seen and "/towers/" in message.topic:
                self.towers_seen += 1
            self.seen.add(key)
            if self.mode == "after":
                self.bus.ack(message)
            if self.window is not None:
                self.window.release()

    def start(self) -> None:
        self.worker.start()
        self.bus.start(60.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--topics", type=int, default=60)
    parser.add_argument("--publishers", type=int, default=6)
    parser.add_argument("--subscribers", type=int, default=2)
    parser.add_argument("--max-ack-pending", type=int, default=8_000)
    parser.add_argument("--ack-wait-s", type=float, default=30.0)
    parser.add_argument("--work-ms", type=float, default=0.3)
    parser.add_argument("--ack", choices=("after", "receipt"), default="after")
    parser.add_argument("--window", type=int, default=0)
    parser.add_argument("--settle-s", type=float, default=90.0)
    parser.add_argument("--side-hz", type=float, default=5.0)
    args = parser.parse_args()
    with NatsCluster(3, ack_wait_s=args.ack_wait_s,
                     max_ack_pending=args.max_ack_pending) as cluster:
        urls = ",".join(cluster.urls)
        subs = [Subscriber(urls, f"loss-sub-{k}", k, args) for k in range(args.subscribers)]
        for sub in subs:
            sub.start()
        pubs = [MqttBus(replace(MqttOptions.from_settings(FusionSettings(broker_url=urls),
                                                          f"loss-pub-{k}", first_node=k),
                                max_queued=20_000, prefer_mqtt5=False))
                for k in range(args.publishers)]
        for pub in pubs:
            pub.start(60.0)
        ready = Message("perimeter/v1/towers/READY/thermal", b'{"seq": -1}', qos=1)
        while not all(("perimeter/v1/towers/READY/thermal", -1) in s.seen for s in subs):
            pubs[0].publish(ready)  # every subscription's consumer exists (SUBACK) only then
            time.sleep(0.5)
        for s in subs:
            s.seen.clear()
            s.towers_seen = 0
        side = threading.Event()

        def side_traffic() -> None:  # what else a shard's session carries: statuses, alerts
            k = 0
            while not side.wait(1.0 / max(args.side_hz, 1e-3)):
                pubs[-1].publish(Message(f"perimeter/v1/fusion/shards/s{k % 3}/status",
                                         json.dumps({"seq": k}).encode(), qos=1, retain=True))
                k += 1

        if args.side_hz > 0:
            threading.Thread(target=side_traffic, daemon=True).start()
        started = time.monotonic()
        for n in range(args.messages):
            topic = f"perimeter/v1/towers/T{n % args.topics:03d}/thermal"
            payload = json.dumps({"seq": n // args.topics, "pad": "x" * 200}).encode()
            pubs[n % args.publishers].publish(Message(topic, payload, qos=1))
        for pub in pubs:
            pub.flush(600.0)
        published_s = time.monotonic() - started
        time.sleep(1.0)
        side.set()
        acked = sum(p.counters["acked"] for p in pubs)
        deadline = time.monotonic() + args.settle_s
        while time.monotonic() < deadline and not all(
                s.towers_seen >= args.messages and s.queue.empty() for s in subs):
            time.sleep(0.5)
        print(f"published {args.messages} in {published_s:.1f} s, acked {acked}; "
              f"max_ack_pending {args.max_ack_pending}, ack_wait {args.ack_wait_s:g} s, "
              f"ack {args.ack}, window {args.window}, work {args.work_ms:g} ms")
        expected = {(f"perimeter/v1/towers/T{n % args.topics:03d}/thermal", n // args.topics)
                    for n in range(args.messages)}
        for k, sub in enumerate(subs):
            missing = sorted(expected - {m for m in sub.seen if "towers" in m[0]})
            print(f"sub {k}: distinct {len(expected) - len(missing)}, missing {len(missing)}, "
                  f"repeats "
                  f"{sub.received - len(sub.seen)}, queue {sub.queue.qsize()}, connects "
                  f"{sub.bus.counters['connects']}, first missing {missing[:5]}")
        for c in cluster.consumers():
            if c["stream"] == "$MQTT_msgs":
                print("consumer", json.dumps(c))
        for bus in (*pubs, *(s.bus for s in subs)):
            bus.close(1.0)


if __name__ == "__main__":
    main()
