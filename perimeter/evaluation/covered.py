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

The map's imager term is the steady state of a static target's search (``P_inf``: a target
walking in from afar was searched for long before). Along a path the imagers' search is
followed as the simulation's glimpse model runs it (:mod:`sim.sensors.glimpse`, nominal
parameters): a pair is detectable while its background's draw allows (``u < P_inf``, redrawn
as the target moves: correlation length ``decorrelation_m``), must be acquired anew after
every undetectable spell (``tau0 / P_inf`` of looking, one frame per revisit of a scanning
head), and only then reports on a look with the detector's probability. The probability
that a tower's imager reports within a dwell is the share of Monte Carlo draws of that
process (:func:`acquired_dwell_pd`) in which it did; a vehicle crossing 50 m of new
background between two looks of a head is rarely acquired until ``P_inf`` is near one.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from perimeter.evaluation.scoring import target_class
from perimeter.thresholds import Thresholds
from sim.coverage_map import Conditions, acoustic_pd, at_least_two, floored, thermal_unfloored
from sim.environment import Environment
from sim.scenario import Scenario
from sim.sensors.optics import ThermalParams
from sim.terrain import Terrain
from sim.truth import TargetTruth, Truth
from sim.world import environment_of

FloatArray = npt.NDArray[np.float64]

STEP_S = 10.0
"""Spacing of the path samples (the coverage model's dwell)."""
LEAD_IN_S = 300.0
"""The search is followed from this long before the target starts to move (standing at its
origin; steady state of a static target's search is reached within a minute or two)."""
DRAWS = 256
"""Monte Carlo draws of each tower's search along the path."""


@dataclass(frozen=True, slots=True)
class TargetCoverage:
    """What the coverage model says of one intrusion's path."""

    covered: bool
    """Pd >= ``min_pd`` for at least ``min_s`` seconds before its last waypoint."""
    covered_s: float
    first_covered_t_s: float | None
    """The first path sample (absolute time) with Pd >= ``min_pd``; None if there is none."""


Unfloored = dict[tuple[str, str, float, float], tuple[FloatArray, ...]]
"""The thermal terms before the SNR floor (:func:`sim.coverage_map.thermal_unfloored`) by
target and moment, for one scenario run: what coverage at several floors shares."""


@dataclass(slots=True)
class CoverageShare:
    """What the coverage of one scenario run at several thresholds computes once: its
    environment, its terrain (with the towers' horizons) and the thermal terms before the
    SNR floor (a sweep task's points, :mod:`perimeter.tuning.tasks`)."""

    env: Environment
    terrain: Terrain
    unfloored: Unfloored

    @classmethod
    def of(cls, scenario: Scenario) -> CoverageShare:
        return cls(environment_of(scenario), Terrain(scenario.site_model), {})


