"""Seeds from a pool spanning scanning imagers' revisits: a time-aligned constant-velocity fit.

A scanning head looks at a point once per revisit (5.5 s on the site's heads, docs/sensors.md),
so two towers' looks at a target are seconds apart and the target moves between them (a walker
~8 m, a car ~60 m per revisit). Instead of widening older bearings' gates by the largest speed
(at 2 km, a car's 5.5 s is 1.7°, seventy reported sigmas: every ghost would pass), the pooled
imager bearings near a new bearing's crossings are fitted by one constant-velocity target at
the new bearing's time, each tower's azimuth bias a nuisance parameter with its current
uncertainty as prior (registration's, :meth:`.Registration.unapplied_sigma_rad`) and the
velocity with a zero-mean prior (``speed_sigma_mps``). The fit's chi-square over the bearings
(``n - 2`` degrees of freedom: four state parameters, every prior a pseudo-measurement) tests
that the looks agree with one moving object; a bias uncertain by a degree then cannot reject a
tower's bearings for their offset, only for their motion.

Two towers suffice when each contributed two looks about a revisit apart (``min_span_revisits``),
the lines of sight cross at ``pair_min_crossing_deg`` or more at the fitted point, and the pair
is unambiguous: the same two towers' pooled bearings do not fit another object through either
tower's looks. Several targets seen by two towers make ghosts (the crossings of one target's
line from one tower with another's from the other); a ghost is as smooth as a target, so
uniqueness, not smoothness, is the guard, and a third tower's looks settle the ambiguous ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

from perimeter import geometry
from perimeter.fusion import revisit_kernels

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class RevisitConfig:
    """The revisit-spanning search (``InitiatorConfig.revisit``)."""

    enabled: bool = False
    seed_inflation: float = 2.0
    """A seed's covariance is the fit's times this: the fit treats the pooled looks as one
    constant-velocity object exactly, which a turning or pausing target is not (assumed)."""
    revisit_s: float = 5.5
    """A scanning head's revisit until the engine has learned the towers' own
    (:meth:`.Looks.longest_learned_revisit_s`, learned whenever this search runs): the
    measured interval between one head's looks at a point (docs/sensors.md; the commonest
    interval between one tower's detections in a 0.2° cell was 5.50 s on all twelve towers of
    the scanning scenarios, docs/fusion.md "Where people are lost")."""
    pool_revisits: float = 2.0
    """The pool holds this many revisits (plus ``slack_s``): two looks of each tower, three
    for some."""
    slack_s: float = 0.5
    min_span_revisits: float = 0.9
    """Two of a seed's towers each looked at least this many revisits apart (one revisit
    less the frames' jitter)."""
    max_speed_mps: float = 20.0
    """Fastest target the gate allows for between looks (a vehicle off road, 72 km/h)."""
    speed_sigma_mps: float = 8.0
    """Prior sigma of each velocity component of a seed (a car crosses at 5-15 m/s, people
    at 1-2 m/s): it keeps a four-bearing fit from taking any speed."""
    pair_min_crossing_deg: float = 10.0
    """Smallest crossing angle of a two-tower seed's lines of sight at its fitted point."""
    gate_probability: float = 0.99
    """The chi-square test of a seed's bearings against its fit."""
    min_detections: int = 5
    """Bearings a seed needs: a moving target takes four to place (position, velocity), the
    fifth and later test it (four bearings of clutter fit some slow object often enough)."""
    min_checks: float = 0.9
    """Bearings beyond the parameters the data determine (:func:`cv_fit`) a seed needs: at
    least one test of its looks against one another that no unknown bias absorbs (0.9: the
    weak velocity prior determines a little)."""
    max_fits: int = 12
    """Fits tried per new bearing (the candidates with most support first)."""
    max_drops: int = 2
    """Bearings a fit may leave out, worst first, before its candidate is given up."""
    tracker_frame: bool = True
    """A seed's state and covariance are the fit of its bearings with no bias (the tracker's
    own measurement model, as the 3 s pool's seeds), the free-bias fit only testing them.
    False: the free-bias fit's, whose covariance with biases a degree uncertain placed cars
    at a sigma of 70-220 m, so wide a gate that a track gained little per hit (docs/fusion.md)."""
    max_refit_change_mps: float | None = None
    """With ``tracker_frame``: no seed when the no-bias fit's velocity differs from the
    free-bias fit's by more than this (unregistered biases, not motion, then set the speed: a
    deer's looks refitted at 17 m/s, docs/fusion.md); None: no such test (as measured)."""


