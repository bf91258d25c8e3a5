"""Hot-spot peaks: per tower imager, the raw bearings a fixed hot spot gives again and again.

See :mod:`perimeter.fusion.landmarks`: a peak gathers the detections within its half-width of
its mean (a long and a short fading memory); it starts only at a detection in a clutter-map
cell known as hot, and is *mature* (usable for registration) once detected long enough, not
drifting, and no wider than its tower's typical peak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from perimeter.geometry import TWO_PI

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

@dataclass(frozen=True, slots=True)
class LandmarkConfig:
    """Nominal values (none taken from the simulation; see docs/fusion.md "Registration")."""

    enabled: bool = True
    peak_half_width_deg: float = 0.15
    """A detection within this of a peak's mean joins it (a pixel's blur), or within
    ``width_spreads`` times its tower's median peak spread if wider (a mast swaying in the
    wind), at most ``max_half_width_deg``."""
    width_spreads: float = 4.0
    max_half_width_deg: float = 0.6
    merge_m: float = 30.0
    """A landmark found within this of a stronger one is the same hot spot (two peaks of it
    on one tower): dropped."""
    min_hot_count: float = 4.0
    """A peak starts at a detection in a clutter-map window of at least this many (faded)
    detections."""
    memory_s: float = 1800.0
    short_memory_s: float = 180.0
    """The peaks' recent means, for the knocked-mast check."""
    min_active: float = 3.0
    active_s: float = 60.0
    """A recently active peak has this many (faded, short memory) detections and its last
    within ``active_s``."""
    min_weight: float = 6.0
    """(Faded) detections before a peak is used."""
    min_span_s: float = 300.0
    """... over at least this long (a hot spot stays; an animal grazing moves on)."""
    drift_sigmas: float = 4.0
    """A peak whose recent mean departs from its long one by more than this many sigmas (of
    the recent mean) is not used: a slow source walking through it."""
    max_spread_ratio: float = 2.0
    """A peak whose detections spread more than this times its tower's median peak's (and
    ``floor_deg``) is not used: a herd grazing is wider than a hot spot; the tower's own
    sway widens all its peaks alike."""
    max_silence_s: float = 900.0
    """A peak not detected for this long is not used (nor, after twice as long, kept)."""
    floor_deg: float = 0.02
    """Floor of a detection's spread about its peak (a pixel is 0.013 deg)."""
    mean_floor_deg: float = 0.003
    """Floor of a peak mean's sigma (a spot's size and shape; sway's slow part)."""
    gate_deg: float = 0.06
    max_gate_deg: float = 0.5
    """Association gate about the predicted bearing: this and 3 relative bias sigmas, at most
    ``max_gate_deg``."""
    min_towers: int = 5
    seed_towers: int = 6
    """Towers a new landmark needs while its towers' biases are not yet known to 0.05 deg."""
    min_range_m: float = 300.0
    max_range_m: float = 12000.0
    min_crossing_deg: float = 3.0
    outlier_sigmas: float = 5.0
    max_new: int = 8
    """New landmarks per search."""
    chance_window_deg: float = 3.0
    """A new landmark's members must be unlikely by chance: each other tower's free peaks
    within this of the predicted bearing give the local density its gate is tested against
    (the search of the landmark shift check, three times the bias prior)."""
    false_landmarks_per_hour: float = math.inf
    """How often a search may take a chance crossing of unrelated peaks (animals at rest,
    clutter) for a landmark; each search is held to its share. Off (inf) by default: 0.1
    ends the wander on ``animals-only`` by finding no landmark there at all, and costs
    landmarks of five or six towers elsewhere (docs/fusion.md, "Registration")."""



@dataclass(slots=True)
class _Peaks:
    """One tower's peaks as parallel lists (a tower has tens)."""

    ref: list[float] = field(default_factory=list)
    w: list[float] = field(default_factory=list)
    s1: list[float] = field(default_factory=list)
    s2: list[float] = field(default_factory=list)
    ws: list[float] = field(default_factory=list)
    s1s: list[float] = field(default_factory=list)
    stamp: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)

    def mean(self, i: int) -> float:
        return self.ref[i] + self.s1[i] / self.w[i]

    def drop(self, keep: list[bool]) -> None:
        for name in ("ref", "w", "s1", "s2", "ws", "s1s", "stamp", "first"):
            values = getattr(self, name)
            setattr(self, name, [v for v, k in zip(values, keep, strict=True) if k])


@dataclass(slots=True)
class Mature:
    """Every tower's usable peaks at one time (raw mean bearing, its sigma), and its
    recently active ones (any age: recent mean bearing)."""

    tower: IntArray
    mean_rad: FloatArray
    sigma_rad: FloatArray
    active_tower: IntArray
    active_rad: FloatArray



