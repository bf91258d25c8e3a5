"""A restarted fusion gets every tower's retained status first, stamped when it was published
(minutes or hours ago): those must not set data time, or the first live report is rejected as
too far ahead of it (lost: fusion acknowledges what it rejects), and so is a status that says a
tower is back."""

from __future__ import annotations

from perimeter.fusion.replay import CollectingOutput
from perimeter.fusion.runner import FusionRunner
from perimeter.thresholds import Thresholds
from tests.reliability.streams import crossing_spec, rejected_total, report_t_s, simulate


def test_retained_statuses_with_old_times_do_not_set_data_time() -> None:
    fault = {"tower": "T05", "kind": "offline", "start_s": 10, "duration_s": 15}
    scenario, messages = simulate(crossing_spec(70.0, faults=[fault]))
    back = next(i for i, m in enumerate(messages)
                if (report_t_s(m) or 0.0) - scenario.epoch_s >= 30.0)
    retained = {m.topic: m for m in messages[:back] if m.retain}  # T05 online again at 25 s
    assert len(retained) == 12
    out = CollectingOutput()
    runner = FusionRunner(scenario.site_model, Thresholds(), out)
    for message in [*retained.values(), *messages[back:]]:  # started at 30 s, clean session
        runner.feed(message)
    assert rejected_total(runner.counters) == 0
    assert runner.counters["reports"] == sum(1 for m in messages[back:] if not m.retain)
    assert [e for e in out.alerts if e.class_ == "tower_fault"] == []  # nothing is faulty
