"""Helpers for the deployment tests: the compose file, its variables, and the repository's own
mosquitto configuration run by the system's mosquitto binary on a free loopback port."""

from __future__ import annotations

import getpass
import re
import socket
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from perimeter.access import tower_password
from services.broker import find_mosquitto, wait_listening

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
MOSQUITTO_DIR = REPO / "deploy" / "mosquitto"

ROLE_PASSWORD_VARS = {"fusion": "MQTT_FUSION_PASSWORD", "api": "MQTT_API_PASSWORD",
                      "health": "MQTT_HEALTH_PASSWORD"}
TOWERS_SECRET_VAR = "MQTT_TOWERS_SECRET"

_VAR = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


class MissingVariableError(KeyError):
    """A ``${VAR:?message}`` variable is unset: the message compose would print."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's variable interpolation for ``$$``, ``${V}``, ``${V:-d}``, ``${V-d}``,
    ``${V:?msg}`` and ``${V?msg}``."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg") or ""
        value = env.get(name)
        unset_or_empty = value is None or (value == "" and op is not None and op[0] == ":")
        if op is not None and op.endswith("?") and unset_or_empty:
            raise MissingVariableError(f"{name}: {arg}")
        if op is not None and op.endswith("-") and unset_or_empty:
            return arg
        return value or ""

    return _VAR.sub(one, text)


def load_compose() -> dict[str, Any]:
    """docker-compose.yml as parsed YAML (merge keys resolved), before interpolation."""
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return data


def service_environment(service: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """A service's ``environment`` (mapping or list form), interpolated with ``env``."""
    raw = service.get("environment", {})
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {key: interpolate(str(value), env) for key, value in raw.items()}


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of a .env file; comments and blank lines skipped."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def mosquitto_version() -> str | None:
    """The system mosquitto's version string (``2.0.11``), or None without a binary."""
    binary = find_mosquitto()
    if binary is None:
        return None
    out = subprocess.run([binary, "-h"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"mosquitto version (\S+)", out)
    return match.group(1) if match else None


def make_password_file(path: Path, passwords: Mapping[str, str]) -> None:
    """Run the repository's make-passwd.sh with the role passwords in its environment."""
    env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}
    env |= {ROLE_PASSWORD_VARS[role]: pw for role, pw in passwords.items()}
    env[TOWERS_SECRET_VAR] = TEST_TOWERS_SECRET
    subprocess.run(["sh", str(MOSQUITTO_DIR / "make-passwd.sh"), str(path)], env=env,
                   check=True, capture_output=True, text=True)


def adapted_config(port: int, passwd: Path, data_dir: Path) -> str:
    """The repository's mosquitto.conf with the container paths and the port adapted to a
    loopback test broker (and ``user`` set to the current user). Fails on a missing key."""
    lines, seen = [], set()
    for line in (MOSQUITTO_DIR / "mosquitto.conf").read_text(encoding="utf-8").splitlines():
        key = line.partition(" ")[0]
        if key == "listener":
            line = f"listener {port} 127.0.0.1"
        elif key == "password_file":
            line = f"password_file {passwd}"
        elif key == "acl_file":
            line = f"acl_file {MOSQUITTO_DIR / 'acl'}"
        elif key == "persistence_location":
            line = f"persistence_location {data_dir}/"
        elif key == "log_dest":
            line = "log_dest stderr"
        seen.add(key)
        lines.append(line)
    missing = {"listener", "password_file", "acl_file", "persistence_location"} - seen
    if missing:
        raise AssertionError(f"deploy/mosquitto/mosquitto.conf lacks {sorted(missing)}")
    lines.append(f"user {getpass.getuser()}")
    return "\n".join(lines) + "\n"


TEST_PASSWORDS = {"fusion": "fusion-$pw", "api": "api pw", "health": "health:pw"}
TEST_TOWERS_SECRET = "towers: secret $1"
"""Service passwords and the towers' secret of the test brokers; spaces, ``:`` and ``$``
check make-passwd.sh's quoting."""


