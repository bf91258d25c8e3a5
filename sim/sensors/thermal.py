"""Thermal imagers of all towers, computed a batch of frames at a time (vectorised)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from perimeter.site import TowerSpec
from sim.environment import Environment
from sim.sensors.frames import Columns, FrameOut, bearing_deg, group, wrap_deg
from sim.sensors.optics import ThermalParams, bearing_sigma_deg, frame_detection
from sim.signatures import thermal_table
from sim.targets import Targets
from sim.terrain import LOS_INTERVAL_S, Terrain

FloatArray = npt.NDArray[np.float64]

DECIMALS = {"bearing_deg": 3, "bearing_sigma_deg": 4, "snr_db": 2, "elevation_deg": 3,
            "size_px": 2, "contrast_k": 3}
MIN_RANGE_M = 5.0


def _col(params: list[ThermalParams], name: str) -> FloatArray:
    return np.array([float(getattr(p, name)) for p in params], dtype=np.float64)


class ThermalArray:
    """Every tower's thermal imager; :meth:`batch` gives ``[frame][tower]`` outputs."""

    def __init__(self, towers: list[TowerSpec], params: list[ThermalParams], frame_hz: float,
                 env: Environment, terrain: Terrain, targets: Targets,
                 noise_rng: np.random.Generator, clutter_rng: np.random.Generator) -> None:
        self.frame_hz = frame_hz
        self.env, self.terrain, self.targets = env, terrain, targets
        self.noise_rng, self.clutter_rng = noise_rng, clutter_rng
        self.xy = np.array([[t.x_m, t.y_m] for t in towers], dtype=np.float64)
        self.h_m = np.array([t.height_m for t in towers], dtype=np.float64)
        self.ifov_rad = np.array([p.ifov_rad for p in params])
        self.ifov_deg = np.degrees(self.ifov_rad)
        self.hfov_deg = np.array([p.hfov_deg for p in params])
        self.netd = _col(params, "netd_k")
        self.mrtd = _col(params, "mrtd_nyquist_k")
        self.n50 = _col(params, "n50_cycles")
        self.det_thr = _col(params, "detector_snr_db")
        self.scene_night = _col(params, "scene_clutter_night_k")
        self.scene_day = _col(params, "scene_clutter_day_k")
        self.mount = _col(params, "mount_sigma_deg")
        self.clutter_rate = _col(params, "clutter_per_frame")
        self.max_range = _col(params, "max_range_m")
        self.sector_lo = np.array([p.sector_deg[0] for p in params])
        self.sector_width = np.array([p.sector_deg[1] - p.sector_deg[0] for p in params])
        self.slewing = np.array([p.pointing == "slewing" for p in params])
        self.slew_steps = np.maximum(np.ceil(self.sector_width / self.hfov_deg), 1.0)
        self.sig = thermal_table(targets.kinds, targets.counts, targets.signatures)

    def view(self, k: npt.NDArray[np.intp]) -> tuple[FloatArray, FloatArray]:
        """Watched azimuth interval ``(start, width)`` per frame and tower, shape ``(F, T)``."""
        step = np.mod(k[:, None], self.slew_steps[None, :])
        slew_lo = self.sector_lo + step * self.hfov_deg
        lo = np.where(self.slewing, slew_lo, self.sector_lo[None, :])
        width = np.where(self.slewing, np.minimum(self.hfov_deg, self.sector_width),
                         self.sector_width)
        return np.asarray(wrap_deg(lo)), np.asarray(np.broadcast_to(width, lo.shape))

    def batch(self, k0: int, n: int) -> list[list[FrameOut]]:
        """Frames ``k0 .. k0+n-1`` (frame k at ``k / frame_hz`` seconds)."""
        k = np.arange(k0, k0 + n)
        t = k / self.frame_hz
        view_lo, view_w = self.view(k)
        parts = [self._clutter(k0, t, view_lo, view_w)]
        if self.targets.ids:
            parts.insert(0, self._targets(k0, t, view_lo, view_w))
        return group(parts, n, len(self.xy), DECIMALS)

    def _targets(self, k0: int, t: FloatArray, view_lo: FloatArray,
                 view_w: FloatArray) -> Columns:
        sig = self.sig
        xy, active = self.targets.at(t)  # (F, N, 2), (F, N)
        dx = xy[:, None, :, 0] - self.xy[None, :, None, 0]
        dy = xy[:, None, :, 1] - self.xy[None, :, None, 1]
        rng_m = np.maximum(np.hypot(dx, dy), MIN_RANGE_M)  # (F, T, N)
        az = bearing_deg(dx, dy)
        in_view = np.mod(az - view_lo[:, :, None], 360.0) <= view_w[:, :, None]
        # only pairs that can be seen at all are worked on, as flat arrays
        cand = active[:, None, :] & in_view & (rng_m < self.max_range[None, :, None])
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
        day = self.env.daylight(t)[f_c]
        scene = self.scene_night[t_c] + (self.scene_day - self.scene_night)[t_c] * day
        apparent, snr_db, p = frame_detection(
            r_c, contrast, visible, self.env.ir_extinction_per_m(t)[f_c],
            sig["critical_dim_m"][n_c], sig["width_m"][n_c], sig["height_m"][n_c],
            self.ifov_rad[t_c], self.netd[t_c], self.mrtd[t_c], self.n50[t_c], scene,
            self.det_thr[t_c])
        rng = self.noise_rng
        hit = rng.random(p.shape) < p
        f_i, t_i, n_i = f_c[hit], t_c[hit], n_c[hit]
        m = len(f_i)
        snr_meas = snr_db[hit] + rng.normal(0.0, 1.0, m)
        sigma = bearing_sigma_deg(snr_meas, self.ifov_deg[t_i], self.mount[t_i])
        r_hit = r_c[hit]
        elev = self.terrain.elevation_deg(self.xy, self.h_m, t_i, xy[f_i, n_i],
                                          0.5 * sig["height_m"][n_i] * stature[hit])
        values = {
            "bearing_deg": wrap_deg(az[cand][hit] + rng.normal(0.0, 1.0, m) * sigma),
            "bearing_sigma_deg": sigma,
            "snr_db": snr_meas,
            "elevation_deg": elev + rng.normal(0.0, 1.0, m) * self.ifov_deg[t_i],
            "size_px": sig["critical_dim_m"][n_i] * visible[hit] / (r_hit * self.ifov_rad[t_i]),
            "contrast_k": apparent[hit] + rng.normal(0.0, 1.0, m) * self.netd[t_i],
        }
        ids = self.targets.ids
        return Columns(f_i, t_i, [ids[i] for i in n_i.tolist()], values)

    def _clutter(self, k0: int, t: FloatArray, view_lo: FloatArray,
                 view_w: FloatArray) -> Columns:
        rng = self.clutter_rng
        counts = rng.poisson(np.broadcast_to(self.clutter_rate, view_lo.shape))
        f_i, t_i = np.nonzero(counts)
        reps = counts[f_i, t_i]
        f_i, t_i = np.repeat(f_i, reps), np.repeat(t_i, reps)
        m = len(f_i)
        snr = self.det_thr[t_i] + rng.exponential(3.0, m)
        sigma = bearing_sigma_deg(snr, self.ifov_deg[t_i], self.mount[t_i])
        values = {
            "bearing_deg": wrap_deg(view_lo[f_i, t_i] + rng.random(m) * view_w[f_i, t_i]),
            "bearing_sigma_deg": sigma,
            "snr_db": snr,
            "elevation_deg": rng.uniform(-2.0, 0.0, m),
            "size_px": rng.uniform(0.5, 3.0, m),
            "contrast_k": rng.uniform(0.2, 2.0, m),
        }
        return Columns(f_i, t_i, [None] * m, values)
