"""Classify: person, group, vehicle, animal or unknown (static) with a probability.

A naive-Bayes combination of independent evidence: the track's path speed and straightness
over its motion windows (:mod:`.motion`; animals amble and wander, people and vehicles head
somewhere; until 20 s of track exist the filter's speed is used, with its spread), the thermal
target size (pixels times range times the pixel's angle), the height of the thermal centroid
above the ground from its elevation angle seen from the mast (animals stand half as high as
people), the thermal blob's aspect (:mod:`.aspect`: an upright person is tall and narrow, a
quadruped broadside long and low), and the acoustic ``kind_hint`` counts. Every nominal
comes from :mod:`.priors` (published values with their spread, or marked assumed). Size and
height are judged in :mod:`.body`, the animal class's as a mixture of its kinds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.special import logsumexp

from perimeter.fusion import priors as pr
from perimeter.fusion.aspect import aspect_log_likelihoods
from perimeter.fusion.body import Body
from perimeter.fusion.motion import (
    CLASSES,
    ambiguous_window_log_likelihoods,
    motion_log_likelihood,
    motion_of,
    people_speed_branches,
    straightness_log_pdf,
    window_log_likelihoods,
    window_speed_error_mps,
)
from perimeter.fusion.own_path import OwnPath, read_path
from perimeter.fusion.pace import kept_pace_log_likelihood, window_pace_log_likelihoods
from perimeter.fusion.scan import KIND_HINTS
from perimeter.fusion.track import Track

FloatArray = npt.NDArray[np.float64]


def _default_hints() -> dict[str, tuple[float, ...]]:
    # P(kind_hint | class) in KIND_HINTS order: footsteps, voice, engine, tracks, impulse, unknown;
    # impulses and unknown sounds are mostly clutter that fell in a track's wide acoustic gate
    # (assumed, as the table is).
    return {
        "person": (0.50, 0.25, 0.02, 0.02, 0.1, 0.1),
        "group": (0.40, 0.35, 0.02, 0.02, 0.1, 0.1),
        "vehicle": (0.02, 0.02, 0.55, 0.20, 0.1, 0.1),
        "animal": (0.40, 0.05, 0.02, 0.02, 0.1, 0.1),
        "unknown": tuple(1.0 / len(KIND_HINTS) for _ in KIND_HINTS),
    }


def _walk(nominal: pr.Nominal) -> float:
    return math.hypot(nominal.sigma, pr.speed_scatter_mps())


def _size_ranges() -> dict[str, tuple[float, float]]:
    return {"person": (pr.PERSON_SIZE_M.lo, pr.PERSON_SIZE_M.hi),
            "group": (pr.GROUP_SIZE_M.lo, pr.GROUP_SIZE_M.hi),
            "vehicle": (pr.VEHICLE_SIZE_M.lo, pr.VEHICLE_SIZE_M.hi),
            "animal": pr.animal_size_range_m(), "unknown": (0.3, 3.0)}


def _mean_spread(lo: float, hi: float) -> tuple[float, float]:
    """A range read as mean +/- 2 sigma."""
    return (0.5 * (lo + hi), 0.25 * (hi - lo))


def _animal_heights() -> tuple[tuple[float, float], ...]:
    return tuple(_mean_spread(*a.centre_height_m) for a in pr.ANIMALS)


def _heights() -> dict[str, tuple[float, float]]:
    standing = (pr.PERSON_CENTRE_M.mid, pr.PERSON_CENTRE_M.sigma + 0.05)
    return {"person": standing, "group": standing,
            "vehicle": (pr.VEHICLE_CENTRE_M.mid, pr.VEHICLE_CENTRE_M.sigma),
            "animal": _mean_spread(*pr.animal_height_range_m()), "unknown": (0.5, 1.5)}


@dataclass(frozen=True, slots=True)
class ClassModel:
    """Class-conditional models; speeds in m/s, sizes in metres. The defaults are the
    published nominals of :mod:`.priors` (each with its source there)."""

    prior: dict[str, float] = field(default_factory=lambda: {
        "person": 0.30, "group": 0.10, "vehicle": 0.15, "animal": 0.35, "unknown": 0.10})
    """Class shares of the moving objects a site's towers see (assumed)."""
    speed_mean_mps: dict[str, float] = field(default_factory=lambda: {
        "person": pr.PERSON_WALK_MPS.mid, "group": pr.GROUP_WALK_MPS.mid,
        "vehicle": math.sqrt(pr.VEHICLE_MPS.lo * pr.VEHICLE_MPS.hi),
        "animal": math.sqrt(pr.ANIMAL_BOUT_MPS.lo * pr.ANIMAL_BOUT_MPS.hi), "unknown": 0.0})
    """Walking pace of people; the median speed of vehicles and of animals' bouts."""
    speed_sigma_mps: dict[str, float] = field(default_factory=lambda: {
        "person": _walk(pr.PERSON_WALK_MPS), "group": _walk(pr.GROUP_WALK_MPS),
        "vehicle": pr.VEHICLE_MPS.sigma, "animal": 0.45, "unknown": 0.2})
    vehicle_speed_log_sigma: float = field(default_factory=pr.vehicle_speed_log_sigma)
    """Vehicles drive at log-normal speeds (3-15 m/s as +/- 2 sigma): a car does not creep
    at a walker's pace for minutes, which a Gaussian 8 +/- 3 m/s hardly said."""
    animal_speed_log_sigma: float = math.log(pr.ANIMAL_BOUT_MPS.hi / pr.ANIMAL_BOUT_MPS.lo) / 4
    """Animals amble in bouts whose speed is log-normal about the median..."""
    slow_mover_share: float = pr.SLOW_MOVER_SHARE.mid
    """Share of people who move slowly on purpose (crawling, stalking: 0.2-1.2 m/s)."""
    slow_pace_mps: tuple[float, float] = (pr.SLOW_MOVER_MPS.lo, pr.SLOW_MOVER_MPS.hi)
    """Range of a slow mover's own pace: the same person keeps it from window to window..."""
    slow_pace_sigma_mps: float = 0.15
    """... within this scatter of the windows' path speeds about it (assumed)."""
    kept_pace: tuple[str, ...] = ("vehicle",)
    """Classes whose objects keep their own pace from window to window (:mod:`.pace`; any of
    :data:`.pace.PACED`): the population's spread of speeds is paid once per track, not once
    per window. Empty (before): each window judged alone against the population's speeds.
    Walkers and parties too (``PACED``): measured, not in force (docs/fusion.md)."""
    walk_pace_scatter_mps: float = 0.15
    """A walker's (or party's) windows scatter this much about their own pace (assumed: a
    gait's speed varies a few per cent on level ground, more over rough ground and slopes)."""
    vehicle_pace_log_scatter: float = 0.25
    """... and a vehicle's this much in log (assumed: off-road speed follows the ground)."""
    walk_pace_sigmas: float = 2.0
    """A walker's or party's pace lies within their class's mean +/- this many sigma: the
    nominal walking range. Slower, a person is a slow mover, whose own branch covers
    0.2-1.2 m/s; at 3 sigma a party's paces reached 0.23 m/s, and a standing object's noise
    passed for a party keeping 0.3 m/s."""
    slow_straightness_a: float = 15.0
    """Straightness ~ Beta(a, 1) of a slow mover: over a window's few metres of chords the
    filter's position noise makes a crawl look as crooked as an animal's walk."""
    animal_pause_share: float = pr.ANIMAL_PAUSE_SHARE.mid
    """... and stand still between bouts this share of the time (people keep walking)."""
    vehicle_stop_share: float = 0.0
    """Vehicles halt this share of the time (a gate, a look round; nominal
    ``priors.VEHICLE_STOP_SHARE``, 0.1), judged as an animal's pause is
    (:func:`.motion.motion_log_likelihood`). 0 (default): a vehicle never stands, and a
    halted car's windows make it an animal. Off: measured on the whole set it lost a group
    and did not bring the halted car's alert forward (docs/fusion.md "Latency")."""
    size_m: dict[str, tuple[float, float]] = field(default_factory=_size_ranges)
    """Critical dimension of the whole object, +/- 2 sigma in log, per class (metres)."""
    size_log_sigma: float = pr.SIZE_NOISE_LOG_SIGMA
    """One detection's size noise (log)..."""
    size_common_log_sigma: float = pr.SIZE_COMMON_LOG_SIGMA
    """... and the part all of a track's detections share (its range error)."""
    height_m: dict[str, tuple[float, float]] = field(default_factory=_heights)
    """Height of the thermal centroid above ground (mean, spread) per class, from elevation."""
    low_posture_m: tuple[float, float] = (pr.LOW_POSTURE_CENTRE_M.mid,
                                          pr.LOW_POSTURE_CENTRE_M.sigma + 0.05)
    """People crouching or crawling (the slow movers' share of them) show a low centroid."""
    height_common_share: float = pr.HEIGHT_COMMON_SHARE
    animal_by_kind: bool = True
    """Judge an animal's size and height together against each kind's own (an equal
    mixture, :func:`.body.animal_body_log_likelihood`), not each against one range spanning all
    kinds (False, before), whose middle (a roe deer's) left the largest kinds (cattle, red
    deer) at its edge and took a roe deer's size with a cow's height."""
    animal_sizes_m: tuple[tuple[float, float], ...] = field(
        default_factory=lambda: tuple(a.critical_size_m for a in pr.ANIMALS))
    """Critical dimension of each animal kind (+/- 2 sigma in log)..."""
    animal_heights_m: tuple[tuple[float, float], ...] = field(default_factory=_animal_heights)
    """... and the height of its thermal centroid (mean, spread)."""
    use_aspect: bool = True
    """Judge the thermal blob's aspect (height over width: posture, :mod:`.aspect`)."""
    aspect_blur_fwhm_px: float = pr.BLUR_FWHM_PX
    aspect_common_log_sigma: float = pr.ASPECT_COMMON_LOG_SIGMA
    unreliable_share: float = pr.UNRELIABLE_SHARE
    """Share of tracks whose size or height reading is not their object's: uninformative."""
    hint_likelihood: dict[str, tuple[float, ...]] = field(default_factory=_default_hints)
    max_hint_weight: float = 6.0
    hint_clutter_share: float = 0.5
    """Share of associated acoustic detections assumed to be clutter (hint uninformative)."""
    motion_window_s: float = 25.0
    motion_min_s: float = 20.0
    window_weight: float = 0.7
    straightness_beta_a: dict[str, float] = field(default_factory=lambda: {
        "person": 20.0, "group": 15.0, "vehicle": 40.0, "animal": 8.0, "unknown": 1.0})
    """Straightness ~ Beta(a, 1): heading somewhere (large a) or wandering (a near 1)."""
    vehicle_min_size_m: float = pr.animal_size_range_m()[1]
    """Apparent thermal size no animal shows (a party of people may: see
    :func:`vehicle_corroborated`)."""
    people_max_speed_mps: float = pr.PEOPLE_TOP_MPS.mid
    """A speed people on foot do not keep: a vehicle-sized image moving faster is a vehicle."""
    vehicle_min_sounds: int = 2
    """Engine or track sounds, outnumbering footsteps and voices, that corroborate a vehicle."""
    animal_max_speed_mps: float = 5.0
    """Path speed no animal sustains over a motion window (bouts stay below 3.6 m/s)."""
    vehicle_min_straightness: float = 0.8
    """... and straight (animals wander)."""


