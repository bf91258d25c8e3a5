"""IdleClock: data time carried on at its observed rate while no report comes."""

from __future__ import annotations

import pytest

from services.idle_clock import IdleClock


def test_nothing_before_reports_or_while_they_come() -> None:
    clock = IdleClock()
    assert clock.now(100.0) is None
    clock.seen(1000.0, 100.0)
    assert clock.now(102.5) is None  # within idle_after_s: a stall of the pipeline moves nothing


def test_runs_on_at_the_rate_data_time_was_seen_to_run() -> None:
    clock = IdleClock()
    for k in range(11):  # a simulation at x20: 20 s of data per wall second
        clock.seen(1000.0 + 20.0 * k, 100.0 + k)
    assert clock.rate() == pytest.approx(20.0)
    # 5 s of wall time without a report: the 2 s after the first 3 count, at x20
    assert clock.now(115.0) == pytest.approx(1200.0 + 20.0 * 2.0)
    assert clock.now(1e6) == pytest.approx(1200.0 + clock.max_ahead_s)  # bounded
    clock.seen(1190.0, 116.0)  # an older time does not move it back
    assert clock.now(116.0) == pytest.approx(1200.0 + 20.0 * 3.0)


def test_a_short_history_counts_as_real_time() -> None:
    clock = IdleClock()
    clock.seen(1000.0, 100.0)
    clock.seen(1040.0, 100.2)  # 0.2 s of wall time: too short to measure a rate
    assert clock.rate() == 1.0 and clock.now(105.0) == pytest.approx(1041.8)


def test_time_cut_off_from_the_broker_does_not_count() -> None:
    clock = IdleClock(reconnect_grace_s=2.0)
    clock.seen(1000.0, 100.0)
    clock.seen(1010.0, 110.0)
    for wall_s in (111.0, 130.0, 150.0):  # disconnected from 111 s to 150 s
        clock.hold(wall_s)
    assert clock.now(154.5) is None  # within the grace and the idle wait after reconnecting
    assert clock.now(160.0) == pytest.approx(1010.0 + 5.0)


def test_samples_are_thinned_to_about_ten_a_second() -> None:
    clock = IdleClock()
    for k in range(10_000):  # 1,000 reports a wall second for 10 s
        clock.seen(1000.0 + 0.02 * k, 100.0 + 0.001 * k)
    assert len(clock) <= 110
    assert clock.rate() == pytest.approx(20.0, rel=0.01)
