"""Clutter map: each imager's clutter density over azimuth, learned online with slow fading.

A tower's false detections are not spread evenly: sun-warmed rocks, roofs, wind-driven tree
tops and water are detected again and again at the same bearings (docs/sensors.md). One
density per tower sensor (the running mean of detections per report over the sector) makes a
detection there look as unlikely to be clutter as one anywhere else, so two towers' hot spots
triangulate, gain score and confirm. This map keeps, per tower imager, a faded count of
detections per azimuth cell and the faded count of reports; the local density (per report and
radian, over a window of ``2 * window_cells + 1`` cells) replaces the sector mean in a
detection's score term ``log(Pd N(nu; 0, S) / lambda)`` wherever it is higher. It is the
spatial clutter density of the IPDA literature estimated from the measurements themselves
(Musicki & Evans, "Clutter map information for data association and track initialization",
IEEE Trans. AES 40(2), 2004) in the form of a radar clutter map (a per-cell, exponentially
faded average of past returns: Nitzberg, "Clutter map CFAR analysis", IEEE Trans. AES 22(4),
1986).

Detections of a confirmed track that has moved (see :func:`moved`) do not teach the map: a
walker coming straight at a tower stays in one azimuth cell for minutes and would otherwise
raise the density along its own path. :func:`moved` is also the alerter's stationary-object
test: an object that has not left the place where it was located is not an intrusion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

from perimeter.fusion.track import Track

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ClutterMapConfig:
    """Nominal values (none taken from the simulation; see docs/fusion.md "Clutter map")."""

    enabled: bool = True
    cell_deg: float = 0.1
    """Azimuth cell: a few thermal bearing sigmas (a pixel is 0.013 deg; mast sway and the
    pointing jitter add ~0.05-0.1 deg in wind)."""
    window_cells: int = 1
    """Cells either side of a bearing's own that its density is read over (a 0.3 deg window
    holds a hot spot's detections through sway and a small change of the registration)."""
    fading_time_s: float = 600.0
    """Time constant of the exponential forgetting of counts and reports: hot spots persist
    for hours, the set changes with the sun over an hour."""
    prior_reports: float = 120.0
    """Reports without detections assumed before the first one (a minute at 2 Hz): a fresh
    map needs several detections in a cell before its density rises above the mean."""
    sensors: tuple[str, ...] = ("thermal",)
    """Sensors mapped; the others (acoustic bearings, 2-10 deg wide) keep the sector mean."""
    mover_refresh_s: float = 2.0
    """How often (data time) the set of moving confirmed tracks is re-tested."""
    min_age_s: float = 10.0
    """:func:`moved`: the reference state is at least this old."""
    motion_probability: float = 0.99
    """:func:`moved`: chi-square level (2 dof) at which standing still is rejected."""


@lru_cache(maxsize=8)
def _gate(probability: float) -> float:
    return float(chi2.ppf(probability, 2))


def moved(track: Track, t_s: float, min_age_s: float = 10.0,
          probability: float = 0.99) -> bool:
    """Whether ``track`` has left, beyond its errors, the place where it was best located at
    least ``min_age_s`` ago: ``d^T (P_then + P_now)^-1 d`` above the chi-square quantile
    (2 dof, ``probability``). The two errors are positively correlated, so the sum
    overstates the spread (a conservative test). A hot spot, a blast or a ghost crossing of
    lines of sight does not travel steadily away from where it was first placed."""
    state = track.state
    hist = state.history
    old = np.flatnonzero(hist.t[:hist.n] <= t_s - min_age_s)
    if old.size == 0:
        return False
    p_then = hist.p[old, :2, :2]
    k = int(old[np.argmin(p_then[:, 0, 0] + p_then[:, 1, 1])])
    d = state.x[:2] - hist.x[k, :2]
    spread = state.p[:2, :2] + hist.p[k, :2, :2]
    try:
        d2 = float(d @ np.linalg.solve(spread, d))
    except np.linalg.LinAlgError:
        return False
    return d2 > _gate(probability)


class _SensorMap:
    """One tower sensor's faded counts per azimuth cell and its faded report count."""

    __slots__ = ("counts", "reports", "stamp_s", "t_s")

    def __init__(self, cells: int, t_s: float) -> None:
        self.counts = [0.0] * cells
        self.stamp_s = [t_s] * cells
        self.reports = 0.0
        self.t_s = t_s


