"""The compose stack for real, on a Docker Engine: build, `up --wait`, check, `down -v`.

Runs `docker compose` on the project's own files (nothing rewritten) with a `.env` made by
`deploy/make_env.py`, under a project name of its own and a free host port. It skips where no
engine answers, except under CI (`.ci/run` starts one; see tests/deploy/README.md).
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from deploy_helpers import REPO, free_port, read_env_file
from requirements import unavailable

from perimeter.access import tower_password

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]  # an image build

UP_TIMEOUT_S = 600.0
ALERT_TIMEOUT_S = 240.0


def docker_engine() -> str | None:
    """Why `docker compose` cannot run here, or None when it can."""
    if shutil.which("docker") is None:
        return "no docker client"
    info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                          capture_output=True, text=True, timeout=60, check=False)
    if info.returncode != 0:
        return f"no Docker engine answers: {info.stderr.strip()[:200]}"
    compose = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True,
                             timeout=60, check=False)
    return None if compose.returncode == 0 else "no docker compose v2 plugin"


@dataclass
class Compose:
    """`docker compose` for one throwaway project of the repository's compose file."""

    project: str
    env_file: Path
    api_url: str

    def run(self, *args: str, timeout_s: float = 120.0, check: bool = True,
            profiles: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        profile_args = [arg for p in profiles for arg in ("--profile", p)]
        cmd = ["docker", "compose", "--project-directory", str(REPO), "-p", self.project,
               "--env-file", str(self.env_file), *profile_args, *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                              check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {done.returncode}\n"
                                 f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done

    def up(self, profiles: tuple[str, ...] = ()) -> None:
        try:
            self.run("up", "-d", "--build", "--wait", timeout_s=UP_TIMEOUT_S, profiles=profiles)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.logs()}") from None

    def broker(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """A mosquitto client command inside the broker's container."""
        return self.run("exec", "-T", "mosquitto", *args, check=check)

    def logs(self) -> str:
        return self.run("logs", "--no-color", "--tail", "60", check=False).stdout


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str,
             logs: Callable[[], str]) -> Any:
    """Poll ``condition`` until it returns something truthy or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(2.0)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}\n{logs()}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Compose]:
    if reason := docker_engine():
        unavailable(reason)
    env_file = tmp_path_factory.mktemp("compose") / ".env"
    subprocess.run(["python3", str(REPO / "deploy" / "make_env.py"), "--out", str(env_file),
                    "--postgres"], check=True, capture_output=True)
    port = free_port()
    text = env_file.read_text(encoding="utf-8")
    text = text.replace("PERIMETER_API_HOST_PORT=8000", f"PERIMETER_API_HOST_PORT={port}")
    text = text.replace("PERIMETER_SPEED=1", "PERIMETER_SPEED=20")
    # The SQLite store first; the postgres test switches PERIMETER_DB_URL on.
    sqlite_text = "\n".join(line for line in text.splitlines()
                            if not line.startswith("PERIMETER_DB_URL=")) + "\n"
    env_file.write_text(sqlite_text, encoding="utf-8")
    (env_file.parent / "postgres.env").write_text(text, encoding="utf-8")
    compose = Compose(f"perimeter-test-{secrets.token_hex(3)}", env_file,
                      f"http://127.0.0.1:{port}")
    try:
        compose.up()
        yield compose
    finally:
        compose.run("down", "-v", "--remove-orphans", timeout_s=180.0, check=False,
                    profiles=("postgres",))


def test_the_api_serves_every_tower_and_an_alert(stack: Compose) -> None:
    with httpx.Client(base_url=stack.api_url, timeout=10.0) as http:
        towers = http.get("/api/v1/towers").json()["items"]
        assert len(towers) == 12
        assert {t["state"] for t in towers} == {"online"}
        intruders = wait_for(lambda: [a for a in http.get("/api/v1/alerts").json()["items"]
                                      if a["class"] in {"person", "group", "vehicle"}],
                             ALERT_TIMEOUT_S, "an alert on an intruder", stack.logs)
    assert intruders[0]["towers"], "an alert names the towers that saw its track"


def test_the_python_services_run_one_image(stack: Compose) -> None:
    images = json.loads(stack.run("images", "--format", "json").stdout)
    python_images = {i["ContainerName"].split("-")[-2]: i["ID"] for i in images
                     if i["ContainerName"].split("-")[-2] in {"sim", "fusion", "api"}}
    assert set(python_images) == {"sim", "fusion", "api"}
    assert len(set(python_images.values())) == 1, python_images


def test_an_anonymous_client_is_refused(stack: Compose) -> None:
    refused = stack.broker("mosquitto_pub", "-h", "127.0.0.1", "-q", "1",
                           "-t", "perimeter/v1/config/thresholds", "-m", "{}")
    assert refused.returncode != 0
    assert "not authorised" in (refused.stdout + refused.stderr).lower()


def test_a_tower_cannot_speak_for_another(stack: Compose) -> None:
    env = read_env_file(stack.env_file)

    def delivered(tower_id: str, client_id: str, topic_tower: str) -> bool:
        marker = f"marker-{secrets.token_hex(4)}"
        sub = subprocess.Popen(
            ["docker", "compose", "--project-directory", str(REPO), "-p", stack.project,
             "--env-file", str(stack.env_file), "exec", "-T", "mosquitto", "mosquitto_sub",
             "-h", "127.0.0.1", "-u", "fusion", "-P", env["MQTT_FUSION_PASSWORD"],
             "-t", f"perimeter/v1/towers/{topic_tower}/probe", "-W", "6", "-v"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(2.0)  # mosquitto_sub has no "subscribed" signal to wait on
        stack.broker("mosquitto_pub", "-h", "127.0.0.1", "-u", tower_id,
                     "-P", tower_password(env["MQTT_TOWERS_SECRET"], tower_id), "-i", client_id,
                     "-t", f"perimeter/v1/towers/{topic_tower}/probe", "-m", marker, "-q", "1",
                     check=True)
        out, _ = sub.communicate(timeout=30)
        return marker in out

    assert delivered("T01", "T01-test", "T01"), "a tower's own topic must get through (control)"
    assert not delivered("T01", "T01-test", "T02")
    assert not delivered("T01", "T02", "T02"), "nor with the other tower's id as client id"


def test_the_postgres_profile_stores_and_serves_alerts(stack: Compose) -> None:
    pg = Compose(stack.project, stack.env_file.parent / "postgres.env", stack.api_url)
    pg.up(profiles=("postgres",))
    with httpx.Client(base_url=pg.api_url, timeout=10.0) as http:
        wait_for(lambda: http.get("/api/v1/alerts").json()["items"], ALERT_TIMEOUT_S,
                 "an alert served from PostgreSQL", pg.logs)
    password = read_env_file(pg.env_file)["POSTGRES_PASSWORD"]
    count = pg.run("exec", "-T", "-e", f"PGPASSWORD={password}", "postgres", "psql",
                   "-h", "127.0.0.1", "-U", "perimeter", "-d", "perimeter",
                   "-tAc", "SELECT count(*) FROM alerts", profiles=("postgres",))
    assert int(count.stdout.strip()) >= 1
