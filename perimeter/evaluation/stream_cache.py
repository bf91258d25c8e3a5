"""A disk cache of simulated runs for the evaluation: what the towers published and the truth.

An analyst comparing fusion settings or fusion code on the same scenarios re-simulates the same
world each time; the world does not depend on fusion, so its run can be kept. An entry is keyed
by the scenario *as run* (its whole model after seed, perturbation and duration are applied)
and by a digest of the simulation's own source (``sim/`` and the core modules it imports), so a
change to the world makes new entries rather than serving stale ones. Entries are pickles
written atomically (a temporary file renamed), so processes may share one directory.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import perimeter
import sim
from perimeter.bus import Message
from sim.scenario import Scenario
from sim.truth import Truth

__all__ = ["CACHE_ENV", "SimulatedRun", "StreamCache", "source_digest"]

CACHE_ENV = "PERIMETER_EVAL_CACHE"
"""Environment variable naming the cache directory (``perimeter eval --cache-dir``)."""

_FORMAT = 1


@dataclass(frozen=True, slots=True)
class SimulatedRun:
    """One run of the world: the messages in publishing order and the ground truth."""

    messages: list[Message]
    truth: Truth


@cache
def source_digest() -> str:
    """SHA-256 over the simulation's sources: every file of ``sim/`` and the core's top-level
    modules (contract, site, terrain, geometry, ...), which the world imports."""
    sim_root, core_root = Path(sim.__file__).parent, Path(perimeter.__file__).parent
    files = sorted(p for p in sim_root.rglob("*") if p.suffix in {".py", ".yaml", ".yml"})
    files += sorted(core_root.glob("*.py"))
    digest = hashlib.sha256(str(_FORMAT).encode())
    for path in files:
        root = sim_root if path.is_relative_to(sim_root) else core_root
        digest.update(path.relative_to(root.parent).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class StreamCache:
    """Simulated runs on disk under ``directory``, keyed by scenario and simulation source."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def key(self, scenario: Scenario) -> str:
        """The entry's name: the scenario as run, its site and the simulation's source."""
        digest = hashlib.sha256(source_digest().encode())
        digest.update(scenario.model_dump_json().encode())
        # the scenario names its site by a path: the site's content, wherever it lies
        digest.update(scenario.site_model.model_dump_json().encode())
        return digest.hexdigest()[:32]

    def load(self, scenario: Scenario) -> SimulatedRun | None:
        """The cached run of ``scenario``, or None (absent, or unreadable: it is re-made)."""
        path = self.directory / f"{self.key(scenario)}.pickle"
        try:
            with path.open("rb") as f:
                run = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None
        return run if isinstance(run, SimulatedRun) else None

    def store(self, scenario: Scenario, run: SimulatedRun) -> None:
        """Write the entry atomically: a reader sees the whole file or none."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(run, f, protocol=pickle.HIGHEST_PROTOCOL)
            Path(tmp).replace(self.directory / f"{self.key(scenario)}.pickle")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
