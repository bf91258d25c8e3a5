import itertools
import math

import numpy as np
import pytest

from perimeter.evaluation import crb, pcrb
from perimeter.fusion.ekf import process_noise, transition

TOWERS = {"A": (0.0, -500.0), "B": (0.0, 500.0)}  # 1 km apart


def walker(t_s: float) -> tuple[float, float]:
    """Starts at (2000, 0) at t = 0 and walks west at 1.5 m/s."""
    return (2000.0 - 1.5 * t_s, 0.0)


def looks(times: list[float], sigma_deg: float = 1.0) -> list[crb.Sighting]:
    return [crb.Sighting(tower, "thermal", t, sigma_deg) for t in times for tower in TOWERS]


def kalman_smoother_bound(times: list[float], sigma_deg: float, q: float) -> float:
    """Independent check: a Kalman filter and RTS smoother linearised on the true path, from a
    10 km position prior and the velocity prior, gives the smoothed covariance at t = 0."""
    p = np.diag([1e8, 1e8, pcrb.VELOCITY_PRIOR_SIGMA_MPS**2, pcrb.VELOCITY_PRIOR_SIGMA_MPS**2])
    filtered, predicted, steps = [p], [], [0.0, *times]
    for prev, t in itertools.pairwise(steps):
        dt = np.array([t - prev])
        f = transition(dt)[0]
        p = f @ p @ f.T + process_noise(dt, q)[0]
        predicted.append(p)
        for tower in TOWERS.values():
            x, y = walker(t)
            dx, dy = x - tower[0], y - tower[1]
            h = np.array([dy, -dx, 0.0, 0.0]) / (dx * dx + dy * dy)
            s = h @ p @ h + math.radians(sigma_deg) ** 2
            p = p - np.outer(p @ h, h @ p) / s
        filtered.append(p)
    smoothed = filtered[-1]
    for k in range(len(steps) - 2, -1, -1):
        f = transition(np.array([steps[k + 1] - steps[k]]))[0]
        gain = filtered[k] @ f.T @ np.linalg.inv(predicted[k])
        smoothed = filtered[k] + gain @ (smoothed - predicted[k]) @ gain.T
    return float(math.sqrt(smoothed[0, 0] + smoothed[1, 1]))


def bound(times: list[float], q: float = 0.05, sigma_deg: float = 1.0,
          window_start_s: float = 0.0) -> float:
    return pcrb.origin_pcrb_m(0.0, window_start_s, 30.0, looks(times, sigma_deg), walker,
                              TOWERS, q)


def test_looks_at_the_start_give_the_single_look_bound() -> None:
    single = crb.bearing_crb_m((2000.0, 0.0), [(xy, 1.0) for xy in TOWERS.values()])
    assert bound([0.0]) == pytest.approx(single, rel=1e-9)
    assert single == pytest.approx(108, abs=1)  # docs/evaluation.md's closed form


@pytest.mark.parametrize("q", [0.05, 1.0])
def test_matches_a_kalman_smoother_on_the_true_path(q: float) -> None:
    times = [2.0 + 0.5 * k for k in range(40)]
    assert bound(times, q) == pytest.approx(kalman_smoother_bound(times, 1.0, q), rel=1e-4)


def test_more_looks_tighten_and_later_looks_or_more_noise_loosen() -> None:
    every_frame = [0.5 * k for k in range(61)]
    assert bound(every_frame) < 0.5 * bound([0.0])
    late = [15.0 + 0.5 * k for k in range(31)]
    assert bound(late, window_start_s=15.0) > bound(every_frame)
    assert bound(late, q=1.0, window_start_s=15.0) > bound(late, q=0.05, window_start_s=15.0)


def test_only_the_window_counts_and_no_look_gives_no_bound() -> None:
    assert bound([40.0, 50.0]) == math.inf
    assert bound([10.0, 40.0]) == pytest.approx(bound([10.0]))
    assert pcrb.position_bound_m(np.zeros((4, 4))) == math.inf


def test_class_noise_is_the_trackers() -> None:
    assert pcrb.class_q("vehicle") > pcrb.class_q("person")
    assert pcrb.class_q("no-such-class") == pcrb.class_q("unknown")


def test_bad_looks_are_refused() -> None:
    with pytest.raises(ValueError, match="bearing_sigma_deg"):
        pcrb.look_information((1.0, 0.0), (0.0, 0.0), 0.0)
    with pytest.raises(ValueError, match="t_s"):
        pcrb.origin_information(10.0, [(5.0, np.eye(4))], 0.05)
