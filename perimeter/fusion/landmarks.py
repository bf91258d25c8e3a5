"""Registration landmarks: the clutter map's hot spots that several towers see.

A sun-warmed roof, a rock or a stretch of warm water is detected again and again at one fixed
bearing of every tower that sees it (the clutter map learns those cells, ``clutter.py``). Its
position is unknown, but it does not move: several towers' mean bearings of one hot spot
constrain their azimuth biases with the spot's two coordinates profiled out. This is the
classic sensor-registration problem with unknown fixed targets: a batch least squares over the
landmarks' positions and the sensors' biases (M. P. Dana, "Registration: a prerequisite for
multiple sensor tracking", in Y. Bar-Shalom (ed.), *Multitarget-Multisensor Tracking: Advanced
Applications*, Artech House, 1990; the exact maximum likelihood form of Y. Zhou, H. Leung and
P. C. Yip, "An exact maximum likelihood registration algorithm for data fusion", IEEE Trans.
Signal Processing 45(6), 1997), here with a zero-mean prior on the biases (it holds their common
rotation, weakly observable) in place of a reference sensor.

Per tower imager, a *peak* gathers the raw (uncorrected) bearings of the detections falling
within ``peak_half_width_deg`` of its mean, with a long and a short fading memory; a peak
starts only at a detection in a cell a clutter map knows as hot (``min_hot_count`` faded
detections about it: registration keeps a :class:`~perimeter.fusion.clutter.ClutterMap` of
every thermal scan's raw bearings, as the engine's learns from in-sequence scans only;
``landmark_peaks.py``). A *landmark* is a point whose predicted bearing (plus the tower's current
bias estimate) falls on a mature peak of at least ``min_towers`` towers: found by crossing two
towers' free peaks and counting the other towers' peaks on the crossing's lines of sight,
kept while its members fit, dropped when they no longer do. :meth:`Landmarks.information`
linearises every landmark about its fitted position and returns the biases' information with
the positions eliminated (Schur complement), to be added to the snapshots'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import binom

from perimeter.fusion.landmark_peaks import (
    FloatArray,
    IntArray,
    LandmarkConfig,
    Mature,
    PeakMap,
)
from perimeter.geometry import TWO_PI, wrap_pi

CHI2_1_MEDIAN = 0.4549
"""Median of a chi-square with one degree of freedom."""

__all__ = ["Landmark", "LandmarkConfig", "Landmarks", "Mature", "chance_of_at_least"]


@dataclass(slots=True)
class Landmark:
    xy: FloatArray
    members: dict[int, int]
    """Tower -> index of its peak (in the arrays of the last :meth:`Landmarks.mature`)."""
    residual_rad: FloatArray
    """The members' bearings (in tower order) less those of ``xy``, where it was fitted."""
    gradient: FloatArray
    """The members' bearings' gradient in ``(x, y)`` at ``xy``."""