def accumulate_motion(track: Track, t_s: float, model: ClassModel,
                      path: OwnPath | None = None) -> None:
    """Add one window's motion evidence once every ``motion_window_s`` of track life.

    An object keeps its class, so evidence from successive windows adds up (tempered by
    ``window_weight`` for their dependence): one straight stretch of a wandering animal does
    not make it a person. A person also keeps a gait: a walker's windows are summed as a
    walker's, a slow mover's (crawling, stalking) at the one pace it keeps, so the share of
    slow movers is paid once per person, not once per window (:func:`class_log_likelihoods`).
    A window over an ambiguous association counts its speed only as an upper bound
    (:func:`ambiguous_window_log_likelihoods`).
    """
    ev = track.evidence
    if t_s - ev.class_window_t_s < model.motion_window_s:
        return
    motion = motion_of(read_path(track, model, path), window_s=model.motion_window_s,
                       min_span_s=0.8 * model.motion_window_s)
    if motion is None:
        return
    spread = window_speed_error_mps(track, motion.span_s)
    ambiguous = motion_is_ambiguous(track, t_s, model)
    if ambiguous:
        lls, slow = ambiguous_window_log_likelihoods(motion.speed_mps, model, spread)
    else:
        lls, slow = window_log_likelihoods(motion.speed_mps, motion.straightness, model,
                                           spread)
    for cls, ll in lls.items():
        if cls not in model.kept_pace:
            ev.class_evidence[cls] = ev.class_evidence.get(cls, 0.0) + model.window_weight * ll
    if model.kept_pace:
        _keep_paces(track, None if ambiguous else motion.straightness, motion.speed_mps,
                    spread, model)
    previous = ev.slow_pace_evidence
    ev.slow_pace_evidence = (model.window_weight * slow if previous is None
                             else previous + model.window_weight * slow)
    ev.slow_pace_log_mean = _log_mean_exp(ev.slow_pace_evidence)
    ev.class_windows += 1
    ev.class_window_t_s = t_s


