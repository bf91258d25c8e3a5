"""A tower still faulty when fusion restarts keeps its one ``tower_fault`` alert: the restarted
runner takes it over from the store (as ``run_fusion`` does) and closes it when the tower is
back, instead of raising a second alert for the same fault."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from perimeter.alert_resume import resume_alerts
from perimeter.bus import Message
from perimeter.contract import AlertEvent
from perimeter.fusion.replay import CollectingOutput
from perimeter.fusion.runner import FusionRunner
from perimeter.store import AlertStore
from perimeter.thresholds import Thresholds
from sim.scenario import Scenario
from tests.reliability.streams import crossing_spec, report_t_s, simulate


@pytest.fixture
def store() -> Iterator[AlertStore]:
    with AlertStore.open(":memory:") as opened:
        yield opened


class StoringOutput(CollectingOutput):
    """Keeps the events and appends each to the store, as the service's output does."""

    def __init__(self, store: AlertStore) -> None:
        super().__init__()
        self.store = store

    def alert(self, event: AlertEvent) -> None:
        super().alert(event)
        self.store.append(event)


def split(scenario: Scenario, messages: list[Message], at_s: float
          ) -> tuple[list[Message], list[Message]]:
    """Messages before the restart, and what the restarted runner gets: the retained status of
    every tower (as the broker delivers it on subscribing), then everything after."""
    cut = next(i for i, m in enumerate(messages)
               if (report_t_s(m) or 0.0) - scenario.epoch_s >= at_s)
    retained = {m.topic: m for m in messages[:cut] if m.retain}
    return messages[:cut], [*retained.values(), *messages[cut:]]


def run_with_restart(store: AlertStore, fault: dict[str, object], restart_at_s: float
                     ) -> tuple[list[AlertEvent], FusionRunner]:
    scenario, messages = simulate(crossing_spec(70.0, faults=[fault]))
    before, after = split(scenario, messages, restart_at_s)
    first = StoringOutput(store)
    runner = FusionRunner(scenario.site_model, Thresholds(), first)
    for message in before:
        runner.feed(message)
    # killed here (no finish); started again on the same store, as run_fusion starts
    second = StoringOutput(store)
    runner = FusionRunner(scenario.site_model, Thresholds(), second,
                          first_alert_number=store.max_alert_number() + 1)
    resume_alerts(runner, store.open_alerts())
    for message in after:
        runner.feed(message)
    return first.alerts + second.alerts, runner


def faults(events: list[AlertEvent], tower: str) -> list[tuple[str, str, object]]:
    return [(e.event, e.alert_id, e.fault) for e in events
            if e.class_ == "tower_fault" and e.towers == [tower]]


def one_fault_alert(events: list[AlertEvent], tower: str, reason: str) -> str:
    """The id of the tower's one fault alert, opened and closed with ``reason``."""
    found = faults(events, tower)
    assert [(kind, why) for kind, _, why in found] == [("new", reason), ("closed", reason)]
    assert len({alert_id for _, alert_id, _ in found}) == 1
    return found[0][1]


def test_an_offline_tower_keeps_its_fault_alert_through_a_fusion_restart(
        store: AlertStore) -> None:
    fault = {"tower": "T05", "kind": "offline", "start_s": 10, "duration_s": 30}
    events, runner = run_with_restart(store, fault, restart_at_s=25.0)
    alert_id = one_fault_alert(events, "T05", "offline")
    assert runner.counters["faults_resumed"] == 1
    record = store.get_alert(alert_id)
    assert record is not None and record.status == "closed"
    assert [e.class_ for e in events if e.class_ == "tower_fault"] == ["tower_fault"] * 2


def test_a_silent_tower_keeps_its_fault_alert_until_it_is_heard_again(
        store: AlertStore) -> None:
    fault = {"tower": "T03", "kind": "link_down", "start_s": 10, "duration_s": 30}
    events, runner = run_with_restart(store, fault, restart_at_s=32.0)
    one_fault_alert(events, "T03", "silent")
    closed_t_s = next(e.t_s for e in events if e.event == "closed" and e.towers == ["T03"])
    scenario, _ = simulate(crossing_spec(70.0, faults=[fault]))
    assert 40.0 <= closed_t_s - scenario.epoch_s <= 41.0  # when the link came back
    assert runner.counters["faults_resumed"] == 1


def test_a_fault_that_ended_while_fusion_was_down_closes_its_alert(
        store: AlertStore) -> None:
    fault = {"tower": "T05", "kind": "offline", "start_s": 10, "duration_s": 15}
    scenario, messages = simulate(crossing_spec(70.0, faults=[fault]))
    cut = next(i for i, m in enumerate(messages)
               if (report_t_s(m) or 0.0) - scenario.epoch_s >= 20.0)
    first = StoringOutput(store)
    runner = FusionRunner(scenario.site_model, Thresholds(), first)
    for message in messages[:cut]:
        runner.feed(message)
    # down from 20 s to 30 s; on reconnecting it gets the retained statuses as they are then
    # (T05 back online at 25 s), then what its session queued from 20 s on
    back = next(i for i, m in enumerate(messages)
                if (report_t_s(m) or 0.0) - scenario.epoch_s >= 30.0)
    retained = {m.topic: m for m in messages[:back] if m.retain}
    second = StoringOutput(store)
    runner = FusionRunner(scenario.site_model, Thresholds(), second,
                          first_alert_number=store.max_alert_number() + 1)
    resume_alerts(runner, store.open_alerts())
    for message in [*retained.values(), *messages[cut:]]:
        runner.feed(message)
    found = faults(first.alerts + second.alerts, "T05")
    assert [kind for kind, _, _ in found] == ["new", "closed"]
    assert len({alert_id for _, alert_id, _ in found}) == 1
    assert next(e for e in second.alerts if e.class_ == "tower_fault").event == "closed"
    assert all(r.class_ != "tower_fault" for r in store.open_alerts())
