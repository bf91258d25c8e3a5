from __future__ import annotations

import numpy as np
import pytest

from perimeter.fusion.gate import (
    DuplicateFilter,
    GateConfig,
    GateRejectedError,
    ReorderBuffer,
    SameTimeHold,
    apply_snr_threshold,
)
from perimeter.fusion.scan import Scan
from perimeter.thresholds import Thresholds


def scan(t_s: float, snr: list[float] | None = None, sensor: str = "thermal") -> Scan:
    snr = snr or []
    n = len(snr)
    nan = np.full(n, np.nan)
    return Scan("T01", 0, np.zeros(2), sensor, 0, t_s, np.zeros(n), np.full(n, 0.01),
                np.array(snr, dtype=float), nan, nan, nan, np.full(n, -1))


def test_duplicates_by_seq_and_time() -> None:
    dupes = DuplicateFilter(memory=3)
    assert dupes.check("T01", "thermal", 5, 10.0)
    assert not dupes.check("T01", "thermal", 5, 10.0)
    assert dupes.check("T01", "acoustic", 5, 10.0)  # another sensor
    assert dupes.check("T01", "thermal", 5, 99.0)  # a restarted tower reuses seq
    for seq in range(6, 10):
        assert dupes.check("T01", "thermal", seq, float(seq))
    assert dupes.check("T01", "thermal", 6, 6.0)  # forgotten beyond the memory


def test_snr_threshold_per_sensor() -> None:
    th = Thresholds().patched({"thermal.min_snr_db": 10.0, "acoustic.min_snr_db": 3.0})
    assert apply_snr_threshold(scan(0.0, [9.0, 10.0, 20.0]), th).snr_db.tolist() == [10.0, 20.0]
    assert apply_snr_threshold(scan(0.0, [4.0], "acoustic"), th).size == 1


def test_reorder_buffer_releases_in_time_order_after_the_lag() -> None:
    buf = ReorderBuffer(GateConfig(reorder_lag_s=2.0))
    for t in (10.0, 12.5, 11.0):
        buf.advance(t)
        assert buf.push(scan(t)) is None
    assert [s.t_s for s in buf.release()] == [10.0]
    buf.advance(14.0)
    assert [s.t_s for s in buf.release()] == [11.0]
    late = buf.push(scan(10.5))
    assert late is not None and late.late
    assert [s.t_s for s in buf.release(flush=True)] == [12.5]


def test_admit_rejects_stale_and_future_reports() -> None:
    buf = ReorderBuffer(GateConfig(max_late_s=120.0, max_future_s=300.0))
    buf.admit(1000.0)
    buf.advance(1000.0)
    buf.admit(900.0)  # late but within the bound
    with pytest.raises(GateRejectedError) as stale:
        buf.admit(870.0)
    assert stale.value.reason == "stale"
    with pytest.raises(GateRejectedError) as future:
        buf.admit(1400.0)
    assert future.value.reason == "future_t_s"


def test_reports_of_one_time_are_released_by_tower_sensor_and_seq_not_arrival() -> None:
    def report(tower: str, sensor: str, seq: int, t_s: float) -> Scan:
        out = scan(t_s, sensor=sensor)
        out.tower_id, out.seq = tower, seq
        return out

    hold = SameTimeHold()
    arrived = [report("T02", "thermal", 4, 10.0), report("T01", "thermal", 9, 10.0),
               report("T02", "acoustic", 7, 10.0), report("T01", "thermal", 8, 10.0)]
    assert all(hold.push(s) == [] for s in arrived)  # held while more of their time may come
    assert hold.release(before_s=10.0) == [] and len(hold) == 4
    out = hold.push(report("T00", "thermal", 1, 10.5))  # another time: the frame is complete
    assert [(s.tower_id, s.sensor, s.seq) for s in out] == [
        ("T01", "thermal", 8), ("T01", "thermal", 9), ("T02", "acoustic", 7),
        ("T02", "thermal", 4)]
    assert [s.t_s for s in hold.release(before_s=11.0)] == [10.5] and len(hold) == 0
    buf = ReorderBuffer(GateConfig(reorder_lag_s=1.0))  # ties in the buffer: the same order
    buf.advance(20.0)
    for s in reversed(arrived):
        assert buf.push(s) is None
    assert [(s.tower_id, s.sensor, s.seq) for s in buf.release()] == [
        ("T01", "thermal", 8), ("T01", "thermal", 9), ("T02", "acoustic", 7),
        ("T02", "thermal", 4)]
