"""Manage: track numbering, M-of-N confirmation, deletion (coasting, score, lost range)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from perimeter.fusion.clutter import moved
from perimeter.fusion.duplicates import DuplicateConfig, find_duplicates
from perimeter.fusion.fast_vehicle import FastVehicleConfig, velocity_sigma_bar
from perimeter.fusion.track import Track
from perimeter.fusion.track_score import TrackScore
from perimeter.fusion.track_state import TrackState
from perimeter.fusion.triangulate import Seed
from perimeter.thresholds import Thresholds

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ManageConfig:
    tentative_coast_s: float = 6.0
    max_sigma_m: float = 4000.0
    duplicates: DuplicateConfig = field(default_factory=DuplicateConfig)
    confirm_llr: float = 8.0
    confirm_velocity_sigma_mps: float = 1.5
    triangulation_window_s: float = 10.0
    """A track counts as triangulated while two thermal imagers saw it within this window."""
    untriangulated_s: float = 30.0
    """A (multi-tower) track seen by fewer than two imagers for this long is dropped: its range
    is no longer observed (typically a ghost fed by one tower's bearings of another object)."""
    fix_min_age_s: float = 10.0
    """A track that two imagers do not triangulate (fixed by the bearings of three towers, see
    :meth:`.TrackEvidence.fixed`) must have been followed this long and have *moved* (see
    :meth:`TrackManager._moving`): a blast, a fixed noise source or a ghost crossing of lines
    of sight does not travel steadily away from where it was first placed."""
    fix_motion_probability: float = 0.99
    delete_tentative_llr: float = -6.0
    delete_confirmed_llr: float = -20.0
    revisit_aware: bool = False
    """Confirmation for scanning imagers (docs/fusion.md "Track score and confirmation"):
    misses charged only at a tower's looks, reports of the same frame scored in order, and
    the windows below in revisits of the slowest imager (:mod:`.looks`). Off: measured worse
    on the whole (docs/fusion.md)."""
    late_scored: bool = True
    """Score late reports too (:mod:`.late_score`): the out-of-sequence path's hits and the
    misses of the tracks it looked at, per look, as the in-order path then scores them
    (misses only at looks, clutter density per look), with the windows below in revisits;
    unlike ``revisit_aware`` no report leaves its path (``same_frame_s`` is not read). On
    by default with the reorder hold, which makes nearly every report an in-order one: its
    per-look misses and clutter are then what matters (docs/fusion.md "Late reports and the
    reorder hold")."""
    late_ambiguity: bool = False
    """A late report's association marks ambiguity as an in-order one does
    (:func:`.late.mark_ambiguous`): a track that took a bearing another track also gated, or
    one of several in its gate, has a motion window that may be stitched from several objects
    (:attr:`.TrackEvidence.ambiguous_t_s`). Off: late reports mark none, so a track fed by
    them (``late_scored``) on a herd or a field of wind clutter is judged on a stitched path
    as on its own (docs/fusion.md "The late path's evidence")."""
    late_clutter: bool = False
    """A late report teaches the clutter map as an in-order one does (its detections but
    those of moving confirmed tracks): it is as much a sample of its sensor's clutter, and
    without it the map learns each tower from the sixth of its reports that arrive first
    (docs/fusion.md "The late path's evidence")."""
    late_clutter_withheld: bool = False
    """With ``late_clutter``: a late detection a live track took, while that track is not a
    moving confirmed one, is withheld from the map until the track is known to move (then
    dropped) or is gone unmoved (then taught; :mod:`.withheld`). Off: a slow walker's own
    late bearings teach the map before its track has moved (docs/fusion.md "The late path's
    evidence")."""
    late_clutter_dwell: bool = False
    """With ``late_clutter``: a late detection no track took teaches the map only once its
    cell (tower sensor, azimuth cell) has had such detections for longer than a walker stays
    in it (:func:`.dwell.walker_dwell_s`, 52 s), then with the run's earlier ones, each faded
    by its age; a run that ends sooner (a passer-by) teaches nothing (:mod:`.dwell`). Off:
    a walker's late bearings before any track holds it teach the map at once."""
    late_clutter_dwell_window: bool = False
    """With ``late_clutter_dwell``: a cell's run is measured over the density window the dwell
    is sized for (the live runs of the cell and its ``ClutterMapConfig.window_cells``
    neighbours, taken together), not in the cell alone: a herd's or a slow animal's bearings
    wander among neighbouring cells, each of which falls silent for a dwell, while the window
    does not (docs/fusion.md "The late path's evidence"). Off: the cell's own run."""
    withheld_cap: int = 4096
    """``late_clutter_withheld``: the most detections held per track; beyond it the oldest
    is dropped (never taught). 4096 is 17 minutes of one imager's 2 Hz reports from two
    towers, a track's that has not moved in that time (:mod:`.withheld`)."""
    fast_vehicle: FastVehicleConfig = field(default_factory=FastVehicleConfig)
    """With ``fast_vehicle.enabled`` (and ``late_scored`` off): late reports scored only for
    tracks with vehicle evidence of their own, heard as machines by several towers or seen
    large, fast and unambiguous (:mod:`.fast_vehicle`; docs/fusion.md "A vehicle's fast
    path"). In force by default, where late scoring (on) leaves it only the heard vehicle's
    velocity bar: almost no report is late with the reorder hold."""
    same_frame_s: float = 0.1
    """Revisit-aware: a late report at most this far behind the newest is of the same frame
    and fused in order (frames are 0.5 s; the towers' clocks lie milliseconds apart)."""
    bias_allowance: bool = False
    """Widen each tower's bearings by its registration's unapplied bias sigma (its estimate
    and sigma while no bias is applied: :meth:`.Registration.unapplied_sigma_rad`)."""
    revisit_coasts: float = 2.0
    """Revisit-aware: a tentative track coasts this many revisits and a second."""
    revisit_window_looks: float = 3.0
    """Revisit-aware: the triangulation window (imaged, fixed) spans this many revisits and
    a second (two detections by each imager, one look missed)."""


def per_look(config: ManageConfig) -> bool:
    """Whether hits and misses are scored per look and the windows counted in revisits."""
    return config.revisit_aware or config.late_scored


def _finite(a: FloatArray) -> bool:
    """``np.all(np.isfinite(a))`` for a small array, without two numpy calls."""
    return all(map(math.isfinite, a.ravel().tolist()))


def m_of_n(hit_bins: list[int] | tuple[int, ...], now_bin: int, m: int, n: int) -> bool:
    """True when at least ``m`` of the last ``n`` one-second bins (to ``now_bin``) had hits."""
    return sum(1 for b in hit_bins if now_bin - n < b <= now_bin) >= m


def m_of_n_binned(hit_bins: list[int] | tuple[int, ...], t_s: float, m: int, n: int,
                  bin_s: float) -> bool:
    """:func:`m_of_n` over bins of ``bin_s`` seconds (a revisit) instead of one second, from
    the one-second bins of the hits."""
    bins = tuple({math.floor(b / bin_s) for b in hit_bins})
    return m_of_n(bins, math.floor(t_s / bin_s), m, n)


class TrackManager:
    """Owns the live tracks; numbers them and decides their status."""

    def __init__(self, config: ManageConfig | None = None, first_number: int = 1) -> None:
        self.config = config or ManageConfig()
        self.tracks: list[Track] = []
        self._next = first_number
        self.revisit_s = 0.0
        """The longest imager revisit learned from the streams (:mod:`.looks`; 0: unknown),
        set by the engine; read only when ``revisit_aware``."""

    @property
    def window_s(self) -> float:
        """The triangulation window: ``triangulation_window_s``, or when revisit-aware at
        least ``revisit_window_looks`` revisits and a second."""
        cfg = self.config
        if per_look(cfg) and self.revisit_s > 0.0:
            return max(cfg.triangulation_window_s,
                       cfg.revisit_window_looks * self.revisit_s + 1.0)
        return cfg.triangulation_window_s

    def create(self, seed: Seed) -> Track:
        track = Track(number=self._next, first_t_s=seed.first_t_s,
                      state=TrackState(seed.x.copy(), seed.p.copy(), seed.t_s),
                      score=TrackScore(last_update_t_s=seed.t_s), home_tower=seed.home_tower)
        self._next += 1
        for scan, _ in seed.detections:
            track.record_hit(scan.t_s, scan.tower_index, scan.sensor, counts=False)
        self.tracks.append(track)
        return track

    def confirmations(self, t_s: float, thresholds: Thresholds) -> list[Track]:
        """Tentative tracks that now meet M-of-N and a score of ``confirm_llr``, and are
        located (:meth:`_located`): mark confirmed.

        Two thermal imagers and a velocity known to ``confirm_velocity_sigma_mps`` (an object
        whose motion is not yet observed cannot be classified); or, without two imagers, the
        consistent unshared bearings of three towers (acoustic ones included: 2-10 degrees,
        whose wide gates could support ghosts, hence the chi-square test, the ghost check and
        the motion test).
        """
        out = []
        for track in self.tracks:
            if track.score.status == "tentative" and self.blocker(track, t_s, thresholds) is None:
                track.score.status = "confirmed"
                track.score.confirmed_t_s = t_s
                out.append(track)
        return out

    def blocker(self, track: Track, t_s: float, thresholds: Thresholds) -> str | None:
        """The first confirmation condition ``track`` fails now (``home``, ``llr``,
        ``m_of_n``, ``not_imaged``, ``velocity``), None when it meets them all."""
        if track.home_tower is not None:
            return "home"
        if track.score.llr < self.config.confirm_llr:
            return "llr"
        bins = list(track.score.hit_bins)
        m, n = thresholds.track_confirm_m, thresholds.track_confirm_n
        if per_look(self.config) and self.revisit_s > 1.0:
            if not m_of_n_binned(bins, t_s, m, n, self.revisit_s):
                return "m_of_n"
        elif not m_of_n(bins, math.floor(t_s), m, n):
            return "m_of_n"
        if self._located(track, t_s):
            return None
        return "not_imaged" if not track.imaged(t_s, self.window_s) else "velocity"

    def _located(self, track: Track, t_s: float) -> bool:
        """Two imagers triangulate the track and its velocity is known, or three towers'
        consistent unshared bearings fix it and it has moved (see :meth:`_moving`)."""
        cfg = self.config
        window = self.window_s
        bar = velocity_sigma_bar(track, t_s, cfg.fast_vehicle, cfg.confirm_velocity_sigma_mps)
        if track.imaged(t_s, window) and track.state.velocity_sigma_mps <= bar:
            return True
        return track.evidence.fixed(t_s, window) and self._moving(track, t_s)

    def _moving(self, track: Track, t_s: float) -> bool:
        """Sustained motion, required when only the bearings of three towers fix a track
        (:func:`.clutter.moved`, the test the alerter applies to every track)."""
        cfg = self.config
        return moved(track, t_s, cfg.fix_min_age_s, cfg.fix_motion_probability)

    def expire(self, t_s: float, thresholds: Thresholds) -> list[Track]:
        """Remove tracks that coasted too long or whose uncertainty exploded."""
        cfg = self.config
        dead = []
        tentative_s = max(cfg.tentative_coast_s, float(thresholds.track_confirm_n))
        if per_look(cfg) and self.revisit_s > 0.0:
            tentative_s = max(tentative_s, cfg.revisit_coasts * self.revisit_s + 1.0)
        for track in self.tracks:
            coast = thresholds.track_max_coast_s
            if track.score.status == "tentative":
                coast = min(coast, tentative_s)
            x, p = track.state.x, track.state.p
            p00, p11 = float(p[0, 0]), float(p[1, 1])
            big = max(p00, p11) > cfg.max_sigma_m**2
            broken = not (_finite(x) and _finite(p) and p00 > 0.0 and p11 > 0.0)
            floor = (cfg.delete_tentative_llr if track.score.status == "tentative"
                     else cfg.delete_confirmed_llr)
            lost_range = (track.home_tower is None
                          and t_s - track.first_t_s > cfg.untriangulated_s
                          and not track.triangulated(t_s, cfg.untriangulated_s))
            if (t_s - track.score.last_update_t_s > coast or (big and track.home_tower is None)
                    or track.score.llr < floor or lost_range or broken):
                track.deleted = True
                dead.append(track)
        if dead:
            self.tracks = [t for t in self.tracks if not t.deleted]
        return dead

    def duplicate_pairs(self, t_s: float, towers_xy: FloatArray) -> list[tuple[Track, Track]]:
        """``(loser, survivor)`` of each duplicate or shadow pair among the multi-tower tracks;
        touches nothing (:func:`.duplicates.find_duplicates`)."""
        return find_duplicates([t for t in self.tracks if t.home_tower is None], t_s,
                               towers_xy, self.config.duplicates)

    def merge_duplicates(self, t_s: float, towers_xy: FloatArray) -> list[Track]:
        """Drop tracks that duplicate or shadow another (see :mod:`.duplicates`)."""
        pairs = self.duplicate_pairs(t_s, towers_xy)
        for track, survivor in pairs:
            track.deleted = True
            track.successor = survivor.number
        dropped = [track for track, _ in pairs]
        if dropped:
            self.tracks = [t for t in self.tracks if not t.deleted]
        return dropped
