"""Hostile input to ``FusionRunner.feed``: never a crash, each rejection counted by its reason
and dead-lettered, and the alerts of the genuine stream unchanged by what was mixed in."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perimeter import topics
from perimeter.bus import Message
from perimeter.contract import AlertEvent, DeadLetter, TracksSnapshot
from perimeter.fusion.runner import FusionRunner
from perimeter.thresholds import Thresholds
from tests.reliability.hostile import MUTATIONS, Draw, duplicate
from tests.reliability.streams import (
    alert_keys,
    crossing_spec,
    fuse,
    rejected_total,
    simulate,
)

SCENARIO, MESSAGES = simulate(crossing_spec())
CLEAN_ALERTS = alert_keys(fuse(SCENARIO, MESSAGES)[1].alerts)
REPORT_INDEXES = [i for i, m in enumerate(MESSAGES) if not m.topic.endswith("/status")]
PREFIX = 200  # messages fed before the hostile one: data time is running


class CountingOutput:
    """Counts what the runner publishes; keeps every dead letter."""

    def __init__(self) -> None:
        self.alerts: list[AlertEvent] = []
        self.dead_letters: list[DeadLetter] = []

    def alert(self, event: AlertEvent) -> None:
        self.alerts.append(event)

    def tracks(self, snapshot: TracksSnapshot) -> None:
        pass

    def reject(self, dead_letter: DeadLetter) -> None:
        self.dead_letters.append(dead_letter)


def new_runner() -> tuple[FusionRunner, CountingOutput]:
    out = CountingOutput()
    return FusionRunner(SCENARIO.site_model, Thresholds(), out), out


def assert_accounted(runner: FusionRunner, out: CountingOutput) -> None:
    """Every message is accepted once or rejected once; each rejection is dead-lettered."""
    c = runner.counters
    accepted = c["reports"] + c["status"] + c["thresholds_applied"] + c["duplicates"]
    assert c["received"] == accepted + rejected_total(c)
    assert rejected_total(c) == len(out.dead_letters)
    assert c["rejected:internal_error"] == 0, [d.reason for d in out.dead_letters]


def hostile_at(index: int, kind: str, draw: Draw) -> tuple[Message, str | None]:
    message = MESSAGES[index]
    return MUTATIONS[kind](json.loads(message.payload), message.topic, draw)


def draw_from(data: st.DataObject) -> Draw:
    return lambda lo, hi: data.draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(MUTATIONS)), data=st.data())
def test_each_hostile_kind_is_rejected_with_its_reason(kind: str, data: st.DataObject) -> None:
    runner, out = new_runner()
    for message in MESSAGES[:PREFIX]:
        runner.feed(message)
    index = data.draw(st.sampled_from([i for i in REPORT_INDEXES if i < PREFIX]))
    message, reason = hostile_at(index, kind, draw_from(data))
    before = Counter(runner.counters)
    runner.feed(message)
    delta = Counter(runner.counters)
    delta.subtract(before)
    assert delta[f"rejected:{reason}"] == 1, (kind, dict(delta), out.dead_letters[-1:])
    assert out.dead_letters[-1].reason.startswith(reason or "")
    assert out.dead_letters[-1].topic == message.topic[:512]
    assert_accounted(runner, out)


def test_dead_letter_names_the_field() -> None:
    runner, out = new_runner()
    for message in MESSAGES[:PREFIX]:
        runner.feed(message)
    runner.feed(hostile_at(REPORT_INDEXES[50], "bearing_out_of_range", lambda lo, hi: lo)[0])
    assert "detections.0.bearing_deg" in out.dead_letters[-1].reason


@settings(max_examples=200, deadline=None)
@given(topic=st.sampled_from([topics.sensor("T03", "thermal"), topics.sensor("T03", "acoustic"),
                              topics.tower_status("T03"), topics.THRESHOLDS])
       | st.text(max_size=80),
       payload=st.binary(max_size=600) | st.text(max_size=300).map(str.encode))
def test_arbitrary_topic_and_bytes_never_raise(topic: str, payload: bytes) -> None:
    runner, out = new_runner()
    for message in MESSAGES[:40]:
        runner.feed(message)
    runner.feed(Message(topic, payload))
    runner.finish()
    assert_accounted(runner, out)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), n=st.integers(1, 25))
def test_hostile_messages_mixed_in_leave_the_alerts_unchanged(data: st.DataObject,
                                                              n: int) -> None:
    stream = list(MESSAGES)
    draw = draw_from(data)
    for _ in range(n):
        index = data.draw(st.sampled_from(REPORT_INDEXES))
        kind = data.draw(st.sampled_from(sorted(MUTATIONS)))
        stream.insert(data.draw(st.integers(index + 1, len(stream))), hostile_at(index, kind,
                                                                                  draw)[0])
    runner, out = fuse(SCENARIO, stream)
    assert alert_keys(out.alerts) == CLEAN_ALERTS
    assert rejected_total(runner.counters) == n
    assert runner.counters["rejected:internal_error"] == 0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_duplicated_and_out_of_order_reports_leave_the_alerts_unchanged(
        data: st.DataObject) -> None:
    """Repeats (same seq and t_s) are dropped; reports delayed by up to 30 messages (about
    1 s of data time here) are fused through the late path with the same outcome."""
    stream = list(MESSAGES)
    dupes = data.draw(st.lists(st.sampled_from(REPORT_INDEXES), max_size=30, unique=True))
    moves = data.draw(st.lists(st.tuples(st.integers(PREFIX, len(stream) - 60),
                                         st.integers(1, 30)), max_size=30))
    for src, shift in moves:
        stream.insert(src + shift, stream.pop(src))
    for index in dupes:
        stream.insert(min(len(stream), index + 1 + data.draw(st.integers(0, 500))),
                      MESSAGES[index])
    runner, out = fuse(SCENARIO, stream)
    assert runner.counters["duplicates"] == len(dupes)
    assert rejected_total(runner.counters) == 0
    assert alert_keys(out.alerts) == CLEAN_ALERTS


def test_bounded_fuzz_run_counts_every_rejection_by_reason() -> None:
    """5,000 hostile messages of every kind (seeded) spread over the crossing."""
    rng = np.random.default_rng(20261125)
    draw: Draw = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731
    kinds = sorted(MUTATIONS)
    stream: list[Message] = []
    expected: Counter[str] = Counter()
    hostile_after = Counter(rng.choice(REPORT_INDEXES[1:], size=5_000).tolist())
    for i, message in enumerate(MESSAGES):
        stream.append(message)
        if i in hostile_after and rng.random() < 0.3:
            stream.append(duplicate(json.loads(message.payload), message.topic, draw)[0])
            expected["duplicates"] += 1
        for _ in range(hostile_after.get(i, 0)):
            kind = kinds[int(rng.integers(len(kinds)))]
            bad, reason = MUTATIONS[kind](json.loads(message.payload), message.topic, draw)
            stream.append(bad)
            expected[f"rejected:{reason}"] += 1
    runner, out = new_runner()
    for message in stream:
        runner.feed(message)
    got = Counter({k: v for k, v in runner.counters.items()
                   if k.startswith("rejected:") or k == "duplicates"})
    assert got == expected
    assert alert_keys(out.alerts) == CLEAN_ALERTS
    assert_accounted(runner, out)


def test_one_report_from_a_clock_running_ahead_does_not_stop_fusion() -> None:
    """A tower whose clock jumped 200 s (inside max_future_s) is refused alone; before the
    runner's two-tower rule it moved data time and 1088 of 1440 genuine reports went stale."""
    index = REPORT_INDEXES[len(REPORT_INDEXES) // 4]
    ahead = json.loads(MESSAGES[index].payload)
    ahead.update(t_s=ahead["t_s"] + 200.0, seq=ahead["seq"] + 1_000_000)
    stream = list(MESSAGES)
    stream.insert(index + 1, Message(MESSAGES[index].topic, json.dumps(ahead).encode()))
    runner, out = fuse(SCENARIO, stream)
    assert runner.counters["rejected:stale"] == 0
    assert runner.counters["rejected:future_t_s"] == 1
    assert alert_keys(out.alerts) == CLEAN_ALERTS


def test_a_rejected_report_does_not_hide_a_later_duplicate() -> None:
    runner, _out = new_runner()
    for message in MESSAGES[:PREFIX]:
        runner.feed(message)
    genuine = MESSAGES[REPORT_INDEXES[100]]
    report = json.loads(genuine.payload)
    runner.feed(Message(genuine.topic, json.dumps({**report, "t_s": 1.0}).encode()))
    runner.feed(genuine)
    assert runner.counters["rejected:stale"] == 1
    assert runner.counters["duplicates"] == 1