@dataclass(frozen=True, slots=True)
class Pool:
    """The imager bearings a search may use (parallel arrays, the pool's order)."""

    t_s: FloatArray
    tower: IntArray
    xy: FloatArray
    b_rad: FloatArray
    sigma_rad: FloatArray
    bias_sigma_rad: FloatArray
    """Each bearing's tower's bias uncertainty not carried by its sigma."""


@dataclass(frozen=True, slots=True)
class Fit:
    """A seed: the pool rows it used, its state at the new bearing's time and covariance."""

    members: IntArray
    x: FloatArray
    p: FloatArray
    towers: int
    chi2: float


@lru_cache(maxsize=64)
def _gate(probability: float, dof: int) -> float:
    return float(chi2.ppf(probability, dof))


def cv_fit(t_s: FloatArray, xy: FloatArray, b_rad: FloatArray, sigma_rad: FloatArray,
           tower: IntArray, bias_sigma_rad: FloatArray, t0_s: float, start_xy: FloatArray,
           speed_sigma_mps: float, iterations: int = 8
           ) -> tuple[FloatArray, FloatArray, float, FloatArray, float] | None:
    """Gauss-Newton fit of one constant-velocity target (state at ``t0_s``) and one bias per
    tower (prior ``bias_sigma_rad`` of each bearing's tower) to bearings ``b_rad``; a zero-mean
    velocity prior ``speed_sigma_mps`` per axis (compiled: :mod:`.revisit_kernels`).

    Returns the state ``[x, y, vx, vy]``, its covariance (biases marginalised), the chi-square
    (bearings and priors), the normalised residuals and the *checks*: bearings less the
    parameters the data determine (``n - tr(H)``, ``H`` the bearings' hat matrix). A bias
    its prior leaves free absorbs its tower's offset: one look of such a tower tests nothing,
    and five towers' single looks fit any five bearings (zero checks). None when it
    diverges."""
    ok, x, p, total, norm, checks = revisit_kernels.cv_fit(
        _f64(t_s), _f64(xy), _f64(b_rad), _f64(sigma_rad), np.ascontiguousarray(tower,
                                                                              dtype=np.int64),
        _f64(bias_sigma_rad), float(t0_s), _f64(start_xy), float(speed_sigma_mps), iterations)
    return (x, p, total, norm, checks) if ok else None


def _f64(a: object) -> FloatArray:
    return np.ascontiguousarray(a, dtype=np.float64)


