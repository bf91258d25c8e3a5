"""Initiate: new tracks from bearing intersections of detections no track explains.

Unexplained detections wait in a pool for ``window_s``. A new one is intersected with every
pooled bearing of another tower; each valid crossing (in front of both towers, within range,
a sensible crossing angle) is scored by how many further towers' pooled bearings pass through
it (chi-square gate), and the best crossing seeds a track from the least-squares fit of all its
supporting bearings. Repeated bearings from one tower that no other tower confirms seed a
single-tower track, ranged by its elevation angles on the site's terrain where the geometry
allows (:mod:`.ranging`), else with a weak range prior.

With ``revisit.enabled`` (:mod:`.revisit_seed`) the pool holds scanning imagers' last revisits
and a bearing no crossing above seeds is fitted with the pooled imager bearings as one moving
target (two towers' repeated looks suffice); the searches above still see only the last
``window_s``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

from perimeter import geometry
from perimeter.fusion import crossing_kernels
from perimeter.fusion.ranging import Ranger
from perimeter.fusion.revisit_seed import Pool, RevisitConfig, RevisitSearch
from perimeter.fusion.scan import Scan

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class InitiatorConfig:
    window_s: float = 3.0
    min_range_m: float = 100.0
    max_range_m: float = 8_000.0
    min_crossing_deg: float = 2.0
    gate_d2: float = 9.0
    min_towers: int = 3
    min_detections: int = 4
    min_pair_detections: int = 5
    velocity_sigma_mps: float = 5.0
    single_min_hits: int = 3
    single_range_m: float = 3500.0
    single_range_sigma_m: float = 2000.0
    fix_min_towers: int = 3
    """Towers a crossing needs when fewer than two thermal imagers support it (acoustic
    bearings); their bearings must then pass a chi-square test against the fitted point."""
    fix_gate_probability: float = 0.99
    acoustic_lag_mps: float = 6.0
    """A sound's bearing points to where the source was ``r / c`` earlier: an object moving
    at ``v`` shifts it by up to ``v / c`` radians. Pooled acoustic bearings add this angle
    (at this speed) to their sigma, as towers at different ranges hear different instants."""
    sound_speed_mps: float = 337.0
    seed_check_sigma_deg: float = 0.0
    """With more than 0, every seed's bearings (not only those fixed by fewer than two
    imagers) must pass the chi-square test against its least-squares point
    (:meth:`Initiator._consistent`), each bearing's sigma widened by this floor and its
    tower's bias uncertainty (:attr:`Initiator.bias_sigma_rad`). The crossing search gates
    support on the crossing's own covariance, which a wide acoustic bearing makes hundreds
    of metres long: on ``weather-turns`` a clutter bearing, an acoustic one and two dogs'
    thermal bearings (0.03 deg) seeded a point 174 m off the dogs, their bearings 1.1-1.5 deg
    from it, and that track, converging at 5-8 m/s, was alerted as a vehicle. 0.3 deg: the
    thermal bearings' real scatter (4-6 times their 0.03-0.05 deg sigma, "Track NEES") and
    registration's residual bias (0.27 deg rms on animals-only). 0 (default): as before."""
    revisit: RevisitConfig = field(default_factory=RevisitConfig)
    """The revisit-spanning search of scanning imagers' bearings (off unless enabled)."""


@dataclass(slots=True)
class Seed:
    """A new track's initial state and the detections that made it."""

    t_s: float
    first_t_s: float
    x: FloatArray
    p: FloatArray
    towers: list[int]
    sensors: list[str]
    home_tower: int | None = None
    detections: list[tuple[Scan, int]] = field(default_factory=list)


