"""Every MQTT topic of the contract, built and parsed in this one module."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

PREFIX = "perimeter/v1"

ALERTS = f"{PREFIX}/alerts"
TRACKS = f"{PREFIX}/tracks"
FUSION_STATUS = f"{PREFIX}/fusion/status"
THRESHOLDS = f"{PREFIX}/config/thresholds"
DEADLETTER = f"{PREFIX}/deadletter"
HANDOVER = f"{PREFIX}/fusion/handover"
"""Sharded fusion: alerts handed over between shards (docs/scale.md)."""
SHARD_STATUS_WILDCARD = f"{PREFIX}/fusion/shards/+/status"

TOWER_WILDCARD = f"{PREFIX}/towers/+/+"
"""Subscription for every tower topic (status, thermal, acoustic)."""


class TowerChannel(StrEnum):
    STATUS = "status"
    THERMAL = "thermal"
    ACOUSTIC = "acoustic"


@dataclass(frozen=True, slots=True)
class TowerTopic:
    tower_id: str
    channel: TowerChannel


_TOWER_RE = re.compile(
    rf"^{re.escape(PREFIX)}/towers/([A-Za-z0-9_-]{{1,32}})/(status|thermal|acoustic)$"
)


def tower(tower_id: str, channel: TowerChannel | str) -> str:
    """``perimeter/v1/towers/{tower_id}/{channel}``."""
    channel = TowerChannel(channel)
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", tower_id):
        raise ValueError(f"invalid tower id {tower_id!r}")
    return f"{PREFIX}/towers/{tower_id}/{channel.value}"


def tower_status(tower_id: str) -> str:
    return tower(tower_id, TowerChannel.STATUS)


def sensor(tower_id: str, sensor_kind: str) -> str:
    """The report topic of one tower's sensor (``thermal`` or ``acoustic``)."""
    return tower(tower_id, TowerChannel(sensor_kind))


_SHARD_STATUS_RE = re.compile(
    rf"^{re.escape(PREFIX)}/fusion/shards/([A-Za-z0-9_-]{{1,32}})/status$")


def shard_status(shard_id: str) -> str:
    """``perimeter/v1/fusion/shards/{shard_id}/status`` (retained; sharded fusion)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", shard_id):
        raise ValueError(f"invalid shard id {shard_id!r}")
    return f"{PREFIX}/fusion/shards/{shard_id}/status"


def parse_shard_status_topic(topic: str) -> str | None:
    """The shard id of a shard status topic, or None for any other topic."""
    match = _SHARD_STATUS_RE.match(topic)
    return match.group(1) if match else None


def parse_tower_topic(topic: str) -> TowerTopic | None:
    """The tower id and channel of a tower topic, or None for any other topic."""
    match = _TOWER_RE.match(topic)
    if match is None:
        return None
    return TowerTopic(match.group(1), TowerChannel(match.group(2)))
