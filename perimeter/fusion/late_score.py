"""The score of a late report, where its sensor looked (``ManageConfig.late_scored``).

Most reports reach fusion a few milliseconds behind another tower's report of the same frame
(the towers' clocks lie milliseconds apart on the 0.5 s frame grid) and take the
out-of-sequence path (:mod:`.late`). That path updates the tracks' states, but without this
module it adds nothing to their scores, while the in-order reports (one tower in six on the
evaluation streams) charge misses: a person seen by four towers gained almost nothing and
was deleted at the tentative floor or untriangulated (docs/fusion.md "Where lone people are
lost"). Here a late report is scored as an in-order one is under per-look scoring:

- a detection associated with a track adds ``log(Pd · N(nu; 0, S) / λ)``, with ``nu``, ``S``
  the innovation of the track's state retrodicted to the report's time, ``Pd`` the sensor's
  detection rate of the track counted over looks and ``λ`` the clutter density per radian
  *per look* (the density per report times the revisit in frames: a scanning head's report
  covers a revisit's share of its sector);
- a track the sensor detected within ``miss_window_s`` and looked at now (a whole number of
  revisits after its last detection, :meth:`.Looks.looked`) but that no detection of the
  report went to pays ``log(1 - Pd)``; the frames between looks say nothing (the engine's
  in-order reports charge their misses with the same :func:`charge_misses`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Sequence

import numpy as np

from perimeter.fusion.clutter import ClutterMap
from perimeter.fusion.late import LateFused
from perimeter.fusion.looks import Looks
from perimeter.fusion.scan import Scan
from perimeter.fusion.track import Track


def hit_gain(lam: float, nu: float, s: float, log_pd: float) -> float:
    """``log(Pd · N(nu; 0, s) / λ)`` of one associated bearing (``log_pd``: ``log Pd``),
    in-order (the engine) or late; ``np.log`` as the engine's vectorised form took it."""
    return -math.log(lam) - 0.5 * (nu * nu) / s - 0.5 * float(np.log(2 * math.pi * s)) + log_pd


def charge_misses(tracks: Sequence[Track], hit: Container[int], scan: Scan, window_s: float,
                  looks: Looks | None, only: Callable[[Track], bool] | None = None) -> None:
    """Charge ``log(1 - Pd)`` to each track (by index, not in ``hit``; with ``only``, of
    those for which it is true) that ``scan``'s sensor detected within ``window_s`` before
    the scan and (with ``looks``: per-look scoring, :meth:`.Looks.looked`) looked at now; in
    order (the engine) or late. A late scan missed nothing its sensor detected at or after
    its time."""
    key = (scan.tower_index, scan.sensor)
    t_s, late = scan.t_s, scan.late
    for i, track in enumerate(tracks):
        last = track.evidence.last_seen_by.get(key)
        if (last is not None and t_s - last <= window_s and (last < t_s or not late)
                and i not in hit and (only is None or only(track))
                and (looks is None or looks.looked(key, t_s, last))):
            track.score.look_missed(key)


def score_late(scan: Scan, fused: LateFused | None, tracks: Sequence[Track],
               clutter: ClutterMap, looks: Looks, llr_max: float, miss_window_s: float,
               only: Callable[[Track], bool] | None = None) -> None:
    """Score the late ``scan``: its hits (``fused``, None when it had no detection or no
    track) and the misses of ``tracks`` it looked at (see the module docstring); with
    ``only``, of the tracks for which it is true (heard vehicles, :mod:`.fast_vehicle`)."""
    key = (scan.tower_index, scan.sensor)
    # only some tracks scored (the fast path): the late report leaves the sector mean as
    # it is, which the in-order path alone keeps, as without the fast path
    lam = (clutter.observe_mean(key, scan.size) if only is None
           else clutter.mean_density(key, scan.size))
    hit: set[int] = set()
    if fused is not None and fused.found.tracks.size:
        ti, di = fused.found.tracks, fused.found.detections
        frames = looks.frames(key)
        lams = clutter.densities(key, scan.bearing_rad[di], lam, scan.t_s)
        for t_idx, d_idx, lam_d in zip(ti.tolist(), di.tolist(), lams, strict=True):
            track = fused.tracks[t_idx]
            if only is not None and not only(track):
                continue
            gain = hit_gain(lam_d * frames, float(fused.nu[t_idx, d_idx]),
                            float(fused.s[t_idx, d_idx]), track.score.look_hit(key))
            track.score.add_llr(gain, llr_max)
            hit.add(t_idx)
        tracks = fused.tracks
    elif fused is not None:
        tracks = fused.tracks
    charge_misses(tracks, hit, scan, miss_window_s, looks, only)