class RevisitSearch:
    """Seeds from a new imager bearing and the pooled ones of the last revisits."""

    def __init__(self, config: RevisitConfig, min_range_m: float, max_range_m: float,
                 min_crossing_deg: float) -> None:
        self.config = config
        self.min_range_m = min_range_m
        self.max_range_m = max_range_m
        self.min_crossing_rad = math.radians(min_crossing_deg)
        self.revisit_s = config.revisit_s
        """The revisit in force (the configured one until a learned one is given)."""
        self.ambiguous = 0
        """Two-tower seeds refused for another fit through the same looks (ghost guard)."""

    @property
    def window_s(self) -> float:
        return self.config.pool_revisits * self.revisit_s + self.config.slack_s

    def search(self, pool: Pool, new: int, exclude: BoolArray | None = None,
               unique: bool = True) -> Fit | None:
        """The best seed through pool row ``new`` (the newest bearing), or None. Rows in
        ``exclude`` take no part; ``unique`` applies the two-tower ghost guard."""
        cfg = self.config
        usable = np.ones(pool.t_s.size, dtype=bool) if exclude is None else ~exclude
        usable[new] = True
        cands = np.flatnonzero(usable & (pool.tower != pool.tower[new]))
        if cands.size == 0:
            return None
        pts, ok = self._crossings(pool, new, cands)
        cands, pts = cands[ok], pts[ok]
        if cands.size == 0:
            return None
        support = self._support(pool, new, pts, pool.t_s[new] - pool.t_s[cands], usable)
        fits: list[Fit] = []
        seen: set[bytes] = set()
        count = support.sum(axis=1)
        viable = (count >= cfg.min_detections) & self._twice(pool, support)
        order = np.argsort(-count, kind="stable")
        order = order[viable[order]]
        for k in order[:cfg.max_fits].tolist():
            rows = self._one_per_look(pool, new, np.flatnonzero(support[k]), pts[k])
            key = rows.tobytes()  # candidates near one another mostly choose the same looks
            if key in seen:
                continue
            seen.add(key)
            fit = self._fit(pool, new, rows, pts[k])
            if fit is not None:
                fits.append(fit)
        if not fits:
            return None
        best = max(fits, key=lambda f: (f.towers, f.members.size, -f.chi2))
        if not unique:
            return best
        if best.towers < 3 and self._ambiguous(pool, new, best, fits, usable):
            self.ambiguous += 1
            return None
        return self._tracker_frame(pool, new, best) if cfg.tracker_frame else best

    def _tracker_frame(self, pool: Pool, new: int, fit: Fit) -> Fit | None:
        """The seed as the tracker models its bearings (no bias): the same looks fitted with
        the biases held at zero, from the free-bias fit's state; None when that fit fails or
        is faster than any target (looks the tracker could not follow as one object)."""
        rows = fit.members
        got = cv_fit(pool.t_s[rows], pool.xy[rows], pool.b_rad[rows], pool.sigma_rad[rows],
                     pool.tower[rows], np.zeros(rows.size), float(pool.t_s[new]), fit.x[:2],
                     self.config.speed_sigma_mps)
        if got is None or math.hypot(got[0][2], got[0][3]) > self.config.max_speed_mps:
            return None
        change = self.config.max_refit_change_mps
        if change is not None and math.hypot(got[0][2] - fit.x[2], got[0][3] - fit.x[3]) > change:
            return None
        return Fit(rows, got[0], got[1], fit.towers, fit.chi2)

    def _crossings(self, pool: Pool, new: int, cands: IntArray) -> tuple[FloatArray, BoolArray]:
        b0 = pool.b_rad[new]
        pts, r0, r1 = geometry.intersect_pairs(pool.xy[new], np.full(cands.size, b0),
                                               pool.xy[cands], pool.b_rad[cands])
        angle = np.abs(geometry.wrap_pi(pool.b_rad[cands] - b0))
        angle = np.minimum(angle, math.pi - angle)
        with np.errstate(invalid="ignore"):
            ok = ((r0 > self.min_range_m) & (r1 > self.min_range_m) & (r0 < self.max_range_m)
                  & (r1 < self.max_range_m) & (angle >= self.min_crossing_rad))
        return np.asarray(pts, dtype=np.float64).reshape(-1, 2), ok

    def _support(self, pool: Pool, new: int, pts: FloatArray, cand_age_s: FloatArray,
                 usable: BoolArray) -> BoolArray:
        """Which pooled bearings pass near each crossing, allowing for the target's motion
        (``max_speed_mps`` times their age and the crossing bearing's age) and the towers'
        bias uncertainty: a wide first cut, the fit decides."""
        cfg = self.config
        age = pool.t_s[new] - pool.t_s
        d = pts[:, None, :] - pool.xy[None, :, :]
        r = np.maximum(np.hypot(d[..., 0], d[..., 1]), 1.0)
        res = geometry.wrap_pi(pool.b_rad[None, :] - np.arctan2(d[..., 0], d[..., 1]))
        noise = 3.0 * np.sqrt(pool.sigma_rad**2 + pool.bias_sigma_rad**2
                              + pool.sigma_rad[new]**2 + pool.bias_sigma_rad[new]**2)
        motion = cfg.max_speed_mps * (np.abs(age)[None, :] + np.abs(cand_age_s)[:, None]) / r
        ok: BoolArray = (np.abs(res) <= noise[None, :] + motion) & usable[None, :]
        ok[:, new] = True
        return ok

    def _fit(self, pool: Pool, new: int, rows: IntArray, start: FloatArray) -> Fit | None:
        """Fit the candidate's rows (one bearing per look: :meth:`_one_per_look`), dropping
        the worst bearing while the test fails; the new one is kept throughout."""
        cfg = self.config
        for _ in range(cfg.max_drops + 1):
            if rows.size < cfg.min_detections:
                return None
            if not self._enough(pool, rows):
                return None
            got = cv_fit(pool.t_s[rows], pool.xy[rows], pool.b_rad[rows], pool.sigma_rad[rows],
                         pool.tower[rows], pool.bias_sigma_rad[rows], float(pool.t_s[new]),
                         start, cfg.speed_sigma_mps)
            if got is None:
                return None
            x, p, total, norm, checks = got
            if checks < cfg.min_checks:  # fewer bearings test still less
                return None
            if (total <= _gate(cfg.gate_probability, rows.size - 2)
                    and math.hypot(x[2], x[3]) <= cfg.max_speed_mps
                    and self._in_range(pool, rows, x, float(pool.t_s[new]))):
                towers = int(np.unique(pool.tower[rows]).size)
                if towers == 2 and not self._pair_geometry(pool, rows, x):
                    return None
                return Fit(rows, x, p, towers, total)
            norm = np.abs(norm)
            norm[rows == new] = -1.0
            rows = np.delete(rows, int(np.argmax(norm)))
            start = x[:2]
        return None

    def _one_per_look(self, pool: Pool, new: int, rows: IntArray, start: FloatArray
                      ) -> IntArray:
        """The bearing nearest the candidate point of each look (tower, time)."""
        d = start[None, :] - pool.xy[rows]
        res = np.abs(geometry.wrap_pi(pool.b_rad[rows] - np.arctan2(d[:, 0], d[:, 1])))
        res[rows == new] = -1.0
        kept: IntArray = revisit_kernels.one_per_look(
            np.ascontiguousarray(rows, dtype=np.int64), _f64(res),
            np.ascontiguousarray(pool.tower[rows], dtype=np.int64), _f64(pool.t_s[rows]))
        return kept

    def _twice(self, pool: Pool, support: BoolArray) -> BoolArray:
        """Per candidate (row of ``support``): two towers among its rows looked about a
        revisit apart (:meth:`_enough` before one bearing per look is chosen)."""
        span = self.config.min_span_revisits * self.revisit_s
        twice: BoolArray = revisit_kernels.spanning_towers_each(
            np.ascontiguousarray(support), _f64(pool.t_s),
            np.ascontiguousarray(pool.tower, dtype=np.int64), span) >= 2
        return twice

    def _enough(self, pool: Pool, rows: IntArray) -> bool:
        """Two towers that each looked twice about a revisit apart (their bearings'
        motion is what an unknown bias cannot fake); others may add single looks."""
        span_s = self.config.min_span_revisits * self.revisit_s
        return revisit_kernels.spanning_towers(
            _f64(pool.t_s[rows]), np.ascontiguousarray(pool.tower[rows], dtype=np.int64),
            span_s) >= 2

    def _in_range(self, pool: Pool, rows: IntArray, x: FloatArray, t0_s: float) -> bool:
        dt = pool.t_s[rows] - t0_s
        d = x[None, :2] + dt[:, None] * x[None, 2:] - pool.xy[rows]
        r = np.hypot(d[:, 0], d[:, 1])
        return bool(np.all((r > self.min_range_m) & (r < self.max_range_m)))

    def _pair_geometry(self, pool: Pool, rows: IntArray, x: FloatArray) -> bool:
        towers = np.unique(pool.tower[rows])
        xy = [pool.xy[rows[pool.tower[rows] == k][0]] for k in towers.tolist()]
        b = [math.atan2(x[0] - v[0], x[1] - v[1]) for v in xy]
        return bool(geometry.crossing_angle_rad(b[0], b[1]) >= math.radians(
            self.config.pair_min_crossing_deg))

    def _ambiguous(self, pool: Pool, new: int, best: Fit, fits: list[Fit],
                   usable: BoolArray) -> bool:
        """Another object fits the same looks elsewhere: the new bearing with other bearings
        (an earlier fit here), or the partner tower's newest member with bearings other than
        the new tower's members of this seed."""
        t0 = float(pool.t_s[new])
        if any(fit is not best and _apart(best, t0, fit, t0) for fit in fits):
            return True
        mine = pool.tower[best.members] == pool.tower[new]
        partner = best.members[~mine]
        newest = int(partner[np.argmax(pool.t_s[partner])])
        exclude = ~usable
        exclude[best.members[mine]] = True
        other = self.search(pool, newest, exclude, unique=False)
        return other is not None and _apart(best, t0, other, float(pool.t_s[newest]))


def _apart(a: Fit, ta_s: float, b: Fit, tb_s: float, gate_d2: float = 9.21) -> bool:
    """Two fits are of different objects: their positions at ``tb_s`` differ by more than
    their covariances allow (chi-square, two degrees of freedom, 99 %)."""
    d = b.x[:2] - (a.x[:2] + (tb_s - ta_s) * a.x[2:])
    s = a.p[:2, :2] + b.p[:2, :2]
    try:
        return float(d @ np.linalg.solve(s, d)) > gate_d2
    except np.linalg.LinAlgError:
        return True