class Landmarks:
    """Hot-spot peaks per tower imager and the landmarks they form."""

    def __init__(self, towers_xy: FloatArray, config: LandmarkConfig | None = None,
                 search_every_s: float = 60.0) -> None:
        self.config = config or LandmarkConfig()
        self.false_alarm = self.config.false_landmarks_per_hour * search_every_s / 3600.0
        """Per search: the chance of taking a crossing of unrelated peaks for a landmark."""
        self.towers_xy = np.asarray(towers_xy, dtype=np.float64)
        self._n = len(self.towers_xy)
        self.peaks = PeakMap(self._n, self.config)
        self.landmarks: list[Landmark] = []
        self.variance_factor = 1.0

    def observe(self, tower: int, raw_rad: list[float], hot: list[float], t_s: float) -> None:
        """See :meth:`PeakMap.observe`."""
        self.peaks.observe(tower, raw_rad, hot, t_s)

    def mature(self, t_s: float) -> Mature:
        """See :meth:`PeakMap.mature`."""
        return self.peaks.mature(t_s)

    def forget_tower(self, tower: int) -> None:
        """Drop a tower's landmark memberships (its mast moved; its peaks stay: the old ones
        fall silent, the new ones are associated at its new bias)."""
        for mark in self.landmarks:
            if tower in mark.members:
                at = sorted(mark.members).index(tower)
                del mark.members[tower]
                mark.residual_rad = np.delete(mark.residual_rad, at)
                mark.gradient = np.delete(mark.gradient, at, axis=0)

    # -- geometry ---------------------------------------------------------------------
    def bearings(self, xy: FloatArray, towers: IntArray) -> tuple[FloatArray, FloatArray]:
        """Bearings of ``xy`` from ``towers`` and their gradient in ``(x, y)``; ``(m,)``,
        ``(m, 2)``."""
        d = xy[None, :] - self.towers_xy[towers]
        r2 = np.einsum("ij,ij->i", d, d)
        return (np.arctan2(d[:, 0], d[:, 1]) % TWO_PI,
                np.stack([d[:, 1] / r2, -d[:, 0] / r2], axis=1))

    def fit(self, xy: FloatArray, towers: IntArray, z_rad: FloatArray, sigma_rad: FloatArray,
            theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray] | None:
        """Position of the point whose bearings (plus ``theta``) best fit ``z_rad``
        (Gauss-Newton); with the residuals ``z - h``, the gradient, at that position."""
        w = sigma_rad ** -2
        x = xy.astype(np.float64).copy()
        for _ in range(6):
            h, g = self.bearings(x, towers)
            r = wrap_pi(z_rad - h)
            gw = g.T * w
            a = gw @ g
            if np.linalg.cond(a) > 1e14:
                return None
            step = np.linalg.solve(a, gw @ (r - theta[towers]))
            x += step
            if float(step @ step) < 1e-4:
                break
        h, g = self.bearings(x, towers)
        rng = np.hypot(*(x[None, :] - self.towers_xy[towers]).T)
        if not np.all(rng >= self.config.min_range_m) or not np.all(
                rng <= self.config.max_range_m):
            return None
        return x, wrap_pi(z_rad - h), g

    # -- association ------------------------------------------------------------------
    def gates(self, rel_sigma_rad: FloatArray) -> FloatArray:
        c = self.config
        return np.minimum(np.hypot(math.radians(c.gate_deg), 3.0 * rel_sigma_rad),
                          math.radians(c.max_gate_deg))

    def _nearest(self, mat: Mature, free: npt.NDArray[np.bool_], tower: int,
                 pred_rad: FloatArray) -> tuple[IntArray, FloatArray]:
        """For each predicted bearing of ``tower``: its nearest free peak and the distance
        (-1 and inf where it has none)."""
        idx = np.flatnonzero((mat.tower == tower) & free)
        if idx.size == 0:
            return np.full(len(pred_rad), -1, dtype=np.int64), np.full(len(pred_rad), np.inf)
        d = np.abs(wrap_pi(mat.mean_rad[idx][None, :] - pred_rad[:, None]))
        j = np.argmin(d, axis=1)
        return idx[j].astype(np.int64), d[np.arange(len(pred_rad)), j]

    def _members(self, xy: FloatArray, mat: Mature, free: npt.NDArray[np.bool_],
                 theta: FloatArray, gates: FloatArray) -> dict[int, int]:
        members = {}
        for k in range(self._n):
            pred, _ = self.bearings(xy, np.array([k]))
            j, d = self._nearest(mat, free, k, pred + theta[k])
            if j[0] >= 0 and d[0] < gates[k]:
                members[k] = int(j[0])
        return members

    def _consistent(self, xy: FloatArray, members: dict[int, int], mat: Mature,
                    theta: FloatArray, rel_sigma_rad: FloatArray,
                    need: int) -> Landmark | None:
        """Fit the landmark to its members' peaks, dropping the worst while one departs by
        more than ``outlier_sigmas`` (the peak's sigma and its tower's relative bias sigma,
        the first scaled by the variance factor); None if fewer than ``need`` are left."""
        members = dict(members)
        while len(members) >= need:
            towers = np.array(sorted(members), dtype=np.int64)
            peaks = np.array([members[k] for k in towers.tolist()])
            sig = mat.sigma_rad[peaks] * math.sqrt(self.variance_factor)
            fitted = self.fit(xy, towers, mat.mean_rad[peaks], sig, theta)
            if fitted is None:
                return None
            xy, r, g = fitted
            e = r - theta[towers]
            w = sig ** -2
            resid = e - g @ np.linalg.solve((g.T * w) @ g, (g.T * w) @ e)
            test = np.hypot(sig, rel_sigma_rad[towers])
            excess = np.abs(resid) / (self.config.outlier_sigmas * test)
            worst = int(np.argmax(excess))
            if excess[worst] <= 1.0:
                return Landmark(xy, members, r, g)
            del members[int(towers[worst])]
        return None

    def update(self, mat: Mature, theta: FloatArray, rel_sigma_rad: FloatArray,
               search: bool) -> None:
        """Re-associate every landmark with the towers' peaks ``mat`` (strongest first); drop
        those that no longer fit; then, if ``search``, look for new ones among the free
        peaks."""
        gates = self.gates(rel_sigma_rad)
        free = np.ones(len(mat.tower), dtype=bool)
        kept: list[Landmark] = []
        for mark in sorted(self.landmarks, key=lambda m: -len(m.members)):
            members = self._members(mark.xy, mat, free, theta, gates)
            fitted = self._consistent(mark.xy, members, mat, theta, rel_sigma_rad,
                                      self.config.min_towers)
            if fitted is None or self._near_kept(fitted.xy, kept):
                continue
            free[list(fitted.members.values())] = False
            kept.append(fitted)
        self.landmarks = kept
        if search:
            self._search(mat, free, theta, rel_sigma_rad, gates)

    def _near_kept(self, xy: FloatArray, kept: list[Landmark]) -> bool:
        return any(float(np.hypot(*(xy - m.xy))) < self.config.merge_m for m in kept)

    def _search(self, mat: Mature, free: npt.NDArray[np.bool_], theta: FloatArray,
                rel_sigma_rad: FloatArray, gates: FloatArray) -> None:
        """Cross two towers' free peaks; the crossings with most towers' peaks on their lines
        of sight (within the gates) become landmarks if they fit."""
        c = self.config
        cands: list[FloatArray] = []
        pairs: list[tuple[int, int, int]] = []
        for k in range(self._n):
            for m in range(k + 1, self._n):
                base = self.towers_xy[m] - self.towers_xy[k]
                if float(np.hypot(*base)) < 1000.0:
                    continue
                ik = np.flatnonzero((mat.tower == k) & free)
                im = np.flatnonzero((mat.tower == m) & free)
                if ik.size == 0 or im.size == 0:
                    continue
                a = np.broadcast_to((mat.mean_rad[ik] - theta[k])[:, None], (ik.size, im.size))
                b = np.broadcast_to((mat.mean_rad[im] - theta[m])[None, :], (ik.size, im.size))
                ua, va = np.sin(a), np.cos(a)
                ub, vb = np.sin(b), np.cos(b)
                cross = ua * vb - va * ub
                with np.errstate(divide="ignore", invalid="ignore"):
                    s = (base[0] * vb - base[1] * ub) / cross
                    t = (base[0] * va - base[1] * ua) / cross
                ok = ((np.abs(cross) >= math.sin(math.radians(c.min_crossing_deg)))
                      & (s >= c.min_range_m) & (t >= c.min_range_m)
                      & (s <= c.max_range_m) & (t <= c.max_range_m))
                if ok.any():
                    cands.append(self.towers_xy[k] + s[ok][:, None]
                                 * np.stack([ua[ok], va[ok]], axis=1))
                    pairs.append((k, m, int(ok.sum())))
        if not cands:
            return
        pts = np.concatenate(cands)
        crossed = np.array([(k, m) for k, m, count in pairs for _ in range(count)],
                           dtype=np.int64)
        support = np.zeros(len(pts), dtype=np.int64)
        near = np.zeros((len(pts), self._n), dtype=bool)
        for k in range(self._n):
            d = pts - self.towers_xy[k]
            pred = np.arctan2(d[:, 0], d[:, 1]) % TWO_PI + theta[k]
            _, dist = self._nearest(mat, free, k, pred)
            near[:, k] = dist < gates[k]
            support += near[:, k]
        trials, tested = len(pts), math.isfinite(self.false_alarm)
        ready = math.radians(0.05)
        added = 0
        for i in np.argsort(-support, kind="stable").tolist():
            if support[i] < c.min_towers or added >= c.max_new:
                break
            pair = set(crossed[i].tolist())
            support_i = set(np.flatnonzero(near[i]).tolist())
            if tested and trials * self.chance_probability(
                    pts[i], support_i, pair, mat, free, theta, gates) > self.false_alarm:
                continue  # its support alone could be chance: no fit can make it less so
            members = self._members(pts[i], mat, free, theta, gates)
            sure = all(rel_sigma_rad[k] <= ready for k in members)
            fitted = self._consistent(pts[i], members, mat, theta, rel_sigma_rad,
                                      c.min_towers if sure else c.seed_towers)
            if fitted is None or self._near_kept(fitted.xy, self.landmarks):
                continue
            if tested and trials * self.chance_probability(
                    fitted.xy, set(fitted.members), pair, mat, free, theta,
                    gates) > self.false_alarm:
                continue
            self.landmarks.append(fitted)
            free[list(fitted.members.values())] = False
            added += 1

    def chance_probability(self, xy: FloatArray, members: set[int], crossed: set[int],
                           mat: Mature, free: npt.NDArray[np.bool_], theta: FloatArray,
                           gates: FloatArray) -> float:
        """The probability that as many towers as ``members`` (beyond the two ``crossed``,
        whose peaks placed ``xy``) have a free peak within their gate of ``xy``'s bearing by
        chance. Null hypothesis: no hot spot at ``xy``; each other tower's free peaks within
        ``chance_window_deg`` of its bearing (``n_k``) fall there at random, so it has one in
        its gate ``g_k`` with ``p_k = 1 - (1 - g_k / window)^n_k``. The count of such towers
        is a sum of independent Bernoulli trials, whose upper tail is at most the binomial
        one with their mean probability (Hoeffding 1956; see ``landmark_shift``). The search
        tries every crossing: the caller multiplies by their number (a union bound)."""
        window = math.radians(self.config.chance_window_deg)
        others = [k for k in range(self._n) if k not in crossed]
        count = len(members - crossed)
        if not others or count <= 0:
            return 1.0
        p = []
        for k in others:
            pred, _ = self.bearings(xy, np.array([k]))
            idx = np.flatnonzero((mat.tower == k) & free)
            d = np.abs(wrap_pi(mat.mean_rad[idx] - (pred[0] + theta[k])))
            n_k = int(np.count_nonzero(d <= window))
            p.append(1.0 - (1.0 - min(float(gates[k]) / window, 1.0)) ** n_k)
        return chance_of_at_least(count, np.asarray(p))

    def anchored(self, mat: Mature, rests: npt.NDArray[np.bool_],
                 window_rad: float) -> npt.NDArray[np.bool_]:
        """Towers whose one landmark is enough: it is placed without them by at least
        ``min_towers`` members that rest on enough data (``rests``: two landmarks, or
        snapshots), and their peak there is the only one of their mature peaks within
        ``window_rad`` (the bias prior's range) of the bearing it predicts. With one landmark
        nothing checks a tower's association but its own peak: the one wrong association that
        could pass is then a stray spot within the bias prior's range while the landmark's own
        image is absent, which leaves no second peak to make the match ambiguous only where
        the tower's peaks are sparse; dense peaks (animals at rest) make it ambiguous."""
        out = np.zeros(self._n, dtype=bool)
        seen = np.zeros(self._n, dtype=np.int64)
        for mark in self.landmarks:
            seen[list(mark.members)] += 1
        for mark in self.landmarks:
            for k, peak in mark.members.items():
                if seen[k] != 1 or rests[k]:
                    continue
                anchors = sum(bool(rests[j]) for j in mark.members if j != k)
                if anchors < self.config.min_towers:
                    continue
                pred, _ = self.bearings(mark.xy, np.array([k]))
                mine = np.flatnonzero(mat.tower == k)
                near = np.abs(wrap_pi(mat.mean_rad[mine] - pred[0])) <= window_rad
                out[k] = bool(near.sum() == 1 and peak in mine[near].tolist())
        return out

    # -- information --------------------------------------------------------------------
    def information(self, mat: Mature) -> tuple[FloatArray, FloatArray, IntArray]:
        """The biases' information and its right-hand side from every landmark, positions
        profiled out (``(n, n)``, ``(n,)``), and each tower's landmark count. The model:
        ``z = h(P0) + G dP + b + e`` about the ``P0`` :meth:`update` fitted (``R`` annihilates
        ``G dP``: where about the fit ``P0`` lies matters to second order only);
        ``R = W - W G (G'WG)^-1 G'W`` gives ``(C'RC) b = C'R (z - h(P0))``."""
        n = self._n
        info, y = np.zeros((n, n)), np.zeros(n)
        counts = np.zeros(n, dtype=np.int64)
        parts = []
        for mark in self.landmarks:
            towers = np.array(sorted(mark.members), dtype=np.int64)
            peaks = np.array([mark.members[k] for k in towers.tolist()])
            sig = mat.sigma_rad[peaks]
            r, g = mark.residual_rad, mark.gradient
            w = sig ** -2
            gw = g.T * w
            red = np.diag(w) - gw.T @ np.linalg.solve(gw @ g, gw)
            parts.append((towers, red, r, w))
            info[np.ix_(towers, towers)] += red
            y[towers] += red @ r
            counts[towers] += 1
        # the variance factor from each bearing's post-fit residual against the landmarks'
        # own solution (not the current estimate, which snapshots may pull), normalised; the
        # median over all bearings: one wandering "landmark" must not loosen every test
        prior = math.radians(1.0) ** -2
        own = np.linalg.solve(info + prior * np.eye(n), y)
        ratios: list[float] = []
        for towers, red, r, w in parts:
            post = (red @ (r - own[towers])) / w
            ratios.extend((post ** 2 * w * len(towers) / max(len(towers) - 2, 1)).tolist())
        if len(ratios) >= 15:
            self.variance_factor = max(1.0, float(np.median(ratios)) / CHI2_1_MEDIAN)
        info /= self.variance_factor
        y /= self.variance_factor
        return info, y, counts


def chance_of_at_least(count: int, p_each: FloatArray) -> float:
    """An upper bound on the chance that ``count`` or more of independent trials with
    success probabilities ``p_each`` succeed: the binomial tail at their mean probability
    (Hoeffding, "On the distribution of the number of successes in independent trials",
    Ann. Math. Stat. 27, 1956)."""
    return float(binom.sf(count - 1, p_each.size, float(np.mean(p_each))))
