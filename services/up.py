"""``perimeter up``: broker, fusion, API and simulation as child processes of one group.

The embedded broker starts first (unless a broker URL is given), locked down with logins made
for this run (:mod:`perimeter.access`), then fusion and the API, then the simulation. Fusion is
restarted with back-off when it dies (:mod:`services.supervise`). Ctrl-C (SIGINT to the group)
or SIGTERM stops the services, then the broker (which runs in its own session so that it
outlives them and delivers their last messages).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.table import Table

from perimeter.access import Login, Logins, generate_logins
from services.broker import (
    BrokerError,
    BrokerImpl,
    EmbeddedBroker,
    child_env,
    usual_or_free_port,
)
from services.session import new_run_id
from services.supervise import supervise

STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class UpConfig:
    """What ``perimeter up`` runs."""

    scenario: str = "default"
    site: str | None = None
    speed: float = 1.0
    broker_url: str | None = None
    mqtt_port: int = 0
    """0: 1883 when free, else a free port (see :func:`with_ports`)."""
    api_port: int = 0
    """0: 8000 when free, else a free port."""
    api_host: str = "127.0.0.1"
    db_path: Path = Path("perimeter.db")
    broker_impl: BrokerImpl = "auto"
    run_id: str | None = None
    """The session fusion runs (``--run-id``); None: a new one for every ``perimeter up``."""
    shards: int = 0
    """Sharded fusion (:mod:`services.up_cluster`): this many shards; 0: one fusion."""
    broker_cluster: int = 0
    """Sharded fusion: nodes of the local NATS cluster (3 when ``shards`` is set and this 0)."""
    standby: int = 0
    """Sharded fusion: hot standby shards (standby ``i`` mirrors shard ``i``)."""


USUAL_MQTT_PORT, USUAL_API_PORT = 1883, 8000


def with_ports(config: UpConfig, console: Console) -> UpConfig:
    """The config with its unset (0) ports chosen: the usual ones when free, else free ones
    (a machine that already runs a broker on 1883 still gets a working ``perimeter up``)."""
    def chosen(port: int, usual: int, option: str) -> int:
        if port:
            return port
        port = usual_or_free_port(config.api_host, usual)
        if port != usual:
            console.print(f"port {usual} is in use: using {port} ({option} to choose)")
        return port

    mqtt_port = (config.mqtt_port if config.broker_url
                 else chosen(config.mqtt_port, USUAL_MQTT_PORT, "--mqtt-port"))
    return replace(config, mqtt_port=mqtt_port,
                   api_port=chosen(config.api_port, USUAL_API_PORT, "--api-port"))


def site_reference(config: UpConfig, workdir: Path) -> str:
    """The site fusion and the API must use: the option, the scenario's built-in site name,
    or the scenario's resolved site written to a file. Raises ScenarioError / SiteError."""
    from sim.scenario import load_scenario

    scenario = load_scenario(config.scenario, site=config.site)
    if config.site is not None:
        return str(Path(config.site).resolve()) if Path(config.site).is_file() else config.site
    if isinstance(scenario.site, str) and scenario.site == scenario.site_model.name:
        return scenario.site
    path = workdir / "site.json"
    path.write_text(json.dumps(scenario.site_model.model_dump(mode="json")), encoding="utf-8")
    return str(path)


def child_commands(config: UpConfig, broker_url: str, site: str) -> dict[str, list[str]]:
    """The command line of each service, in start order."""
    py = [sys.executable, "-m", "perimeter"]
    db = str(config.db_path)
    return {
        "fusion": [*py, "fusion", "--broker", broker_url, "--db", db, "--site", site,
                   *(["--run-id", config.run_id] if config.run_id else [])],
        "api": [*py, "api", "--broker", broker_url, "--db", db, "--site", site,
                "--host", config.api_host, "--port", str(config.api_port)],
        "sim": [*py, "sim", "--broker", broker_url, "--scenario", config.scenario,
                "--speed", str(config.speed), *(["--site", site] if config.site else [])],
    }


def child_envs(token: str, logins: Logins | None, workdir: Path) -> dict[str, dict[str, str]]:
    """Each service's environment: the API token, and with ``logins`` its own broker login
    (the towers' in a 0600 file the simulation reads)."""
    base = {"PERIMETER_API_TOKEN": token}
    if logins is None:
        return {name: child_env(base) for name in ("fusion", "api", "sim")}
    towers_file = workdir / "tower-logins.json"
    logins.save_towers(towers_file)

    def own(login: Login) -> dict[str, str]:
        return {"PERIMETER_MQTT_USERNAME": login.username,
                "PERIMETER_MQTT_PASSWORD": login.password, "PERIMETER_CLIENT_ID": login.client_id}

    return {"fusion": child_env({**base, **own(logins.fusion)}),
            "api": child_env({**base, **own(logins.api)}),
            "sim": child_env({**base, "PERIMETER_TOWER_LOGINS_FILE": str(towers_file)})}


