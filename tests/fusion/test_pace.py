"""A walker's, a party's and a vehicle's own pace, kept from window to window (pace.py)."""

from __future__ import annotations

import math

import pytest
from scipy.special import logsumexp

from perimeter.fusion.classify import ClassModel, accumulate_motion
from perimeter.fusion.motion import log_normal_pdf
from perimeter.fusion.pace import (
    PACED,
    kept_pace_log_likelihood,
    pace_grid,
    window_pace_log_likelihoods,
)
from perimeter.fusion.track import Track
from tests.fusion.helpers import track_at


def driven(speeds_mps: list[float], *, ambiguous: bool, model: ClassModel) -> Track:
    """A track along x, weaving 2 m from side to side every 10 s, whose successive 25 s
    motion windows run at ``speeds_mps``, each window judged as it closes (every window
    ambiguous, or none)."""
    track = track_at(5000.0, 0.0, -speeds_mps[0], 0.0)
    x, t = 5000.0, 0.0
    track.state.trail.append((t, x, 0.0))
    for speed in speeds_mps:
        for _ in range(25):
            t += 1.0
            x -= speed
            track.state.trail.append((t, x, 1.0 if int(t) % 20 < 10 else -1.0))
        if ambiguous:
            track.evidence.ambiguous_t_s = t
        accumulate_motion(track, t, model)
    return track


@pytest.mark.parametrize("cls", PACED)
def test_the_pace_prior_is_the_population_of_the_class(cls: str) -> None:
    model = ClassModel()
    grid = pace_grid(cls, model)
    assert logsumexp(grid.log_prior) == pytest.approx(0.0, abs=1e-9)
    weights = [math.exp(w) for w in grid.log_prior]
    if cls == "vehicle":
        log_mean = sum(w * math.log(p) for w, p in zip(weights, grid.paces_mps, strict=True))
        assert math.exp(log_mean) == pytest.approx(model.speed_mean_mps[cls], rel=0.02)
    else:
        mean = sum(w * p for w, p in zip(weights, grid.paces_mps, strict=True))
        assert mean == pytest.approx(model.speed_mean_mps[cls], abs=0.02)


def test_one_window_is_judged_against_the_population_widened_by_the_scatter() -> None:
    # marginal over the pace of N(pace; mean, sigma) N(v; pace, scatter) = N(v; mean, hypot),
    # on a grid wide enough to hold the whole population
    model = ClassModel(walk_pace_sigmas=4.0)
    for speed in (0.8, 1.3, 1.9):
        window = window_pace_log_likelihoods("person", speed, 0.0, 1.0, model)
        straight = math.log(model.straightness_beta_a["person"])  # at straightness 1
        expected = log_normal_pdf(speed, model.speed_mean_mps["person"],
                                  math.hypot(model.speed_sigma_mps["person"],
                                             model.walk_pace_scatter_mps)) + straight
        got = kept_pace_log_likelihood("person", window, model)
        assert got == pytest.approx(expected, abs=0.02)


def test_a_steady_slow_vehicle_over_ambiguous_windows_stays_a_vehicle() -> None:
    # rain-vehicles at seed 41: a tracked vehicle at 4 m/s, its every window shared with a
    # second track on it, drifted to "a standing object whose path is stitched" over twenty
    # windows when each window was judged alone
    speeds = [4.2, 3.8, 4.4, 4.0, 3.7, 4.3, 4.1, 3.9, 4.2, 4.0, 3.8, 4.4, 4.1, 3.9, 4.0, 4.2]
    kept = driven(speeds, ambiguous=True, model=ClassModel()).evidence.class_evidence
    alone = driven(speeds, ambiguous=True, model=ClassModel(kept_pace=())).evidence.class_evidence
    assert alone["vehicle"] < alone["unknown"] - 3.0
    assert kept["vehicle"] > kept["unknown"] + 3.0
    assert kept["vehicle"] > max(kept[c] for c in ("person", "group", "animal")) + 3.0


def test_windows_that_jump_between_paces_are_no_walker_and_a_steady_walk_is() -> None:
    # a herd's stitched track: window speeds that jump as an animal's bouts do
    jumpy = [1.0, 2.4, 0.5, 1.6, 0.4, 2.2, 0.9, 0.5]
    steady = [1.25, 1.3, 1.2, 1.3, 1.25, 1.2, 1.3, 1.25]
    people = ClassModel(kept_pace=PACED)
    for model in (people, ClassModel()):
        ev_steady = driven(steady, ambiguous=False, model=model).evidence.class_evidence
        assert ev_steady["person"] > ev_steady["animal"]
    alone = driven(jumpy, ambiguous=False, model=ClassModel()).evidence.class_evidence
    assert alone["animal"] < alone["person"] + 0.5  # the population's spread excuses the jumps
    kept = driven(jumpy, ambiguous=False, model=people).evidence.class_evidence
    assert kept["animal"] > max(kept["person"], kept["group"], kept["vehicle"]) + 4.0


@pytest.mark.parametrize("kept", [("vehicle",), PACED])
def test_a_steady_walk_is_still_no_vehicle(kept: tuple[str, ...]) -> None:
    # the population's tail paid once must not let a walker pass for a creeping vehicle
    model = ClassModel(kept_pace=kept)
    walk = driven([1.25] * 20, ambiguous=False, model=model).evidence.class_evidence
    assert walk["vehicle"] < walk["person"] - 10.0
    shared = driven([1.25] * 20, ambiguous=True, model=model).evidence.class_evidence
    assert shared["vehicle"] < shared["person"] - 10.0


def test_an_animal_keeps_no_pace() -> None:
    with pytest.raises(ValueError, match="'animal' keeps no pace"):
        pace_grid("animal", ClassModel())
