"""Target motion: scripted paths and wandering animals."""

from __future__ import annotations

import numpy as np
import pytest

from sim.rand import rng_for
from sim.targets import ScriptedMove, Targets, ou_series, pause_mask


def test_scripted_target_starts_at_its_origin_and_reaches_the_end() -> None:
    targets = Targets(0.5, 4000)
    path = [(3000.0, 0.0), (2000.0, 0.0), (1000.0, 500.0)]
    targets.add_scripted(ScriptedMove("p1", "person", 100.0, 1.4, path), rng_for(1, "p1"))
    xy, active = targets.at(np.array([50.0, 100.0, 100.5, 1000.0]))
    assert not active[0, 0] and active[1, 0]
    assert tuple(xy[1, 0]) == pytest.approx((3000.0, 0.0))
    # walking at the kind-typical pace, slower while crouching or crawling
    stature = targets.stature_at(np.arange(0.0, targets.end_s[0], 0.5))[:, 0]
    x = targets.xy_m[0, : len(stature), 0]
    step = -np.diff(x, append=x[-1]) / 0.5  # progress along the first leg (x falls)
    moving = (np.arange(len(stature)) * 0.5 >= 100.0) & (x > 2000.0)
    walking = moving & (stature == 1.0)
    assert np.median(step[walking]) == pytest.approx(1.4, rel=0.1)
    if (moving & (stature < 0.5)).any():
        assert np.median(step[moving & (stature < 0.5)]) < 0.6
    _, end_active = targets.at(np.array([targets.end_s[0] + 1.0]))
    assert not end_active[0, 0]
    truth = targets.truths(1.7e9)[0]
    assert truth.origin_xy_m == (3000.0, 0.0)
    assert truth.start_t_s == 1.7e9 + 100.0
    # small lateral deviation from the nominal path
    mid = truth.xy_m[len(truth.xy_m) // 4]
    assert abs(mid[1]) < 25.0


def test_animals_wander_with_pauses_inside_their_box() -> None:
    targets = Targets(0.5, 7200)
    box = (1000.0, -4000.0, 7000.0, 4000.0)
    targets.add_fauna(8, box, rng_for(3, "animals"))
    xy = targets.xy_m
    assert len(targets.ids) == 8 and set(targets.kinds) == {"animal"}
    assert xy[..., 0].min() >= box[0] and xy[..., 0].max() <= box[2]
    step = np.hypot(*np.diff(xy, axis=1).transpose(2, 0, 1)) / 0.5
    assert (step < 0.05).mean() > 0.15  # pauses
    assert 0.2 < np.median(step[step > 0.05]) < 3.0  # walking pace
    assert not any(targets.scripted)
    assert all(sig is not None for sig in targets.signatures)


def test_ou_series_statistics_and_pause_mask() -> None:
    series = ou_series(np.random.default_rng(0), 200_000, 4.0, 0.5, 40.0)
    assert series.std() == pytest.approx(4.0, rel=0.1)
    mask = pause_mask(np.random.default_rng(0), 100_000, 0.5, 60.0, 40.0)
    assert mask.mean() == pytest.approx(0.6, abs=0.08)


def test_a_scripted_stop_holds_the_target_and_delays_its_arrival() -> None:
    path = [(3000.0, 0.0), (1000.0, 0.0)]
    plain, halted = Targets(0.5, 6000), Targets(0.5, 6000)
    plain.add_scripted(ScriptedMove("p1", "person", 0.0, 1.4, path), rng_for(1, "p1"))
    halted.add_scripted(ScriptedMove("p1", "person", 0.0, 1.4, path, stops=((300.0, 600.0),)),
                        rng_for(1, "p1"))
    xy, active = halted.at(np.arange(300.0, 900.0, 0.5))
    assert active[:, 0].all()
    # stands still: no progress along the path (x) and no sideways slide (y)
    assert np.ptp(xy[:, 0, 0]) == pytest.approx(0.0, abs=1e-9)
    assert np.ptp(xy[:, 0, 1]) == pytest.approx(0.0, abs=1e-9)
    # the wobble belongs to the ground covered, not to the clock: after the stop the halted
    # walker is where the other one was at the same point of the route, not 600 s of
    # wander further on (the wobble's std is 4 m; the samples differ within 0.7 m steps)
    after = halted.xy_m[0, 1900:2600]
    x_plain, y_plain = plain.xy_m[0, 1:2600, 0], plain.xy_m[0, 1:2600, 1]
    y_there = np.interp(-after[:, 0], -x_plain, y_plain)  # x falls along this path
    assert np.median(np.abs(after[:, 1] - y_there)) < 0.1
    again = Targets(0.5, 6000)  # seeded: the same stream gives the same walk, another not
    again.add_scripted(ScriptedMove("p1", "person", 0.0, 1.4, path, stops=((300.0, 600.0),)),
                       rng_for(1, "p1"))
    assert np.array_equal(again.xy_m, halted.xy_m)
    other = Targets(0.5, 6000)
    other.add_scripted(ScriptedMove("p1", "person", 0.0, 1.4, path), rng_for(2, "p1"))
    assert np.abs(other.xy_m[0, 200:2600, 1] - plain.xy_m[0, 200:2600, 1]).max() > 1.0
    # arrives about the stop later (its speed varies slowly in time, so not exactly)
    assert halted.end_s[0] - plain.end_s[0] == pytest.approx(600.0, rel=0.15)


@pytest.mark.parametrize(("kind", "speed_mps", "sigma_m"),
                         [("person", 0.5, 4.0), ("person", 1.4, 4.0), ("light_vehicle", 8.0, 2.0)])
def test_the_lateral_wander_is_smooth_a_few_metres_wide_and_the_same_at_any_pace(
        kind: str, speed_mps: float, sigma_m: float) -> None:
    """A walker or a crawler wanders a few metres off its line over tens of metres, not
    sideways at every step: the ground covered is the scripted distance, within 5 %."""
    steps = int(5000.0 / speed_mps / 0.5) + 10
    lateral, slopes = [], []
    for seed in range(8):
        targets = Targets(0.5, steps)
        targets.add_scripted(ScriptedMove("t", kind, 0.0, speed_mps, [(6000.0, 0.0),
                                                                      (1000.0, 0.0)]),
                             rng_for(seed, "t"))
        xy = targets.xy_m[0]
        step = np.diff(xy, axis=0)
        forward = np.abs(step[:, 0]) > 1e-6
        ground_m = np.hypot(step[forward, 0], step[forward, 1]).sum()
        assert ground_m / np.abs(step[forward, 0]).sum() < 1.05
        slopes.append(np.abs(step[forward, 1] / step[forward, 0]))
        lateral.append(xy[forward.nonzero()[0][200:], 1])
    assert np.std(np.concatenate(lateral)) == pytest.approx(sigma_m, rel=0.35)
    assert np.percentile(np.concatenate(slopes), 95) < (0.5 if kind == "person" else 0.1)
