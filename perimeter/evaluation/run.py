"""``perimeter eval``: simulate scenarios, fuse their streams with the live fusion code, score.

Each scenario runs as fast as possible into a memory uplink; the messages are fed in order to
the same :class:`~perimeter.fusion.runner.FusionRunner` the fusion service uses, and its alerts
and track snapshots are scored against the simulation's ground truth.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perimeter.bus import Message
from perimeter.contract import AlertEvent, DeadLetter, TracksSnapshot
from perimeter.evaluation.covered import target_coverage
from perimeter.evaluation.report import RunReport
from perimeter.evaluation.score_run import EvalOptions, score_run
from perimeter.evaluation.stream_cache import CACHE_ENV, SimulatedRun, StreamCache
from perimeter.fusion.runner import FusionRunner
from perimeter.site import Site
from perimeter.thresholds import Thresholds
from sim.scenario import Scenario, load_scenario, with_perturb
from sim.uplink import MemoryUplink
from sim.world import World

__all__ = ["Collector", "EvalOptions", "evaluate", "fuse", "run_scenario", "simulate"]


@dataclass(slots=True)
class Collector:
    """A fusion output that keeps everything for scoring."""

    alerts: list[AlertEvent] = field(default_factory=list)
    snapshots: list[TracksSnapshot] = field(default_factory=list)
    rejects: list[DeadLetter] = field(default_factory=list)

    def alert(self, event: AlertEvent) -> None:
        self.alerts.append(event)

    def tracks(self, snapshot: TracksSnapshot) -> None:
        self.snapshots.append(snapshot)

    def reject(self, letter: DeadLetter) -> None:
        self.rejects.append(letter)


def fuse(site: Site, thresholds: Thresholds, messages: Iterable[Message],
         options: Mapping[str, Any] | None = None) -> Collector:
    """Everything fusion makes of a recorded stream, fed in order to the live fusion code;
    ``options`` are the runner's keyword settings (``engine_config``, ``alert_config``, ...)."""
    output = Collector()
    runner = FusionRunner(site, thresholds, output, **(options or {}))
    for message in messages:
        runner.feed(message)
    runner.finish()
    return output


SEED_STEP = 1000
"""``--seeds N`` runs a scenario at its own seed and at seed + 1000, + 2000, ..."""


def run_scenario(scenario_ref: str, thresholds: Thresholds | None = None,
                 options: EvalOptions | None = None, *, seed: int | None = None,
                 perturb: float | None = None, duration_s: float | None = None,
                 cache_dir: Path | None = None) -> RunReport:
    """Simulate, fuse and score one scenario (a built-in name or a YAML path), at its own seed
    or at ``seed``, its true parameters drawn with the scenario's spreads or ``perturb``
    times the documented ones; ``duration_s`` shortens or lengthens the run. With
    ``cache_dir`` (default: ``$PERIMETER_EVAL_CACHE``) the simulated run is kept on disk and
    reused while the scenario and the simulation's source are unchanged."""
    started = time.perf_counter()
    scenario = load_scenario(scenario_ref, duration_s=duration_s)
    if seed is not None:
        scenario = scenario.model_copy(update={"seed": seed})
    if perturb is not None:
        scenario = with_perturb(scenario, perturb)
    site = scenario.site_model
    world = simulate(scenario, cache_dir)
    in_force = thresholds or Thresholds()
    output = fuse(site, in_force, world.messages)
    return score_run(world.truth, site, output.alerts, output.snapshots, world.messages,
                     in_force, options, rejected_messages=len(output.rejects),
                     run_time_s=time.perf_counter() - started,
                     covered=target_coverage(scenario, world.truth, in_force))


def simulate(scenario: Scenario, cache_dir: Path | None = None) -> SimulatedRun:
    """One run of the world as fast as it goes, from the cache where it holds it."""
    directory = cache_dir or (Path(os.environ[CACHE_ENV]) if os.environ.get(CACHE_ENV) else None)
    cache = StreamCache(directory) if directory is not None else None
    if cache is not None and (cached := cache.load(scenario)) is not None:
        return cached
    uplink = MemoryUplink()
    truth = World(scenario, uplink).run(speed=None)
    run = SimulatedRun(uplink.messages, truth)
    if cache is not None:
        cache.store(scenario, run)
    return run


def evaluate(scenario_refs: Sequence[str], thresholds: Thresholds | None = None,
             options: EvalOptions | None = None, *, workers: int = 1,
             seeds: int = 1, perturb: float | None = None,
             duration_s: float | None = None, cache_dir: Path | None = None) -> list[RunReport]:
    """One report per scenario and seed, in the order given; ``workers > 1`` runs them in
    processes. ``seeds > 1`` adds runs at the scenario's seed + 1000, + 2000, ...

    Each run is seeded by its scenario, so the reports do not depend on ``workers``.
    """
    if workers < 1:
        raise ValueError(f"workers: must be at least 1, got {workers}")
    if seeds < 1:
        raise ValueError(f"seeds: must be at least 1, got {seeds}")
    if perturb is not None and not 0.0 <= perturb <= 10.0:
        raise ValueError(f"perturb: must be between 0 and 10, got {perturb}")
    runs: list[tuple[str, int | None]] = []
    for ref in scenario_refs:
        first = load_scenario(ref).seed if seeds > 1 else None
        runs += [(ref, None if first is None else first + k * SEED_STEP) for k in range(seeds)]
    if workers == 1 or len(runs) < 2:
        return [run_scenario(ref, thresholds, options, seed=seed, perturb=perturb,
                             duration_s=duration_s, cache_dir=cache_dir) for ref, seed in runs]
    with ProcessPoolExecutor(max_workers=min(workers, len(runs))) as pool:
        futures = [pool.submit(run_scenario, ref, thresholds, options, seed=seed,
                               perturb=perturb, duration_s=duration_s, cache_dir=cache_dir)
                   for ref, seed in runs]
        return [f.result() for f in futures]