class Initiator:
    """A pool of unexplained detections and the intersection search over it."""

    def __init__(self, config: InitiatorConfig) -> None:
        self.config = config
        self._t = np.zeros(0)
        self._tower = np.zeros(0, dtype=np.int64)
        self._xy = np.zeros((0, 2))
        self._b = np.zeros(0)
        self._sig = np.zeros(0)
        self._thermal = np.zeros(0, dtype=bool)
        self._room: tuple[npt.NDArray[Any], ...] = (
            self._t, self._tower, self._xy, self._b, self._sig, self._thermal)
        """The columns' storage with spare rows (:meth:`_add`); the columns are its heads."""
        self._refs: list[tuple[Scan, int]] = []
        self._oldest_s = math.inf
        """The earliest time in the pool (inf when empty): most scans prune nothing."""
        self.ranger: Ranger | None = None
        """Ranges a single tower's bearings on the site's terrain (set when it has a DEM)."""
        self.ranged = 0
        """Single-tower seeds ranged that way."""
        self._min_counts = np.array([config.min_towers, config.min_detections,
                                     config.min_pair_detections, config.fix_min_towers])
        self.revisit = RevisitSearch(config.revisit, config.min_range_m, config.max_range_m,
                                     config.min_crossing_deg)
        self._window_s = (max(config.window_s, self.revisit.window_s) if config.revisit.enabled
                          else config.window_s)
        self.bias_sigma_rad: Callable[[int], float] | None = None
        """A tower's azimuth-bias uncertainty its bearings' sigma does not carry (set by the
        runner from registration); none when unset."""
        self.revisit_source: Callable[[], float] | None = None
        """The towers' longest learned revisit (0 until learned; set by the engine)."""

    def __len__(self) -> int:
        return len(self._refs)

    def _prune(self, t_s: float) -> None:
        cutoff = t_s - self._window_s
        if self._oldest_s >= cutoff:
            return
        self._take(self._t >= cutoff)

    def _take(self, keep: npt.NDArray[np.bool_]) -> None:
        self._t, self._tower, self._xy = self._t[keep], self._tower[keep], self._xy[keep]
        self._b, self._sig, self._thermal = self._b[keep], self._sig[keep], self._thermal[keep]
        self._room = (self._t, self._tower, self._xy, self._b, self._sig, self._thermal)
        self._refs = [r for r, k in zip(self._refs, keep.tolist(), strict=True) if k]
        self._oldest_s = float(self._t.min()) if self._t.size else math.inf

    def _add(self, scan: Scan, i: int) -> None:
        """Append a detection to the pool's columns: written into their spare rows (the
        columns are views of :attr:`_room`, doubled when full), not copied per detection."""
        n = len(self._refs)
        if n == self._room[0].shape[0]:
            self._room = tuple(np.concatenate([col[:n], np.zeros((max(n, 8), *col.shape[1:]),
                                                                  dtype=col.dtype)])
                               for col in self._room)
        t, tower, xy, b, sig, thermal = self._room
        t[n], tower[n], xy[n] = scan.t_s, scan.tower_index, scan.tower_xy
        b[n], sig[n], thermal[n] = scan.bearing_rad[i], self._sigma(scan, i), \
            scan.sensor == "thermal"
        n += 1
        self._t, self._tower, self._xy = t[:n], tower[:n], xy[:n]
        self._b, self._sig, self._thermal = b[:n], sig[:n], thermal[:n]
        self._refs.append((scan, i))
        self._oldest_s = min(self._oldest_s, scan.t_s)

    def _sigma(self, scan: Scan, i: int) -> float:
        """A detection's bearing sigma, acoustic ones widened by the travel-time lag."""
        sigma = float(scan.sigma_rad[i])
        if scan.sensor == "thermal":
            return sigma
        return math.hypot(sigma, self.config.acoustic_lag_mps / self.config.sound_speed_mps)

    def offer(self, scan: Scan, indices: npt.NDArray[np.int64]) -> list[Seed]:
        """Try to start tracks from the unexplained detections ``indices`` of ``scan``."""
        if self.config.revisit.enabled and self.revisit_source is not None:
            learned = self.revisit_source()
            if learned > 0.0 and learned != self.revisit.revisit_s:
                self.revisit.revisit_s = learned
                self._window_s = max(self.config.window_s, self.revisit.window_s)
        self._prune(scan.t_s)
        seeds = []
        for i in indices.tolist():
            seed = self._pair(scan, i) or self._revisit(scan, i) or self._single(scan, i)
            if seed is None:
                self._add(scan, i)
            else:
                seeds.append(seed)
        return seeds

    def _recent(self, t_s: float) -> npt.NDArray[np.int64] | None:
        """The pool rows of the last ``window_s`` when the pool holds more (None: all)."""
        if not self.config.revisit.enabled:
            return None
        return np.flatnonzero(self._t >= t_s - self.config.window_s)

    def _pair(self, scan: Scan, i: int) -> Seed | None:
        cfg = self.config
        rows = self._recent(scan.t_s)
        pool = (self._xy, self._b, self._sig, self._tower, self._thermal)
        if rows is not None:
            pool = (self._xy[rows], self._b[rows], self._sig[rows], self._tower[rows],
                    self._thermal[rows])
        other = pool[3] != scan.tower_index
        if not other.any():
            return None
        b0, s0 = float(scan.bearing_rad[i]), self._sigma(scan, i)
        found = crossing_kernels.crossing_search(
            float(scan.tower_xy[0]), float(scan.tower_xy[1]), b0, s0**2, scan.tower_index,
            scan.sensor == "thermal", pool,
            other, (cfg.min_range_m, cfg.max_range_m, math.radians(cfg.min_crossing_deg),
                    cfg.gate_d2), self._min_counts)
        if found is None:
            return None
        k, d2, ok, pts = found
        support = np.flatnonzero(ok[k])
        d2k = d2[k]
        if rows is not None:
            support = rows[support]
            d2k = np.full(len(self._refs), np.inf)
            d2k[rows] = d2[k]
        members = self._best_per_tower(support, d2k)
        return self._seed(scan, i, members, support, pts[k])

    def _revisit(self, scan: Scan, i: int) -> Seed | None:
        """A seed from the imager bearings of the last revisits (:mod:`.revisit_seed`)."""
        if not self.config.revisit.enabled or scan.sensor != "thermal":
            return None
        rows = np.flatnonzero(self._thermal & (self._t <= scan.t_s))
        if not (self._tower[rows] != scan.tower_index).any():
            return None
        towers = np.append(self._tower[rows], scan.tower_index)
        bias = self.bias_sigma_rad
        by_tower = {k: 0.0 if bias is None else bias(k) for k in set(towers.tolist())}
        pool = Pool(np.append(self._t[rows], scan.t_s), towers,
                    np.vstack([self._xy[rows], scan.tower_xy[None, :]]),
                    np.append(self._b[rows], scan.bearing_rad[i]),
                    np.append(self._sig[rows], scan.sigma_rad[i]),
                    np.array([by_tower[k] for k in towers.tolist()]))
        fit = self.revisit.search(pool, rows.size)
        if fit is None:
            return None
        members = [int(rows[j]) for j in fit.members.tolist() if j < rows.size]
        refs = [(scan, i)] + [self._refs[j] for j in members]
        p = fit.p * self.config.revisit.seed_inflation
        seed = Seed(scan.t_s, float(pool.t_s[fit.members].min()), fit.x.copy(), p,
                    sorted({scan.tower_index, *(int(self._tower[j]) for j in members)}),
                    ["thermal"], None, refs)
        keep = np.ones(len(self._refs), dtype=bool)
        keep[members] = False
        self._take(keep)
        return seed

    def _best_per_tower(self, idx: npt.NDArray[np.int64], d2: FloatArray) -> list[int]:
        chosen: dict[int, int] = {}
        for j in (int(v) for v in idx):
            t = int(self._tower[j])
            if t not in chosen or d2[j] < d2[chosen[t]]:
                chosen[t] = j
        return list(chosen.values())

    def _seed(self, scan: Scan, i: int, members: list[int], support: npt.NDArray[np.int64],
              start: FloatArray) -> Seed | None:
        cfg = self.config
        towers_xy = np.vstack([scan.tower_xy[None, :], self._xy[members]])
        bearings = np.concatenate([[scan.bearing_rad[i]], self._b[members]])
        sigmas = np.concatenate([[self._sigma(scan, i)], self._sig[members]])
        xy, cov = geometry.triangulate(towers_xy, bearings, sigmas, start)
        if not (np.all(np.isfinite(xy)) and np.all(np.isfinite(cov))
                and 0.0 < np.trace(cov) < cfg.max_range_m**2):
            return None
        thermal = {int(t) for t in self._tower[members][self._thermal[members]]}
        if scan.sensor == "thermal":
            thermal.add(scan.tower_index)
        if len(thermal) < 2 and not self._consistent(towers_xy, bearings, sigmas, xy):
            return None
        if cfg.seed_check_sigma_deg > 0.0 and not self._consistent(
                towers_xy, bearings, self._checked_sigmas(scan, members, sigmas), xy):
            return None
        first_t = float(min(self._t[members].min(), scan.t_s))
        span = scan.t_s - first_t
        p = np.zeros((4, 4))
        p[:2, :2] = cov * 2.0 + np.eye(2) * (cfg.velocity_sigma_mps * span) ** 2
        p[2, 2] = p[3, 3] = cfg.velocity_sigma_mps**2
        refs = [(scan, i)] + [self._refs[j] for j in members]
        seed = Seed(scan.t_s, first_t, np.array([xy[0], xy[1], 0.0, 0.0]), p,
                    [scan.tower_index, *(int(self._tower[j]) for j in members)],
                    sorted({r[0].sensor for r in refs}), None, refs)
        keep = np.ones(len(self._refs), dtype=bool)
        keep[support] = False
        self._take(keep)
        return seed

    def _checked_sigmas(self, scan: Scan, members: list[int], sigmas: FloatArray) -> FloatArray:
        """A seed's bearing sigmas for the seed check: widened by ``seed_check_sigma_deg``
        and each tower's bias uncertainty (new bearing first, as ``sigmas``)."""
        towers = [scan.tower_index, *(int(self._tower[j]) for j in members)]
        bias = self.bias_sigma_rad
        extra = np.array([0.0 if bias is None else bias(k) for k in towers])
        floor = math.radians(self.config.seed_check_sigma_deg)
        widened: FloatArray = np.sqrt(sigmas**2 + extra**2 + floor**2)
        return widened

    def _consistent(self, towers_xy: FloatArray, bearings: FloatArray, sigmas: FloatArray,
                    xy: FloatArray) -> bool:
        """Chi-square test of all bearings against their least-squares point (``n - 2`` dof):
        lines of sight of different objects (a ghost crossing) leave large residuals. Needed
        when fewer than two imagers fix the point, since acoustic gates are wide. The point
        must also lie in front of every tower within range."""
        n = bearings.shape[0]
        if n < 3:
            return False
        d = xy[None, :] - towers_xy
        r = np.hypot(d[:, 0], d[:, 1])
        if not (bool(np.all(r > self.config.min_range_m))
                and bool(np.all(r < self.config.max_range_m))):
            return False
        res = geometry.wrap_pi(bearings - geometry.bearing_rad(towers_xy, xy))
        return float(np.sum((res / sigmas) ** 2)) <= float(
            chi2.ppf(self.config.fix_gate_probability, n - 2))

    def _single(self, scan: Scan, i: int) -> Seed | None:
        cfg = self.config
        if scan.sensor != "thermal":
            return None
        b0, s0 = float(scan.bearing_rad[i]), float(scan.sigma_rad[i])
        same = (self._tower == scan.tower_index) & self._thermal
        if cfg.revisit.enabled:
            same &= self._t >= scan.t_s - cfg.window_s
        res = geometry.wrap_pi(self._b - b0)
        near = same & (res * res <= cfg.gate_d2 * (self._sig**2 + s0**2))
        if int(near.sum()) + 1 < cfg.single_min_hits:
            return None
        idx = np.flatnonzero(near)
        first_t = float(self._t[idx].min())
        refs = [(scan, i)] + [self._refs[j] for j in idx]
        r, r_sigma = self._range(scan.tower_index, b0, refs)
        u = geometry.unit(b0)
        xy = scan.tower_xy + r * u
        along = np.outer(u, u) * r_sigma**2
        cross_u = np.array([u[1], -u[0]])
        across = np.outer(cross_u, cross_u) * (r * s0) ** 2
        p = np.zeros((4, 4))
        p[:2, :2] = along + across
        p[2, 2] = p[3, 3] = cfg.velocity_sigma_mps**2
        keep = ~near
        self._take(keep)
        return Seed(scan.t_s, first_t, np.array([xy[0], xy[1], 0.0, 0.0]), p,
                    [scan.tower_index], ["thermal"], scan.tower_index, refs)


    def _range(self, tower: int, bearing_rad: float, refs: list[tuple[Scan, int]]
               ) -> tuple[float, float]:
        """A single tower's range guess: its elevation angles (median) cast onto the site's
        terrain (:mod:`.ranging`) where the geometry allows, else the weak prior."""
        cfg = self.config
        if self.ranger is not None:
            elevations = [float(s.elevation_rad[j]) for s, j in refs
                          if s.elevation_rad is not None]
            elevations = [e for e in elevations if not math.isnan(e)]
            if elevations:
                fix = self.ranger.fix(tower, bearing_rad, statistics.median(elevations))
                if fix is not None:
                    self.ranged += 1
                    return fix.range_m, fix.sigma_m
        return cfg.single_range_m, cfg.single_range_sigma_m
