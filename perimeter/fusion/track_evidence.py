"""A track's evidence, owned by association and classification: which tower sensors saw it
and when, the unshared bearings that fix it, the features and class evidence, its class."""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

FloatArray = npt.NDArray[np.float64]

FIX_MIN_TOWERS = 3
"""Towers whose bearings must agree for a track that two imagers do not triangulate."""

FIX_GATE_PROBABILITY = 0.99
"""Chi-square level of the consistency test of those towers' bearings with the track."""


@lru_cache(maxsize=256)
def _chi2_quantile(dof: int) -> float:
    return float(chi2.ppf(FIX_GATE_PROBABILITY, dof))


@dataclass(slots=True)
class Features:
    """Evidence for classification accumulated from associated detections."""

    sizes_m: deque[float] = field(default_factory=lambda: deque(maxlen=101))
    heights_m: deque[float] = field(default_factory=lambda: deque(maxlen=101))
    height_sigmas_m: deque[float] = field(default_factory=lambda: deque(maxlen=101))
    aspects: deque[float] = field(default_factory=lambda: deque(maxlen=101))
    """Blob aspect readings, ``log(height_px / width_px)``..."""
    aspect_footprints_m: deque[float] = field(default_factory=lambda: deque(maxlen=101))
    """... and each reading's pixel footprint at the track's range (metres per pixel)..."""
    aspect_headings_rad: deque[float] = field(default_factory=lambda: deque(maxlen=101))
    """... and the track's heading relative to the reading tower's line of sight, folded
    into 0 (end on) to pi/2 (broadside); NaN while the heading is not known."""
    contrast_k_sum: float = 0.0
    contrast_n: int = 0
    source_db_sum: float = 0.0
    source_n: int = 0
    hint_counts: FloatArray = field(default_factory=lambda: np.zeros(6))
    thermal_hits: int = 0
    acoustic_hits: int = 0
    version: int = field(default=0, compare=False)
    """Bumped by every detection that adds evidence here (:mod:`.evidence`): unchanged, the
    features a class is computed from are unchanged (:func:`.classify.refresh_class`)."""
    _size_memo: tuple[tuple[float, ...], float] = field(
        default=((), math.nan), init=False, repr=False, compare=False)
    _height_memo: tuple[tuple[tuple[float, ...], ...], tuple[float, float]] = field(
        default=((), (math.nan, math.nan)), init=False, repr=False, compare=False)
    """The last :attr:`size_m` and :attr:`height_m` with the values they came from: a track
    reclassified after an acoustic update, or asked by the vehicle check, gained no thermal
    detection since (comparing the values is a fraction of the quantile's cost)."""

    @property
    def size_m(self) -> float:
        """Apparent size (thermal critical dimension): the 90th percentile of the recent
        detections, so towers that see the object only partly (forest, buildings) do not
        shrink it."""
        if len(self.sizes_m) < 2:
            return self.sizes_m[0] if self.sizes_m else math.nan
        values = tuple(self.sizes_m)
        if values != self._size_memo[0]:
            # statistics is several times faster than numpy on ~100 values (same linear rule)
            size = statistics.quantiles(values, n=10, method="inclusive")[8]
            self._size_memo = (values, size)
        return self._size_memo[1]

    @property
    def height_m(self) -> tuple[float, float]:
        """Height of the thermal centroid above (flat) ground from elevation angles, and its
        standard error: the median of the recent estimates (robust to a stray detection)."""
        n = len(self.heights_m)
        if n < 5:
            return math.nan, math.nan
        values = (tuple(self.heights_m), tuple(self.height_sigmas_m))
        if values != self._height_memo[0]:
            sig = np.fromiter(values[1], float)
            err = 1.25 / math.sqrt(float(np.sum(1.0 / sig**2)))
            self._height_memo = (values, (statistics.median(values[0]), err))
        return self._height_memo[1]

    @property
    def contrast_k(self) -> float:
        return self.contrast_k_sum / self.contrast_n if self.contrast_n else math.nan

    @property
    def source_db(self) -> float:
        return self.source_db_sum / self.source_n if self.source_n else math.nan