class PeakMap:
    """Every tower imager's peaks."""

    def __init__(self, n_towers: int, config: LandmarkConfig) -> None:
        self.config = config
        self._peaks = [_Peaks() for _ in range(n_towers)]
        self._half_rad = [math.radians(config.peak_half_width_deg)] * n_towers

    def observe(self, tower: int, raw_rad: list[float], hot: list[float], t_s: float) -> None:
        """Add a thermal scan's raw bearings; ``hot``: the clutter map's faded count about
        each (a peak starts only where it is ``min_hot_count`` or more)."""
        c = self.config
        peaks = self._peaks[tower]
        half = self._half_rad[tower]
        for z, count in zip(raw_rad, hot, strict=True):
            best, best_d = -1, half
            for i in range(len(peaks.ref)):
                d = abs((z - peaks.mean(i) + math.pi) % TWO_PI - math.pi)
                if d < best_d:
                    best, best_d = i, d
            if best < 0:
                if count >= c.min_hot_count:
                    for name, v in (("ref", z), ("w", 1.0), ("s1", 0.0), ("s2", 0.0),
                                    ("ws", 1.0), ("s1s", 0.0), ("stamp", t_s),
                                    ("first", t_s)):
                        getattr(peaks, name).append(v)
                continue
            i = best
            dt = max(t_s - peaks.stamp[i], 0.0)
            fade, fade_s = math.exp(-dt / c.memory_s), math.exp(-dt / c.short_memory_s)
            off = (z - peaks.ref[i] + math.pi) % TWO_PI - math.pi
            peaks.w[i] = peaks.w[i] * fade + 1.0
            peaks.s1[i] = peaks.s1[i] * fade + off
            peaks.s2[i] = peaks.s2[i] * fade + off * off
            peaks.ws[i] = peaks.ws[i] * fade_s + 1.0
            peaks.s1s[i] = peaks.s1s[i] * fade_s + off
            peaks.stamp[i] = t_s

    def mature(self, t_s: float) -> Mature:
        """Every tower's usable peaks now; old silent peaks are dropped."""
        c = self.config
        tower, mean, sigma, active_tower, active = [], [], [], [], []
        floor2 = math.radians(c.floor_deg) ** 2
        mean_floor2 = math.radians(c.mean_floor_deg) ** 2
        for k, peaks in enumerate(self._peaks):
            keep = [t_s - s <= 2.0 * c.max_silence_s for s in peaks.stamp]
            if not all(keep):
                peaks.drop(keep)
            self._merge(peaks, self._half_rad[k], t_s)
            spreads = [max(peaks.s2[i] / peaks.w[i] - (peaks.s1[i] / peaks.w[i]) ** 2, floor2)
                       for i in range(len(peaks.ref))]
            typical = float(np.median(spreads)) if spreads else 0.0
            widest = c.max_spread_ratio ** 2 * typical
            self._half_rad[k] = min(max(math.radians(c.peak_half_width_deg),
                                        c.width_spreads * math.sqrt(typical)),
                                    math.radians(c.max_half_width_deg))
            for i in range(len(peaks.ref)):
                dt = max(t_s - peaks.stamp[i], 0.0)
                if (dt <= c.active_s
                        and peaks.ws[i] * math.exp(-dt / c.short_memory_s) >= c.min_active):
                    active_tower.append(k)
                    active.append(peaks.ref[i] + peaks.s1s[i] / peaks.ws[i])
                if spreads[i] > max(widest, floor2):
                    continue
                w = peaks.w[i] * math.exp(-dt / c.memory_s)
                if (w < c.min_weight or dt > c.max_silence_s
                        or peaks.stamp[i] - peaks.first[i] < c.min_span_s):
                    continue
                m1 = peaks.s1[i] / peaks.w[i]
                var = max(peaks.s2[i] / peaks.w[i] - m1 * m1, floor2)
                drift = peaks.s1s[i] / peaks.ws[i] - m1
                if abs(drift) > c.drift_sigmas * math.sqrt(var / peaks.ws[i]):
                    continue
                tower.append(k)
                mean.append(peaks.ref[i] + m1)
                sigma.append(math.sqrt(var / peaks.w[i] + mean_floor2))
        return Mature(np.array(tower, dtype=np.int64), np.array(mean) % TWO_PI,
                      np.array(sigma), np.array(active_tower, dtype=np.int64),
                      np.array(active) % TWO_PI)

    def _merge(self, peaks: _Peaks, half_rad: float, t_s: float) -> None:
        """Merge two peaks whose means came within the peak half-width (one hot spot that
        started two), the lighter into the heavier, both faded to ``t_s``."""
        c = self.config
        close = half_rad
        n = len(peaks.ref)
        keep = [True] * n
        for i in range(n):
            for j in range(i + 1, n):
                if not (keep[i] and keep[j]):
                    continue
                if abs((peaks.mean(i) - peaks.mean(j) + math.pi) % TWO_PI - math.pi) > close:
                    continue
                h, lo = (i, j) if peaks.w[i] >= peaks.w[j] else (j, i)
                for p in (h, lo):
                    dt = max(t_s - peaks.stamp[p], 0.0)
                    f, fs = math.exp(-dt / c.memory_s), math.exp(-dt / c.short_memory_s)
                    peaks.w[p] *= f
                    peaks.s1[p] *= f
                    peaks.s2[p] *= f
                    peaks.ws[p] *= fs
                    peaks.s1s[p] *= fs
                    peaks.stamp[p] = t_s
                d = (peaks.ref[lo] - peaks.ref[h] + math.pi) % TWO_PI - math.pi
                peaks.s2[h] += peaks.s2[lo] + 2.0 * d * peaks.s1[lo] + peaks.w[lo] * d * d
                peaks.s1[h] += peaks.s1[lo] + peaks.w[lo] * d
                peaks.w[h] += peaks.w[lo]
                peaks.s1s[h] += peaks.s1s[lo] + peaks.ws[lo] * d
                peaks.ws[h] += peaks.ws[lo]
                peaks.first[h] = min(peaks.first[h], peaks.first[lo])
                keep[lo] = False
        if not all(keep):
            peaks.drop(keep)

