"""Associate: bearings to tracks by chi-square gating and global (Hungarian) assignment."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from scipy.stats import chi2

from perimeter.fusion import kernels

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_INFEASIBLE = kernels.INFEASIBLE


@lru_cache(maxsize=64)
def gate_d2(gate_probability: float, dof: int = 1) -> float:
    """The squared Mahalanobis gate holding ``gate_probability`` of true measurements."""
    return float(chi2.ppf(gate_probability, dof))


@dataclass(frozen=True, slots=True)
class Assignment:
    """Pairs ``(tracks[i], detections[i])`` and which detections fell in any track's gate.

    ``gated`` (tracks, detections), when given, marks the pairs with ``nu^2/s <= gate`` and
    ``s > 0`` (a pair with an infinite ``s`` counts here, though it is never assigned)."""

    tracks: IntArray
    detections: IntArray
    in_some_gate: BoolArray
    gated: BoolArray | None = None


def ambiguous_tracks(found: Assignment, rivals: IntArray | None = None) -> IntArray:
    """The assigned tracks (indices) whose association was ambiguous: the bearing a track
    took was in another track's gate too, or the track's gate held several of the report's
    bearings (``rivals``: how many tracks gate each detection, when already counted).
    ``found.gated`` is required."""
    gated = found.gated
    assert gated is not None
    if rivals is None:
        rivals = gated.sum(axis=0)
    shared: BoolArray = (rivals[found.detections] > 1) | (gated[found.tracks].sum(axis=1) > 1)
    return found.tracks[shared]


def assign(nu: FloatArray, s: FloatArray, gate: float) -> Assignment:
    """Globally assign detections to tracks from innovations ``nu`` and variances ``s``.

    ``nu, s`` have shape (tracks, detections). A pair is allowed when ``nu^2/s <= gate``; the
    cost of a pair is its negative log-likelihood ``nu^2/s + log s``, minimised jointly.
    """
    n_tracks, n_dets = nu.shape
    if n_tracks == 0 or n_dets == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Assignment(empty, empty, np.zeros(n_dets, dtype=bool),
                          np.zeros((n_tracks, n_dets), dtype=bool))
    # the usual case, compiled: every variance usable (a non-finite innovation fails the gate
    # as the masked form's inf does)
    ok, cost, best = kernels.gate_costs(np.ascontiguousarray(nu, dtype=np.float64),
                                        np.ascontiguousarray(s, dtype=np.float64), gate)
    return assign_gated(nu, s, gate, ok, cost, best)


def assign_gated(nu: FloatArray, s: FloatArray, gate: float, ok: BoolArray, cost: FloatArray,
                 best: int, in_gate: BoolArray | None = None) -> Assignment:
    """:func:`assign` from :func:`.kernels.gate_costs`' results on ``nu, s`` (at least one
    track and one detection), for a caller whose kernel computed them (and ``in_gate``,
    ``ok.any(axis=0)``, when it did)."""
    n_tracks, n_dets = nu.shape
    gated = ok
    if best == -2:  # some variance zero, negative or not finite: masked
        valid = np.isfinite(nu) & np.isfinite(s) & (s > 0.0)
        safe_s = np.where(valid, s, 1.0)
        d2 = np.where(valid, nu * nu / safe_s, np.inf)
        ok = d2 <= gate
        with np.errstate(invalid="ignore", divide="ignore"):
            gated = (nu * nu / s <= gate) & (s > 0.0)
        cost = np.where(ok, d2 + np.log(safe_s), _INFEASIBLE)
        best = int(cost.argmin()) if ok.any() else -1
        in_gate = None
    if best == -1:
        empty = np.zeros(0, dtype=np.int64)
        return Assignment(empty, empty, np.zeros(n_dets, dtype=bool), gated)
    if in_gate is None:
        in_gate = np.asarray(ok.any(axis=0))
    if n_tracks == 1 or n_dets == 1:
        # the smallest entry, the first of equal ones, as the solver's shortest augmenting
        # path picks it (its call costs more than the rest of such a scan's step); a pair
        # inside the gate exists, so the smallest is one
        return Assignment(np.array([best // n_dets]), np.array([best % n_dets]), in_gate, gated)
    rows, cols = linear_sum_assignment(cost)
    good = ok[rows, cols]
    return Assignment(rows[good].astype(np.int64), cols[good].astype(np.int64), in_gate, gated)


def kept_from_initiation(found: Assignment, eligible: BoolArray) -> BoolArray:
    """The detections a report keeps from the initiator: those assigned and those an
    ``eligible`` track gates (``found.gated`` given)."""
    assert found.gated is not None
    near: BoolArray = np.asarray(found.gated[eligible].any(axis=0), dtype=bool)
    near[found.detections] = True
    return near
