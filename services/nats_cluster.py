"""A local NATS Server cluster with an MQTT listener on every node (``perimeter up
--broker-cluster N``, the scale tests and ``bench/bench_scale.py``).

Each node gets four free loopback ports (NATS clients, cluster routes, HTTP monitoring, MQTT),
a ``server_name`` and JetStream with its store in a folder of its own: NATS' MQTT listener keeps
sessions, QoS 1 messages and retained messages in JetStream streams, replicated over the
cluster. :meth:`NatsCluster.start` writes the configs, starts the nodes and returns once every
node is healthy (``/healthz``), routed to the others (``/routez``) and answers an MQTT CONNECT
(polled, no fixed sleeps). :meth:`NatsCluster.kill` / :meth:`stop_node` / :meth:`restart` act
on one node; a node comes back on the same ports with its JetStream store. See docs/scale.md
for what was measured.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

NATS_PATHS = ("/usr/sbin/nats-server", "/usr/local/bin/nats-server", "/usr/bin/nats-server")
CLUSTER_NAME = "perimeter"


def mqtt_connect_packet(client_id: str) -> bytes:
    """An MQTT 3.1.1 CONNECT: clean session, keepalive 10 s, ``client_id`` (ASCII, short)."""
    ident = client_id.encode("ascii")
    body = b"\x00\x04MQTT\x04\x02\x00\x0a" + len(ident).to_bytes(2, "big") + ident
    return bytes([0x10, len(body)]) + body


class ClusterError(RuntimeError):
    """The cluster could not be started or did not become ready in time."""


def find_nats_server() -> str | None:
    """The nats-server binary on PATH or in the usual folders, else None."""
    found = shutil.which("nats-server")
    if found:
        return found
    return next((p for p in NATS_PATHS if os.access(p, os.X_OK)), None)


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports the system reports free on ``host`` (all held while chosen)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass(frozen=True, slots=True)
class NodePorts:
    """The loopback ports of one node."""

    client: int
    cluster: int
    http: int
    mqtt: int


def node_config(name: str, host: str, ports: NodePorts, routes: list[int], store_dir: Path,
                *, ack_wait_s: float = 30.0, max_ack_pending: int = 1_000) -> str:
    """A nats-server config: clients, monitoring, JetStream, a cluster route to each peer and
    the MQTT listener. ``ack_wait_s``: a QoS 1 message an MQTT subscriber has not acknowledged
    in this time is sent again; ``max_ack_pending``: unacknowledged messages per subscription
    before the node stops delivering to it, and per session over all its subscriptions (a
    message past the session's limit waits ``ack_wait`` to be sent again: docs/scale.md,
    pitfall 6). 1,000 (NATS' default 1,024): a shard's backlog of unacknowledged reports is
    then fused well within ``ack_wait`` (8,000 took up to 30 s under load and every one was
    sent again), and a session may hold 65 subscriptions (65,535 in all).
    The MQTT streams are replicated on every node, at most 3 (set here: left to itself NATS
    picks the number of peers it knows when the first client connects, 2 of 3 in a freshly
    formed cluster, and a stream on 2 replicas stops accepting QoS 1 when one of them dies)."""
    replicas = min(3, len(routes) + 1)
    route_urls = ", ".join(f'"nats-route://{host}:{port}"' for port in routes)
    return "\n".join([
        f'server_name: "{name}"',
        f'listen: "{host}:{ports.client}"',
        f'http: "{host}:{ports.http}"',
        "max_payload: 1048576",
        f'jetstream {{ store_dir: "{store_dir}", max_memory_store: 268435456, '
        "max_file_store: 4294967296 }",
        f'cluster {{ name: "{CLUSTER_NAME}", listen: "{host}:{ports.cluster}", '
        f"routes: [{route_urls}] }}",
        f'mqtt {{ listen: "{host}:{ports.mqtt}", ack_wait: "{ack_wait_s:g}s", '
        f"max_ack_pending: {max_ack_pending}, stream_replicas: {replicas} }}",
        "",
    ])


def http_json(url: str, timeout_s: float = 1.0) -> dict[str, object] | None:
    """The JSON a monitoring endpoint answers with 200, else None (down, 503, garbage)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            if resp.status != 200:
                return None
            body = json.loads(resp.read())
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def mqtt_accepts(host: str, port: int, client_id: str = "perimeter-probe",
                 timeout_s: float = 2.0) -> bool:
    """True when an MQTT 3.1.1 CONNECT on ``host:port`` is answered with CONNACK accepted
    (NATS answers only once its JetStream MQTT streams exist)."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            sock.sendall(mqtt_connect_packet(client_id))
            connack = sock.recv(4)
            with contextlib.suppress(OSError):
                sock.sendall(bytes([0xE0, 0x00]))  # DISCONNECT
    except OSError:
        return False
    return len(connack) == 4 and connack[0] == 0x20 and connack[3] == 0


class NatsNode:
    """One nats-server process with its config, store and log in ``folder``."""

    def __init__(self, binary: str, name: str, host: str, ports: NodePorts, folder: Path,
                 own_session: bool = False) -> None:
        self.binary, self.name, self.host, self.ports = binary, name, host, ports
        self.folder, self.own_session = folder, own_session
        self.conf = folder / f"{name}.conf"
        self.log = folder / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def mqtt_url(self) -> str:
        return f"mqtt://{self.host}:{self.ports.mqtt}"

    @property
    def monitor_url(self) -> str:
        return f"http://{self.host}:{self.ports.http}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=self.own_session)

    def kill(self) -> None:
        """SIGKILL: no goodbye to clients or routes, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM (clean shutdown), SIGKILL after ``timeout_s``."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def ready(self, peers: int) -> bool:
        """Routed to ``peers`` other nodes and accepting MQTT clients."""
        if not self.running:
            return False
        routez = http_json(f"{self.monitor_url}/routez")
        if routez is None or int(str(routez.get("num_routes", 0))) < peers:
            return False
        return mqtt_accepts(self.host, self.ports.mqtt, f"perimeter-probe-{self.name}")

    def healthy(self) -> bool:
        """``/healthz`` answers ok: JetStream is current, and so is every stream replica this
        node holds (a node back from a crash is ready well before it has caught up)."""
        return self.running and http_json(f"{self.monitor_url}/healthz") is not None


class NatsCluster:
    """``size`` nats-server nodes on loopback, routed together, each with MQTT and JetStream.

    ``folder`` holds configs, stores and logs (a temporary one, removed by :meth:`stop`, when
    not given). ``own_session``: the nodes leave the terminal's process group, so Ctrl-C reaches
    the services first and the broker can still deliver their last messages.
    """

    def __init__(self, size: int = 3, host: str = "127.0.0.1", folder: Path | None = None,
                 own_session: bool = False, ack_wait_s: float = 30.0,
                 max_ack_pending: int = 1_000) -> None:
        if size < 1:
            raise ValueError("a cluster needs at least one node")
        binary = find_nats_server()
        if binary is None:
            raise ClusterError("no nats-server binary (apt-get install -y nats-server)")
        self._tmp = None if folder else tempfile.TemporaryDirectory(prefix="perimeter-nats-")
        self.folder = folder or Path(self._tmp.name if self._tmp else ".")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.host = host
        ports = free_ports(4 * size, host)
        self.nodes = [NatsNode(binary, f"n{i + 1}", host, NodePorts(*ports[4 * i: 4 * i + 4]),
                               self.folder, own_session) for i in range(size)]
        for node in self.nodes:
            routes = [peer.ports.cluster for peer in self.nodes if peer is not node]
            store = self.folder / node.name / "jetstream"
            store.mkdir(parents=True, exist_ok=True)
            node.conf.write_text(node_config(node.name, host, node.ports, routes, store,
                                             ack_wait_s=ack_wait_s,
                                             max_ack_pending=max_ack_pending),
                                 encoding="utf-8")

    @property
    def urls(self) -> list[str]:
        """The MQTT URL of every node, in node order."""
        return [node.mqtt_url for node in self.nodes]

    def start(self, timeout_s: float = 60.0) -> NatsCluster:
        """Start every node and wait until the cluster is formed: every node routed, healthy
        and accepting MQTT (:meth:`wait_ready`)."""
        for node in self.nodes:
            node.start()
        try:
            self.wait_ready(timeout_s, healthy=True)
        except ClusterError:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout_s: float = 60.0, healthy: bool = False) -> float:
        """Poll until every running node is ready (:meth:`NatsNode.ready`), and with
        ``healthy`` also healthy (:meth:`NatsNode.healthy`); the seconds it took. Raises
        :class:`ClusterError` on timeout or when a node exits."""
        started = time.monotonic()
        running = [node for node in self.nodes if node.running]
        pending = list(running)
        while pending:
            for node in list(pending):
                if node.proc is not None and node.proc.poll() is not None:
                    raise ClusterError(f"nats-server {node.name} exited with code "
                                       f"{node.proc.returncode}; see {node.log}")
                if node.ready(len(running) - 1) and (not healthy or node.healthy()):
                    pending.remove(node)
            if time.monotonic() - started > timeout_s:
                names = ", ".join(node.name for node in pending)
                raise ClusterError(f"nats cluster not ready after {timeout_s:.0f} s: {names}")
            if pending:
                time.sleep(0.1)
        return time.monotonic() - started

    def kill(self, index: int) -> None:
        """SIGKILL node ``index`` (0-based)."""
        self.nodes[index].kill()

    def stop_node(self, index: int) -> None:
        """Shut node ``index`` down cleanly."""
        self.nodes[index].stop()

    def restart(self, index: int, timeout_s: float = 60.0) -> float:
        """Start node ``index`` again (same ports and store) and wait until it is routed and
        accepts MQTT (it catches up on the streams after that, see :meth:`NatsNode.healthy`);
        the seconds that took."""
        self.nodes[index].start()
        return self.wait_ready(timeout_s)

    def consumers(self) -> list[dict[str, object]]:
        """Every JetStream consumer, as the node leading it reports it (``/jsz``): node,
        stream, name, delivered and ack floor (stream sequences), ack pending, redelivered
        and pending counts (docs/scale.md, pitfall 6; the benches print them)."""
        out: list[dict[str, object]] = []
        for node in self.nodes:
            jsz = http_json(f"{node.monitor_url}/jsz?consumers=true&accounts=true", 5.0) or {}
            for account in _dicts(jsz.get("account_details")):
                for stream in _dicts(account.get("stream_detail")):
                    for c in _dicts(stream.get("consumer_detail")):
                        leader = c.get("cluster")
                        if not isinstance(leader, dict) or leader.get("leader") != node.name:
                            continue
                        delivered, floor = c.get("delivered"), c.get("ack_floor")
                        out.append({
                            "node": node.name, "stream": stream.get("name"),
                            "name": c.get("name"),
                            "delivered": _seq(delivered), "ack_floor": _seq(floor),
                            "ack_pending": c.get("num_ack_pending", 0),
                            "redelivered": c.get("num_redelivered", 0),
                            "pending": c.get("num_pending", 0)})
        return out

    def stop(self) -> None:
        """Stop every node; remove the temporary folder if this cluster made it."""
        for node in self.nodes:
            node.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _dicts(value: object) -> list[dict[str, object]]:
    """The dicts of a JSON list (none for anything else)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _seq(position: object) -> object:
    """The stream sequence of a consumer's position (``delivered``, ``ack_floor``)."""
    return position.get("stream_seq") if isinstance(position, dict) else None
