"""GOSPA (generalised optimal sub-pattern assignment) between true and tracked positions.

Order ``p``, cut-off ``c`` and ``alpha = 2`` (Rahmathullah, García-Fernández and Svensson,
2017): with ``alpha = 2`` the metric splits into a localisation part over the assigned pairs and
``c^p / 2`` for every missed target and every false track.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from perimeter.contract import TracksSnapshot
from sim.truth import TargetTruth

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class GospaTerms:
    """One GOSPA value (m) and its parts; ``pairs`` maps truth index to estimate index."""

    gospa_m: float
    localisation_m: float
    missed: int
    false: int
    pairs: tuple[tuple[int, int], ...] = ()


def gospa(truth_xy_m: FloatArray, estimates_xy_m: FloatArray, cutoff_m: float,
          p: float = 2.0) -> GospaTerms:
    """GOSPA (alpha = 2) between ``(n, 2)`` true and ``(m, 2)`` estimated positions."""
    if not cutoff_m > 0.0:
        raise ValueError(f"cutoff_m: must be positive, got {cutoff_m}")
    if not p >= 1.0:
        raise ValueError(f"p: must be at least 1, got {p}")
    truth = np.asarray(truth_xy_m, dtype=float).reshape(-1, 2)
    est = np.asarray(estimates_xy_m, dtype=float).reshape(-1, 2)
    pairs: list[tuple[int, int]] = []
    localisation = 0.0
    if len(truth) and len(est):
        dist = np.linalg.norm(truth[:, None, :] - est[None, :, :], axis=2)
        rows, cols = linear_sum_assignment(np.minimum(dist, cutoff_m) ** p)
        for r, c in zip(rows, cols, strict=True):
            if dist[r, c] < cutoff_m:
                pairs.append((int(r), int(c)))
                localisation += float(dist[r, c]) ** p
    missed = len(truth) - len(pairs)
    false = len(est) - len(pairs)
    total = localisation + cutoff_m**p / 2.0 * (missed + false)
    return GospaTerms(total ** (1.0 / p), localisation ** (1.0 / p), missed, false, tuple(pairs))


@dataclass(slots=True)
class GospaSeries:
    """GOSPA at each snapshot, and which confirmed track ids were assigned to each target.

    ``intruders`` and ``animals`` split it (when the intruders are named): the intruders (or
    the animals) against the confirmed tracks that the joint assignment did not give to another
    target, at the snapshots where either side is not empty.
    """

    t_s: list[float] = field(default_factory=list)
    terms: list[GospaTerms] = field(default_factory=list)
    tracks_by_target: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    intruders: list[GospaTerms] = field(default_factory=list)
    animals: list[GospaTerms] = field(default_factory=list)


def present(target: TargetTruth, t_s: float) -> bool:
    """A target counts from the moment it starts to move until it stops at its last waypoint."""
    stop_t_s = min(target.end_t_s, float(target.t_s[-1])) if len(target.t_s) else target.end_t_s
    return target.start_t_s <= t_s <= stop_t_s


def _part(truth_xy: FloatArray, est_xy: FloatArray, mine: list[bool], theirs: set[int],
          cutoff_m: float, p: float) -> GospaTerms | None:
    """GOSPA of the truths flagged ``mine`` against the estimates not in ``theirs``; None when
    both are empty."""
    keep = [i for i in range(len(est_xy)) if i not in theirs]
    if not any(mine) and not keep:
        return None
    return gospa(truth_xy[np.asarray(mine, dtype=bool)], est_xy[keep], cutoff_m, p)


class TruthAt:
    """The targets present at a time and their true positions, remembered by time: the
    snapshots of several fusion runs of one simulated run (tune points) share their times."""

    def __init__(self, targets: Sequence[TargetTruth]) -> None:
        self.targets = targets
        self._at: dict[float, tuple[list[TargetTruth], FloatArray]] = {}

    def __call__(self, t_s: float) -> tuple[list[TargetTruth], FloatArray]:
        """The targets present at ``t_s`` and their ``(n, 2)`` positions."""
        hit = self._at.get(t_s)
        if hit is None:
            live = [t for t in self.targets if present(t, t_s)]
            xy = np.array([t.position(t_s) for t in live], dtype=float).reshape(-1, 2)
            hit = self._at[t_s] = (live, xy)
        return hit


def gospa_series(snapshots: Sequence[TracksSnapshot], targets: Sequence[TargetTruth],
                 cutoff_m: float, p: float = 2.0,
                 intruder_ids: Collection[str] | None = None,
                 truth_at: TruthAt | None = None) -> GospaSeries:
    """GOSPA of the confirmed tracks of each snapshot against the targets present then, split
    into intruders and animals when ``intruder_ids`` is given; ``truth_at``: a memo of
    ``targets``' positions shared with other calls."""
    if truth_at is None:
        truth_at = TruthAt(targets)
    elif truth_at.targets is not targets:
        raise ValueError("truth_at: remembers other targets")
    series = GospaSeries()
    for snap in snapshots:
        live, truth_xy = truth_at(snap.t_s)
        confirmed = [k for k in snap.tracks if k.status == "confirmed"]
        est_xy = np.array([(k.position.x_m, k.position.y_m) for k in confirmed],
                          dtype=float).reshape(-1, 2)
        terms = gospa(truth_xy, est_xy, cutoff_m, p)
        series.t_s.append(snap.t_s)
        series.terms.append(terms)
        for ti, ei in terms.pairs:
            series.tracks_by_target[live[ti].id].add(confirmed[ei].track_id)
        if intruder_ids is None:
            continue
        intruder = [t.id in intruder_ids for t in live]
        animal = [t.kind == "animal" and not i for t, i in zip(live, intruder, strict=True)]
        for flags, out in ((intruder, series.intruders), (animal, series.animals)):
            taken = {ei for ti, ei in terms.pairs if not flags[ti]}
            part = _part(truth_xy, est_xy, flags, taken, cutoff_m, p)
            if part is not None:
                out.append(part)
    return series


@dataclass(slots=True)
class GospaMemo:
    """The GOSPA series of one tracker's snapshots, by intruders, cut-off and order: tune
    points fused by one tracker (:mod:`perimeter.tuning.shared_fusion`) have snapshots that
    differ only in the tracks' alert ids, which GOSPA does not read; ``truth_at`` may be
    shared by every tracker of a simulated run."""

    truth_at: TruthAt
    series: dict[tuple[frozenset[str], float, float], GospaSeries] = field(default_factory=dict)

    def of(self, snapshots: Sequence[TracksSnapshot], targets: Sequence[TargetTruth],
           cutoff_m: float, p: float, intruder_ids: Collection[str]) -> GospaSeries:
        """:func:`gospa_series` of ``snapshots`` (those of this memo's tracker), remembered."""
        key = (frozenset(intruder_ids), cutoff_m, p)
        if key not in self.series:
            self.series[key] = gospa_series(snapshots, targets, cutoff_m, p, intruder_ids,
                                            self.truth_at)
        return self.series[key]