def _keep_paces(track: Track, straightness: float | None, speed_mps: float, spread_mps: float,
                model: ClassModel) -> None:
    """Add a window (``straightness`` None if ambiguous) to each paced class's per-pace
    evidence, and make the class's motion evidence the mean over its paces (:mod:`.pace`);
    :func:`accumulate_motion` sums the other classes' window by window."""
    ev = track.evidence
    for cls in model.kept_pace:
        window = model.window_weight * window_pace_log_likelihoods(
            cls, speed_mps, spread_mps, straightness, model)
        previous = ev.pace_evidence.get(cls)
        ev.pace_evidence[cls] = window if previous is None else previous + window
        ev.class_evidence[cls] = kept_pace_log_likelihood(cls, ev.pace_evidence[cls], model)


def motion_is_ambiguous(track: Track, t_s: float, model: ClassModel) -> bool:
    """Whether the motion window ending at ``t_s`` holds an ambiguous association (see
    :attr:`.TrackEvidence.ambiguous_t_s`): its speed and straightness may be of a path stitched from
    several objects (a fast straight segment passed for a vehicle among people abreast)."""
    return track.evidence.ambiguous_t_s >= t_s - model.motion_window_s


def vehicle_corroborated(track: Track, model: ClassModel, path: OwnPath | None = None) -> bool:
    """Evidence for a vehicle that neither an animal nor people on foot give: a thermal image
    larger than any animal's moving faster than people walk (a party abreast is as wide as
    a car, but at a walker's pace), engine or track sounds outnumbering footsteps and
    voices, or a fast straight path over a motion window. Speed from a young filter alone is
    not enough: a convergence jump looks fast."""
    feats = track.evidence.features
    if (len(feats.sizes_m) >= 3 and feats.size_m >= model.vehicle_min_size_m
            and track.state.speed_mps - 2.0 * track.state.velocity_sigma_mps
            >= model.people_max_speed_mps):
        return True
    hints = dict(zip(KIND_HINTS, feats.hint_counts, strict=True))
    machine = float(hints["engine"] + hints["tracks"])
    living = float(hints["footsteps"] + hints["voice"])
    if machine >= model.vehicle_min_sounds and machine > living:
        return True
    motion = motion_of(read_path(track, model, path), window_s=model.motion_window_s,
                       min_span_s=model.motion_min_s)
    return (motion is not None and motion.speed_mps >= model.animal_max_speed_mps
            and motion.straightness >= model.vehicle_min_straightness
            and not motion_is_ambiguous(track, track.state.trail[-1][0], model))