def pd_along_path(scenario: Scenario, target: TargetTruth, thresholds: Thresholds, *,
                  env: Environment | None = None, terrain: Terrain | None = None,
                  static_search: bool = False,
                  unfloored: Unfloored | None = None) -> tuple[FloatArray, FloatArray]:
    """``(t_s, pd)``: the model's Pd of at least two towers every ``STEP_S`` of the target's
    movement (absolute times), in the weather and light of each moment, its imagers' search
    followed along the path (:func:`acquired_dwell_pd`; ``static_search``: the coverage
    map's steady state of a static target's search instead, the model before); ``unfloored``
    keeps the thermal terms before the floor (of this scenario run: keyed by target)."""
    end_t_s = min(target.end_t_s, scenario.epoch_s + scenario.duration_s)
    times = np.arange(target.start_t_s, end_t_s, STEP_S, dtype=float)
    if times.size == 0:
        return times, np.zeros(0)
    lead = int(min(LEAD_IN_S, max(target.start_t_s - scenario.epoch_s, 0.0)) // STEP_S)
    grid = np.concatenate([target.start_t_s - STEP_S * np.arange(lead, 0, -1), times])
    env = env or environment_of(scenario)
    terrain = terrain or Terrain(scenario.site_model)
    sim_s = grid - scenario.epoch_s
    moments: dict[tuple[str, float, float], list[int]] = defaultdict(list)
    for i, (t, c, d) in enumerate(zip(sim_s, np.round(env.contrast_factor(sim_s), 2),
                                      np.round(env.daylight(sim_s), 2), strict=True)):
        moments[(env.weather_at(float(t)), float(c), float(d))].append(i)
    xy = np.array([target.position(float(t)) for t in grid])
    spec, sensors, towers = scenario.environment, scenario.sensors, scenario.site_model.towers
    shape = (len(towers), grid.size)
    p_inf, p_look, p_acoustic = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    rate = np.zeros(len(towers))
    conditions = None
    for (weather, contrast, daylight), rows in moments.items():  # one call per moment
        conditions = Conditions(kind=target.kind, weather=weather, wind_mps=spec.wind_mps,
                                temperature_c=spec.temperature_c,
                                humidity_pct=spec.humidity_pct, frame_hz=sensors.frame_hz,
                                window_s=sensors.window_s, contrast_factor=contrast,
                                daylight=daylight, count=target.count)
        key = (target.id, weather, contrast, daylight)
        terms = None if unfloored is None else unfloored.get(key)
        if terms is None:
            terms = thermal_unfloored(towers, xy[rows], conditions, terrain)
            if unfloored is not None:
                unfloored[key] = terms
        p_inf[:, rows], look, snr_db, rate = terms
        p_look[:, rows] = floored(look, snr_db, thresholds.thermal_min_snr_db)
        p_acoustic[:, rows] = acoustic_pd(towers, xy[rows], conditions, terrain,
                                          thresholds.acoustic_min_snr_db)
    assert conditions is not None
    params = [ThermalParams.model_validate(t.thermal) if t.thermal else ThermalParams()
              for t in towers]
    if static_search:
        looks = np.maximum(1.0, conditions.dwell_s * rate)[:, None]
        thermal = p_inf * (1.0 - (1.0 - p_look) ** looks)
    else:
        rng = np.random.default_rng(zlib.crc32(f"{scenario.seed}:{target.id}".encode()))
        thermal = acquired_dwell_pd(grid, target, p_inf, p_look, rate, params,
                                    conditions.dwell_s, sensors.frame_hz, rng)
    windows = max(1.0, conditions.dwell_s / conditions.window_s)
    per_tower = 1.0 - (1.0 - thermal) * (1.0 - p_acoustic) ** windows
    return times, at_least_two(per_tower)[lead:]


def acquired_dwell_pd(grid_t_s: FloatArray, target: TargetTruth, p_inf: FloatArray,
                      p_look: FloatArray, rate_hz: FloatArray, params: list[ThermalParams],
                      dwell_s: float, frame_hz: float, rng: np.random.Generator,
                      draws: int = DRAWS) -> FloatArray:
    """``(T, N)`` probability that each tower's imager reports the target on a look within
    the dwell starting at each ``grid_t_s``, its search run along the path as
    :class:`sim.sensors.glimpse.Glimpses` runs it (``p_inf``, ``p_look``: ``(T, N)`` on the
    grid, interpolated to each look; ``rate_hz``: looks per second at a point)."""
    out = np.zeros((len(params), grid_t_s.size))
    look_s = 1.0 / frame_hz  # a look is one frame of looking
    for i, p in enumerate(params):
        if not np.any(p_inf[i] > 0.0):
            continue
        revisit_s = 1.0 / rate_hz[i]
        looks = np.arange(grid_t_s[0] + 0.5 * revisit_s, grid_t_s[-1] + dwell_s, revisit_s)
        pinf = np.interp(looks, grid_t_s, p_inf[i])
        plook = np.interp(looks, grid_t_s, p_look[i])
        xy = np.column_stack([np.interp(looks, target.t_s, target.xy_m[:, 0]),
                              np.interp(looks, target.t_s, target.xy_m[:, 1])])
        moved = np.concatenate([[0.0], np.hypot(*np.diff(xy, axis=0).T)])
        keep = np.exp(-moved / p.decorrelation_m)
        z = rng.standard_normal(draws)
        budget = rng.exponential(1.0, draws)
        hazard = np.zeros(draws)
        acquired = np.zeros(draws, dtype=bool)
        reported = np.zeros((looks.size, draws), dtype=bool)
        for k in range(looks.size):
            if moved[k] > 0.0:
                z = keep[k] * z + np.sqrt(1.0 - keep[k] ** 2) * rng.standard_normal(draws)
            detectable = ndtr(z) < pinf[k]
            acquired &= detectable
            reset = ~detectable & (hazard > 0.0)
            hazard[reset] = 0.0
            budget[reset] = rng.exponential(1.0, int(reset.sum()))
            searching = detectable & ~acquired
            hazard[searching] += look_s * pinf[k] / p.glimpse_tau_s
            found = searching & (hazard >= budget)
            acquired |= found
            budget[found] = rng.exponential(1.0, int(found.sum()))
            reported[k] = acquired & (rng.random(draws) < plook[k])
        counts = np.concatenate([np.zeros((1, draws)), np.cumsum(reported, axis=0)])
        lo = np.searchsorted(looks, grid_t_s)
        hi = np.searchsorted(looks, grid_t_s + dwell_s)
        out[i] = np.mean(counts[hi] - counts[lo] > 0, axis=1)
    return out


def covered_seconds(scenario: Scenario, target: TargetTruth, thresholds: Thresholds, *,
                    min_pd: float = 0.9, env: Environment | None = None,
                    terrain: Terrain | None = None) -> float:
    """Seconds of the target's movement where the model gives it Pd >= ``min_pd`` (``env``
    and ``terrain`` are the scenario's, built here when not given)."""
    _, pd = pd_along_path(scenario, target, thresholds, env=env, terrain=terrain)
    return float(STEP_S * np.count_nonzero(pd >= min_pd))


def target_coverage(scenario: Scenario, truth: Truth, thresholds: Thresholds, *,
                    min_s: float = 60.0, min_pd: float = 0.9,
                    share: CoverageShare | None = None) -> dict[str, TargetCoverage]:
    """Each scripted intrusion's coverage: covered or not, and when first covered
    (``share``: what runs of this scenario run at other thresholds computed already)."""
    share = share or CoverageShare.of(scenario)
    env, terrain = share.env, share.terrain
    out = {}
    for t in truth.targets:
        if not (t.scripted and target_class(t.kind) in thresholds.alert_classes):
            continue
        times, pd = pd_along_path(scenario, t, thresholds, env=env, terrain=terrain,
                                  unfloored=share.unfloored)
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
