"""The out-of-sequence path: a late scan retrodicts each track to its time and updates the present.

Split from :mod:`.engine`. Unexplained detections of a scan only slightly late (network
reordering, at most :attr:`.engine.EngineConfig.late_initiation_s`) are offered to the
initiator; older ones are only counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from perimeter.fusion import kernels
from perimeter.fusion.associate import (
    Assignment,
    ambiguous_tracks,
    assign_gated,
    gate_d2,
    kept_from_initiation,
)
from perimeter.fusion.scan import Scan
from perimeter.fusion.track import Track

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LateFused:
    """What a late scan's association found: the tracks it was tested against, the pairs,
    and the innovations of the retrodicted states (for the score, :mod:`.late_score`)."""

    tracks: list[Track]
    found: Assignment
    nu: FloatArray
    s: FloatArray


def mark_ambiguous(fused: LateFused, t_s: float) -> None:
    """Mark the tracks whose late association was ambiguous, by the in-order path's rule
    (:meth:`.engine.FusionEngine.step`): the bearing a track took was in another track's gate
    too, or the track's gate held several of the report's bearings. Its motion over ``t_s``
    may then be a path stitched from several objects (:func:`.classify.motion_is_ambiguous`);
    ``ambiguous_t_s`` keeps the latest such time, in order or late."""
    if fused.found.gated is None or fused.found.tracks.size == 0:
        return
    for t_idx in ambiguous_tracks(fused.found).tolist():
        evidence = fused.tracks[t_idx].evidence
        evidence.ambiguous_t_s = max(evidence.ambiguous_t_s, t_s)


class LateScans:
    """The late path's state: the newest in-order scan time and the late detections that
    were neither explained nor offered to the initiator."""

    def __init__(self, initiate: Callable[[Scan, IntArray], None],
                 seeds_beside: Callable[[str], bool] = lambda sensor: False) -> None:
        self._initiate = initiate
        self._seeds_beside = seeds_beside
        """Whether a sensor's scan offers the initiator bearings gated only by tracks that
        took another of its bearings (:meth:`.EngineConfig.seeds_beside`)."""
        self.newest_s = -math.inf
        self.unassigned = 0

    def fuse(self, scan: Scan, tracks: list[Track], qs: Callable[[list[Track]], list[float]],
             gate_probability: float, late_initiation_s: float) -> LateFused | None:
        """Out-of-sequence scan: retrodict each track to the scan time and update the present
        (``qs``: the tracks' process noises); what association found, None when the scan
        had no detection or there was no track."""
        if scan.size == 0:
            return None
        if not tracks:
            self._unassigned(scan, np.arange(scan.size), late_initiation_s)
            return None
        x = np.array([t.state.x for t in tracks])
        p = np.array([t.state.p for t in tracks])
        dt = np.array([scan.t_s - t.state.t_s for t in tracks])
        q = np.array(qs(tracks))
        tx, ty = scan.tower_xy.tolist()
        gate = gate_d2(gate_probability)
        nu, s, h, ok, cost, best, in_gate = kernels.late_gate(
            x, p, dt, q, tx, ty, scan.bearing_rad, scan.sigma_rad**2, gate)
        found = assign_gated(nu, s, gate, ok, cost, best, in_gate)
        near = found.in_some_gate
        if found.gated is not None and self._seeds_beside(scan.sensor):
            free = np.ones(len(tracks), dtype=bool)
            free[found.tracks] = False  # tracks that took a bearing of this scan
            near = kept_from_initiation(found, free)
        self._unassigned(scan, np.flatnonzero(~near), late_initiation_s)
        if found.tracks.size == 0:
            return LateFused(tracks, found, nu, s)
        xn, pn = kernels.late_update(x, p, h, dt, nu, s, found.tracks, found.detections)
        for k, t_idx in enumerate(found.tracks.tolist()):
            track = tracks[t_idx]
            track.state.x, track.state.p = xn[k], pn[k]
            track.record_hit(scan.t_s, scan.tower_index, scan.sensor)
        return LateFused(tracks, found, nu, s)

    def _unassigned(self, scan: Scan, indices: IntArray, late_initiation_s: float) -> None:
        if self.newest_s - scan.t_s <= late_initiation_s:
            self._initiate(scan, indices)
        else:
            self.unassigned += int(indices.size)
