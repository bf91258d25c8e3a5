"""Late bearings no track holds, taught to the clutter map only once they have dwelt in their cell.

With ``ManageConfig.late_clutter`` a late detection no track took teaches the clutter map at
once; most of what a slow walker teaches the map are such bearings, before any track holds it
(docs/fusion.md "The late path's evidence"). With ``ManageConfig.late_clutter_dwell`` they are
kept per cell (tower sensor, the map's azimuth cell) instead, and taught, each faded by its age
(:meth:`.ClutterMap.learn_past`), only once the cell's run of such detections has lasted longer
than a walker stays there (:func:`walker_dwell_s`): a hot spot or wind-moved vegetation
recurs at one bearing for hours, a walker a few km out crosses the cell in tens of seconds. A
run ends when its cell stays silent for a dwell; its detections then are never taught. See
docs/fusion.md "The late path's evidence" ("Taught once it has dwelt").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from perimeter.fusion.clutter import ClutterMap, ClutterMapConfig
from perimeter.fusion.priors import PERSON_WALK_MPS
from perimeter.fusion.triangulate import InitiatorConfig

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

CROSSING_DEG = 30.0
"""The smallest angle between a walker's heading and a tower's line of sight for which the
dwell is sized (assumed: headings within 30 degrees of the line of sight, a sixth of all if
uniform, stay in one bearing cell for minutes whatever the threshold; their bearings are the
tracks' to hold)."""


def walker_dwell_s(clutter: ClutterMapConfig | None = None,
                   initiator: InitiatorConfig | None = None) -> float:
    """How long a walker's bearing stays in one window of the clutter map, at most, for the
    walkers the gate is sized for: the window (``2 window_cells + 1`` cells: a bearing's
    own cell and the neighbours its sway and noise reach, the span over which the density
    is read) times the range, over the walker's speed across the line of sight. The range is
    the single-tower range prior plus one sigma (3.5 + 2 km), the speed the slow end of a
    walk (:data:`.priors.PERSON_WALK_MPS`, 1.1 m/s) at :data:`CROSSING_DEG` to the line of
    sight: 0.3 deg x 5.5 km / (1.1 m/s x 0.5) = 52 s."""
    clutter = clutter or ClutterMapConfig()
    initiator = initiator or InitiatorConfig()
    window_rad = math.radians((2 * clutter.window_cells + 1) * clutter.cell_deg)
    range_m = initiator.single_range_m + initiator.single_range_sigma_m
    across_mps = PERSON_WALK_MPS.lo * math.sin(math.radians(CROSSING_DEG))
    return window_rad * range_m / across_mps


@dataclass(slots=True)
class _Run:
    """One cell's run of late detections no track took: its first and last times and,
    until it has dwelt, the detections waiting (bearing, time)."""

    start_s: float
    last_s: float
    waiting: list[tuple[float, float]]
    dwelt: bool = False


class DwellGate:
    """Per tower sensor and azimuth cell, the run of late detections no track took."""

    def __init__(self, clutter_map: ClutterMap, dwell_s: float, window_cells: int = 0) -> None:
        self.clutter_map = clutter_map
        self.dwell_s = dwell_s
        """A run teaches once it spans this long; a silence this long ends it."""
        self.window_cells = window_cells
        """Cells either side whose live runs count with a cell's own: 0, the cell's run
        alone; the map's ``window_cells``, the runs over the density window the dwell is
        sized for (``ManageConfig.late_clutter_dwell_window``)."""
        self.runs: dict[tuple[int, str], dict[int, _Run]] = {}
        """Per tower sensor, its cells' runs."""
        self.released = 0
        """Detections taught late, once their run had dwelt."""
        self._pruned_s: dict[tuple[int, str], float] = {}

    def admit(self, key: tuple[int, str], bearings_rad: FloatArray, free: BoolArray,
              t_s: float) -> BoolArray:
        """Which of a late report's detections no track took (``free``) to teach now: those
        whose cell's run has dwelt. Earlier detections of a run that dwells with this report
        are taught here too, each faded by its age; the others wait."""
        teach = np.zeros(len(free), dtype=bool)
        if key[1] not in self.clutter_map.config.sensors:
            return teach
        runs = self.runs.setdefault(key, {})
        self._prune(key, runs, t_s)
        if not free.any():
            return teach
        cell_of, dwell = self.clutter_map.cell_of, self.dwell_s
        for d_idx in np.flatnonzero(free).tolist():
            bearing = float(bearings_rad[d_idx])
            cell = cell_of(bearing)
            run = runs.get(cell)
            if run is None or t_s - run.last_s > dwell:  # a new run
                run = runs[cell] = _Run(t_s, t_s, [])
            elif t_s < run.start_s - dwell:  # older than the run by a silence: not taught
                continue
            run.start_s, run.last_s = min(run.start_s, t_s), max(run.last_s, t_s)
            if run.dwelt:
                teach[d_idx] = True
            elif self._span_s(runs, cell, run, t_s) > dwell:
                teach[d_idx] = run.dwelt = True
                self._release(key, run.waiting, t_s)
                run.waiting = []
            else:
                run.waiting.append((bearing, t_s))
        return teach

    def _span_s(self, runs: dict[int, _Run], cell: int, run: _Run, t_s: float) -> float:
        """How long the run at ``cell`` has lasted: its own, or (``window_cells``) that of the
        live runs over its window taken together, first start to last detection."""
        if not self.window_cells:
            return run.last_s - run.start_s
        n, dwell = self.clutter_map.cells, self.dwell_s
        live = [r for j in range(cell - self.window_cells, cell + self.window_cells + 1)
                if (r := runs.get(j % n)) is not None and t_s - r.last_s <= dwell]
        return max(r.last_s for r in live) - min(r.start_s for r in live)

    def _release(self, key: tuple[int, str], waiting: list[tuple[float, float]],
                 t_s: float) -> None:
        for bearing, then_s in waiting:
            self.clutter_map.learn_past(key, bearing, then_s, t_s)
        self.released += len(waiting)

    def _prune(self, key: tuple[int, str], runs: dict[int, _Run], t_s: float) -> None:
        """Forget ``key``'s runs ended by a silence (at most once a dwell of its late data
        time: another tower's reports may lag more): their waiting detections are a
        passer-by's, never taught."""
        if t_s - self._pruned_s.get(key, -math.inf) < self.dwell_s:
            return
        self._pruned_s[key] = t_s
        for cell in [c for c, run in runs.items() if t_s - run.last_s > self.dwell_s]:
            del runs[cell]
