"""docker-compose.yml: valid against the Compose Specification schema, and locked down as
docs/docker.md promises (pinned broker, secrets required, health checks, loopback API)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from deploy_helpers import (
    MOSQUITTO_DIR,
    REPO,
    ROLE_PASSWORD_VARS,
    TOWERS_SECRET_VAR,
    MissingVariableError,
    interpolate,
    load_compose,
    read_env_file,
    service_environment,
)

from perimeter.site import load_site

# The Compose Specification's JSON Schema (draft-07), vendored: see tests/deploy/README.md.
SCHEMA = Path(__file__).with_name("compose-spec.json")
PYTHON_SERVICES = ("sim", "fusion", "api")
REQUIRED_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?[^}]+\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def example_env() -> dict[str, str]:
    return read_env_file(REPO / ".env.example")


@pytest.fixture(scope="module")
def generated_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A .env as a user makes it: `python3 deploy/make_env.py`."""
    out = tmp_path_factory.mktemp("env") / ".env"
    subprocess.run([sys.executable, str(REPO / "deploy" / "make_env.py"), "--out", str(out)],
                   check=True, capture_output=True)
    return read_env_file(out)


def test_validates_against_the_compose_spec_schema(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    errors = [f"{e.json_path}: {e.message}"
              for e in jsonschema.Draft7Validator(schema).iter_errors(compose)]
    assert errors == []


def test_broker_is_an_exact_mosquitto_2_0_release(compose: dict[str, Any]) -> None:
    # 2.1 moved password_file and acl_file to plugins; the config here is 2.0's.
    assert re.fullmatch(r"eclipse-mosquitto:2\.0\.\d+", compose["services"]["mosquitto"]["image"])


def test_every_service_has_a_health_check_and_a_restart_policy(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert service["restart"] in {"unless-stopped", "always", "on-failure"}, name
        test = service["healthcheck"]["test"]
        assert test[0] in {"CMD", "CMD-SHELL"} and len(test) > 1, name


def test_dependencies_wait_for_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in PYTHON_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["mosquitto"]["condition"] == "service_healthy", name
        for dep, rule in depends.items():
            assert dep in services and rule["condition"] == "service_healthy", (name, dep)
            assert "healthcheck" in services[dep]


def test_only_the_api_is_published_and_only_on_loopback(compose: dict[str, Any]) -> None:
    published = {name: s["ports"] for name, s in compose["services"].items() if "ports" in s}
    assert list(published) == ["api"]
    [port] = published["api"]
    assert interpolate(port, {}) == "127.0.0.1:8000:8000"
    assert interpolate(port, {"PERIMETER_API_HOST_PORT": "18000"}) == "127.0.0.1:18000:8000"


def test_python_services_share_one_image_and_run_their_own_command(
        compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {services[n]["image"] for n in PYTHON_SERVICES} == {services["sim"]["image"]}
    assert [services[n]["command"] for n in PYTHON_SERVICES] == [
        ["perimeter", n] for n in PYTHON_SERVICES]
    builders = [name for name in PYTHON_SERVICES if "build" in services[name]]
    assert builders == ["api"], "the image is built once, by one service"
    assert services["api"]["build"]["dockerfile"] == "Dockerfile"
    for name in PYTHON_SERVICES:
        assert services[name]["read_only"] is True and services[name]["cap_drop"] == ["ALL"]
        if name not in builders:
            assert services[name]["pull_policy"] == "never", name


def test_secrets_are_required_variables(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in service.get("environment", {}).items():
            if re.search(r"PASSWORD|TOKEN", key) and name != "postgres":
                assert REQUIRED_VAR.fullmatch(str(value)), f"{name}.{key} = {value!r}"


def test_without_a_env_file_compose_names_the_missing_secret(compose: dict[str, Any]) -> None:
    with pytest.raises(MissingVariableError, match=r"MQTT_API_PASSWORD: set MQTT_API_PASSWORD"):
        service_environment(compose["services"]["api"], {"MQTT_FUSION_PASSWORD": "x"})


def test_env_example_names_every_required_variable_and_leaves_secrets_empty(
        compose: dict[str, Any], example_env: dict[str, str]) -> None:
    required = set(REQUIRED_VAR.findall(json.dumps(compose)))
    assert required <= set(example_env), sorted(required - set(example_env))
    assert {name: example_env[name] for name in required} == dict.fromkeys(required, "")
    with pytest.raises(MissingVariableError):  # a copied example never starts the stack
        service_environment(compose["services"]["mosquitto"], example_env)


def test_make_env_fills_every_secret_with_a_new_random_value(
        compose: dict[str, Any], tmp_path: Path) -> None:
    first, second = tmp_path / "a.env", tmp_path / "b.env"
    for out in (first, second):
        subprocess.run([sys.executable, str(REPO / "deploy" / "make_env.py"), "--out", str(out),
                        "--postgres"], check=True, capture_output=True)
    env_a, env_b = read_env_file(first), read_env_file(second)
    required = set(REQUIRED_VAR.findall(json.dumps(compose)))
    assert all(len(env_a[name]) >= 24 and env_a[name] != env_b[name] for name in required)
    for service in compose["services"].values():
        service_environment(service, env_a)  # raises on a missing one
    assert env_a["PERIMETER_DB_URL"].startswith(f"postgresql://perimeter:{env_a['POSTGRES_PASSWORD']}@")
    assert first.stat().st_mode & 0o077 == 0
    refused = subprocess.run([sys.executable, str(REPO / "deploy" / "make_env.py"), "--out",
                              str(first)], capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and "exists" in refused.stderr


def test_each_service_logs_in_with_its_own_role(compose: dict[str, Any],
                                                generated_env: dict[str, str]) -> None:
    services = compose["services"]
    broker_env = service_environment(services["mosquitto"], generated_env)
    assert set(broker_env) == {*ROLE_PASSWORD_VARS.values(), TOWERS_SECRET_VAR, "MQTT_TOWER_IDS"}
    site_towers = [t.id for t in load_site("western-heights").towers]
    assert broker_env["MQTT_TOWER_IDS"].split() == site_towers
    acl_users = re.findall(r"^user (\S+)$", (MOSQUITTO_DIR / "acl").read_text(), re.MULTILINE)
    for name in ("fusion", "api"):
        env = service_environment(services[name], generated_env)
        role = env["PERIMETER_MQTT_USERNAME"]
        assert role == name and role in acl_users
        assert env["PERIMETER_MQTT_PASSWORD"] == broker_env[ROLE_PASSWORD_VARS[role]]
        assert env["PERIMETER_BROKER_URL"] == "mqtt://mosquitto:1883"
    sim = service_environment(services["sim"], generated_env)
    assert "PERIMETER_MQTT_USERNAME" not in sim and "PERIMETER_CLIENT_ID" not in sim
    assert sim["PERIMETER_TOWER_SECRET"] == broker_env[TOWERS_SECRET_VAR]


def test_fusion_and_api_share_the_database_volume(compose: dict[str, Any],
                                                   generated_env: dict[str, str]) -> None:
    services = compose["services"]
    for name in ("fusion", "api"):
        assert services[name]["volumes"] == ["perimeter-data:/data"]
        db_url = service_environment(services[name], generated_env)["PERIMETER_DB_URL"]
        assert db_url == "sqlite:////data/perimeter.db"
    assert "perimeter-data" in compose["volumes"]
    # one session unless told otherwise: a restarted fusion container continues its alerts
    assert service_environment(services["fusion"], generated_env)["PERIMETER_RUN_ID"] == "compose"


def test_broker_mounts_the_repository_config_and_persists(compose: dict[str, Any]) -> None:
    broker = compose["services"]["mosquitto"]
    assert "./deploy/mosquitto:/perimeter-deploy:ro" in broker["volumes"]
    assert "mosquitto-data:/mosquitto/data" in broker["volumes"]
    conf = (MOSQUITTO_DIR / "mosquitto.conf").read_text()
    assert re.search(r"^persistence_location /mosquitto/data/$", conf, re.MULTILINE)
    assert re.search(r"^allow_anonymous false$", conf, re.MULTILINE)


def test_postgres_is_an_optional_profile(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["postgres"]["profiles"] == ["postgres"]
    assert re.fullmatch(r"postgres:\d+\.\d+-\w+", services["postgres"]["image"])
    for name in ("fusion", "api"):
        assert services[name]["depends_on"]["postgres"]["required"] is False


def test_interpolation_follows_compose_rules() -> None:
    env = {"SET": "v", "EMPTY": ""}
    assert interpolate("$${SET}-${SET}-${UNSET:-d}-${EMPTY:-d}-${EMPTY-d}", env) == "${SET}-v-d-d-"
    with pytest.raises(MissingVariableError, match="EMPTY: needed"):
        interpolate("${EMPTY:?needed}", env)
    assert interpolate("${EMPTY?needed}", env) == ""