class ClutterMap:
    """Per tower sensor: the sector-mean clutter density and, for mapped sensors, the local
    density by azimuth (both per report and radian)."""

    def __init__(self, config: ClutterMapConfig | None = None, fov_rad: float = math.pi) -> None:
        self.config = config or ClutterMapConfig()
        self.fov_rad = fov_rad
        self._cell_rad = math.radians(self.config.cell_deg)
        self._cells = max(1, round(2.0 * math.pi / self._cell_rad))
        self._mean: dict[tuple[int, str], float] = {}
        self._maps: dict[tuple[int, str], _SensorMap] = {}

    def observe_mean(self, key: tuple[int, str], detections: int) -> float:
        """Update the sector mean with a report of ``detections``; its density per radian."""
        self._mean[key] = 0.95 * self._mean.get(key, float(detections)) + 0.05 * detections
        return self.mean_density(key, detections)

    def mean_density(self, key: tuple[int, str], detections: int) -> float:
        """The sector mean's density per radian as it stands, :meth:`observe_mean` without
        counting the report (``detections``: the estimate before any report of ``key``)."""
        return max(self._mean.get(key, float(detections)), 0.05) / self.fov_rad

    @property
    def cells(self) -> int:
        """The number of azimuth cells around the circle."""
        return self._cells

    def cell_of(self, bearing_rad: float) -> int:
        """The azimuth cell of a bearing."""
        return math.floor((bearing_rad % (2.0 * math.pi)) / self._cell_rad) % self._cells

    def densities(self, key: tuple[int, str], bearings_rad: FloatArray, mean: float,
                  t_s: float) -> list[float]:
        """The clutter density (per report and radian) at each bearing: the local one where
        it is higher than the sector ``mean``, else ``mean``."""
        sensor_map = self._maps.get(key)
        if sensor_map is None or not self.config.enabled:
            return [mean] * len(bearings_rad)
        cfg = self.config
        tau = cfg.fading_time_s
        reports = sensor_map.reports * math.exp(-(t_s - sensor_map.t_s) / tau)
        width = (2 * cfg.window_cells + 1) * self._cell_rad
        norm = 1.0 / ((reports + cfg.prior_reports) * width)
        return [max(mean, total * norm)
                for total in self.counts_at(key, bearings_rad.tolist(), t_s)]

    def learn(self, key: tuple[int, str], bearings_rad: FloatArray, teach: BoolArray,
              t_s: float) -> None:
        """Count one report of ``key`` and its detections where ``teach`` is true."""
        if not self.config.enabled or key[1] not in self.config.sensors:
            return
        sensor_map = self._maps.get(key)
        if sensor_map is None:
            sensor_map = self._maps[key] = _SensorMap(self._cells, t_s)
        tau = self.config.fading_time_s
        sensor_map.reports = sensor_map.reports * math.exp(-(t_s - sensor_map.t_s) / tau) + 1.0
        sensor_map.t_s = t_s
        if not bearings_rad.size:
            return
        counts, stamps = sensor_map.counts, sensor_map.stamp_s
        for b, ok in zip(bearings_rad.tolist(), teach.tolist(), strict=True):
            if ok:
                c = self.cell_of(b)
                counts[c] = counts[c] * math.exp(-(t_s - stamps[c]) / tau) + 1.0
                stamps[c] = t_s

    def learn_past(self, key: tuple[int, str], bearing_rad: float, then_s: float,
                   t_s: float) -> None:
        """Count at ``t_s`` one detection of ``key`` made at ``then_s`` (its report already
        counted), faded by its age: as if learned then (:mod:`.withheld`)."""
        sensor_map = self._maps.get(key)
        if not self.config.enabled or sensor_map is None:
            return
        tau = self.config.fading_time_s
        c = self.cell_of(bearing_rad)
        counts, stamps = sensor_map.counts, sensor_map.stamp_s
        weight = math.exp(-max(0.0, t_s - then_s) / tau)
        counts[c] = counts[c] * math.exp(-(t_s - stamps[c]) / tau) + weight
        stamps[c] = t_s

    def counts_at(self, key: tuple[int, str], bearings_rad: list[float],
                  t_s: float) -> list[float]:
        """The faded detection count over each bearing's window (0 where nothing was
        learned): the local density's numerator, and where registration finds its
        landmarks (``landmarks.py``)."""
        sensor_map = self._maps.get(key)
        if sensor_map is None or not self.config.enabled:
            return [0.0] * len(bearings_rad)
        width = self.config.window_cells
        tau = self.config.fading_time_s
        counts, stamps, n = sensor_map.counts, sensor_map.stamp_s, self._cells
        out = []
        for b in bearings_rad:
            c = self.cell_of(b)
            out.append(sum(counts[j % n] * math.exp(-(t_s - stamps[j % n]) / tau)
                           for j in range(c - width, c + width + 1) if counts[j % n] > 0.0))
        return out

    def density_at(self, key: tuple[int, str], bearing_rad: float, t_s: float) -> float:
        """The local density at one bearing (0 where nothing was learned): for tests and
        status."""
        return self.densities(key, np.array([bearing_rad]), 0.0, t_s)[0]
