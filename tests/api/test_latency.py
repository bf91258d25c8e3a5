"""ReportArrivals: the wall time from the report an alert event was raised on to its arrival."""

from __future__ import annotations

import pytest

from services.api.latency import ReportArrivals


def test_latency_runs_from_the_first_report_at_or_after_the_event() -> None:
    arrivals = ReportArrivals()
    for k in range(10):  # reports every 0.5 s of data time, received 0.025 s apart (x20)
        arrivals.seen(1000.0 + 0.5 * k, 50.0 + 0.025 * k)
    arrivals.seen(1001.0, 60.0)  # not a new high: ignored
    assert arrivals.latency_s(1001.0, 50.3) == pytest.approx(0.25)
    assert arrivals.latency_s(1001.2, 50.3) == pytest.approx(0.225)  # the report at 1001.5
    assert arrivals.latency_s(999.0, 50.3) is None  # before what is remembered
    assert arrivals.latency_s(1010.0, 50.3) is None  # no report yet (fusion's idle clock)


def test_the_window_is_bounded() -> None:
    arrivals = ReportArrivals(kept=4)
    for k in range(10):
        arrivals.seen(float(k), float(k))
    assert arrivals.latency_s(5.0, 9.0) is None and arrivals.latency_s(6.0, 9.5) == 3.5
