"""Registration's snapshot collection: thermal bearings paired with confirmed tracks.

A *snapshot* is one confirmed, well-located track's bearings over up to ``window_s`` from
several towers' imagers (``registration_fit.Snapshot``). Bearings are paired with tracks by
this module's own wide gate (``window_deg`` about the current bias estimate, one detection and
one track only), not the tracker's: a biased tower's bearings fall outside the tracker's gate,
which is why they must be registered. Finished, usable snapshots are handed back to
:class:`~perimeter.fusion.registration.Registration`, which profiles out their trajectories.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from perimeter.fusion.registration_fit import Bearing, RegistrationConfig, Snapshot
from perimeter.fusion.track import Track

__all__ = ["SnapshotCollector"]

FloatArray = npt.NDArray[np.float64]


class SnapshotCollector:
    """Gathers candidate tracks' raw bearings into snapshots; returns the finished ones."""

    def __init__(self, towers_xy: FloatArray, config: RegistrationConfig) -> None:
        self.config = config
        self._tower_xy = [(float(x), float(y)) for x, y in np.asarray(towers_xy)]
        self._groups: dict[int, Snapshot] = {}
        self._next_snapshot: dict[int, float] = {}
        self._cands: list[Track] = []
        self._cand_rows: list[tuple[float, ...]] = []
        """Each candidate's ``x, y, vx, vy, t_s``."""

    @property
    def has_candidates(self) -> bool:
        """Whether any track may make a snapshot now."""
        return bool(self._cands)

    def refresh(self, tracks: Sequence[Track], t_s: float) -> list[Snapshot]:
        """Pick the tracks that may make snapshots now; the snapshots finished by ``t_s``."""
        c = self.config
        limit = c.max_track_sigma_m ** 2
        cands = [t for t in tracks
                 if t.score.status == "confirmed" and t.home_tower is None and not t.deleted
                 and len(t.evidence.thermal_towers) >= 2
                 and t_s >= self._next_snapshot.get(t.number, -math.inf)
                 and float(t.state.p[0, 0] + t.state.p[1, 1]) <= limit]
        self._cands = cands
        self._cand_rows = [(*t.state.x.tolist(), t.state.t_s) for t in cands]
        live = {t.number for t in tracks}
        for number in [n for n in self._groups if n not in live]:
            del self._groups[number]
        finished: list[Snapshot] = []
        for number, group in list(self._groups.items()):
            if group.done(t_s, c):
                finished += self._finish(number, group)
        return finished

    def pair(self, k: int, t_raw: float, z_raw: list[float], sigma_rad: FloatArray,
             theta_rad: float) -> list[Snapshot]:
        """Pair tower ``k``'s raw bearings ``z_raw`` (its clock's ``t_raw``) with the
        candidates, about their bearings turned by the bias estimate ``theta_rad``; the
        snapshots this scan finished."""
        c = self.config
        tx, ty = self._tower_xy[k]
        window = math.radians(c.window_deg)
        pairs = []  # plain floats: a scan holds a detection or two, and a track or two
        for i, (x, y, vx, vy, t_track) in enumerate(self._cand_rows):
            dx, dy = x + vx * (t_raw - t_track) - tx, y + vy * (t_raw - t_track) - ty
            if math.hypot(dx, dy) <= c.min_range_m:
                continue
            h = math.atan2(dx, dy) + theta_rad
            near = [j for j, z in enumerate(z_raw)
                    if abs((z - h + math.pi) % (2.0 * math.pi) - math.pi) < window]
            if near:
                pairs.append((i, near, dx + tx, dy + ty))
        finished: list[Snapshot] = []
        for i, near, x, y in pairs:  # one detection and one track only
            j = near[0]
            if len(near) != 1 or sum(j in other[1] for other in pairs) != 1:
                continue
            number = self._cands[i].number
            group = self._groups.get(number)
            if group is not None and group.done(t_raw, c, k):
                finished += self._finish(number, group)
                group = None
            if group is None:
                state = np.array([x, y, self._cand_rows[i][2], self._cand_rows[i][3]])
                group = self._groups[number] = Snapshot(t_raw, state, track=number)
            elif abs(t_raw - group.last_s.get(k, -math.inf)) < c.bearing_spacing_s:
                continue
            group.add(Bearing(k, t_raw, z_raw[j], float(sigma_rad[j])))
        return finished

    def _finish(self, number: int, group: Snapshot) -> list[Snapshot]:
        del self._groups[number]
        c = self.config
        if not group.usable(c):
            return []
        self._next_snapshot[number] = group.t_last_s + c.snapshot_every_s
        return [group]