def password_of(login: str) -> str:
    """The test broker's password of a service role or of a tower (derived from the secret)."""
    if login in TEST_PASSWORDS:
        return TEST_PASSWORDS[login]
    return tower_password(TEST_TOWERS_SECRET, login)


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class RepoBroker:
    """A mosquitto running the repository's config, password file (from ``passwords``) and ACL."""

    port: int
    passwords: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


@contextmanager
def repo_broker(tmp: Path, port: int, passwords: dict[str, str]) -> Iterator[RepoBroker]:
    """Start the system mosquitto with the repository's files (paths adapted) in ``tmp``."""
    binary = find_mosquitto()
    assert binary is not None
    (tmp / "data").mkdir()
    make_password_file(tmp / "passwd", passwords)
    conf = tmp / "mosquitto.conf"
    conf.write_text(adapted_config(port, tmp / "passwd", tmp / "data"), encoding="utf-8")
    log = (tmp / "mosquitto.log").open("wb")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_listening("127.0.0.1", port, 10.0, proc)
        yield RepoBroker(port, passwords, proc)
    finally:
        proc.terminate()
        proc.wait(5)
        log.close()


@dataclass
class Client:
    """A paho client (MQTT 5) that records its CONNACK and the messages it receives."""

    port: int
    username: str | None
    password: str | None
    client_id: str
    messages: list[mqtt.MQTTMessage] = field(default_factory=list)
    connack: Any = None
    pubacks: dict[int, Any] = field(default_factory=dict)
    subacks: set[int] = field(default_factory=set)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self.paho = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                                protocol=mqtt.MQTTv5)
        if self.username is not None:
            self.paho.username_pw_set(self.username, self.password)
        self.paho.on_connect = self._on_connect
        self.paho.on_message = self._on_message
        self.paho.on_publish = self._on_publish
        self.paho.on_subscribe = self._on_subscribe

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        with self._cond:
            self.connack = reason
            self._cond.notify_all()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        with self._cond:
            self.pubacks[mid] = reason
            self._cond.notify_all()

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, mid: int, _r: Any, _p: Any) -> None:
        with self._cond:
            self.subacks.add(mid)
            self._cond.notify_all()

    def connect(self, timeout_s: float = 5.0) -> Any:
        """Connect; the CONNACK reason code (``is_failure`` when refused)."""
        self.paho.connect("127.0.0.1", self.port)
        self.paho.loop_start()
        with self._cond:
            self._cond.wait_for(lambda: self.connack is not None, timeout_s)
        return self.connack

    def subscribe(self, topic_filter: str) -> None:
        result, mid = self.paho.subscribe(topic_filter, qos=1)
        assert result == mqtt.MQTT_ERR_SUCCESS
        with self._cond:
            assert self._cond.wait_for(lambda: mid in self.subacks, 5.0), "no SUBACK"

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> str:
        """Publish at QoS 1; the PUBACK's reason (``Not authorized`` when the ACL denies)."""
        info = self.paho.publish(topic, payload, qos=1, retain=retain)
        with self._cond:
            assert self._cond.wait_for(lambda: info.mid in self.pubacks, 5.0), "no PUBACK"
            return str(self.pubacks[info.mid])

    def wait_for(self, topic: str, payload: bytes, timeout_s: float = 5.0) -> bool:
        """True once a message with this topic and payload has arrived."""
        def arrived() -> bool:
            return any(m.topic == topic and m.payload == payload for m in self.messages)
        with self._cond:
            return self._cond.wait_for(arrived, timeout_s)

    def received(self) -> list[tuple[str, bytes]]:
        with self._cond:
            return [(m.topic, bytes(m.payload)) for m in self.messages]

    def close(self) -> None:
        self.paho.disconnect()
        self.paho.loop_stop()
