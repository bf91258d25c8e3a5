"""``perimeter up --shards N --broker-cluster M``: who starts where, and (integration) a shard
killed, restarted and handed its sectors back by its standby."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from requirements import unavailable

from perimeter import topics
from perimeter.bus import Message
from perimeter.config import FusionSettings
from perimeter.contract import ShardStatus, parse_payload
from services.broker import child_env
from services.mqtt import MqttBus, MqttOptions
from services.nats_cluster import find_nats_server
from services.up import UpConfig
from services.up_cluster import node_list, shard_commands
from tests.services.mqtt_helpers import wait_until

URLS = ["mqtt://127.0.0.1:1001", "mqtt://127.0.0.1:1002", "mqtt://127.0.0.1:1003"]


def test_each_client_starts_on_its_own_node_and_knows_the_others() -> None:
    assert node_list(URLS, 0) == ",".join(URLS)
    assert node_list(URLS, 4) == ",".join([URLS[1], URLS[2], URLS[0]])


def test_shards_spread_over_nodes_share_one_run_and_the_standby_says_so() -> None:
    config = UpConfig(run_id="r-1", api_port=8001, db_path=Path("a.db"))
    commands = shard_commands(config, URLS, "western-heights", Path("plan.json"),
                              ["s1", "s2"], ["s3"])
    assert list(commands) == ["fusion-s1", "fusion-s2", "fusion-s3", "api", "sim"]
    for i, name in enumerate(["fusion-s1", "fusion-s2", "fusion-s3"]):
        command = commands[name]
        assert command[command.index("--broker") + 1].split(",")[0] == URLS[i]
        assert command[command.index("--run-id") + 1] == "r-1"
        assert command[command.index("--plan") + 1] == "plan.json"
    assert "--standby" in commands["fusion-s3"] and "--standby" not in commands["fusion-s1"]
    sim = commands["sim"]
    assert sim[sim.index("--broker") + 1] == ",".join(URLS), "the towers spread themselves"


def shard_pid(shard: str, parent: int) -> int | None:
    """The pid of the ``perimeter fusion --shard SHARD`` child of ``parent`` (this test's
    ``perimeter up``), if one runs: never another run's on the same machine."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and b"fusion" in argv and b"--shard" in argv and (
                argv[argv.index(b"--shard") + 1] == shard.encode()):
            return int(entry.name)
    return None


def test_only_the_shard_of_its_own_stack_is_found() -> None:
    decoy = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()", "fusion",
                              "--shard", "s1"], stdin=subprocess.PIPE)
    try:
        assert wait_until(lambda: shard_pid("s1", os.getpid()) == decoy.pid, 10.0)
        assert shard_pid("s1", decoy.pid) is None, "another parent's fusion --shard s1"
        assert shard_pid("s2", os.getpid()) is None
    finally:
        decoy.communicate(b"", timeout=10.0)


@pytest.mark.integration
def test_up_restarts_a_killed_shard_and_its_standby_hands_it_back(
        tmp_path: Path, free_port: Callable[[], int]) -> None:
    """``perimeter up --shards 2 --standby 1``; ``kill -9`` of shard s1, and of each restart
    until its standby s3 has taken over (a restart quicker than the takeover is no death):
    the next restart lives, s1 says it is active again and s3 hands its sectors back."""
    if find_nats_server() is None:
        unavailable("no nats-server binary (apt-get install -y nats-server)")
    # shard_pid finds only this stack's shard, never another run's
    # (test_only_the_shard_of_its_own_stack_is_found)
    log_path = tmp_path / "up.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "perimeter", "up", "--shards", "2", "--standby", "1",
             "--speed", "5", "--api-port", str(free_port()), "--db", str(tmp_path / "a.db")],
            env=child_env({"PERIMETER_API_TOKEN": "test-token"}), cwd=tmp_path,
            start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
    statuses: dict[str, ShardStatus] = {}
    lock = threading.Lock()

    def on_status(message: Message) -> None:
        with lock:
            status = parse_payload(ShardStatus, message.payload)
            statuses[status.shard_id] = status

    def status_of(shard: str) -> ShardStatus | None:
        with lock:
            return statuses.get(shard)

    watcher: MqttBus | None = None
    try:
        assert wait_until(lambda: "broker n1" in log_path.read_text(errors="replace"), 120.0)
        found = re.search(r"broker n1[^m]+(mqtt://[\d.:]+)", log_path.read_text())
        assert found is not None, "the summary names node n1's MQTT URL"
        url = found.group(1)
        watcher = MqttBus(MqttOptions.from_settings(FusionSettings(broker_url=url),
                                                    "test-watch-shards"))
        watcher.subscribe(topics.SHARD_STATUS_WILDCARD, on_status)
        watcher.start(30.0)
        def state(shard: str) -> tuple[str | None, float | None]:
            status = status_of(shard)
            return (status.state, status.t_s) if status is not None else (None, None)

        assert wait_until(lambda: all(state(s)[1] for s in ("s1", "s2")), 120.0), \
            "the shards fuse"
        killed: set[int] = set()

        def taken_over() -> bool:
            pid = shard_pid("s1", proc.pid)
            if pid is not None and pid not in killed:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            s3 = status_of("s3")
            return s3 is not None and s3.taken_over == ["s1"]

        assert wait_until(taken_over, 180.0, step_s=0.1), "s3 takes over the killed s1"
        assert wait_until(lambda: state("s3")[0] == "standby", 90.0), \
            "s3 hands back, a standby again"
        s1, s3 = status_of("s1"), status_of("s3")
        assert s1 is not None and s1.state == "active" and s1.sectors == [0]
        assert s3 is not None and s3.taken_over == [] and s3.sectors == []
        assert proc.poll() is None, "a shard's deaths stop nothing"
    finally:
        if watcher is not None:
            watcher.close(1.0)
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    out = log_path.read_text(errors="replace")
    assert f"fusion-s1 exited with code {-signal.SIGKILL}" in out
    assert out.count("fusion-s1 restarted (pid") == len(killed)
    assert "shard s3 took over s1" in out and "shard s3 handed s1 its sectors back" in out
    assert "Traceback" not in out
