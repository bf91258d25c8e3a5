"""The track record: filter state, filtered history for smoothing, quality and features."""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

FloatArray = npt.NDArray[np.float64]
TrackStatus = Literal["tentative", "confirmed"]

EXISTENCE_PRIOR_LOG_ODDS = -5.0
"""Prior log-odds that a new track is a real object (most seeds in clutter are not)."""

HISTORY_CAP = 2048
"""Filtered states kept per track for origin smoothing (the first ones matter)."""

FIX_MIN_TOWERS = 3
"""Towers whose bearings must agree for a track that two imagers do not triangulate."""

TRAIL_MAX_SIGMA_M = 30.0
"""A trail point (the motion classifier's input) is kept only while the filter locates the
track to this (1-sigma, larger axis): before it has converged, or on acoustic bearings alone
(~100 m), the estimate's jumps would read as fast, wandering motion, and one such window of
evidence outweighs many good ones."""

SLOW_MPS = 0.7
SLOW_FACTOR = 3.0
"""A track surely slower than :data:`SLOW_MPS` keeps its triangulation for ``SLOW_FACTOR``
times the usual window: a crawler glimpsed between trees moves little between sightings."""

FIX_GATE_PROBABILITY = 0.99
"""Chi-square level of the consistency test of those towers' bearings with the track."""


@lru_cache(maxsize=256)
def _chi2_quantile(dof: int) -> float:
    return float(chi2.ppf(FIX_GATE_PROBABILITY, dof))


class History:
    """The first :data:`HISTORY_CAP` filtered states ``(t, x, P, q)`` of a track."""

    __slots__ = ("n", "p", "q", "t", "x")

    def __init__(self) -> None:
        self.n = 0
        self.t = np.zeros(16)
        self.x = np.zeros((16, 4))
        self.p = np.zeros((16, 4, 4))
        self.q = np.zeros(16)

    def append(self, t_s: float, x: FloatArray, p: FloatArray, q: float) -> None:
        if self.n >= HISTORY_CAP:
            return
        if self.n == self.t.shape[0]:
            grow = min(2 * self.n, HISTORY_CAP)
            self.t = np.resize(self.t, grow)
            self.x = np.resize(self.x, (grow, 4))
            self.p = np.resize(self.p, (grow, 4, 4))
            self.q = np.resize(self.q, grow)
        i = self.n
        self.t[i], self.x[i], self.p[i], self.q[i] = t_s, x, p, q
        self.n += 1

    @property
    def full(self) -> bool:
        return self.n >= HISTORY_CAP

    def reset(self) -> None:
        self.n = 0


@dataclass(slots=True)
class Features:
    """Evidence for classification accumulated from associated detections."""

    sizes_m: deque[float] = field(default_factory=lambda: deque(maxlen=101))
    heights_m: deque[float] = field(default_factory=lambda: deque(maxlen=101))
    height_sigmas_m: deque[float] = field(default_factory=lambda: deque(maxlen=101))
    contrast_k_sum: float = 0.0
    contrast_n: int = 0
    source_db_sum: float = 0.0
    source_n: int = 0
    hint_counts: FloatArray = field(default_factory=lambda: np.zeros(6))
    thermal_hits: int = 0
    acoustic_hits: int = 0
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


def _detection_rate(counts: list[int]) -> float:
    """A tower sensor's detection rate of a track from ``[hits, looks]`` (Laplace estimate)."""
    return (counts[0] + 1.0) / (counts[1] + 2.0)


