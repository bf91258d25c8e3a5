"""Retrodiction: a track's start extended back through the kept detections fusion received
before the track began (:class:`ReportHistory`, within a memory budget shared by the towers),
one backward EKF step at
a time, each bearing gated against the backward prediction of the part already linked
(:func:`retrodict`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from perimeter.fusion.ekf import predict_back
from perimeter.geometry import bearing_jacobian, ellipse, wrap_pi

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

BYTES_PER_DETECTION = 24
"""What the history holds of a detection: its time, bearing and bearing sigma (float64)."""


@dataclass(frozen=True, slots=True)
class RetrodictConfig:
    enabled: bool = False
    """Off by default: the origin reaches back only to the alerting track's first detection."""
    keep_s: float = 3600.0
    """How long the history holds a tower's kept detections (data time) ..."""
    memory_mb: float = 32.0
    """... in at most this much memory (10^6 bytes) in all, shared evenly by the towers (the
    history is one array of a row per tower): 12 towers may hold ``per_tower`` each (17 MB),
    200 towers 6,666 each (32 MB; ~1.9 h of history at 1 detection/s per tower) ..."""
    per_tower: int = 60_000
    """... and at most this many per tower however few the towers (the oldest go first)."""
    sensors: tuple[str, ...] = ("thermal",)
    """The sensors whose bearings are kept and linked."""
    gate_d2: float = 6.63
    """A bearing links when its squared normalised innovation is below this (chi-square,
    1 degree of freedom, 99 %) ..."""
    max_bearing_sigma_rad: float = math.radians(0.3)
    """... while the backward prediction's bearing sigma (with the bearing's own and the
    tower's unapplied registration sigma) is under this; wider, the chain stops."""
    gap_s: float = 30.0
    """The chain stops after this long back without a link."""
    max_back_s: float = 3000.0
    """... and reaches at most this far back before the track's first detection."""
    max_sigma_m: float = 150.0
    """The origin is the earliest linked state whose position sigma (major) is under this."""
    min_links: int = 3
    """Fewer links than this from at least two towers leave the origin where it was."""
    small_max_mps: float = 3.0
    """A chain of a person-sized object stops before a link that would make it faster than
    this (a run: nominal 2.5-3.5 m/s sustained); bearings slid along their lines of sight
    (another object's, or a range drifting where the towers' lines cross at a small angle)
    show as speed ..."""
    vehicle_max_mps: float = 30.0
    """... and of a vehicle, faster than this (off-road, nominal 15-30 m/s)."""
    joint: bool = False
    """Link back jointly (:mod:`.retrodict_joint`: a window of several towers' bearings at a
    time, each kept only while the whole backward fit passes its chi-square test) instead of
    one bearing at a time."""


def tower_capacity(towers: int, config: RetrodictConfig) -> int:
    """The detections one tower's ring holds: its even share of ``memory_mb``, at most
    ``per_tower`` (at least one)."""
    share = int(config.memory_mb * 1e6) // (BYTES_PER_DETECTION * max(towers, 1))
    return max(1, min(config.per_tower, share))


class ReportHistory:
    """Each tower's recent kept detections (time, bearing, bearing sigma) in a ring
    buffer bounded by count (:func:`tower_capacity`); older than ``keep_s`` behind the newest
    are ignored."""

    def __init__(self, towers: int, config: RetrodictConfig) -> None:
        self.config = config
        self.capacity = tower_capacity(towers, config)
        n = min(1024, self.capacity)  # grown by doubling up to capacity as it fills
        self._t = np.full((towers, n), -math.inf)
        self._b = np.zeros((towers, n))
        self._s = np.zeros((towers, n))
        self._next = np.zeros(towers, dtype=np.int64)
        self._full = np.zeros(towers, dtype=bool)
        self.newest_s = -math.inf

    def _grow(self) -> None:
        n = self._t.shape[1]
        m = min(2 * n, self.capacity)
        pad = ((0, 0), (0, m - n))
        self._t = np.pad(self._t, pad, constant_values=-math.inf)
        self._b, self._s = (np.pad(a, pad) for a in (self._b, self._s))

    def add(self, tower: int, t_s: float, bearing_rad: FloatArray,
            sigma_rad: FloatArray) -> None:
        """Keep one scan's detections (bearings as fusion fuses them, registration applied)."""
        m = int(bearing_rad.shape[0])
        if m == 0:
            return
        while (not self._full[tower] and int(self._next[tower]) + m > self._t.shape[1]
               and self._t.shape[1] < self.capacity):
            self._grow()
        n = self._t.shape[1]
        if m > n:
            bearing_rad, sigma_rad, m = bearing_rad[-n:], sigma_rad[-n:], n
        start = int(self._next[tower])
        end = start + m
        idx: slice | IntArray = slice(start, end) if end <= n else (start + np.arange(m)) % n
        self._t[tower, idx] = t_s
        self._b[tower, idx] = bearing_rad
        self._s[tower, idx] = sigma_rad
        at_bound = n >= self.capacity  # below it, the next scan grows the buffer
        self._full[tower] |= at_bound and end >= n
        self._next[tower] = end % n if at_bound else end
        self.newest_s = max(self.newest_s, t_s)

    @property
    def nbytes(self) -> int:
        """Memory the buffers take (grown so far)."""
        return int(self._t.nbytes + self._b.nbytes + self._s.nbytes)

    @property
    def size(self) -> int:
        """Detections held, over all towers."""
        return int(np.count_nonzero(self._t > -math.inf))

    def between(self, start_s: float, end_s: float
                ) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
        """Towers, times, bearings and sigmas of the detections with ``start_s <= t <
        end_s`` (and within ``keep_s`` of the newest), newest first."""
        start_s = max(start_s, self.newest_s - self.config.keep_s)
        rows, cols = np.nonzero((self._t >= start_s) & (self._t < end_s))
        t = self._t[rows, cols]
        order = np.lexsort((rows, -t))
        rows, cols = rows[order], cols[order]
        return rows.astype(np.int64), t[order], self._b[rows, cols], self._s[rows, cols]


