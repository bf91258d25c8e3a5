"""Thermal imagers of all towers, computed a batch of frames at a time (vectorised).

Per frame: where each head looks (:mod:`sim.sensors.heads`); targets in view go through the
correlated search state (:mod:`sim.sensors.glimpse`) and, once acquired, the detector's
threshold on their blurred peak pixel (:mod:`sim.sensors.blur`, :mod:`sim.sensors.detector`);
hot spots of the clutter map the same way; pixel noise gives false blobs at the rate the
threshold implies. Reported bearings carry the tower's true errors (:mod:`sim.sensors.errors`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from perimeter.site import TowerSpec
from sim.environment import Environment
from sim.rand import rng_for
from sim.sensors.blur import FWHM_PER_SIGMA, peak_pixel_fraction
from sim.sensors.clutter_map import ClutterMap
from sim.sensors.detector import detect, noise_blobs, threshold_sigma
from sim.sensors.errors import draw_imager_errors
from sim.sensors.extent import (
    draw_bodies,
    extent_px,
    posture_length_m,
    silhouette_width_m,
)
from sim.sensors.frames import Columns, FrameOut, bearing_deg, group, wrap_deg
from sim.sensors.glimpse import Glimpses
from sim.sensors.heads import Heads
from sim.sensors.optics import (
    ThermalParams,
    acquisition_probability,
    apparent_contrast_k,
    bearing_sigma_deg,
    detector_sigma_k,
)
from sim.signatures import thermal_table
from sim.targets import Targets
from sim.terrain import LOS_INTERVAL_S, Terrain

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

DECIMALS = {"bearing_deg": 3, "bearing_sigma_deg": 4, "snr_db": 2, "elevation_deg": 3,
            "size_px": 2, "width_px": 0, "height_px": 0, "contrast_k": 3}
MIN_RANGE_M = 5.0
TAU_SPREAD = 0.2
"""Log-std of each tower's true search time constant about the nominal ``glimpse_tau_s``."""


@dataclass(frozen=True, slots=True)
class ThermalStreams:
    """One random generator per source of the thermal imagers; ``extent`` the blobs' width
    and height readings (its own stream: the other readings are drawn as before), ``seed``
    the run's, for the targets' bodies (:func:`sim.sensors.extent.draw_bodies`)."""

    noise: np.random.Generator
    clutter: np.random.Generator
    glimpse: np.random.Generator
    calibration: np.random.Generator
    sway: np.random.Generator
    extent: np.random.Generator
    seed: int

    @classmethod
    def for_seed(cls, seed: int) -> ThermalStreams:
        noise, clutter, glimpse, calibration, sway, extent = (
            rng_for(seed, "thermal", name) for name in
            ("noise", "clutter", "glimpse", "calibration", "sway", "extent"))
        return cls(noise, clutter, glimpse, calibration, sway, extent, seed)


def _col(params: list[ThermalParams], name: str) -> FloatArray:
    return np.array([float(getattr(p, name)) for p in params], dtype=np.float64)


