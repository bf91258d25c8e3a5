"""``perimeter up --shards N --broker-cluster M``: sharded fusion on a local NATS cluster.

A cluster of ``M`` nats-server nodes on loopback ports (:mod:`services.nats_cluster`), the
sector plan of the site for ``N`` shards and ``standby`` hot standbys (written to the run's
folder), each shard a ``perimeter fusion --shard`` child whose node list starts at its own
node (shard ``i`` on node ``i mod M``), the API on the first node, and the simulation with its
towers spread over every node. All share one run id and one alert store. A shard that dies is
taken over by its standby (or a neighbour) (:mod:`services.shard_service`) and restarted with
back-off (:mod:`services.supervise`, up to 8 quick restarts); back, it continues the alerts it
held and its taker hands its sectors back (:meth:`perimeter.shard.ShardRunner.hand_back`).
The broker is not locked down in this mode: anonymous clients, loopback only.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.table import Table

from services.broker import child_env
from services.nats_cluster import ClusterError, NatsCluster
from services.supervise import Restart, supervise
from services.up import STOP_TIMEOUT_S, UpConfig, site_reference, stop_children, wait_http


def node_list(urls: list[str], first: int) -> str:
    """The comma list of ``urls`` starting at ``first`` (the client's nearest node)."""
    start = first % len(urls)
    return ",".join(urls[start:] + urls[:start])


def shard_commands(config: UpConfig, urls: list[str], site: str, plan_file: Path,
                   shard_ids: list[str], standby_ids: list[str]) -> dict[str, list[str]]:
    """Every child's command line, in start order: the shards, the API, the simulation."""
    py = [sys.executable, "-m", "perimeter"]
    db = str(config.db_path)
    run = ["--run-id", config.run_id] if config.run_id else []
    commands: dict[str, list[str]] = {}
    for i, shard in enumerate([*shard_ids, *standby_ids]):
        commands[f"fusion-{shard}"] = [
            *py, "fusion", "--broker", node_list(urls, i), "--db", db, "--site", site,
            "--shard", shard, "--plan", str(plan_file), *run,
            *(["--standby"] if shard in standby_ids else [])]
    commands["api"] = [*py, "api", "--broker", node_list(urls, 0), "--db", db, "--site", site,
                       "--host", config.api_host, "--port", str(config.api_port)]
    commands["sim"] = [*py, "sim", "--broker", ",".join(urls), "--scenario", config.scenario,
                       "--speed", str(config.speed), *(["--site", site] if config.site else [])]
    return commands


def restart_of(command: list[str], env: dict[str, str]) -> Restart:
    """Start ``command`` again (a shard: same shard, plan, run id and store, so it continues
    the alerts it held and its taker hands its sectors back)."""
    return lambda: subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)


def _summary(config: UpConfig, cluster: NatsCluster, commands: dict[str, list[str]],
             plan_file: Path, token: str) -> Table:
    base = f"http://{config.api_host}:{config.api_port}"
    table = Table(title="perimeter up (sharded)", show_header=False, title_justify="left")
    table.add_row("API", f"{base}/api/v1/alerts  (on node n1)")
    table.add_row("map page", f"{base}/")
    for node in cluster.nodes:
        table.add_row(f"broker {node.name}", f"{node.mqtt_url}  (monitoring "
                                             f"{node.monitor_url}, log {node.log})")
    table.add_row("broker access", "anonymous, loopback only (no lock-down in cluster mode)")
    for name, command in commands.items():
        if name.startswith("fusion-"):
            standby = "  standby" if "--standby" in command else ""
            first_node = command[command.index("--broker") + 1].split(",")[0]
            table.add_row(name, f"{first_node}{standby}")
    table.add_row("towers", "spread over every node, each failing over to the next")
    table.add_row("sector plan", str(plan_file))
    table.add_row("API token", token)
    table.add_row("scenario", f"{config.scenario} at {config.speed:g}x real time")
    table.add_row("run", str(config.run_id))
    table.add_row("store", str(config.db_path))
    return table


def run_up_cluster(config: UpConfig, console: Console, shards: int, nodes: int,
                   standby: int) -> int:
    """Run the sharded stack until Ctrl-C / SIGTERM or a service (not a shard) fails."""
    from perimeter.sectors import plan_sectors
    from perimeter.site import load_site

    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    token = os.environ.get("PERIMETER_API_TOKEN") or secrets.token_urlsafe(24)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    with tempfile.TemporaryDirectory(prefix="perimeter-up-") as tmp:
        try:
            site = site_reference(config, Path(tmp))
            plan = plan_sectors(load_site(site), shards, standby=standby)
        except ValueError as exc:  # ScenarioError, SiteError and PlanError are ValueErrors
            console.print(f"[red]error:[/] {exc}")
            return 1
        plan_file = Path(tmp) / "plan.json"
        plan.save(plan_file)
        cluster = NatsCluster(nodes, folder=Path(tmp) / "nats", own_session=True)
        try:
            cluster.start()
            active = plan.active_shards
            spare = [s for s in plan.shards if s not in active]
            commands = shard_commands(config, cluster.urls, site, plan_file, active, spare)
            env = child_env({"PERIMETER_API_TOKEN": token})
            env.pop("PERIMETER_CLIENT_ID", None)
            for name, command in commands.items():
                procs[name] = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
            if wait_http(f"http://{config.api_host}:{config.api_port}/healthz", 60.0, procs):
                console.print(_summary(config, cluster, commands, plan_file, token))
            shard_names = {name for name in commands if name.startswith("fusion-")}
            restarts = {name: restart_of(commands[name], env) for name in shard_names}
            return supervise(procs, stop, console, restarts, survivable=shard_names)
        except ClusterError as exc:
            console.print(f"[red]error:[/] {exc}")
            return 1
        finally:
            stop_children(procs, STOP_TIMEOUT_S)
            cluster.stop()
            console.print("perimeter up: stopped")

