"""Joint probabilistic data association of one tower report's bearings over the tracks.

Where one report's bearings are ambiguous (a bearing gated by several tracks, or several
bearings in one track's gate), the tracks and bearings linked by their gates form a
*cluster*; every feasible joint event of the cluster (each track takes at most one bearing,
each bearing at most one track) is weighed by

    prod_{t takes j} Pd_t N(nu_tj; 0, S_tj) / lambda_j  *  prod_{t missed} (1 - Pd_t)

(Poisson clutter of density ``lambda_j`` per radian), and each track is updated with the
mixture of its hypotheses (the miss and each bearing), moment-matched (the PDA update).

**Coalescence** (tracks of objects close together drawn onto their common centre) is
avoided by JPDA* pruning (Blom & Bloem, "Probabilistic data association avoiding track
coalescence", IEEE Trans. AC 45(2), 2000): of the joint events that detect the same tracks
with the same bearings (permutations of one another), only the likeliest is kept. No merge
radius is involved: two tracks on one bearing stay apart unless the report cannot tell
which of them made it (one bearing, two tracks), and then both take a share of it.

A cluster with more than ``JpdaConfig.max_events`` joint events (bounded by the product of
``1 + gated bearings`` over its tracks) falls back to Fitzgerald's "cheap JPDA"
approximation in likelihood-ratio form (after Fitzgerald, "Development of practical PDA
logic for multitarget tracking by microprocessor", American Control Conference 1986).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class JpdaConfig:
    """Whether tracks in ambiguous clusters take the JPDA update instead of the assigned
    bearing's (bookkeeping, scores and evidence still follow the global assignment)."""

    enabled: bool = False
    max_events: int = 20_000
    """Joint events enumerated per cluster at most; larger clusters use the approximation."""
    prune_permutations: bool = True
    """JPDA*: keep only the likeliest of the joint events that are permutations of another."""
    min_miss_probability: float = 0.02
    """A track's ``1 - Pd`` at least this (a Laplace rate of many hits is not a certainty)."""


@dataclass(frozen=True, slots=True)
class Weights:
    """Association probabilities: ``beta[t, j]`` that bearing ``j`` is track ``t``'s,
    ``miss[t]`` that none is; each row of ``beta`` plus ``miss`` sums to 1."""

    beta: FloatArray
    miss: FloatArray


def detection_rate(counts: list[int] | None) -> float:
    """A tower sensor's detection rate of a track from its ``[hits, looks]`` (the Laplace
    estimate the track score uses; 1/2 before any look)."""
    hits, looks = counts if counts is not None else (0, 0)
    return (hits + 1.0) / (looks + 2.0)


def clusters(gated: BoolArray) -> list[tuple[IntArray, IntArray]]:
    """The connected components (tracks, bearings) of the gate graph, each with ≥ 1 pair."""
    n_tracks, n_dets = gated.shape
    if n_tracks == 0 or n_dets == 0 or not gated.any():
        return []
    graph = csr_matrix(np.block([[np.zeros((n_tracks, n_tracks)), gated.astype(float)],
                                 [gated.T.astype(float), np.zeros((n_dets, n_dets))]]))
    _, labels = connected_components(graph, directed=False)
    out = []
    for label in np.unique(labels[:n_tracks][gated.any(axis=1)]):
        tracks = np.flatnonzero(labels[:n_tracks] == label).astype(np.int64)
        dets = np.flatnonzero(labels[n_tracks:] == label).astype(np.int64)
        out.append((tracks, dets))
    return out


def ambiguous(gated: BoolArray, tracks: IntArray, dets: IntArray) -> bool:
    """A cluster where some bearing has rival tracks or some track several bearings."""
    return tracks.size > 1 or dets.size > 1 or bool(gated[np.ix_(tracks, dets)].sum() > 1)


