"""Probability of detection over a site, from the simulation's own sensor models.

For every grid point and tower this computes the per-look probability that the tower's thermal
imager (in its sector, through terrain, at the weather's extinction) or its acoustic array
detects a target of the given kind *and* that the detection passes fusion's SNR gate
(``thermal.min_snr_db`` / ``acoustic.min_snr_db``), with the same formulas the simulation
draws its detections from. Over a dwell (default 10 s) the imager's looks are correlated as
in the sim (the search's ``P_inf`` once, the detector on every look at its heads' revisit
rate) and the acoustic windows independent, for the probability that the tower sees the
target at least once. A fix needs
bearings from at least two towers, so the map shows
P(at least two towers see it within the dwell), the towers being independent (a
Poisson-binomial tail).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.special import expit, ndtr

from perimeter.site import Site, TowerSpec
from perimeter.thresholds import Thresholds
from sim.coverage import LIGHTING
from sim.environment import RURAL_BACKGROUND_DB, WEATHER_PROPS, thermal_extinction_per_km
from sim.sensors.acoustic import SOURCE_HEIGHT_M, AcousticParams
from sim.sensors.heads import Heads
from sim.sensors.optics import ThermalParams, acquisition_probability, frame_detection
from sim.sensors.propagation import (
    absorption_db_per_m,
    foliage_attenuation_db,
    ground_attenuation_db,
    received_level_db,
    wind_noise_db,
)
from sim.signatures import SOUNDS, count_level_db, signature, usual_count
from sim.terrain import Terrain

FloatArray = npt.NDArray[np.float64]
Lighting = Literal["night", "day", "crossover"]
ACOUSTIC_SIGMA_DB = float(np.hypot(2.0, 1.5))
"""Spread of a window's received level in the sim: source (2 dB) and propagation (1.5 dB)."""
THERMAL_SNR_SIGMA_DB = 1.0
"""Spread of a frame's measured SNR in the sim."""


@dataclass(frozen=True, slots=True)
class Conditions:
    """What the map is for: a target kind, the weather, the light and the air."""

    kind: str = "person"
    weather: str = "clear"
    lighting: Lighting = "night"
    wind_mps: float = 3.0
    temperature_c: float = 10.0
    humidity_pct: float = 70.0
    dwell_s: float = 10.0
    """Looks cumulated per tower: every frame (``frame_hz``) and window (``window_s``) in
    this time; 0 for a single look."""
    frame_hz: float = 2.0
    window_s: float = 1.0
    contrast_factor: float | None = None
    daylight: float | None = None
    """The body-contrast factor and daylight fraction of one moment (``sim.environment``),
    instead of those of ``lighting``."""
    count: int | None = None
    """Head count: a group's thermal signature widens with it and its sounds add
    ``10 log10(count)`` dB, as in the simulation; None for the kind's usual
    (``sim.signatures.usual_count``: a group of 3, as in a scenario that gives no count)."""

    @property
    def head_count(self) -> int:
        """The head count in force (``count``, or the kind's usual)."""
        return self.count if self.count is not None else usual_count(self.kind)


@dataclass(frozen=True, slots=True)
class CoverageGrid:
    """Pd on a regular grid: ``pd[iy, ix]`` at ``(x_m[ix], y_m[iy])``, and per tower."""

    x_m: FloatArray
    y_m: FloatArray
    pd: FloatArray
    per_tower: FloatArray  # (towers, ny, nx)
    towers: tuple[str, ...]
    without: tuple[str, ...]
    conditions: Conditions
    resolution_m: float
    dead: npt.NDArray[np.bool_]
    """Dead ground: where the relief hides a target of the kind from every live tower."""


def thermal_terms(towers: Sequence[TowerSpec], xy: FloatArray, cond: Conditions,
                  terrain: Terrain, min_snr_db: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(T, N)`` search probability ``P_inf`` and the per-look probability that an acquired
    target's detection reaches fusion, and ``(T,)`` looks per second at a point (the head's
    revisit rate)."""
    p_inf, p_look, snr_db, rate = thermal_unfloored(towers, xy, cond, terrain)
    return p_inf, floored(p_look, snr_db, min_snr_db), rate


def floored(p_look: FloatArray, snr_db: FloatArray, min_snr_db: float) -> FloatArray:
    """The per-look probabilities of :func:`thermal_unfloored` through fusion's SNR floor."""
    return np.asarray(p_look * ndtr((snr_db - min_snr_db) / THERMAL_SNR_SIGMA_DB),
                      dtype=np.float64)