def _motion_terms(track: Track, model: ClassModel, path: OwnPath | None = None
                  ) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Motion log-likelihood of the classes that are not people, and of people as walkers
    and as slow movers (the two branches that :func:`class_log_likelihoods` joins with the
    posture each implies)."""
    people = ("person", "group")
    if track.evidence.class_windows:
        evidence = track.evidence.class_evidence or dict.fromkeys(CLASSES, 0.0)
        slow = track.evidence.slow_pace_log_mean
        return ({c: evidence[c] for c in CLASSES if c not in people},
                {c: (evidence[c], slow) for c in people})
    motion = motion_of(read_path(track, model, path), window_s=model.motion_window_s,
                       min_span_s=model.motion_min_s)
    if track.state.trail and motion_is_ambiguous(track, track.state.trail[-1][0], model):
        return ({c: 0.0 for c in CLASSES if c not in people}, {c: (0.0, 0.0) for c in people})
    if motion is None:
        state = track.state
        speed, spread, straight = state.speed_mps, state.velocity_sigma_mps + 0.3, None
    else:
        speed, straight = motion.speed_mps, motion.straightness
        spread = window_speed_error_mps(track, motion.span_s)
    others = {c: motion_log_likelihood(c, speed, spread, straight, model)
              for c in CLASSES if c not in people}
    branches = {}
    for c in people:
        walk, slow = people_speed_branches(c, speed, spread, model)
        if straight is not None:
            walk += straightness_log_pdf(straight, model.straightness_beta_a[c])
            slow += straightness_log_pdf(straight, model.slow_straightness_a)
        branches[c] = (walk, slow)
    return others, branches


def class_log_likelihoods(track: Track, model: ClassModel,
                          path: OwnPath | None = None) -> dict[str, float]:
    """Log-likelihood of the track's evidence under each class. People are walkers (upright)
    or, a ``slow_mover_share`` of them, slow movers whose posture is low half the time: the
    pace, the height and the blob's aspect are judged together, so a low centroid or a long
    low blob moving at a walker's pace is not excused as a crawl."""
    out, branches = _motion_terms(track, model, path)
    feats = track.evidence.features
    body = Body.read(feats, model)
    size, height = body.class_size(model), body.class_height(model)
    aspect = (aspect_log_likelihoods(feats, model.aspect_blur_fwhm_px, model.size_log_sigma,
                                     model.aspect_common_log_sigma, model.unreliable_share,
                                     CLASSES)
              if model.use_aspect else dict.fromkeys(CLASSES, (0.0, 0.0)))
    share = model.slow_mover_share
    for cls, (walk, slow) in branches.items():
        upright = height[cls][0] + aspect[cls][0]
        low = height[cls][1] + aspect[cls][1]
        crouched = float(np.logaddexp(upright, low)) - math.log(2.0)
        out[cls] = float(np.logaddexp(math.log1p(-share) + walk + upright,
                                      math.log(share) + slow + crouched))
    counts = feats.hint_counts
    total = float(counts.sum())
    weight = min(1.0, model.max_hint_weight / total) if total > 0 else 0.0
    for cls in CLASSES:
        if cls in branches:
            out[cls] += size[cls]
        elif cls == "animal" and model.animal_by_kind:
            out[cls] += body.animal(model) + aspect[cls][0]
        else:
            out[cls] += size[cls] + height[cls][0] + aspect[cls][0]
        if total > 0:
            row = _log_hint_row(model.hint_likelihood[cls], model.hint_clutter_share)
            out[cls] += weight * float(counts @ row)
    return out


