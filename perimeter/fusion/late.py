"""The out-of-sequence path: a late scan retrodicts each track to its time and updates the present.

Split from :mod:`.engine`. Unexplained detections of a scan only slightly late (network
reordering, at most :attr:`.engine.EngineConfig.late_initiation_s`) are offered to the
initiator; older ones are only counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from perimeter.fusion import kernels
from perimeter.fusion.associate import assign, gate_d2
from perimeter.fusion.scan import Scan
from perimeter.fusion.track import Track

IntArray = npt.NDArray[np.int64]


class LateScans:
    """The late path's state: the newest in-order scan time and the late detections that
    were neither explained nor offered to the initiator."""

    def __init__(self, initiate: Callable[[Scan, IntArray], None]) -> None:
        self._initiate = initiate
        self.newest_s = -math.inf
        self.unassigned = 0
        self.seed_beside_tracks = False
        self.seed_beside_thermal_only = False
        """Set by the engine from its configuration."""
        """Offer the initiator bearings gated only by tracks that took another bearing of
        the scan (:attr:`.EngineConfig.seed_beside_tracks`)."""

    def fuse(self, scan: Scan, tracks: list[Track], qs: Callable[[list[Track]], list[float]],
             gate_probability: float, late_initiation_s: float) -> None:
        """Out-of-sequence scan: retrodict each track to the scan time and update the present
        (``qs``: the tracks' process noises)."""
        if scan.size == 0:
            return
        if not tracks:
            self._unassigned(scan, np.arange(scan.size), late_initiation_s)
            return
        x = np.array([t.state.x for t in tracks])
        p = np.array([t.state.p for t in tracks])
        dt = np.array([scan.t_s - t.state.t_s for t in tracks])
        q = np.array(qs(tracks))
        tx, ty = scan.tower_xy.tolist()
        nu, s, h = kernels.late_innovation(x, p, dt, q, tx, ty, scan.bearing_rad,
                                           scan.sigma_rad**2)
        found = assign(nu, s, gate_d2(gate_probability))
        near = found.in_some_gate
        if (self.seed_beside_tracks and found.gated is not None
                and (scan.sensor == "thermal" or not self.seed_beside_thermal_only)):
            free = np.ones(len(tracks), dtype=bool)
            free[found.tracks] = False  # tracks that took a bearing of this scan
            near = np.asarray(found.gated[free].any(axis=0), dtype=bool)
            near[found.detections] = True
        self._unassigned(scan, np.flatnonzero(~near), late_initiation_s)
        if found.tracks.size == 0:
            return
        xn, pn = kernels.late_update(x, p, h, dt, nu, s, found.tracks, found.detections)
        for k, t_idx in enumerate(found.tracks.tolist()):
            track = tracks[t_idx]
            track.state.x, track.state.p = xn[k], pn[k]
            track.record_hit(scan.t_s, scan.tower_index, scan.sensor)

    def _unassigned(self, scan: Scan, indices: IntArray, late_initiation_s: float) -> None:
        if self.newest_s - scan.t_s <= late_initiation_s:
            self._initiate(scan, indices)
        else:
            self.unassigned += int(indices.size)