def thermal_unfloored(towers: Sequence[TowerSpec], xy: FloatArray, cond: Conditions,
                      terrain: Terrain) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """:func:`thermal_terms` before the SNR floor (which reads nothing else): ``P_inf``, the
    per-look probability of a detection, its SNR (dB), all ``(T, N)``, and the looks per
    second; a sweep over floors computes these once (:mod:`perimeter.evaluation.covered`)."""
    sig = signature(cond.kind, cond.head_count)
    factor, day = LIGHTING[cond.lighting]
    factor = factor if cond.contrast_factor is None else cond.contrast_factor
    day = day if cond.daylight is None else cond.daylight
    contrast = sig.contrast_floor_k + (sig.contrast_night_k - sig.contrast_floor_k) * factor
    ext = thermal_extinction_per_km(cond.weather, cond.temperature_c, cond.humidity_pct) / 1000.0
    p_inf, p_look = np.zeros((len(towers), len(xy))), np.zeros((len(towers), len(xy)))
    snr = np.zeros((len(towers), len(xy)))
    rate = np.zeros(len(towers))
    for i, tower in enumerate(towers):
        p = ThermalParams.model_validate(tower.thermal) if tower.thermal else ThermalParams()
        dx, dy = xy[:, 0] - tower.x_m, xy[:, 1] - tower.y_m
        rng_m = np.maximum(np.hypot(dx, dy), 1.0)
        az = np.degrees(np.arctan2(dx, dy)) % 360.0
        lo, hi = p.sector_deg
        in_view = (np.mod(az - lo, 360.0) <= hi - lo) & (rng_m < p.max_range_m)
        depth, _, _ = terrain.paths(np.array([tower.xy]), np.array([tower.height_m]),
                                    xy[None, :, :], np.full(len(xy), 0.8 * sig.height_m),
                                    relief_height_m=np.full(len(xy), sig.height_m))
        scene = p.scene_clutter_night_k + (p.scene_clutter_day_k - p.scene_clutter_night_k) * day
        one = np.ones(len(xy))
        visible = np.exp(-depth[0])
        apparent, snr_db, frame_p = frame_detection(
            rng_m, contrast * one, visible, ext * one, sig.critical_dim_m * one,
            sig.width_m * one, sig.height_m * one, p.ifov_rad * one, p.netd_k * one,
            p.mrtd_nyquist_k * one, p.n50_cycles * one, scene * one, p.detector_snr_db * one,
            p.blur_px, p.background_leak)
        acquire = acquisition_probability(rng_m, apparent, visible, sig.critical_dim_m * one,
                                          p.ifov_rad * one, p.netd_k * one,
                                          p.mrtd_nyquist_k * one, p.n50_cycles * one)
        p_inf[i] = np.where(in_view, acquire, 0.0)
        p_look[i] = np.where(in_view & (acquire > 0), frame_p / np.maximum(acquire, 1e-12), 0.0)
        snr[i] = snr_db
        rate[i] = 1.0 / Heads([p], cond.frame_hz).revisit_s[0]
    return p_inf, p_look, snr, rate


def thermal_dwell_pd(towers: Sequence[TowerSpec], xy: FloatArray, cond: Conditions,
                     terrain: Terrain, min_snr_db: float) -> FloatArray:
    """``(T, N)`` probability that a tower's imager reports a target on one of its looks
    within the dwell, in the steady state of its search: ``P_inf`` (looks are correlated:
    more of them do not raise it) times at least one of the looks passing the detector. The
    time to acquire (``tau0 / P_inf`` of looking) is not counted: a target walking in from
    afar has been searched for long before it gets here."""
    p_inf, p_look, rate = thermal_terms(towers, xy, cond, terrain, min_snr_db)
    looks = np.maximum(1.0, cond.dwell_s * rate)[:, None]
    return np.asarray(p_inf * (1.0 - (1.0 - p_look) ** looks), dtype=np.float64)


def acoustic_pd(towers: Sequence[TowerSpec], xy: FloatArray, cond: Conditions,
                terrain: Terrain, min_snr_db: float) -> FloatArray:
    """``(T, N)`` per-window probability that an acoustic detection reaches fusion (the
    kind's sounds weighted by how often each is its dominant one)."""
    parts = [RURAL_BACKGROUND_DB, wind_noise_db(cond.wind_mps)]
    if WEATHER_PROPS[cond.weather].acoustic_noise_db > 0.0:
        parts.append(RURAL_BACKGROUND_DB + WEATHER_PROPS[cond.weather].acoustic_noise_db)
    noise_db = 10.0 * np.log10(sum(10.0 ** (x / 10.0) for x in parts))
    count_db = float(count_level_db(cond.head_count))
    out = np.zeros((len(towers), len(xy)))
    for i, tower in enumerate(towers):
        p = AcousticParams.model_validate(tower.acoustic) if tower.acoustic else AcousticParams()
        rng_m = np.maximum(np.hypot(xy[:, 0] - tower.x_m, xy[:, 1] - tower.y_m), 1.0)
        _, forest_m, built_m = terrain.paths(np.array([tower.xy]), np.array([SOURCE_HEIGHT_M]),
                                             xy[None, :, :], np.ones(len(xy)))
        total = np.zeros(len(xy))
        for source in SOUNDS[cond.kind]:
            alpha = float(absorption_db_per_m(source.peak_hz, cond.temperature_c,
                                              cond.humidity_pct))
            excess = (ground_attenuation_db(rng_m, 0.5 * (tower.height_m + SOURCE_HEIGHT_M))
                      + foliage_attenuation_db(forest_m[0], np.full(len(xy), source.peak_hz))
                      + np.minimum(0.02 * built_m[0], 10.0))
            snr = (received_level_db(np.full(len(xy), source.level_db + count_db), rng_m,
                                     alpha, excess)
                   - noise_db + 10.0 * np.log10(p.n_mics))
            detect = expit((snr - p.detector_snr_db) / 1.5)
            total += source.probability * detect * ndtr((snr - min_snr_db) / ACOUSTIC_SIGMA_DB)
        out[i] = np.where(rng_m < p.max_range_m, total, 0.0)
    return out