def _log_mean_exp(values: FloatArray) -> float:
    """``log(mean(exp(values)))``."""
    return float(logsumexp(values)) - math.log(values.size)


@lru_cache(maxsize=64)
def _log_hint_row(likelihoods: tuple[float, ...], clutter_share: float) -> FloatArray:
    """``log P(kind_hint | class)`` with the clutter share mixed in (computed once; read only)."""
    table = np.asarray(likelihoods)
    return np.log((1.0 - clutter_share) * table + clutter_share / table.size)


def classify(track: Track, model: ClassModel, t_s: float | None = None,
             path: OwnPath | None = None) -> dict[str, float]:
    """Posterior class probabilities of a track (accumulating motion evidence at ``t_s``)."""
    if t_s is not None:
        accumulate_motion(track, t_s, model, path)
    lls = class_log_likelihoods(track, model, path)
    logs = {c: lls[c] + math.log(model.prior[c]) for c in CLASSES}
    top = max(logs.values())
    weights = {c: math.exp(v - top) for c, v in logs.items()}
    norm = sum(weights.values())
    return {c: w / norm for c, w in weights.items()}


def label(probabilities: dict[str, float]) -> tuple[str, float]:
    """The most probable class and its probability."""
    cls = max(probabilities, key=lambda c: probabilities[c])
    return cls, probabilities[cls]


def refresh_class(track: Track, t_s: float, model: ClassModel) -> None:
    """Bring a track's class up to data time ``t_s``: a due motion window is added, and the
    probabilities are computed again only when what they depend on changed (see
    :attr:`.TrackEvidence.classified_at`). The track's own path is read once, if at all."""
    path = OwnPath(track, model)
    accumulate_motion(track, t_s, model, path)
    ev = track.evidence
    inputs = (track.score.updates, ev.class_windows)
    if inputs == ev.classified_at:
        return
    ev.classified_at = inputs
    # with a motion window the class no longer reads the path: only the windows and features
    on = (ev.features.version, ev.class_windows) if ev.class_windows else None
    if on is None or on != ev.classified_on:
        ev.classified_on = on
        ev.probabilities = classify(track, model, path=path)
        ev.label, ev.label_probability = label(ev.probabilities)
    if ev.label == "vehicle" and not ev.vehicle_corroborated:  # the alerter's need
        ev.vehicle_corroborated = vehicle_corroborated(track, model, path)
