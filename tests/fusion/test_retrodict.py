from __future__ import annotations

import math

import numpy as np

from perimeter.fusion.retrodict import (
    BYTES_PER_DETECTION,
    ReportHistory,
    RetrodictConfig,
    retrodict,
)
from perimeter.geometry import bearing_rad

TOWERS = np.array([[0.0, -1500.0], [0.0, 0.0], [0.0, 1500.0]])
SIGMA = math.radians(0.05)
START = np.array([2000.0, -600.0])
VELOCITY = np.array([-1.2, 0.8])
"""A walker starting at t = 0 from START; the track begins at t = 300 s."""


def walker(t_s: float) -> np.ndarray:
    return START + VELOCITY * max(t_s, 0.0)


def history_of(config: RetrodictConfig, rng: np.random.Generator, *, until_s: float = 300.0,
               clutter: int = 3, other: np.ndarray | None = None) -> ReportHistory:
    """Each tower's scans every 2.5 s (staggered) with the walker from t = 0 and clutter."""
    history = ReportHistory(len(TOWERS), config)
    for step in range(int((until_s + 50.0) / 2.5) + 1):
        for k, tower in enumerate(TOWERS):
            t = step * 2.5 + 0.5 * k - 50.0
            if t >= until_s:
                continue
            bearings = list(rng.uniform(0.0, 2 * math.pi, clutter))
            if t >= 0.0:
                bearings.append(float(bearing_rad(tower, walker(t))) + rng.normal(0.0, SIGMA))
            if other is not None:
                bearings.append(float(bearing_rad(tower, other + VELOCITY * t)))
            b = np.array(bearings)
            history.add(k, t, b, np.full(b.shape, SIGMA))
    return history


def track_start(t_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The state a track's smoother gives at its first detection (3 m, 0.2 m/s sigma)."""
    x = np.array([*walker(t_s), *VELOCITY])
    return x, np.diag([9.0, 9.0, 0.04, 0.04])


def test_history_is_bounded_and_returns_newest_first() -> None:
    history = ReportHistory(2, RetrodictConfig(per_tower=5, keep_s=100.0))
    for t in range(10):
        history.add(0, float(t), np.array([0.1, 0.2]), np.array([0.01, 0.01]))
    towers, times, _b, _s = history.between(-1.0, 100.0)
    assert times.shape == (5,)  # the five newest of twenty
    assert list(times) == sorted(times, reverse=True) and times[0] == 9.0
    assert set(towers.tolist()) == {0}
    history.add(1, 200.0, np.array([0.3]), np.array([0.01]))
    _t, times, _b, _s = history.between(-1.0, 300.0)
    assert list(times) == [200.0]  # older than keep_s behind the newest: not returned


def test_history_memory_is_one_budget_shared_by_the_towers() -> None:
    config = RetrodictConfig(memory_mb=0.048, per_tower=15)  # 48,000 bytes in all
    many, few = ReportHistory(200, config), ReportHistory(2, config)
    assert many.capacity == 48_000 // (BYTES_PER_DETECTION * 200) == 10  # the budget's share
    assert few.capacity == 15  # per_tower bounds a share of 1,000
    for t in range(25):
        for k in range(200):
            many.add(k, float(t), np.array([0.1]), np.array([0.01]))
        for k in range(2):
            few.add(k, float(t), np.array([0.1]), np.array([0.01]))
    assert many.size == 200 * 10 and few.size == 2 * 15
    assert many.nbytes <= 48_000 and few.nbytes == 2 * 15 * BYTES_PER_DETECTION
    towers, times, _b, _s = many.between(-1.0, 100.0)
    assert set(times[towers == 123].tolist()) == set(range(15, 25))  # each tower's newest ten


def test_the_start_reaches_back_through_the_reports_before_the_track() -> None:
    config = RetrodictConfig(enabled=True)
    history = history_of(config, np.random.default_rng(3))
    x, p = track_start(300.0)
    linked = retrodict(history, TOWERS, 300.0, x, p, 0.05, 3.0)
    assert linked is not None
    assert linked.t_s < 10.0  # back to the walker's first reports, 300 s before the track
    assert linked.towers == 3 and linked.links > 100
    error = math.dist(linked.x[:2], walker(linked.t_s))
    sigma = math.sqrt(float(np.linalg.eigvalsh(linked.p[:2, :2]).max()))
    assert error < 3.0 * sigma and sigma < 20.0


def test_nothing_before_the_track_leaves_no_extension() -> None:
    config = RetrodictConfig(enabled=True)
    history = history_of(config, np.random.default_rng(4), until_s=0.0)  # clutter only
    x, p = track_start(300.0)
    assert retrodict(history, TOWERS, 300.0, x, p, 0.05, 3.0) is None


def test_a_scan_with_two_bearings_in_the_gate_does_not_link() -> None:
    config = RetrodictConfig(enabled=True)
    rng = np.random.default_rng(5)
    history = history_of(config, rng, clutter=0, other=START + np.array([0.5, 0.0]))
    x, p = track_start(300.0)
    assert retrodict(history, TOWERS, 300.0, x, p, 0.05, 3.0) is None


def test_a_chain_that_would_be_faster_than_the_object_stops() -> None:
    config = RetrodictConfig(enabled=True)
    history = history_of(config, np.random.default_rng(6))
    x, p = track_start(300.0)
    free = retrodict(history, TOWERS, 300.0, x, p, 0.05, math.inf)
    slow = retrodict(history, TOWERS, 300.0, x, p, 0.05, 1.0)  # slower than the walker
    assert free is not None and free.t_s < 10.0
    assert slow is None


def test_history_grows_as_it_fills_and_wraps_at_its_bound() -> None:
    history = ReportHistory(3, RetrodictConfig(per_tower=3000))
    for t in range(2500):
        history.add(1, float(t), np.array([0.1, 0.2]), np.array([0.01, 0.01]))
    assert history.size == 3000
    _k, times, _b, _s = history.between(-1.0, 1e9)
    assert times.min() == 1000.0 and times.max() == 2499.0