@dataclass(frozen=True, slots=True)
class Retrodicted:
    """The earliest linked state: its time, state and covariance, and what linked."""

    t_s: float
    x: FloatArray
    p: FloatArray
    links: int
    towers: int


def retrodict(history: ReportHistory, towers_xy: FloatArray, t_s: float, x: FloatArray,
              p: FloatArray, q: float, max_speed_mps: float = math.inf,
              bias_sigma_rad: FloatArray | None = None,
              trace: list[tuple[float, int, float, float, int, float, float]] | None = None
              ) -> Retrodicted | None:
    """Extend a state at ``t_s`` back through the history's earlier detections.

    Scan by scan (one tower's detections at one time), newest first: the state is predicted
    back to the scan's time with the motion model's process noise, and the bearing nearest
    the predicted one links if it falls within the gate and no other bearing of the scan
    does (an ambiguous scan is passed over); a linked bearing updates the state (EKF,
    Joseph form). The chain stops after ``gap_s`` without a link, once the predicted
    bearing's sigma passes ``max_bearing_sigma_rad``, ``max_back_s`` back, or before a link
    that would make the object faster than ``max_speed_mps``. Returns the
    earliest linked state whose position is known within ``max_sigma_m`` (None when fewer
    than ``min_links`` bearings from two towers linked). ``trace`` collects each scan's
    time, tower, smallest squared normalised innovation, predicted bearing sigma and number of
    bearings in the gate.
    """
    c = history.config
    towers, times, bearings, sigmas = history.between(t_s - c.max_back_s, t_s)
    if times.shape[0] == 0:
        return None
    bias2 = (np.zeros(towers_xy.shape[0]) if bias_sigma_rad is None
             else np.asarray(bias_sigma_rad, dtype=np.float64) ** 2)
    # scans: runs of equal (time, tower) in the newest-first order
    key_change = np.ones(times.shape[0], dtype=bool)
    key_change[1:] = (times[1:] != times[:-1]) | (towers[1:] != towers[:-1])
    starts = np.flatnonzero(key_change)
    ends = np.append(starts[1:], times.shape[0])
    cur_t, cur_x, cur_p = t_s, x.copy(), p.copy()
    last_link_s = t_s
    best: Retrodicted | None = None
    links, seen = 0, set()
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        scan_t = float(times[a])
        if last_link_s - scan_t > c.gap_s:
            break
        k = int(towers[a])
        px, pp = predict_back(cur_x, cur_p, cur_t - scan_t, q)
        pp = 0.5 * (pp + pp.T)
        d = px[:2] - towers_xy[k]
        h = np.zeros(4)
        h[:2] = bearing_jacobian(towers_xy[k], px[:2])
        hph = float(h @ pp @ h)
        predicted = math.atan2(float(d[0]), float(d[1]))
        nu = wrap_pi(bearings[a:b] - predicted)
        s = hph + sigmas[a:b] ** 2 + bias2[k]
        if math.sqrt(hph) > c.max_bearing_sigma_rad:
            break
        d2 = nu * nu / s
        inside = np.flatnonzero(d2 < c.gate_d2)
        if trace is not None:
            trace.append((scan_t, k, float(d2.min()), math.sqrt(hph), int(inside.shape[0]),
                          float(px[0]), float(px[1])))
        if inside.shape[0] != 1:
            continue  # nothing, or more than one bearing: not linked, not stepped to
        j = int(inside[0])
        gain = pp @ h / float(s[j])
        ikh = np.eye(4) - np.outer(gain, h)
        r = float(s[j]) - hph
        new_x = px + gain * float(nu[j])
        if math.hypot(float(new_x[2]), float(new_x[3])) > max_speed_mps:
            break
        cur_x = new_x
        cur_p = ikh @ pp @ ikh.T + r * np.outer(gain, gain)
        cur_p = 0.5 * (cur_p + cur_p.T)
        cur_t = last_link_s = scan_t
        links += 1
        seen.add(k)
        if links >= c.min_links and len(seen) >= 2 and ellipse(cur_p[:2, :2])[0] <= c.max_sigma_m:
            best = Retrodicted(scan_t, cur_x.copy(), cur_p.copy(), links, len(seen))
    return best