def log_likelihood_ratios(nu: FloatArray, s: FloatArray, gated: BoolArray, pd: FloatArray,
                          clutter_per_rad: FloatArray) -> FloatArray:
    """``log(Pd_t N(nu_tj; 0, S_tj) / lambda_j)`` for gated pairs, ``-inf`` elsewhere."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = (np.log(pd)[:, None] - 0.5 * nu * nu / s - 0.5 * np.log(2.0 * math.pi * s)
              - np.log(np.maximum(clutter_per_rad, 1e-12))[None, :])
    return np.where(gated & np.isfinite(ll), ll, -np.inf)


def _enumerate(llr: FloatArray, log_miss: FloatArray, prune: bool) -> tuple[FloatArray, FloatArray]:
    """Exact marginals of one cluster by depth-first enumeration of its joint events."""
    n_tracks, n_dets = llr.shape
    options = [[j for j in range(n_dets) if np.isfinite(llr[t, j])] for t in range(n_tracks)]
    rows = llr.tolist()
    misses = log_miss.tolist()
    # event key -> (log weight, assignment per track, -1 = missed)
    events: dict[tuple[int, int], tuple[float, tuple[int, ...]]] = {}
    kept: list[tuple[float, tuple[int, ...]]] = []
    chosen = [-1] * n_tracks

    def walk(t: int, used: int, detected: int, logw: float) -> None:
        if t == n_tracks:
            if prune:
                key = (detected, used)
                best = events.get(key)
                if best is None or logw > best[0]:
                    events[key] = (logw, tuple(chosen))
            else:
                kept.append((logw, tuple(chosen)))
            return
        chosen[t] = -1
        walk(t + 1, used, detected, logw + misses[t])
        for j in options[t]:
            if not used >> j & 1:
                chosen[t] = j
                walk(t + 1, used | 1 << j, detected | 1 << t, logw + rows[t][j])
        chosen[t] = -1

    walk(0, 0, 0, 0.0)
    if prune:
        kept = list(events.values())
    logs = np.array([w for w, _ in kept])
    probs = np.exp(logs - logs.max())
    probs /= probs.sum()
    beta = np.zeros((n_tracks, n_dets))
    miss = np.zeros(n_tracks)
    for prob, (_, picks) in zip(probs.tolist(), kept, strict=True):
        for t, j in enumerate(picks):
            if j < 0:
                miss[t] += prob
            else:
                beta[t, j] += prob
    return beta, miss


def _cheap(llr: FloatArray, log_miss: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Fitzgerald's approximation, in likelihood-ratio units: bearing ``j`` is track ``t``'s
    against the other tracks gating it and clutter (ratio 1), ``G_tj / (T_j - G_tj + 1)``,
    normalised per track with its miss weight ``1 - Pd_t``."""
    g = np.exp(np.minimum(llr, 700.0))
    col = g.sum(axis=0, keepdims=True)
    w = g / (col - g + 1.0)
    total = w.sum(axis=1) + np.exp(log_miss)
    return w / total[:, None], np.exp(log_miss) / total


def events_bound(gated: BoolArray) -> float:
    """An upper bound of a cluster's joint events: prod over tracks of (1 + its bearings)."""
    return float(np.prod(1.0 + gated.sum(axis=1).astype(np.float64)))


def marginals(nu: FloatArray, s: FloatArray, gated: BoolArray, pd: FloatArray,
              clutter_per_rad: FloatArray, config: JpdaConfig = JpdaConfig()) -> Weights:
    """Association probabilities of every track and bearing of one report.

    ``nu, s, gated`` have shape (tracks, bearings); ``pd`` is each track's detection
    probability by this tower sensor, ``clutter_per_rad`` the clutter density at each
    bearing. A track no bearing gates has ``miss`` 1.
    """
    n_tracks, n_dets = nu.shape
    beta = np.zeros((n_tracks, n_dets))
    miss = np.ones(n_tracks)
    pd = np.clip(pd, 1e-6, 1.0 - config.min_miss_probability)
    llr_all = log_likelihood_ratios(nu, s, gated, pd, clutter_per_rad)
    log_miss_all = np.log1p(-pd)
    for ti, di in clusters(gated & np.isfinite(llr_all)):
        sub = llr_all[np.ix_(ti, di)]
        if events_bound(np.isfinite(sub)) <= config.max_events:
            b, m = _enumerate(sub, log_miss_all[ti], config.prune_permutations)
        else:
            b, m = _cheap(sub, log_miss_all[ti])
        beta[np.ix_(ti, di)] = b
        miss[ti] = m
    return Weights(beta, miss)


