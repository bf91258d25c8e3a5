"""Where the towers see: each imager's reach, learned from the tracks it detects, and the
site's hidden ground (forest and built-up zones).

Fusion knows neither the weather nor a coverage model, so it learns what the towers see from
what they do: the ranges at which each tower's imager detected confirmed tracks, over the last
``window`` such detections, for small objects (people, groups, animals) and vehicles apart.
The *reach* is a middle quantile of those ranges (``quantile``), not the farthest: beyond it an
object is seen only now and then, and may move a long way unseen. A point is **in view** when
it lies outside the hidden zones and within reach of at least ``min_towers`` imagers.
:meth:`Reach.behind` walks back from a point along a heading: how far the view goes (a track's
movement there would have been seen), then how far the ground out of view goes until the view
resumes (where an object that entered view may have come from). :meth:`Reach.to_edge` walks
back along several headings at once to where the site's watch zones end: the ground an object
that entered view may have come from, however long it went untracked in view.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from perimeter.fusion.track import Track
from perimeter.site import Site

FloatArray = npt.NDArray[np.float64]
HIDING_ZONES = ("forest", "built")


@dataclass(frozen=True, slots=True)
class ReachConfig:
    default_reach_m: float = 1500.0
    """Reach assumed before a tower has seen ``min_samples`` detections of the size group."""
    window: int = 400
    min_samples: int = 40
    quantile: float = 0.25
    min_towers: int = 2
    step_m: float = 25.0
    max_back_m: float = 8000.0


def size_group(label: str) -> str:
    """``vehicle`` or ``small`` (everything a person's size or less)."""
    return "vehicle" if label == "vehicle" else "small"


class Reach:
    """Learned imager reach per tower and size group, and the site's hidden zones."""

    def __init__(self, site: Site, config: ReachConfig | None = None) -> None:
        self.config = config or ReachConfig()
        self.towers_xy = np.array([t.xy for t in site.towers], dtype=np.float64)
        self._zones = [z.polygon for z in site.terrain if z.kind in HIDING_ZONES]
        self._watch = [z.polygon for z in site.watch_zones]
        self._ranges: dict[tuple[int, str], deque[float]] = {}
        self._reach: dict[str, FloatArray] = {}
        self._seen_t_s: dict[int, float] = {}

    def learn(self, tracks: list[Track], t_s: float) -> None:
        """Add the ranges of the thermal detections of confirmed tracks since the last call
        (run at housekeeping cadence)."""
        c = self.config
        for track in tracks:
            if track.score.status != "confirmed" or track.home_tower is not None:
                continue
            since = self._seen_t_s.get(track.number, -math.inf)
            group = size_group(track.evidence.label)
            for (tower, sensor), seen in track.evidence.last_seen_by.items():
                if sensor != "thermal" or seen <= since:
                    continue
                rng = float(np.hypot(*(track.state.x[:2] - self.towers_xy[tower])))
                self._ranges.setdefault((tower, group), deque(maxlen=c.window)).append(rng)
            self._seen_t_s[track.number] = t_s
        live = {t.number for t in tracks}
        for number in [n for n in self._seen_t_s if n not in live]:
            del self._seen_t_s[number]
        self._reach.clear()

    def reach_m(self, group: str) -> FloatArray:
        """Each tower's reach for a size group (metres)."""
        cached = self._reach.get(group)
        if cached is not None:
            return cached
        c = self.config
        pooled = [r for (_, g), ranges in self._ranges.items() if g == group for r in ranges]
        fallback = (float(np.quantile(pooled, c.quantile)) if len(pooled) >= c.min_samples
                    else c.default_reach_m)  # the other towers' when a tower has too few
        out = np.full(len(self.towers_xy), fallback)
        for i in range(len(out)):
            ranges = self._ranges.get((i, group))
            if ranges is not None and len(ranges) >= c.min_samples:
                out[i] = float(np.quantile(np.fromiter(ranges, float), c.quantile))
        self._reach[group] = out
        return out

    def learned(self, group: str) -> bool:
        """The towers' reach for the size group is learned (not ``default_reach_m``): the
        towers together have ``min_samples`` of it, as :meth:`reach_m` pools them (a tower
        with too few takes the others')."""
        return sum(len(r) for (_, g), r in self._ranges.items()
                   if g == group) >= self.config.min_samples

    def hidden(self, xy: FloatArray) -> npt.NDArray[np.bool_]:
        """Which of the points ``(n, 2)`` lie in a forest or built-up zone (imagers do not
        see into them)."""
        return _inside_any(xy, self._zones)

    def watched(self, xy: FloatArray) -> npt.NDArray[np.bool_]:
        """Which of the points lie in the site's watch zones (everywhere when it has none)."""
        return _inside_any(xy, self._watch) if self._watch else np.ones(len(xy), dtype=bool)

    def in_view(self, xy: FloatArray, group: str) -> npt.NDArray[np.bool_]:
        """Which of the points ``(n, 2)`` are in view: not hidden, and within reach of
        ``min_towers`` imagers."""
        d = np.hypot(xy[:, None, 0] - self.towers_xy[None, :, 0],
                     xy[:, None, 1] - self.towers_xy[None, :, 1])
        near = np.count_nonzero(d <= self.reach_m(group)[None, :], axis=1)
        return np.asarray((near >= self.config.min_towers) & ~self.hidden(xy), dtype=bool)

    def behind(self, xy: FloatArray, heading_xy: FloatArray, group: str
               ) -> tuple[float, float | None]:
        """Walking back from ``xy`` along the unit vector ``heading_xy``: how far the view
        goes on without a break, then how far the ground out of view goes on until the view
        resumes or the site's watch zones end (``None`` when neither happens within
        ``max_back_m``)."""
        c = self.config
        steps = np.arange(0.0, c.max_back_m + c.step_m, c.step_m)
        points = xy[None, :] + steps[:, None] * heading_xy[None, :]
        seen = self.in_view(points, group)
        breaks = np.flatnonzero(~seen)
        if breaks.size == 0:
            return c.max_back_m, 0.0
        first = int(breaks[0])
        ends = np.flatnonzero(seen[first:] | ~self.watched(points[first:]))
        if ends.size == 0:
            return float(steps[first]), None
        return float(steps[first]), float(steps[first + ends[0]] - steps[first])

    def to_edge(self, xy: FloatArray, headings_xy: FloatArray) -> FloatArray:
        """Walking back from ``xy`` along each unit vector of ``headings_xy`` ``(k, 2)``: how
        far until the ray leaves the site's watch zones, having been in one (``nan`` when it
        never enters one within ``max_back_m``, or the site has no watch zones)."""
        c = self.config
        if not self._watch:
            return np.full(len(headings_xy), np.nan)
        steps = np.arange(0.0, c.max_back_m + c.step_m, c.step_m)
        points = xy[None, None, :] + steps[None, :, None] * headings_xy[:, None, :]
        inside = self.watched(points.reshape(-1, 2)).reshape(len(headings_xy), len(steps))
        left = np.maximum.accumulate(inside, axis=1) & ~inside
        out = np.full(len(headings_xy), np.nan)
        for k in range(len(headings_xy)):
            hits = np.flatnonzero(left[k])
            if hits.size:
                out[k] = steps[hits[0]]
            elif inside[k, -1]:
                out[k] = c.max_back_m
        return out


def _inside_any(xy: FloatArray, polygons: list[list[tuple[float, float]]]
                ) -> npt.NDArray[np.bool_]:
    """Which of the points ``(n, 2)`` lie in any of the polygons (even-odd ray casting)."""
    out = np.zeros(len(xy), dtype=bool)
    x, y = xy[:, 0:1], xy[:, 1:2]
    for polygon in polygons:
        a = np.asarray(polygon, dtype=np.float64)
        b = np.roll(a, -1, axis=0)
        crosses = (a[:, 1] > y) != (b[:, 1] > y)
        dy = np.where(b[:, 1] == a[:, 1], 1.0, b[:, 1] - a[:, 1])
        at_x = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / dy
        out ^= (np.count_nonzero(crosses & (x < at_x), axis=1) % 2).astype(bool)
    return out