@dataclass(slots=True)
class Track:
    """One live track. ``x, p`` hold the state at ``t_s`` (the last update)."""

    number: int
    x: FloatArray
    p: FloatArray
    t_s: float
    first_t_s: float
    home_tower: int | None = None  # set while only one tower has seen it
    status: TrackStatus = "tentative"
    last_update_t_s: float = 0.0
    confirmed_t_s: float | None = None
    hit_bins: deque[int] = field(default_factory=lambda: deque(maxlen=64))
    towers: set[int] = field(default_factory=set)
    thermal_towers: set[int] = field(default_factory=set)
    sensors: set[str] = field(default_factory=set)
    last_seen_by: dict[tuple[int, str], float] = field(default_factory=dict)
    previous_seen_by: dict[tuple[int, str], float] = field(default_factory=dict)
    looks: dict[tuple[int, str], list[int]] = field(default_factory=dict)  # [hits, scans]
    sigma_by: dict[tuple[int, str], float] = field(default_factory=dict)  # last bearing sigma
    llr: float = 0.0
    updates: int = 0
    history: History = field(default_factory=History)
    features: Features = field(default_factory=Features)
    trail: list[tuple[float, float, float]] = field(default_factory=list)
    label: str = "unknown"
    label_probability: float = 0.0
    probabilities: dict[str, float] = field(default_factory=dict)
    class_evidence: dict[str, float] = field(default_factory=dict)
    slow_pace_evidence: FloatArray | None = None
    """Per candidate pace of a slow mover, the summed log-likelihood of the motion windows
    (see :func:`.classify.accumulate_motion`)."""
    motion_evidence: dict[str, float] = field(default_factory=dict)
    """Both combined per class (:func:`.classify.motion_evidence`), once per window."""
    class_windows: int = 0
    class_window_t_s: float = -math.inf
    ambiguous_t_s: float = -math.inf
    """When the track was last updated on an ambiguous association: a bearing another track
    also gated, or one of several in its own gate. Motion measured across it may be another
    object's (people abreast trade bearings), so no class is taken from it
    (:func:`.classify.motion_is_ambiguous`)."""
    classified_at: tuple[int, int] | None = None
    """``(updates, class_windows)`` when :attr:`probabilities` were last computed: the class
    depends on nothing else, so an unchanged pair needs no new classification."""
    vehicle_corroborated: bool = False
    """Once seen, evidence only a vehicle gives (see :func:`.classify.vehicle_corroborated`)."""
    alert_id: str | None = None
    deleted: bool = False
    fix_last: dict[int, float] = field(default_factory=dict)
    """Per tower: time of its last bearing (any sensor) that no other track gated."""
    fix_previous: dict[int, float] = field(default_factory=dict)
    fix_nis: deque[tuple[float, int, float]] = field(default_factory=lambda: deque(maxlen=128))
    """``(t_s, tower, nu^2/S)`` of those bearings: the consistency test's terms."""

    @property
    def track_id(self) -> str:
        return f"k-{self.number:06d}"

    @property
    def speed_mps(self) -> float:
        return math.hypot(float(self.x[2]), float(self.x[3]))

    @property
    def existence(self) -> float:
        """Probability the track is a real object, from its log-likelihood ratio and prior."""
        odds = min(max(self.llr + EXISTENCE_PRIOR_LOG_ODDS, -50.0), 50.0)
        return 1.0 / (1.0 + math.exp(-odds))

    @property
    def velocity_sigma_mps(self) -> float:
        return math.sqrt(max(float(self.p[2, 2] + self.p[3, 3]) / 2.0, 0.0))

    def recent_thermal_towers(self, t_s: float, window_s: float) -> int:
        """How many thermal imagers detected this track at least twice in the last ``window_s``
        (a single chance hit of clutter does not count)."""
        return sum(1 for key, seen in self.previous_seen_by.items()
                   if key[1] == "thermal" and t_s - seen <= window_s)

    def _located_to_m(self, sigma_m: float) -> bool:
        a, b, c = float(self.p[0, 0]), float(self.p[1, 1]), float(self.p[0, 1])
        major = 0.5 * (a + b) + math.sqrt(0.25 * (a - b) ** 2 + c * c)
        return major <= sigma_m * sigma_m

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

    def imaged(self, t_s: float, window_s: float, *, slow_mps: float = SLOW_MPS,
               slow_factor: float = SLOW_FACTOR) -> bool:
        """Two thermal imagers each saw the track at least twice in the last ``window_s``.

        A track surely slower than ``slow_mps`` moves little between glimpses, so its window is
        ``slow_factor`` times longer (sparse sightings of a crawler between trees)."""
        if slow_mps > 0.0 and self.speed_mps + 2.0 * self.velocity_sigma_mps < slow_mps:
            window_s *= slow_factor
        return self.recent_thermal_towers(t_s, window_s) >= 2

    def fixed(self, t_s: float, window_s: float) -> bool:
        """:data:`FIX_MIN_TOWERS` towers' unshared bearings (thermal or acoustic) of the last
        ``window_s`` fix the track and pass :meth:`bearings_consistent`."""
        return (len(self.fixing_towers(t_s, window_s)) >= FIX_MIN_TOWERS
                and self.bearings_consistent(t_s, window_s))

    def triangulated(self, t_s: float, window_s: float) -> bool:
        """Whether the track's range is observed: :meth:`imaged` or :meth:`fixed`."""
        return self.imaged(t_s, window_s) or self.fixed(t_s, window_s)

    def record_fix(self, t_s: float, tower: int, nis: float) -> None:
        """An associated bearing no other track gated (see :meth:`fixing_towers`)."""
        if tower in self.fix_last and self.fix_last[tower] < t_s:
            self.fix_previous[tower] = self.fix_last[tower]
        self.fix_last[tower] = t_s
        self.fix_nis.append((t_s, tower, nis))

    def look_hit(self, key: tuple[int, str]) -> float:
        """Count a detection by tower sensor ``key``; the log of its detection rate of this
        track before this look."""
        counts = self.looks.setdefault(key, [0, 0])
        log_pd = math.log(_detection_rate(counts))
        counts[0] += 1
        counts[1] += 1
        return log_pd

    def look_missed(self, key: tuple[int, str]) -> None:
        """Count a look by ``key`` that did not detect the track: its score pays
        ``log(1 - Pd)`` with the detection rate before this look."""
        counts = self.looks.setdefault(key, [0, 0])
        self.llr += math.log(1.0 - _detection_rate(counts))
        counts[1] += 1

    def record_hit(self, t_s: float, tower: int, sensor: str, *, counts: bool = True) -> None:
        """An associated detection; ``counts`` toward M-of-N (seed detections do not)."""
        b = math.floor(t_s)
        if counts and (not self.hit_bins or self.hit_bins[-1] != b):
            self.hit_bins.append(b)
        self.towers.add(tower)
        if sensor == "thermal":
            self.thermal_towers.add(tower)
        self.sensors.add(sensor)
        key = (tower, sensor)
        if key in self.last_seen_by:
            self.previous_seen_by[key] = self.last_seen_by[key]
        self.last_seen_by[key] = t_s
        self.last_update_t_s = max(self.last_update_t_s, t_s)
        self.updates += 1
        if (not self.trail or t_s - self.trail[-1][0] >= 2.0) and self._located_to_m(
                TRAIL_MAX_SIGMA_M):
            self.trail.append((t_s, float(self.x[0]), float(self.x[1])))
            if len(self.trail) > 90:
                del self.trail[0]
