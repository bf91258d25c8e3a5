"""Fusion's memory of seen reports is bounded in time, so a long run does not grow."""

from __future__ import annotations

from perimeter.fusion.gate import DuplicateFilter, GateConfig

GATE = GateConfig()


def test_the_duplicate_memory_holds_only_the_late_window() -> None:
    dupes = DuplicateFilter(GATE.seq_memory, GATE.max_late_s)
    rate_hz, towers = 2.0, 50
    for k in range(int(600 * rate_hz)):  # ten minutes of thermal frames from 50 towers
        for tower in range(towers):
            assert dupes.check(f"T{tower:03d}", "thermal", k, 1000.0 + k / rate_hz)
    assert len(dupes) <= towers * (GATE.max_late_s * rate_hz + 1)
    newest = int(600 * rate_hz) - 1
    assert not dupes.check("T007", "thermal", newest, 1000.0 + newest / rate_hz)
    window = newest - int(GATE.max_late_s * rate_hz) + 1
    assert not dupes.check("T007", "thermal", window, 1000.0 + window / rate_hz)

