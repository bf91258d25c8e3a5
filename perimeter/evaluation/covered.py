"""Within coverage: whether the coverage model says the towers could fix an intrusion.

Issue 4 states Pd "within the coverage that the model reports". The model is
:mod:`sim.coverage_map`: the probability that at least two towers see a target of its kind
within a 10 s dwell, through terrain, in the weather and light of the moment, with detections
that pass fusion's SNR thresholds. An intrusion is *covered* when that probability is at least
``min_pd`` along its path for at least ``min_s`` seconds before it reaches its last waypoint:
long enough to be fixed, confirmed and classified. Tower faults are not modelled (all towers
count).
The first path sample with that Pd is the target's *first coverage*, from which the time to
alert after coverage and the origin bound's window are measured.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from perimeter.evaluation.scoring import target_class
from perimeter.thresholds import Thresholds
from sim.coverage_map import Conditions, at_least_two, per_tower_pd
from sim.environment import Environment
from sim.scenario import Scenario
from sim.terrain import Terrain
from sim.truth import TargetTruth, Truth
from sim.world import environment_of

FloatArray = npt.NDArray[np.float64]

STEP_S = 10.0
"""Spacing of the path samples (the coverage model's dwell)."""


@dataclass(frozen=True, slots=True)
class TargetCoverage:
    """What the coverage model says of one intrusion's path."""

    covered: bool
    """Pd >= ``min_pd`` for at least ``min_s`` seconds before its last waypoint."""
    covered_s: float
    first_covered_t_s: float | None
    """The first path sample (absolute time) with Pd >= ``min_pd``; None if there is none."""


def pd_along_path(scenario: Scenario, target: TargetTruth, thresholds: Thresholds, *,
                  env: Environment | None = None, terrain: Terrain | None = None,
                  ) -> tuple[FloatArray, FloatArray]:
    """``(t_s, pd)``: the model's Pd of at least two towers every ``STEP_S`` of the target's
    movement (absolute times), in the weather and light of each moment."""
    end_t_s = min(target.end_t_s, scenario.epoch_s + scenario.duration_s)
    times = np.arange(target.start_t_s, end_t_s, STEP_S, dtype=float)
    if times.size == 0:
        return times, np.zeros(0)
    env = env or environment_of(scenario)
    terrain = terrain or Terrain(scenario.site_model)
    sim_s = times - scenario.epoch_s
    moments: dict[tuple[str, float, float], list[int]] = defaultdict(list)
    for i, (t, c, d) in enumerate(zip(sim_s, np.round(env.contrast_factor(sim_s), 2),
                                      np.round(env.daylight(sim_s), 2), strict=True)):
        moments[(env.weather_at(float(t)), float(c), float(d))].append(i)
    xy = np.array([target.position(float(t)) for t in times])
    spec, sensors = scenario.environment, scenario.sensors
    pd = np.zeros(times.size)
    for (weather, contrast, daylight), rows in moments.items():  # one call per moment
        conditions = Conditions(kind=target.kind, weather=weather, wind_mps=spec.wind_mps,
                                temperature_c=spec.temperature_c,
                                humidity_pct=spec.humidity_pct, frame_hz=sensors.frame_hz,
                                window_s=sensors.window_s, contrast_factor=contrast,
                                daylight=daylight)
        pd[rows] = at_least_two(per_tower_pd(scenario.site_model.towers, xy[rows], conditions,
                                             terrain, thresholds))
    return times, pd


def covered_seconds(scenario: Scenario, target: TargetTruth, thresholds: Thresholds, *,
                    min_pd: float = 0.9, env: Environment | None = None,
                    terrain: Terrain | None = None) -> float:
    """Seconds of the target's movement where the model gives it Pd >= ``min_pd`` (``env``
    and ``terrain`` are the scenario's, built here when not given)."""
    _, pd = pd_along_path(scenario, target, thresholds, env=env, terrain=terrain)
    return float(STEP_S * np.count_nonzero(pd >= min_pd))


def target_coverage(scenario: Scenario, truth: Truth, thresholds: Thresholds, *,
                    min_s: float = 60.0, min_pd: float = 0.9) -> dict[str, TargetCoverage]:
    """Each scripted intrusion's coverage: covered or not, and when first covered."""
    env, terrain = environment_of(scenario), Terrain(scenario.site_model)
    out = {}
    for t in truth.targets:
        if not (t.scripted and target_class(t.kind) in thresholds.alert_classes):
            continue
        times, pd = pd_along_path(scenario, t, thresholds, env=env, terrain=terrain)
        seen = times[pd >= min_pd]
        covered_s = float(STEP_S * seen.size)
        out[t.id] = TargetCoverage(covered=covered_s >= min_s, covered_s=covered_s,
                                   first_covered_t_s=float(seen[0]) if seen.size else None)
    return out


def covered_targets(scenario: Scenario, truth: Truth, thresholds: Thresholds, *,
                    min_s: float = 60.0, min_pd: float = 0.9) -> dict[str, bool]:
    """Whether each scripted intrusion was covered for at least ``min_s`` seconds."""
    return {tid: c.covered for tid, c in target_coverage(scenario, truth, thresholds,
                                                         min_s=min_s, min_pd=min_pd).items()}
