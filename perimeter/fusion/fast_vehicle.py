"""A vehicle's fast path: late reports scored for tracks with vehicle evidence of their own.

By default only its velocity bar for heard vehicles acts: with the reorder hold almost no
report is late, and late scoring (``ManageConfig.late_scored``, on) scores every one, so the
late scoring below acts where that is switched off (eval config ``no-hold``). Without the
hold most reports reach fusion late (the out-of-sequence path, 84 % of them), which updates
a track but scores nothing, so the track near a car waits tens of seconds for its score and
most such tracks die tentative. Scoring every late report (``ManageConfig.late_scored``)
confirms tracks stitched across herds and wind clutter as readily, and those alerted as
vehicles without a sound (docs/fusion.md "The late path's evidence"). Here a late report is
scored (:func:`.late_score.score_late`'s ``only``) only for a track with evidence that
neither an animal, a party on foot nor a path stitched from several objects gives:

- **heard**: ``min_towers`` towers each heard it as a machine (``engine`` or ``tracks``)
  at least ``min_hints`` times, machine hints outnumbering footsteps and voices. Vehicles
  are loud (a light vehicle's 91 dB at 1 m: the EU pass-by limit, 74 dB(A) at 7.5 m; a
  tracked one louder) and heard from kilometres, footsteps, voices and animals from a few
  hundred metres. Assumed, with spread: an array names a strong sound right 85 % of the
  time (70-95 %) and a weak one no better than a coin, a wrong name any of the other five,
  so a weak walker's or animal's sound reads as a machine about one time in five (0.1-0.3);
  such a source is heard by one tower at a time, two rarely, and four misreads from two
  towers are needed. Once heard, a track stays so.
- **seen**, while its associations are its own: three or more of its unshared thermal sizes
  put it above any animal (:attr:`.ClassModel.vehicle_min_size_m`, 1.89 m), its filter
  speed less two sigmas is above people's top pace (2.5 m/s: a party abreast is as wide as
  a car, at a walker's pace), and none of its associations of the last ``own_s``, in order
  or late, was ambiguous (a bearing another track gated, or one of several in its gate;
  the late ones marked here, :func:`mark_late_shared`). A track on a herd or a field of
  wind clutter takes one of several bearings at every look: its size and speed are of a
  stitched path (docs/fusion.md "The late path's evidence").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from perimeter.fusion.associate import IntArray, ambiguous_tracks
from perimeter.fusion.classify import ClassModel
from perimeter.fusion.clutter import ClutterMap
from perimeter.fusion.late import LateFused
from perimeter.fusion.late_score import score_late
from perimeter.fusion.looks import Looks
from perimeter.fusion.scan import KIND_HINTS, Scan
from perimeter.fusion.track import Track
from perimeter.fusion.track_evidence import TrackEvidence

__all__ = ["LIVING", "MACHINE", "FastVehicleConfig", "hear", "hear_late", "heard_vehicle",
           "mark_late_shared", "record_hint", "score_late_vehicles", "seen_vehicle",
           "vehicle_evidence", "velocity_sigma_bar"]

MACHINE = frozenset(KIND_HINTS.index(k) for k in ("engine", "tracks"))
LIVING = frozenset(KIND_HINTS.index(k) for k in ("footsteps", "voice"))


@dataclass(frozen=True, slots=True)
class FastVehicleConfig:
    enabled: bool = True
    """Late reports scored only for tracks with vehicle evidence (off: none, or every
    track's with ``ManageConfig.late_scored``, which takes precedence: by default, so the
    late scoring here acts only where that is switched off), and a heard vehicle confirmed
    with the looser velocity bar (:func:`velocity_sigma_bar`, on by default too; docs/fusion.md
    "A vehicle's fast path")."""
    min_towers: int = 2
    """Towers (2 nominal, 2-3 assumed) that must each have heard the track as a machine."""
    min_hints: int = 2
    """Machine hints (2 nominal, 1-3 assumed) each of those towers must have given."""
    shared: bool = False
    """Count also the hints of bearings other tracks gated, as long as the association
    gave them to this track (a vehicle's 2-10 degree acoustic bearings fall in the gates of
    every tentative track about it, so most of a car's early hints are shared). Off: on
    the evaluation's streams a party near a vehicle's road was then heard as a machine
    (docs/fusion.md "A vehicle's fast path")."""
    scored_sensors: tuple[str, ...] = ("thermal",)
    """The sensors whose late reports are scored for such a track. An acoustic bearing
    (2-10 degrees) says the track is a machine, not where it is: scored too, a car in fog
    heard by five towers was confirmed on its sound alone, fixed by acoustic bearings
    150-300 m off it, and alerted there (docs/fusion.md "A vehicle's fast path")."""
    heard: bool = True
    """The heard path (machine sounds from several towers)."""
    seen: bool = True
    """The seen path (size, speed, own associations) as well as the heard one."""
    own_s: float = 10.0
    """Seen: no ambiguous association in this long (two 5.5 s revisits of a scanning head;
    5-15 s assumed), and the track at least this old."""
    velocity_sigma_mps: float = 3.0
    """A track with vehicle evidence is located (confirmed, with two imagers) once its
    velocity is known to this; below ``ManageConfig.confirm_velocity_sigma_mps`` (1.5 m/s,
    which tells a walker from a standing object) it changes nothing. 3 m/s, the slowest
    usual vehicle speed (:data:`.priors.VEHICLE_MPS`'s low end; 2-4 m/s assumed), freed a
    heavy vehicle heard by twelve towers that the 1.5 m/s bar held 220 s at 2.1-2.5 m/s, but
    on the whole set also a 17 s old seen track on clutter (docs/fusion.md "A vehicle's fast
    path"): so for heard tracks only by default (``velocity_bar_seen``)."""
    velocity_bar_seen: bool = False
    """The looser bar for seen tracks too, not only heard ones."""
    min_sizes: int = 3
    """Seen: unshared thermal size readings needed (one may be a neighbour's blob; as the
    alerter's size corroboration, :func:`.classify.vehicle_corroborated`). With two, 21
    tracks on wind clutter were taken on one run (docs/fusion.md "A vehicle's fast path")."""


def record_hint(evidence: TrackEvidence, tower: int, hint: int,
                config: FastVehicleConfig) -> None:
    """Count one acoustic association's ``hint`` (a :data:`.scan.KIND_HINTS` index, -1 when
    absent) by ``tower`` on the track, and settle whether it is now a heard vehicle."""
    if hint in MACHINE:
        evidence.machine_heard[tower] = evidence.machine_heard.get(tower, 0) + 1
    elif hint in LIVING:
        evidence.living_heard += 1
    else:
        return
    if not evidence.heard_vehicle:
        evidence.heard_vehicle = heard_vehicle(evidence, config)


def hear(evidence: TrackEvidence, tower: int, hint: int, *, unique: bool,
         config: FastVehicleConfig) -> None:
    """:func:`record_hint` of one association, unless it was shared and ``config`` counts
    only unshared ones."""
    if unique or config.shared:
        record_hint(evidence, tower, hint, config)


def heard_vehicle(evidence: TrackEvidence, config: FastVehicleConfig) -> bool:
    """Whether ``min_towers`` towers each heard the track as a machine ``min_hints`` times
    and its machine hints outnumber its footsteps and voices."""
    counts = evidence.machine_heard.values()
    towers = sum(1 for n in counts if n >= config.min_hints)
    return towers >= config.min_towers and sum(counts) > evidence.living_heard


def hear_late(scan: Scan, fused: LateFused, rivals: IntArray,
              config: FastVehicleConfig) -> None:
    """Count the late acoustic ``scan``'s hints on the tracks that took its bearings
    (``rivals``: how many tracks gate each bearing; the in-order path counts them in
    :meth:`.engine.FusionEngine._after_update`)."""
    for t_idx, d_idx in zip(fused.found.tracks.tolist(), fused.found.detections.tolist(),
                            strict=True):
        hear(fused.tracks[t_idx].evidence, scan.tower_index, int(scan.kind_hint[d_idx]),
             unique=bool(rivals[d_idx] == 1), config=config)


def mark_late_shared(fused: LateFused, rivals: IntArray, t_s: float) -> None:
    """Mark the tracks whose late association at ``t_s`` was ambiguous (the in-order rule,
    :func:`.late.mark_ambiguous`) in :attr:`.TrackEvidence.late_shared_t_s`, which only the
    seen path reads (classification keeps to the in-order marks)."""
    for t_idx in ambiguous_tracks(fused.found, rivals).tolist():
        evidence = fused.tracks[t_idx].evidence
        evidence.late_shared_t_s = max(evidence.late_shared_t_s, t_s)


def seen_vehicle(track: Track, t_s: float, config: FastVehicleConfig,
                 model: ClassModel) -> bool:
    """Larger than any animal, faster than people walk, and its own for ``own_s`` at
    ``t_s`` (see the module docstring)."""
    ev = track.evidence
    feats = ev.features
    if len(feats.sizes_m) < config.min_sizes or not feats.size_m >= model.vehicle_min_size_m:
        return False
    state = track.state
    if state.speed_mps - 2.0 * state.velocity_sigma_mps < model.people_max_speed_mps:
        return False
    since = max(ev.ambiguous_t_s, ev.late_shared_t_s, track.first_t_s)
    return math.isfinite(since) and t_s - since >= config.own_s


def vehicle_evidence(track: Track, t_s: float, config: FastVehicleConfig,
                     model: ClassModel) -> bool:
    """Heard, or (with ``config.seen``) seen at ``t_s``: its late reports are scored."""
    if config.heard and track.evidence.heard_vehicle:
        return True
    if config.seen and seen_vehicle(track, t_s, config, model):
        track.evidence.seen_vehicle_t_s = t_s
        return True
    return False


def velocity_sigma_bar(track: Track, t_s: float, config: FastVehicleConfig,
                       default_mps: float) -> float:
    """The velocity sigma that locates ``track`` at ``t_s`` (:meth:`.TrackManager.blocker`):
    ``config.velocity_sigma_mps`` for a heard vehicle or (``velocity_bar_seen``) one seen
    within ``own_s``, else ``default_mps``."""
    ev = track.evidence
    if config.enabled and ((config.heard and ev.heard_vehicle) or (
            config.velocity_bar_seen and t_s - ev.seen_vehicle_t_s <= config.own_s)):
        return max(default_mps, config.velocity_sigma_mps)
    return default_mps


def score_late_vehicles(scan: Scan, fused: LateFused | None, tracks: list[Track],
                        clutter: ClutterMap, looks: Looks, llr_max: float,
                        miss_window_s: float, config: FastVehicleConfig,
                        model: ClassModel) -> None:
    """The late ``scan`` on the fast path: its hints heard, its ambiguous associations
    marked, and (a sensor of ``config.scored_sensors``) its hits and misses scored for the
    tracks with vehicle evidence at its time; other tracks' scores, and the clutter map's
    sector mean, are left as without the fast path."""
    if fused is not None and fused.found.tracks.size and fused.found.gated is not None:
        rivals = fused.found.gated.sum(axis=0)  # counted once for both
        if scan.sensor == "acoustic":
            hear_late(scan, fused, rivals, config)
        mark_late_shared(fused, rivals, scan.t_s)
    if scan.sensor in config.scored_sensors:
        t_s = scan.t_s
        score_late(scan, fused, tracks, clutter, looks, llr_max, miss_window_s,
                   lambda track: vehicle_evidence(track, t_s, config, model))
