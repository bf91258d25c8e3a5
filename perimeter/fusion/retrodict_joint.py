"""Joint retrodiction: a track's start extended back through earlier kept detections by a
batch fit of its backward trajectory to several towers' bearings, a window at a time, each
window accepted only if the whole fit still passes its chi-square test (:func:`retrodict_joint`).

Where :func:`.retrodict.retrodict` links one bearing at a time against a prediction, this
gathers a window's candidate bearings (every tower's, against the fit so far), refits the
whole backward trajectory to them (an iterated extended Kalman smoother: a backward EKF from
the track's smoothed start, an RTS pass, relinearised at the smoothed positions) and keeps the
window only while the fit's cost (the sum of squared normalised innovations, chi-square with
as many degrees of freedom as bearings) stays inside its 99 % point, and the window's own share
inside its own. The covariance returned is the fit's, scaled by the cost per bearing where that
exceeds one (the bearings scatter more than their sigmas say).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

from perimeter.fusion.ekf import predict_back
from perimeter.fusion.retrodict import ReportHistory, Retrodicted
from perimeter.geometry import bearing_jacobian, ellipse, wrap_pi

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class JointConfig:
    window_s: float = 20.0
    """Candidates are gathered and accepted a window of this length at a time, newest first."""
    gate_d2: float = 9.21
    """A scan's bearing is a candidate when its squared normalised innovation against the fit
    so far is below this (chi-square, 1 degree of freedom, 99.75 %); the nearest one of a scan."""
    max_bearing_sigma_rad: float = math.radians(1.0)
    """Windows are gathered while the fit's predicted bearing sigma is under this."""
    fit_p: float = 0.99
    """The whole fit, and each window's share of it, must stay inside this chi-square point."""
    min_towers_window: int = 2
    """A window is taken only with bearings from this many towers (the range is seen) ...
    """
    min_per_tower: int = 2
    """... each with at least this many bearings in it (a stray clutter bearing inside the
    gate is one; the object is seen again)."""
    iterations: int = 3
    """Relinearisations of the smoother."""


@dataclass(frozen=True, slots=True)
class _Link:
    t_s: float
    tower: int
    bearing_rad: float
    var_rad2: float


def _fit(t0_s: float, x0: FloatArray, p0: FloatArray, q: float, links: list[_Link],
         towers_xy: FloatArray, iterations: int
         ) -> tuple[FloatArray, FloatArray, float, FloatArray]:
    """Backward iterated EKF smoother from the prior at ``t0_s`` through ``links`` (newest
    first). Returns the earliest state and covariance, the fit's cost and the smoothed
    positions at the links."""
    n = len(links)
    lin: FloatArray | None = None
    x_e, p_e, cost = x0, p0, 0.0
    pos = np.zeros((n, 2))
    for _ in range(max(iterations, 1)):
        xf, pf = np.zeros((n, 4)), np.zeros((n, 4, 4))
        xp_all, pp_all = np.zeros((n, 4)), np.zeros((n, 4, 4))
        cur_t, cur_x, cur_p, cost = t0_s, x0, p0, 0.0
        for i, link in enumerate(links):
            px, pp = predict_back(cur_x, cur_p, cur_t - link.t_s, q)
            pp = 0.5 * (pp + pp.T)
            at = px[:2] if lin is None else lin[i]
            tower = towers_xy[link.tower]
            d = at - tower
            h = np.zeros(4)
            h[:2] = bearing_jacobian(tower, at)
            predicted = math.atan2(float(d[0]), float(d[1])) + float(h[:2] @ (px[:2] - at))
            nu = float(wrap_pi(link.bearing_rad - predicted))
            s = float(h @ pp @ h) + link.var_rad2
            cost += nu * nu / s
            gain = pp @ h / s
            ikh = np.eye(4) - np.outer(gain, h)
            cur_x = px + gain * nu
            cur_p = ikh @ pp @ ikh.T + link.var_rad2 * np.outer(gain, gain)
            cur_p = 0.5 * (cur_p + cur_p.T)
            cur_t = link.t_s
            xf[i], pf[i], xp_all[i], pp_all[i] = cur_x, cur_p, px, pp
        # RTS in the filter's (backward) direction: from the earliest link to the newest
        xs, ps = xf.copy(), pf.copy()
        for i in range(n - 2, -1, -1):
            dt = links[i].t_s - links[i + 1].t_s  # the filter stepped back by dt from i to i+1
            f = np.eye(4)
            f[0, 2] = f[1, 3] = -dt
            try:
                c = pf[i] @ f.T @ np.linalg.inv(pp_all[i + 1])
            except np.linalg.LinAlgError:
                break
            xs[i] = xf[i] + c @ (xs[i + 1] - xp_all[i + 1])
            ps[i] = pf[i] + c @ (ps[i + 1] - pp_all[i + 1]) @ c.T
        pos = xs[:, :2].copy()
        lin = pos
        x_e, p_e = xf[-1], pf[-1]
    return x_e, p_e, cost, pos


def _residuals(links: list[_Link], pos: FloatArray, towers_xy: FloatArray) -> FloatArray:
    """Squared normalised residuals of bearings against smoothed positions."""
    towers = np.array([link.tower for link in links])
    d = pos - towers_xy[towers]
    nu = wrap_pi(np.array([link.bearing_rad for link in links]) - np.arctan2(d[:, 0], d[:, 1]))
    return np.asarray(nu * nu / np.array([link.var_rad2 for link in links]), dtype=np.float64)