def pda_update(x: FloatArray, p: FloatArray, h: FloatArray, nu: FloatArray,
               r: FloatArray, beta: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Moment-matched mixture of each track's hypotheses: the prediction (weight
    ``1 - sum(beta[t])``, the miss) and the scalar EKF update on each bearing ``j`` (weight
    ``beta[:, j]``).

    ``x (n, 4), p (n, 4, 4), h (n, 4)``; ``nu, beta`` (n, m); ``r`` (m,) the bearings'
    variances. Each bearing keeps its own variance (the reports' sigmas differ by SNR), so
    the mixture is matched exactly rather than with one common gain.
    """
    ph = np.einsum("nij,nj->ni", p, h)                      # P H'
    s = np.einsum("ni,ni->n", h, ph)[:, None] + r[None, :]  # (n, m)
    gain = ph[:, None, :] / s[:, :, None]                   # (n, m, 4)
    shift = gain * nu[:, :, None]                           # x_j - x
    mean_shift = np.einsum("nm,nmi->ni", beta, shift)
    x_new = x + mean_shift
    # P_j = P - K_j S_j K_j' = P - ph ph' / S_j
    outer = np.einsum("ni,nj->nij", ph, ph)
    shrink = np.einsum("nm,nm->n", beta, 1.0 / s)
    spread = np.einsum("nm,nmi,nmj->nij", beta, shift, shift)
    p_new = (p - shrink[:, None, None] * outer + spread
             - np.einsum("ni,nj->nij", mean_shift, mean_shift))
    p_new = 0.5 * (p_new + np.swapaxes(p_new, 1, 2))
    return x_new, p_new


def soft_updates(x: FloatArray, p: FloatArray, h: FloatArray, nu: FloatArray, s: FloatArray,
                 gated: BoolArray, r: FloatArray, pd: Callable[[IntArray], FloatArray],
                 clutter_per_rad: Callable[[], FloatArray], config: JpdaConfig
                 ) -> dict[int, tuple[FloatArray, FloatArray]]:
    """The JPDA states ``{track index: (x, p)}`` of the tracks in ambiguous clusters of one
    report (the others are left to the assignment's hard update).

    ``pd(tracks)`` gives those tracks' detection probabilities by this tower sensor and
    ``clutter_per_rad()`` the clutter density at every bearing; both are asked only when
    some cluster is ambiguous (the usual report has none)."""
    usable = gated & np.isfinite(nu) & np.isfinite(s) & (s > 0.0)
    groups = [(ti, di) for ti, di in clusters(usable) if ambiguous(usable, ti, di)]
    if not groups:
        return {}
    tracks = np.unique(np.concatenate([ti for ti, _ in groups]))
    dets = np.unique(np.concatenate([di for _, di in groups]))
    sub = np.ix_(tracks, dets)
    lam = np.asarray(clutter_per_rad(), dtype=np.float64)[dets]
    w = marginals(nu[sub], s[sub], usable[sub], np.asarray(pd(tracks), dtype=np.float64), lam,
                  config)
    xn, pn = pda_update(x[tracks], p[tracks], h[tracks], nu[sub], r[dets], w.beta)
    return {int(t): (xn[k], pn[k]) for k, t in enumerate(tracks.tolist())}
