"""``perimeter up --shards N --broker-cluster M``: who starts where (no processes here)."""

from __future__ import annotations

from pathlib import Path

from services.up import UpConfig
from services.up_cluster import node_list, shard_commands

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