def _towers_seen(links: list[_Link], min_per_tower: int) -> int:
    """Towers with at least ``min_per_tower`` of ``links``."""
    counts = np.bincount(np.array([link.tower for link in links], dtype=np.int64))
    return int(np.count_nonzero(counts >= min_per_tower))


def retrodict_joint(history: ReportHistory, towers_xy: FloatArray, t_s: float, x: FloatArray,
                    p: FloatArray, q: float, max_speed_mps: float = math.inf,
                    bias_sigma_rad: FloatArray | None = None,
                    config: JointConfig | None = None,
                    trace: list[tuple[float, int, int, float, int, str, float, float]] | None = None
                    ) -> Retrodicted | None:
    """Extend a state at ``t_s`` back through the history's earlier detections, jointly.

    Window by window (``window_s``, newest first): each scan's nearest bearing inside the gate
    of the fit so far (predicted back from its earliest state) is a candidate; the window is
    taken if its candidates come from ``min_towers_window`` towers and the refitted whole
    trajectory passes its chi-square test (and the window's share its own), and the earliest
    state stays slower than ``max_speed_mps``. It stops at a window refused, after
    ``history.config.gap_s`` without one taken, once the predicted bearing sigma passes
    ``max_bearing_sigma_rad``, or ``max_back_s`` back. Returns the earliest state of the fit
    (covariance scaled by the cost per bearing where above one) when at least ``min_links``
    bearings of two towers were taken and its position sigma is under ``max_sigma_m``.
    ``trace`` collects each window's start, candidates, their towers, the fit's cost, its
    bearings, what was decided and the fit's earliest position.
    """
    c, j = history.config, config or JointConfig()
    towers, times, bearings, sigmas = history.between(t_s - c.max_back_s, t_s)
    if times.shape[0] == 0:
        return None
    bias2 = (np.zeros(towers_xy.shape[0]) if bias_sigma_rad is None
             else np.asarray(bias_sigma_rad, dtype=np.float64) ** 2)
    links: list[_Link] = []
    early_t, early_x, early_p, cost = t_s, x.copy(), p.copy(), 0.0
    last_taken_s = t_s
    best: Retrodicted | None = None
    window_end = t_s
    while window_end > t_s - c.max_back_s and last_taken_s - window_end <= c.gap_s:
        start = window_end - j.window_s
        sel = np.flatnonzero((times >= start) & (times < window_end))
        window_end = start
        candidates: list[_Link] = []
        too_wide = False
        for scan_t in np.unique(times[sel])[::-1]:
            for k in np.unique(towers[sel][times[sel] == scan_t]):
                rows = sel[(times[sel] == scan_t) & (towers[sel] == k)]
                px, pp = predict_back(early_x, early_p, early_t - float(scan_t), q)
                d = px[:2] - towers_xy[k]
                h = bearing_jacobian(towers_xy[k], px[:2])
                hph = float(h @ pp[:2, :2] @ h)
                if math.sqrt(hph) > j.max_bearing_sigma_rad:
                    too_wide = True
                    continue
                nu = wrap_pi(bearings[rows] - math.atan2(float(d[0]), float(d[1])))
                var = sigmas[rows] ** 2 + bias2[k]
                d2 = nu * nu / (hph + var)
                best_i = int(np.argmin(d2))
                if d2[best_i] < j.gate_d2:
                    candidates.append(_Link(float(scan_t), int(k), float(bearings[rows][best_i]),
                                            float(var[best_i])))
        seen = _towers_seen(candidates, j.min_per_tower)
        if too_wide and not candidates:
            if trace is not None:
                trace.append((start, 0, 0, cost, len(links), "too wide", math.nan, math.nan))
            break
        if seen < j.min_towers_window:
            if trace is not None:
                trace.append((start, len(candidates), seen, cost, len(links), "few towers",
                              math.nan, math.nan))
            continue
        candidates.sort(key=lambda link: -link.t_s)
        while True:  # the window's worst-fitting bearing dropped until the fit passes
            trial = links + candidates
            tx, tp, tcost, pos = _fit(t_s, x, p, q, trial, towers_xy, j.iterations)
            n_new = len(candidates)
            refused = ("fit" if tcost > chi2.ppf(j.fit_p, len(trial))
                       else "window" if tcost - cost > chi2.ppf(j.fit_p, n_new)
                       else "speed" if math.hypot(float(tx[2]), float(tx[3])) > max_speed_mps
                       else "")
            if trace is not None:
                trace.append((start, n_new, len({ln.tower for ln in candidates}), tcost,
                              len(trial), refused or "taken", float(tx[0]), float(tx[1])))
            if not refused or refused == "speed":
                break
            worst = int(np.argmax(_residuals(candidates, pos[len(links):], towers_xy)))
            candidates = candidates[:worst] + candidates[worst + 1:]
            if _towers_seen(candidates, j.min_per_tower) < j.min_towers_window:
                break
        if refused:
            break
        links, cost = trial, tcost
        early_t, early_x, early_p = trial[-1].t_s, tx, tp
        last_taken_s = early_t
        towers_taken = len({link.tower for link in links})
        scaled = tp * max(1.0, cost / len(links))
        if (len(links) >= c.min_links and towers_taken >= 2
                and ellipse(scaled[:2, :2])[0] <= c.max_sigma_m):
            best = Retrodicted(early_t, tx.copy(), 0.5 * (scaled + scaled.T), len(links),
                               towers_taken)
    return best
