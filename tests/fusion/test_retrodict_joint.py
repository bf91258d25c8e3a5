from __future__ import annotations

import math

import numpy as np

from perimeter.fusion.retrodict import ReportHistory, RetrodictConfig, retrodict
from perimeter.fusion.retrodict_joint import JointConfig, retrodict_joint
from perimeter.geometry import bearing_rad
from tests.fusion.test_retrodict import SIGMA, TOWERS, VELOCITY, walker


def history_of(rng: np.random.Generator, *, noise_rad: float = SIGMA, clutter: int = 3,
               towers: tuple[int, ...] = (0, 1, 2)) -> ReportHistory:
    """Each tower's scans every 2.5 s (staggered): clutter, and the walker from t = 0 seen by
    ``towers`` with bearing errors of ``noise_rad`` (each reported with sigma SIGMA)."""
    history = ReportHistory(len(TOWERS), RetrodictConfig(enabled=True))
    for step in range(int(350.0 / 2.5) + 1):
        for k, tower in enumerate(TOWERS):
            t = step * 2.5 + 0.5 * k - 50.0
            if t >= 300.0:
                continue
            bearings = list(rng.uniform(0.0, 2 * math.pi, clutter))
            if t >= 0.0 and k in towers:
                bearings.append(float(bearing_rad(tower, walker(t))) + rng.normal(0.0, noise_rad))
            b = np.array(bearings)
            history.add(k, t, b, np.full(b.shape, SIGMA))
    return history


def wide_start() -> tuple[np.ndarray, np.ndarray]:
    """A young track's smoothed start: 20 m and 0.3 m/s sigma (its bearing from the towers
    ~0.5 deg wide, where the one-bearing chain stops at once)."""
    x = np.array([*walker(300.0), *VELOCITY])
    return x, np.diag([400.0, 400.0, 0.09, 0.09])


def normalised(x: np.ndarray, p: np.ndarray, truth: np.ndarray) -> float:
    e = truth - x[:2]
    return float(math.sqrt(e @ np.linalg.solve(p[:2, :2], e)))


def test_a_wide_start_reaches_back_jointly_where_one_bearing_at_a_time_stops() -> None:
    history = history_of(np.random.default_rng(3))
    x, p = wide_start()
    assert retrodict(history, TOWERS, 300.0, x, p, 0.05, 3.0) is None
    linked = retrodict_joint(history, TOWERS, 300.0, x, p, 0.05, 3.0)
    assert linked is not None
    assert linked.t_s < 20.0 and linked.towers == 3  # back to the walker's first reports
    sigma = math.sqrt(float(np.linalg.eigvalsh(linked.p[:2, :2]).max()))
    assert normalised(linked.x, linked.p, walker(linked.t_s)) < 3.0 and sigma < 20.0


def test_clutter_alone_leaves_no_extension() -> None:
    history = history_of(np.random.default_rng(4), towers=())
    x, p = wide_start()
    assert retrodict_joint(history, TOWERS, 300.0, x, p, 0.05, 3.0) is None


def test_one_tower_alone_does_not_fix_the_range_and_is_not_taken() -> None:
    history = history_of(np.random.default_rng(5), towers=(1,))
    x, p = wide_start()
    assert retrodict_joint(history, TOWERS, 300.0, x, p, 0.05, 3.0) is None
    lone = retrodict_joint(history, TOWERS, 300.0, x, p, 0.05, 3.0,
                           config=JointConfig(min_towers_window=1))
    assert lone is not None  # allowed one tower, the chain runs on along its line of sight


def test_a_fit_faster_than_the_object_is_refused() -> None:
    history = history_of(np.random.default_rng(6))
    x, p = wide_start()
    assert retrodict_joint(history, TOWERS, 300.0, x, p, 0.05, 1.0) is None  # walker: 1.44 m/s


def test_bearings_scattered_beyond_their_sigma_keep_the_ellipse_calibrated() -> None:
    x, p = wide_start()
    errors = []
    for seed in range(8, 11):
        history = history_of(np.random.default_rng(seed), noise_rad=1.6 * SIGMA)
        linked = retrodict_joint(history, TOWERS, 300.0, x, p, 0.05, 3.0)
        if linked is not None:
            errors.append(normalised(linked.x, linked.p, walker(linked.t_s)))
    assert len(errors) >= 2 and all(e < 2.45 for e in errors)