def wait_http(url: str, timeout_s: float, procs: dict[str, subprocess.Popen[bytes]]) -> bool:
    """Poll ``url`` until it answers 200; False on timeout or when a child dies."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs.values()):
            return False
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1.0) as resp:
            if resp.status == 200:
                return True
        time.sleep(0.2)
    return False


def stop_children(procs: dict[str, subprocess.Popen[bytes]], timeout_s: float) -> None:
    """SIGTERM every child still running (the simulation first), wait, then SIGKILL."""
    for name in ["sim", *(n for n in procs if n != "sim")]:
        proc = procs.get(name)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for proc in procs.values():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _summary(config: UpConfig, broker_url: str, broker: EmbeddedBroker | None, token: str,
             generated: bool) -> Table:
    base = f"http://{config.api_host}:{config.api_port}"
    table = Table(title="perimeter up", show_header=False, title_justify="left")
    table.add_row("API", f"{base}/api/v1/alerts")
    table.add_row("map page", f"{base}/")
    table.add_row("broker", broker_url + (f"  (embedded {broker.impl})" if broker else ""))
    if broker is not None:
        from services.broker_auth import LOCKDOWN_NOTES

        table.add_row("broker access", LOCKDOWN_NOTES[broker.impl])
    table.add_row("API token", token + ("  (generated; set PERIMETER_API_TOKEN to choose)"
                                        if generated else "  (from PERIMETER_API_TOKEN)"))
    table.add_row("scenario", f"{config.scenario} at {config.speed:g}x real time")
    table.add_row("run", f"{config.run_id}  (alerts left open by earlier runs are closed)")
    table.add_row("store", str(config.db_path))
    table.add_row("watch", f"curl -s {base}/api/v1/alerts ; mosquitto_sub -h "
                           f"{broker_url.split('//')[1].split(':')[0]} -p "
                           f"{broker_url.rsplit(':', 1)[1]} -t 'perimeter/v1/#' -v")
    return table


def run_up(config: UpConfig, console: Console | None = None) -> int:
    """Run everything until Ctrl-C / SIGTERM or a service fails; the exit code."""
    console = console or Console(stderr=True)
    config = replace(config, run_id=config.run_id or new_run_id())
    if config.shards or config.broker_cluster:
        from services.up_cluster import run_up_cluster

        api_port = config.api_port or usual_or_free_port(config.api_host, USUAL_API_PORT)
        return run_up_cluster(replace(config, api_port=api_port), console,
                              max(1, config.shards), config.broker_cluster or 3, config.standby)
    config = with_ports(config, console)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    token = os.environ.get("PERIMETER_API_TOKEN") or ""
    generated = not token
    token = token or secrets.token_urlsafe(24)
    broker: EmbeddedBroker | None = None
    procs: dict[str, subprocess.Popen[bytes]] = {}
    with tempfile.TemporaryDirectory(prefix="perimeter-up-") as tmp:
        try:
            site = site_reference(config, Path(tmp))
        except ValueError as exc:  # ScenarioError and SiteError are ValueErrors
            console.print(f"[red]error:[/] {exc}")
            return 1
        try:
            logins = None
            if config.broker_url is None:
                from perimeter.site import load_site

                logins = generate_logins([t.id for t in load_site(site).towers])
                # its own session, so Ctrl-C reaches the services first and the broker can
                # still deliver their last messages; it is stopped after them
                broker = EmbeddedBroker(config.mqtt_port, config.broker_impl,
                                        own_session=True, logins=logins).start()
            broker_url = config.broker_url or (broker.url if broker else "")
            envs = child_envs(token, logins, Path(tmp))
            commands = child_commands(config, broker_url, site)
            for name, command in commands.items():
                procs[name] = subprocess.Popen(command, env=envs[name], stdin=subprocess.DEVNULL)
            health = f"http://{config.api_host}:{config.api_port}/healthz"
            if wait_http(health, 60.0, procs):
                console.print(_summary(config, broker_url, broker, token, generated))

            def restart_fusion() -> subprocess.Popen[bytes]:
                return subprocess.Popen(commands["fusion"], env=envs["fusion"],
                                        stdin=subprocess.DEVNULL)

            return supervise(procs, stop, console, {"fusion": restart_fusion})
        except BrokerError as exc:
            console.print(f"[red]error:[/] {exc}")
            return 1
        finally:
            stop_children(procs, STOP_TIMEOUT_S)
            if broker is not None:
                broker.stop()
            console.print("perimeter up: stopped")
