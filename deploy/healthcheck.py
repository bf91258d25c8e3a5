"""Container health probes: ``python healthcheck.py sim|fusion|api``; exit 0 when healthy.

- ``sim``: some tower's retained status on the broker says ``online`` or ``degraded``;
- ``fusion``: fusion's retained status says ``online``;
- ``api``: ``GET /healthz`` on the API's own port answers 200.

Each probe uses its service's own ``PERIMETER_*`` variables (broker, username, password, port),
so it also proves that those credentials still work. An unhealthy probe prints why on stderr
and exits 1.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr

from perimeter import topics
from perimeter.config import ApiSettings, MqttSettings, SimSettings


class UnhealthyError(Exception):
    """The probe's reason for an unhealthy verdict."""


def _is_tower_status(topic: str) -> bool:
    parsed = topics.parse_tower_topic(topic)
    return parsed is not None and parsed.channel is topics.TowerChannel.STATUS


def probe_client_id() -> str:
    """A client id no other probe shares: containers often give their probes the same pid."""
    return f"health-{secrets.token_hex(6)}"


def retained_state(settings: MqttSettings, topic_filter: str, accept: Callable[[str], bool],
                   wanted: frozenset[str], timeout_s: float) -> str:
    """The ``state`` of the first (retained) message under ``topic_filter`` that is in
    ``wanted``; raises :class:`UnhealthyError` on refusal, timeout or only unwanted states."""
    found = threading.Event()
    seen: dict[str, str] = {}
    refused: list[str] = []

    def on_connect(client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            refused.append(str(reason))
            found.set()
        else:
            client.subscribe(topic_filter, qos=0)

    def on_message(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        if not accept(message.topic):
            return
        try:
            state = str(json.loads(message.payload)["state"])
        except (ValueError, KeyError, TypeError):
            state = "unreadable"
        seen[message.topic] = state
        if state in wanted:
            found.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=probe_client_id(),
                         protocol=mqtt.MQTTv311, clean_session=True)
    if settings.mqtt_username is not None:
        password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
        client.username_pw_set(settings.mqtt_username, password)
    client.on_connect = on_connect
    client.on_message = on_message
    try:
        client.connect(settings.host, settings.port, keepalive=10)
    except OSError as exc:
        raise UnhealthyError(f"broker {settings.broker_url} unreachable: {exc}") from exc
    client.loop_start()
    try:
        found.wait(timeout_s)
    finally:
        client.disconnect()
        client.loop_stop()
    if refused:
        raise UnhealthyError(f"broker refused the credentials: {refused[0]}")
    good = sorted(state for state in seen.values() if state in wanted)
    if good:
        return good[0]
    if not seen:
        raise UnhealthyError(f"no status on {topic_filter} within {timeout_s:g} s")
    raise UnhealthyError(f"status {sorted(seen.items())} not in {sorted(wanted)}")


def http_ok(url: str, timeout_s: float) -> None:
    """Raise :class:`UnhealthyError` unless ``GET url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            status = int(response.status)
    except (urllib.error.URLError, OSError) as exc:
        raise UnhealthyError(f"GET {url} failed: {exc}") from exc
    if status != 200:
        raise UnhealthyError(f"GET {url} answered {status}")


def api_url(settings: ApiSettings) -> str:
    """The API's health URL as seen from inside its own container."""
    host = settings.api_host
    if host in ("0.0.0.0", "::", ""):  # listening on all interfaces
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.api_port}/healthz"


def sim_probe_settings() -> MqttSettings:
    """The simulation's broker login for its probe: with a towers' secret, the first site
    tower's own login (every login may read tower statuses); else the settings' login."""
    settings = SimSettings()
    if settings.tower_secret is None:
        return settings
    # imported here: the other probes must stay quick to start (a probe has 10 s)
    from perimeter.access import tower_password
    from perimeter.site import load_site
    from sim.scenario import load_scenario

    site = (load_site(settings.site) if settings.site
            else load_scenario(settings.scenario).site_model)
    tower_id = site.towers[0].id
    password = tower_password(settings.tower_secret.get_secret_value(), tower_id)
    return settings.model_copy(update={"mqtt_username": tower_id,
                                       "mqtt_password": SecretStr(password)})


def probe(service: str, timeout_s: float) -> str:
    """Run one service's probe; the healthy detail, or :class:`UnhealthyError`."""
    if service == "sim":
        state = retained_state(sim_probe_settings(), topics.TOWER_WILDCARD, _is_tower_status,
                               frozenset({"online", "degraded"}), timeout_s)
        return f"a tower is {state}"
    if service == "fusion":
        state = retained_state(MqttSettings(), topics.FUSION_STATUS,
                               lambda topic: topic == topics.FUSION_STATUS,
                               frozenset({"online"}), timeout_s)
        return f"fusion is {state}"
    url = api_url(ApiSettings())
    http_ok(url, timeout_s)
    return f"{url} answered 200"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("service", choices=["sim", "fusion", "api"])
    parser.add_argument("--timeout-s", type=float, default=5.0)
    args = parser.parse_args(argv)
    try:
        detail = probe(args.service, args.timeout_s)
    except (UnhealthyError, ValueError) as exc:  # ValueError: a bad PERIMETER_* setting
        print(f"unhealthy: {args.service}: {exc}", file=sys.stderr)
        return 1
    print(f"healthy: {args.service}: {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