@dataclass(slots=True)
class TrackEvidence:
    """What the detections associated with a track say about it, and its class."""

    towers: set[int] = field(default_factory=set)
    thermal_towers: set[int] = field(default_factory=set)
    sensors: set[str] = field(default_factory=set)
    last_seen_by: dict[tuple[int, str], float] = field(default_factory=dict)
    previous_seen_by: dict[tuple[int, str], float] = field(default_factory=dict)
    sigma_by: dict[tuple[int, str], float] = field(default_factory=dict)  # last bearing sigma
    fix_last: dict[int, float] = field(default_factory=dict)
    """Per tower: time of its last bearing (any sensor) that no other track gated."""
    fix_previous: dict[int, float] = field(default_factory=dict)
    fix_nis: deque[tuple[float, int, float]] = field(default_factory=lambda: deque(maxlen=128))
    """``(t_s, tower, nu^2/S)`` of those bearings: the consistency test's terms."""
    features: Features = field(default_factory=Features)
    label: str = "unknown"
    label_probability: float = 0.0
    probabilities: dict[str, float] = field(default_factory=dict)
    class_evidence: dict[str, float] = field(default_factory=dict)
    slow_pace_evidence: FloatArray | None = None
    """Per candidate pace of a slow mover, the summed log-likelihood of the motion windows
    (see :func:`.classify.accumulate_motion`)."""
    pace_evidence: dict[str, FloatArray] = field(default_factory=dict)
    """Per class that keeps a pace, the summed log-likelihood of the motion windows at each
    of its candidate paces (:mod:`.pace`)."""
    slow_pace_log_mean: float = 0.0
    """``log`` of the mean likelihood over those paces (a uniform prior), refreshed with
    them once per window (0 before any)."""
    class_windows: int = 0
    class_window_t_s: float = -math.inf
    ambiguous_t_s: float = -math.inf
    """When the track was last updated on an ambiguous association: a bearing another track
    also gated, or one of several in its own gate. Motion measured across it may be another
    object's (people abreast trade bearings), so no class is taken from it
    (:func:`.classify.motion_is_ambiguous`)."""
    classified_at: tuple[int, int] | None = None
    """``(updates, class_windows)`` when the class was last refreshed: the class depends on
    nothing else, so an unchanged pair needs no new classification."""
    classified_on: tuple[int, int] | None = None
    """``(features.version, class_windows)`` when :attr:`probabilities` were last computed
    with a motion window (None before): from the first window on, the class reads the
    windows' evidence and the features, not the path, so an update that added no feature
    (an out-of-sequence one: most of them) needs no new classification."""
    vehicle_corroborated: bool = False
    """Once seen, evidence only a vehicle gives (see :func:`.classify.vehicle_corroborated`)."""
    machine_heard: dict[int, int] = field(default_factory=dict)
    """Per tower: its unshared acoustic associations hinted ``engine`` or ``tracks``, in
    order or late (counted only with ``ManageConfig.fast_vehicle``)..."""
    living_heard: int = 0
    """... and all towers' hinted ``footsteps`` or ``voice``."""
    heard_vehicle: bool = False
    """Once seen, machine sounds from several towers (:func:`.fast_vehicle.heard_vehicle`)."""
    seen_vehicle_t_s: float = -math.inf
    """When the fast path last judged the track seen as a vehicle
    (:func:`.fast_vehicle.vehicle_evidence`)."""
    late_shared_t_s: float = -math.inf
    """When a late association of the track was last ambiguous (marked only with
    ``ManageConfig.fast_vehicle``: :func:`.fast_vehicle.mark_late_shared`)."""
    located_t_s: float = -math.inf
    mislocated_t_s: float = -math.inf
    """When the track's last thermal reading with an elevation put the heat centre at a
    possible height above the ground at the track's range, and when the second of the
    impossible ones since (:func:`.priors.impossible_height`; :func:`.evidence.add_thermal`)."""
    impossible_at: tuple[float, int] | None = None
    """``(t_s, tower)`` of the scan of the first impossible reading since the last possible
    one, None if there is none."""

    @property
    def mislocated(self) -> bool:
        """Two scans' thermal elevation readings (two looks, or two towers) put the heat
        centre at an impossible height, none possible between: the track is not where its
        object is (its range slid along a line of sight; one such reading alone may be a
        detection that is not its object's). The alerter reports no position of it until a
        reading is possible again (:mod:`.alert`)."""
        return self.mislocated_t_s > self.located_t_s

    def record_detection(self, t_s: float, tower: int, sensor: str) -> None:
        """An associated detection by ``tower``'s ``sensor`` at ``t_s``."""
        self.towers.add(tower)
        if sensor == "thermal":
            self.thermal_towers.add(tower)
        self.sensors.add(sensor)
        key = (tower, sensor)
        if key in self.last_seen_by:
            self.previous_seen_by[key] = self.last_seen_by[key]
        self.last_seen_by[key] = t_s

    def recent_thermal_towers(self, t_s: float, window_s: float) -> int:
        """How many thermal imagers detected this track at least twice in the last ``window_s``
        (a single chance hit of clutter does not count)."""
        return sum(1 for key, seen in self.previous_seen_by.items()
                   if key[1] == "thermal" and t_s - seen <= window_s)

    def imaged(self, t_s: float, window_s: float) -> bool:
        """Two thermal imagers each saw the track at least twice in the last ``window_s``
        (:meth:`.Track.imaged` lengthens the window of a slow track)."""
        return self.recent_thermal_towers(t_s, window_s) >= 2

    def record_fix(self, t_s: float, tower: int, nis: float) -> None:
        """An associated bearing no other track gated (see :meth:`fixing_towers`)."""
        if tower in self.fix_last and self.fix_last[tower] < t_s:
            self.fix_previous[tower] = self.fix_last[tower]
        self.fix_last[tower] = t_s
        self.fix_nis.append((t_s, tower, nis))

    def fixing_towers(self, t_s: float, window_s: float) -> set[int]:
        """Towers that sent at least two bearings (thermal or acoustic) in the last
        ``window_s`` that no other track gated (a bearing two tracks could claim fixes
        neither: the ghost check)."""
        return {tower for tower, seen in self.fix_previous.items() if t_s - seen <= window_s}

    def bearings_consistent(self, t_s: float, window_s: float) -> bool:
        """Chi-square test of the unshared bearings of the last ``window_s``: the sum of their
        normalised innovations ``nu^2/S`` against ``chi2(n)`` at :data:`FIX_GATE_PROBABILITY`.
        Bearings of a ghost (the crossing of lines of sight of different objects) disagree
        with any single moving point, so the sum grows beyond the quantile."""
        terms = [d2 for t, _, d2 in self.fix_nis if t_s - t <= window_s]
        return bool(terms) and sum(terms) <= _chi2_quantile(len(terms))

    def fixed(self, t_s: float, window_s: float) -> bool:
        """:data:`FIX_MIN_TOWERS` towers' unshared bearings (thermal or acoustic) of the last
        ``window_s`` fix the track and pass :meth:`bearings_consistent`."""
        return (len(self.fixing_towers(t_s, window_s)) >= FIX_MIN_TOWERS
                and self.bearings_consistent(t_s, window_s))