class ThermalArray:
    """Every tower's thermal imager; :meth:`batch` gives ``[frame][tower]`` outputs."""

    def __init__(self, towers: list[TowerSpec], params: list[ThermalParams], frame_hz: float,
                 env: Environment, terrain: Terrain, targets: Targets,
                 streams: ThermalStreams, clutter_map: ClutterMap | None = None,
                 perturb: float = 1.0) -> None:
        self.frame_hz = frame_hz
        self.env, self.terrain, self.targets = env, terrain, targets
        self.streams = streams
        self.xy = np.array([[t.x_m, t.y_m] for t in towers], dtype=np.float64)
        self.h_m = np.array([t.height_m for t in towers], dtype=np.float64)
        self.heads = Heads(params, frame_hz)
        self.ifov_rad = np.array([p.ifov_rad for p in params])
        self.ifov_deg = np.degrees(self.ifov_rad)
        self.vfov_deg = np.array([p.height_px for p in params]) * self.ifov_deg
        self.netd = _col(params, "netd_k")
        self.mrtd = _col(params, "mrtd_nyquist_k")
        self.n50 = _col(params, "n50_cycles")
        self.k = threshold_sigma(_col(params, "detector_snr_db"))
        self.scene_night = _col(params, "scene_clutter_night_k")
        self.scene_day = _col(params, "scene_clutter_day_k")
        self.leak = _col(params, "background_leak")
        self.blur_px = np.array([p.blur_px for p in params])
        self.mount = _col(params, "mount_sigma_deg")
        self.size_noise = _col(params, "size_noise")
        self.max_blobs = np.array([p.max_blobs_per_frame for p in params], dtype=np.intp)
        self.max_range = _col(params, "max_range_m")
        self.sig = thermal_table(targets.kinds, targets.counts, targets.signatures)
        self.bodies = draw_bodies(targets.ids, targets.kinds, targets.counts,
                                  targets.signatures, streams.seed, perturb)
        self.headings = targets.headings_deg()  # (N, steps)
        cal = streams.calibration
        self.errors = draw_imager_errors(params, env.wind_mps, frame_hz, cal, perturb)
        tau0 = _col(params, "glimpse_tau_s") * np.exp(
            TAU_SPREAD * perturb * cal.standard_normal(len(params)))
        self.glimpses = Glimpses(len(towers), len(targets.ids), tau0,
                                 _col(params, "decorrelation_m"), streams.glimpse)
        self._last_xy: FloatArray | None = None
        self.spots = clutter_map if clutter_map is not None and len(clutter_map) else None
        if self.spots is not None:
            self._prepare_spots(self.spots)

    def _prepare_spots(self, spots: ClutterMap) -> None:
        """Each tower's view of the hot spots, by scan phase; spots it can never detect (by
        more than 4.5 sigma below its threshold in the best conditions of the run) left out."""
        dx = spots.xy_m[None, :, 0] - self.xy[:, 0, None]
        dy = spots.xy_m[None, :, 1] - self.xy[:, 1, None]
        self.spot_range_m = np.maximum(np.hypot(dx, dy), MIN_RANGE_M)  # (T, S)
        self.spot_az = bearing_deg(dx, dy)
        n_t, n_s = self.spot_range_m.shape
        towers = np.repeat(np.arange(n_t), n_s)
        hidden = self.terrain.hidden_share(
            self.xy, self.h_m, towers, np.tile(spots.xy_m[:, 0], n_t),
            np.tile(spots.xy_m[:, 1], n_t), np.tile(spots.height_m, n_t))
        self.spot_visible = (1.0 - hidden).reshape(n_t, n_s)  # the relief's shadow
        brightest = np.maximum(spots.night_k, spots.day_k) * (
            self.leak[:, None] + 4.0 * spots.flicker_per_mps * self.env.wind_mps)
        clearest = float(np.min(self.env.ir_extinction_per_m(self.env.change_s)))
        calmest = detector_sigma_k(self.netd, np.minimum(self.scene_night, self.scene_day),
                                   self.leak)[:, None]
        best_snr = brightest * self.spot_visible * np.exp(-clearest * self.spot_range_m) / calmest
        wanted = (best_snr > self.k[:, None] - 4.5) & (self.spot_range_m < self.max_range[:, None])
        seen = self.heads.static_seen(self.spot_az, wanted)  # (T, P, S)
        # as lists: the spots of (tower t, phase p) are spot_list[start[t P + p]:start[.. + 1]]
        self.spot_phases = seen.shape[1]
        self.spot_start = np.concatenate([[0], np.cumsum(seen.sum(axis=2).ravel())])
        self.spot_list = np.nonzero(seen)[2]

    def sigma_k(self, t: FloatArray) -> FloatArray:
        """Detector pixel std ``(F, T)`` at times ``t``: scene clutter rises with the sun."""
        day = self.env.daylight(t)[:, None]
        scene = self.scene_night + (self.scene_day - self.scene_night) * day
        return detector_sigma_k(self.netd, scene, self.leak)

    def batch(self, k0: int, n: int) -> list[list[FrameOut]]:
        """Frames ``k0 .. k0+n-1`` (frame k at ``k / frame_hz`` seconds)."""
        k = np.arange(k0, k0 + n)
        t = k / self.frame_hz
        lo, width = self.heads.views(k)
        sway = self.errors.sway(n, self.streams.sway)
        sigma = self.sigma_k(t)
        parts = [self._noise(n, lo, width, sigma)]
        if self.targets.ids:
            parts.insert(0, self._targets(t, lo, width, sway, sigma))
        if self.spots is not None:
            parts.append(self._hot_spots(k, t, sway, sigma))
        return group(parts, n, len(self.xy), DECIMALS)

    def _measure(self, f_i: IntArray, t_i: IntArray, az: FloatArray, snr: FloatArray,
                 measured: FloatArray, sway: FloatArray, sigma: FloatArray,
                 size_px: FloatArray, apparent: FloatArray) -> dict[str, FloatArray]:
        """What a tower reports for detections of true bearing ``az`` and peak SNR ``snr``."""
        rng = self.streams.noise
        m = len(f_i)
        snr_db = 20.0 * np.log10(measured)
        reported = bearing_sigma_deg(snr_db, self.ifov_deg[t_i], self.mount[t_i])
        true_sigma = bearing_sigma_deg(20.0 * np.log10(np.maximum(snr, 1e-3)),
                                       self.ifov_deg[t_i], self.mount[t_i])
        true_sigma = true_sigma * self.errors.sigma_factor[t_i]
        error = self.errors.bias_deg[t_i] + sway[f_i, t_i] + rng.standard_normal(m) * true_sigma
        seg = np.hypot(self.size_noise[t_i], 1.0 / measured)
        blob = np.maximum(1.0, np.hypot(size_px, FWHM_PER_SIGMA * self.blur_px[t_i]))
        return {
            "bearing_deg": wrap_deg(az + error),
            "bearing_sigma_deg": reported,
            "snr_db": snr_db,
            "size_px": blob * np.exp(seg * rng.standard_normal(m)),
            "contrast_k": apparent + rng.standard_normal(m) * sigma[f_i, t_i],
        }

    def _targets(self, t: FloatArray, lo: FloatArray, width: FloatArray, sway: FloatArray,
                 sigma: FloatArray) -> Columns:
        sig = self.sig
        xy, active = self.targets.at(t)  # (F, N, 2), (F, N)
        dx = xy[:, None, :, 0] - self.xy[None, :, None, 0]
        dy = xy[:, None, :, 1] - self.xy[None, :, None, 1]
        rng_m = np.maximum(np.hypot(dx, dy), MIN_RANGE_M)  # (F, T, N)
        az = bearing_deg(dx, dy)
        # only pairs that can be seen at all are worked on, as flat arrays
        cand = active[:, None, :] & Heads.seen(az, lo, width) & (
            rng_m < self.max_range[None, :, None])
        stride = max(1, round(LOS_INTERVAL_S * self.frame_hz))
        depth, _, _ = self.terrain.paths_held(stride, self.xy, self.h_m, xy[:, None],
                                              0.8 * sig["height_m"], cand, sig["height_m"])
        f_c, t_c, n_c = np.nonzero(cand)
        r_c = rng_m[cand]
        stature = self.targets.stature_at(t)[f_c, n_c]  # posture: crouching, crawling
        visible = np.exp(-depth[cand]) * stature
        factor = self.env.contrast_factor(t)[f_c]
        contrast = sig["contrast_floor_k"][n_c] + (sig["contrast_night_k"][n_c]
                                                   - sig["contrast_floor_k"][n_c]) * factor
        apparent = apparent_contrast_k(contrast, self.env.ir_extinction_per_m(t)[f_c], r_c,
                                       visible)
        p_inf = acquisition_probability(r_c, apparent, visible, sig["critical_dim_m"][n_c],
                                        self.ifov_rad[t_c], self.netd[t_c], self.mrtd[t_c],
                                        self.n50[t_c])
        acquired = self._search(xy, f_c, t_c, n_c, p_inf)
        # the detector on the acquired pairs' peak pixels, at this frame's sub-pixel phase
        a = np.nonzero(acquired)[0]
        f_a, t_a, n_a, r_a, v_a = f_c[a], t_c[a], n_c[a], r_c[a], visible[a]
        rng = self.streams.noise
        foot = r_a * self.ifov_rad[t_a]
        frac = peak_pixel_fraction(sig["width_m"][n_a] / foot, sig["height_m"][n_a] * v_a / foot,
                                   rng.random(len(a)) - 0.5, rng.random(len(a)) - 0.5,
                                   self.blur_px[t_a])
        snr = apparent[a] * frac / sigma[f_a, t_a]
        hit, measured = detect(snr, self.k[t_a], rng)
        f_i, t_i, n_i = f_a[hit], t_a[hit], n_a[hit]
        values = self._measure(f_i, t_i, az[cand][a][hit], snr[hit], measured[hit], sway, sigma,
                               sig["critical_dim_m"][n_i] * v_a[hit] / foot[hit],
                               apparent[a][hit])
        elev = self.terrain.elevation_deg(self.xy, self.h_m, t_i, xy[f_i, n_i],
                                          0.5 * sig["height_m"][n_i] * stature[a][hit])
        values.update(self._extent(t[f_i], t_i, n_i, az[cand][a][hit], stature[a][hit],
                                   v_a[hit], foot[hit], measured[hit]))
        values["elevation_deg"] = elev + rng.standard_normal(len(f_i)) * self.ifov_deg[t_i]
        ids = self.targets.ids
        return Columns(f_i, t_i, [ids[i] for i in n_i.tolist()], values)

    def _extent(self, t_s: FloatArray, t_i: IntArray, n_i: IntArray, az: FloatArray,
                stature: FloatArray, visible: FloatArray, foot_m: FloatArray,
                measured: FloatArray) -> dict[str, FloatArray]:
        """Blob width and height (whole pixels) of detections of targets ``n_i`` seen along
        true bearing ``az`` in the posture ``stature``, ``visible`` of them not hidden."""
        b = self.bodies
        step = np.clip(np.rint(t_s / self.targets.dt_s), 0,
                       self.headings.shape[1] - 1).astype(np.intp)
        length = posture_length_m(b.length_m[n_i], stature, b.crouches[n_i])
        width_m = silhouette_width_m(length, b.breadth_m[n_i], self.headings[n_i, step] - az)
        return self._extent_px(t_i, width_m / foot_m, b.height_m[n_i] * visible / foot_m,
                               measured)

    def _extent_px(self, t_i: IntArray, width_px: FloatArray, height_px: FloatArray,
                   measured: FloatArray) -> dict[str, FloatArray]:
        """True extents in pixels through the optics, noise and quantisation."""
        rng = self.streams.extent
        seg = np.hypot(self.size_noise[t_i], 1.0 / measured)
        return {"width_px": extent_px(width_px, self.blur_px[t_i], seg, rng),
                "height_px": extent_px(height_px, self.blur_px[t_i], seg, rng)}

    def _search(self, xy: FloatArray, f_c: IntArray, t_c: IntArray, n_c: IntArray,
                p_inf: FloatArray) -> npt.NDArray[np.bool_]:
        """Advance the search state frame by frame; which candidate looks are acquired."""
        prev = xy[:1] if self._last_xy is None else self._last_xy[None]
        moved = np.hypot(*np.moveaxis(np.diff(np.concatenate([prev, xy]), axis=0), -1, 0))
        self._last_xy = xy[-1].copy()
        bounds = np.searchsorted(f_c, np.arange(len(xy) + 1))
        acquired = np.zeros(len(f_c), dtype=bool)
        dt_s = 1.0 / self.frame_hz
        for f in range(len(xy)):
            self.glimpses.move(moved[f])
            a, b = bounds[f], bounds[f + 1]
            if b > a:
                acquired[a:b] = self.glimpses.look(t_c[a:b], n_c[a:b], p_inf[a:b], dt_s)
        return acquired

    def _hot_spots(self, k: npt.NDArray[np.intp], t: FloatArray, sway: FloatArray,
                   sigma: FloatArray) -> Columns:
        spots = self.spots
        assert spots is not None
        n_t = len(self.xy)
        phase = np.mod(k[:, None], self.heads.period[None, :])  # (F, T)
        cell = (np.arange(n_t)[None, :] * self.spot_phases + phase).ravel()
        first, count = self.spot_start[cell], self.spot_start[cell + 1] - self.spot_start[cell]
        f_t = np.arange(len(cell))
        f_i, t_i = np.repeat(f_t // n_t, count), np.repeat(f_t % n_t, count)
        within = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        s_i = self.spot_list[np.repeat(first, count) + within]
        rng = self.streams.clutter
        day = self.env.daylight(t)[f_i]
        # the background model follows a static spot but for its leak; wind-driven change
        # from frame to frame passes it
        flicker = spots.flicker_per_mps[s_i] * self.env.wind_mps
        residual = self.leak[t_i] + np.abs(flicker * rng.standard_normal(len(f_i)))
        contrast = (spots.night_k[s_i] + (spots.day_k - spots.night_k)[s_i] * day) * residual
        r = self.spot_range_m[t_i, s_i]
        apparent = apparent_contrast_k(contrast, self.env.ir_extinction_per_m(t)[f_i], r,
                                       self.spot_visible[t_i, s_i])
        size_px = spots.size_m[s_i] / (r * self.ifov_rad[t_i])
        # the peak pixel holds at most the spot's share of it: looks 4.5 sigma below the
        # threshold even then are left out before the blur is worked out
        bound = apparent * np.minimum(size_px, 1.0) ** 2 / sigma[f_i, t_i]
        near = np.nonzero(bound > self.k[t_i] - 4.5)[0]
        f_i, t_i, s_i, r = f_i[near], t_i[near], s_i[near], r[near]
        apparent, size_px = apparent[near], size_px[near]
        frac = peak_pixel_fraction(size_px, size_px, rng.random(len(f_i)) - 0.5,
                                   rng.random(len(f_i)) - 0.5, self.blur_px[t_i])
        snr = apparent * frac / sigma[f_i, t_i]
        hit, measured = detect(snr, self.k[t_i], rng)
        f_i, t_i, s_i = f_i[hit], t_i[hit], s_i[hit]
        values = self._measure(f_i, t_i, self.spot_az[t_i, s_i], snr[hit], measured[hit], sway,
                               sigma, size_px[hit], apparent[hit])
        values["elevation_deg"] = self.terrain.elevation_deg(
            self.xy, self.h_m, t_i, spots.xy_m[s_i], np.zeros(len(s_i)))
        values.update(self._extent_px(t_i, size_px[hit], size_px[hit], measured[hit]))
        return Columns(f_i, t_i, [None] * len(f_i), values)

    def _noise(self, n: int, lo: FloatArray, width: FloatArray, sigma: FloatArray) -> Columns:
        """False blobs of pixel noise, anywhere in the heads' views."""
        rng = self.streams.clutter
        f_i, t_i, peak = noise_blobs(rng, self.heads.pixels, self.k, n, self.max_blobs)
        m = len(f_i)
        n_heads = (width[0] >= 0.0).sum(axis=-1)  # (T,)
        head = np.minimum((rng.random(m) * n_heads[t_i]).astype(np.intp), n_heads[t_i] - 1)
        snr_db = 20.0 * np.log10(peak)
        values = {
            "bearing_deg": wrap_deg(lo[f_i, t_i, head] + rng.random(m) * width[f_i, t_i, head]),
            "bearing_sigma_deg": bearing_sigma_deg(snr_db, self.ifov_deg[t_i], self.mount[t_i]),
            "snr_db": snr_db,
            "elevation_deg": -rng.random(m) * self.vfov_deg[t_i] / 2.0,
            "size_px": np.exp(self.size_noise[t_i] * rng.standard_normal(m)),
            "contrast_k": peak * sigma[f_i, t_i],
        }
        values.update(self._extent_px(t_i, np.zeros(m), np.zeros(m), peak))
        return Columns(f_i, t_i, [None] * m, values)