def dead_ground(towers: Sequence[TowerSpec], xy: FloatArray, height_m: float,
                terrain: Terrain) -> npt.NDArray[np.bool_]:
    """``(N,)`` whether the relief hides all of a ``height_m`` target at ``xy`` from every
    tower (all False on a flat site)."""
    dead = np.ones(len(xy), dtype=bool)
    if terrain.dem is None or not towers:
        return np.zeros(len(xy), dtype=bool)
    t_xy = np.array([t.xy for t in towers])
    t_h = np.array([t.height_m for t in towers])
    height = np.full(len(xy), height_m)
    for i in range(len(towers)):
        share = terrain.hidden_share(t_xy, t_h, np.full(len(xy), i), xy[:, 0], xy[:, 1],
                                     height)
        dead &= share >= 1.0
    return dead


def at_least_two(p: FloatArray) -> FloatArray:
    """P(two or more of independent towers detect): ``1 - P(none) - P(exactly one)``, (T, N)."""
    q = 1.0 - p
    none = np.prod(q, axis=0)
    one = np.zeros(p.shape[1])
    for i in range(p.shape[0]):
        one += p[i] * np.prod(np.delete(q, i, axis=0), axis=0)
    return np.asarray(np.clip(1.0 - none - one, 0.0, 1.0), dtype=np.float64)


def per_tower_pd(towers: Sequence[TowerSpec], xy: FloatArray, conditions: Conditions,
                 terrain: Terrain, thresholds: Thresholds) -> FloatArray:
    """``(T, N)`` probability that each tower sees a target at ``xy`` within the dwell."""
    p_thermal = thermal_dwell_pd(towers, xy, conditions, terrain, thresholds.thermal_min_snr_db)
    p_acoustic = acoustic_pd(towers, xy, conditions, terrain, thresholds.acoustic_min_snr_db)
    windows = max(1.0, conditions.dwell_s / conditions.window_s)
    return np.asarray(1.0 - (1.0 - p_thermal) * (1.0 - p_acoustic) ** windows,
                      dtype=np.float64)


def site_extent_m(site: Site, margin_m: float = 500.0) -> tuple[float, float, float, float]:
    """``(x_min, x_max, y_min, y_max)`` around the towers, the perimeter and the zones."""
    pts = [t.xy for t in site.towers] + list(site.perimeter)
    pts += [p for z in site.terrain for p in z.polygon]
    pts += [p for z in site.watch_zones for p in z.polygon]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs) - margin_m, max(xs) + margin_m, min(ys) - margin_m, max(ys) + margin_m


def coverage(site: Site, conditions: Conditions, *, without: Sequence[str] = (),
             thresholds: Thresholds | None = None, resolution_m: float = 50.0,
             extent_m: tuple[float, float, float, float] | None = None) -> CoverageGrid:
    """The map for ``conditions`` with the towers in ``without`` offline."""
    if conditions.kind not in SOUNDS:
        raise ValueError(f"kind: must be one of {sorted(SOUNDS)}, got {conditions.kind!r}")
    if conditions.weather not in WEATHER_PROPS:
        raise ValueError(f"weather: must be one of {sorted(WEATHER_PROPS)}, "
                         f"got {conditions.weather!r}")
    if conditions.lighting not in LIGHTING:
        raise ValueError(f"time: must be one of {sorted(LIGHTING)}, got {conditions.lighting!r}")
    ids = [t.id for t in site.towers]
    unknown = sorted(set(without) - set(ids))
    if unknown:
        raise ValueError(f"without: unknown towers {unknown} (site has {', '.join(ids)})")
    if not resolution_m > 0:
        raise ValueError(f"resolution_m: must be positive, got {resolution_m}")
    towers = [t for t in site.towers if t.id not in set(without)]
    x0, x1, y0, y1 = extent_m or site_extent_m(site)
    x_m = np.arange(x0 + resolution_m / 2, x1, resolution_m)
    y_m = np.arange(y0 + resolution_m / 2, y1, resolution_m)
    gx, gy = np.meshgrid(x_m, y_m)
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    terrain = Terrain(site)
    per_tower = per_tower_pd(towers, xy, conditions, terrain, thresholds or Thresholds())
    shape = (len(towers), len(y_m), len(x_m))
    dead = dead_ground(towers, xy, signature(conditions.kind).height_m, terrain)
    return CoverageGrid(x_m, y_m, at_least_two(per_tower).reshape(shape[1:]),
                        per_tower.reshape(shape), tuple(t.id for t in towers), tuple(without),
                        conditions, resolution_m, dead.reshape(shape[1:]))
