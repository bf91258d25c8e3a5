from __future__ import annotations

import pytest

from perimeter import topics
from perimeter.bus import InMemoryBus, Message, topic_matches


def test_tower_topics_round_trip() -> None:
    topic = topics.sensor("T03", "thermal")
    assert topic == "perimeter/v1/towers/T03/thermal"
    parsed = topics.parse_tower_topic(topic)
    assert parsed == topics.TowerTopic("T03", topics.TowerChannel.THERMAL)
    assert topics.tower_status("T12") == "perimeter/v1/towers/T12/status"


@pytest.mark.parametrize(
    "topic",
    ["perimeter/v1/alerts", "/perimeter/v1/towers/T03/thermal", "perimeter/v1/towers/T03/radar",
     "perimeter/v1/towers/T03/thermal/x", "perimeter/v2/towers/T03/thermal",
     "perimeter/v1/towers//thermal"],
)
def test_non_tower_topics_do_not_parse(topic: str) -> None:
    assert topics.parse_tower_topic(topic) is None


def test_bad_tower_id_is_refused() -> None:
    with pytest.raises(ValueError, match="tower id"):
        topics.sensor("T/03", "thermal")


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        (topics.TOWER_WILDCARD, "perimeter/v1/towers/T01/status", True),
        (topics.TOWER_WILDCARD, "perimeter/v1/alerts", False),
        ("perimeter/#", "perimeter/v1/alerts", True),
        ("perimeter/v1/+", "perimeter/v1/towers/T01/status", False),
        ("perimeter/v1/alerts", "perimeter/v1/alerts", True),
    ],
)
def test_topic_filter_matching(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected


def test_in_memory_bus_delivers_retained_to_late_subscribers() -> None:
    bus = InMemoryBus()
    bus.publish(Message(topics.tower_status("T01"), b'{"state":"online"}', retain=True))
    bus.publish(Message(topics.sensor("T01", "thermal"), b"{}"))
    seen: list[str] = []
    bus.subscribe(topics.TOWER_WILDCARD, lambda m: seen.append(m.topic))
    assert seen == [topics.tower_status("T01")]
    bus.publish(Message(topics.sensor("T02", "acoustic"), b"{}"))
    assert seen[-1] == topics.sensor("T02", "acoustic")
