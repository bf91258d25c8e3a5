"""Duplicate tracks: two tracks of one object, or a shadow that one object's bearings feed.

A *duplicate* agrees with another track in position and velocity within their uncertainty,
and the imagers cannot tell the two apart: no imager that recently saw either sees the other
off that bearing (beyond ``shadow_sigmas`` of its sigma). People walking abreast 40 m apart
agree in velocity and, with tracks located to 10-20 m, in position too; a fixed merge radius
(60 m, before) fused them, while a single imager's bearings separate them. A *shadow* is a
track every recent thermal bearing of which another track would explain as well: seen from a
cluster of nearby towers, a point a few hundred metres along the line of sight gets the same
bearings as the real object, and the towers that could tell them apart see only the real one.
Of each pair the weaker track goes, and the survivor is its ``successor``: it continues the
dropped track's alert (:meth:`.TrackAlerter.on_track`), which the reacquisition gate alone
could refuse (a shadow sits hundreds of metres off its object).

The same test says when a track alive beside an alerted one was another object
(:func:`elsewhere`): it may not continue that track's alert once it is lost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from perimeter.fusion import ekf, kernels
from perimeter.fusion.reacquire import family
from perimeter.fusion.track import Track

FloatArray = npt.NDArray[np.float64]


SAME_STATE_D2 = 13.28
"""Chi-square, 4 dof, 99 %: two states (position and velocity) of one object."""

ELSEWHERE_FLOOR_M = 100.0
"""Added (1 sigma, each axis) to the positions :func:`elsewhere` compares: two tracks of one
vehicle, each located to a few metres, stood 240 m apart (the reacquisition gate's floor)."""


@dataclass(frozen=True, slots=True)
class DuplicateConfig:
    merge_d2: float = SAME_STATE_D2
    shadow_radius_m: float = 2000.0
    shadow_window_s: float = 10.0
    shadow_sigmas: float = 3.0
    shadow_min_imagers: int = 1
    """Imagers whose recent bearings a shadow must have. One imager's bearing fixes a ray,
    not a point, so every track on that ray 'explains' it: a column walking towards the
    towers lies on one ray, and its confirmed tracks were dropped as shadows of new seeds
    on it. 2 asks for a fixed point; measured not better on the whole set (docs/fusion.md,
    "Dense targets"), so 1 (as before) by default."""
    keep_alerted_shadow: bool = False
    """A track holding an alert is not dropped as the shadow of a track without one whose
    class family is another (:func:`two_objects`): its successor could never continue its
    alert, which then waited where it was dropped. On ``fault-link-down`` (with the
    revisit-spanning initiator) a person's alerted track passing a roe deer was dropped as
    the deer track's shadow, and the person's next track alerted again 600 s later.
    False (default): as before (docs/fusion.md "Scanning imagers")."""


def find_duplicates(tracks: list[Track], t_s: float, towers_xy: FloatArray,
                    config: DuplicateConfig) -> list[tuple[Track, Track]]:
    """The tracks to drop, each the weaker of a duplicate or shadow pair, with the track
    kept in its place: ``(loser, survivor)`` pairs. Pure: the tracks are not touched (a
    trial under other alerts, :mod:`perimeter.tuning.shared_fusion`, leaves no trace)."""
    if len(tracks) < 2:
        return []
    xy = np.stack([t.state.x[:2] for t in tracks])
    diff = xy[:, None, :] - xy[None, :, :]
    dist2 = np.einsum("ijk,ijk->ij", diff, diff)
    rows, cols = np.nonzero(dist2 <= config.shadow_radius_m**2)
    upper = cols > rows  # row order, as np.triu gave
    rows, cols = rows[upper], cols[upper]
    if rows.size == 0:
        return []
    owners, towers, b_track, tolerance = _sights(tracks, xy, t_s, towers_xy, config)
    b_other = np.arctan2(xy[None, :, 0] - towers[:, 0, None], xy[None, :, 1] - towers[:, 1, None])
    # the pairs that may drop a track (a shadow either way, or no imager tells them apart)
    act = kernels.shadow_pairs(rows, cols, np.array(owners, dtype=np.int64), b_track, b_other,
                               tolerance, len(tracks), config.shadow_min_imagers)
    dropped: list[tuple[Track, Track]] = []
    gone: set[int] = set()
    for i, j, a_sh, b_sh, apart in zip(*(v.tolist() for v in act), strict=True):
        a, b = tracks[i], tracks[j]
        if a.number in gone or b.number in gone:
            continue
        loser: Track | None = None
        if (not apart and same_state(a, b, config.merge_d2)) or (a_sh and b_sh):
            loser = weaker(a, b)
        elif a_sh or b_sh:
            loser = a if a_sh else b
            if config.keep_alerted_shadow and two_objects(loser, b if loser is a else a):
                loser = None
        if loser is not None:
            gone.add(loser.number)
            dropped.append((loser, b if loser is a else a))
    return dropped


def two_objects(shadow: Track, other: Track) -> bool:
    """Whether a shadow pair is two objects that one imager's ray happens to hold: the
    shadow holds an alert, the other none, and their class families differ (a person's
    track is no shadow of a deer's, whose track cannot continue the person's alert)."""
    return (shadow.alert_id is not None and other.alert_id is None
            and family(shadow.evidence.label) != family(other.evidence.label))


def same_state(a: Track, b: Track, gate_d2: float) -> bool:
    """Whether two tracks' states (position and velocity) agree within their uncertainty."""
    return _agree(a.state.x - b.state.x, a.state.p + b.state.p, gate_d2)


def _agree(d: FloatArray, cov: FloatArray, gate_d2: float) -> bool:
    try:
        return float(d @ np.linalg.solve(cov + _STATE_FLOOR, d)) <= gate_d2
    except np.linalg.LinAlgError:
        return False


def elsewhere(lost: Track, other: Track, gate_d2: float = SAME_STATE_D2) -> bool:
    """Whether ``other``, a track alive while ``lost`` was still updated, was then another
    object: its state at ``lost``'s last update disagrees with ``lost``'s there
    (:func:`same_state`'s test, that of a duplicate, with :data:`ELSEWHERE_FLOOR_M` added to
    the positions' covariance). Its state then is predicted, with its
    process noise, from the nearest in time of its kept states (:meth:`.History.near`: the
    last one before, of its first :data:`.HISTORY_CAP` or, on a track that outlived those,
    of one every 5 s since) and its present one. A track born after that is never
    elsewhere: whether it is the lost object again is the reacquisition gate's question."""
    t_s = lost.state.t_s
    if other.first_t_s >= t_s:
        return False
    x0, p0, t0 = other.state.x, other.state.p, other.state.t_s
    q = other.state.history.last_q
    kept = other.state.history.near(t_s)
    if kept is not None and abs(t_s - kept.t_s) < abs(t_s - t0):
        x0, p0, t0, q = kept.x, kept.p, kept.t_s, kept.q
    x, p = ekf.predict(x0[None], p0[None], np.array([t_s - t0]), np.array([q]))
    p[0, :2, :2] += _ELSEWHERE_FLOOR
    return not _agree(lost.state.x - x[0], lost.state.p + p[0], gate_d2)


_ELSEWHERE_FLOOR = ELSEWHERE_FLOOR_M**2 * np.eye(2)
_STATE_FLOOR = np.diag([25.0, 25.0, 0.04, 0.04])
"""Floor added to two tracks' summed covariances (5 m, 0.2 m/s), built once, not per pair."""

def _sights(tracks: list[Track], xy: FloatArray, t_s: float, towers_xy: FloatArray,
            config: DuplicateConfig) -> tuple[list[int], FloatArray, FloatArray, FloatArray]:
    """The thermal imagers that recently saw each track, as rows over every track: the
    tracks with a sighting, the imagers' positions, each track's bearing from them and the
    bearing tolerance (``shadow_sigmas`` times each one's sigma), rows grouped by track."""
    owners: list[int] = []
    towers: list[int] = []
    sigmas: list[float] = []
    for i, track in enumerate(tracks):
        sigma_by = track.evidence.sigma_by
        for key, seen in track.evidence.last_seen_by.items():
            if key[1] == "thermal" and t_s - seen <= config.shadow_window_s:
                owners.append(i)
                towers.append(key[0])
                sigmas.append(sigma_by.get(key, math.radians(0.5)))
    at = towers_xy[towers].reshape(-1, 2)
    own = xy[owners].reshape(-1, 2)
    b_track = np.arctan2(own[:, 0] - at[:, 0], own[:, 1] - at[:, 1])
    return owners, at, b_track, config.shadow_sigmas * np.array(sigmas, dtype=np.float64)


def weaker(a: Track, b: Track) -> Track:
    """The track to drop: keep the one with an alert, else the confirmed, else the older."""
    if (a.alert_id is None) != (b.alert_id is None):
        return a if a.alert_id is None else b
    if (a.score.status == "confirmed") != (b.score.status == "confirmed"):
        return a if a.score.status != "confirmed" else b
    return b if a.number < b.number else a
