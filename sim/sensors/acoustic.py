"""Acoustic arrays of all towers, a batch of windows at a time (vectorised)."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from perimeter.site import TowerSpec
from sim.environment import Environment
from sim.sensors.frames import Columns, FrameOut, bearing_deg, group, wrap_deg
from sim.sensors.optics import snr_detect_probability
from sim.sensors.propagation import (
    absorption_db_per_m,
    alias_free_hz,
    circular_sigma_deg,
    foliage_attenuation_db,
    ground_attenuation_db,
    received_level_db,
    stoica_nehorai_sigma_deg,
)
from sim.signatures import BLAST, HINTS, SOUNDS, count_level_db
from sim.targets import Targets, positions_at
from sim.terrain import LOS_INTERVAL_S, Terrain

FloatArray = npt.NDArray[np.float64]
DECIMALS = {"bearing_deg": 2, "bearing_sigma_deg": 3, "snr_db": 2, "level_db": 2,
            "peak_hz": 1, "onset_t_s": 3}
SOURCE_HEIGHT_M = 1.0
TONAL_HINTS = frozenset({"voice", "engine", "tracks", "unknown"})
"""Sounds narrow-band enough to alias above the array's spatial Nyquist frequency (footsteps
and impulses are broadband: their grating lobes do not add up)."""


class AcousticParams(BaseModel):
    """A tower's microphone array; every field may be overridden per tower or per scenario."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_mics: Annotated[int, Field(ge=2, le=64)] = 4
    spacing_m: Annotated[float, Field(gt=0.0, le=10.0)] = 0.25
    """Distance between adjacent mics."""
    geometry: Literal["circular", "linear"] = "circular"
    """``circular``: mics on a circle (no front/back ambiguity, the same bound all round;
    needs 3 or more mics); ``linear``: a line along ``axis_deg``, whose bearings are
    ambiguous front/back and coarse towards its ends."""
    axis_deg: Annotated[float, Field(ge=0.0, lt=180.0)] = 0.0
    """A linear array's axis, clockwise from grid north."""
    snapshots: Annotated[int, Field(ge=1, le=100_000)] = 100
    detector_snr_db: Annotated[float, Field(ge=-20.0, le=40.0)] = 3.0
    bearing_floor_deg: Annotated[float, Field(ge=0.0, le=30.0)] = 2.5
    """Calibration, multipath and refraction floor in calm air (field arrays: 2-6 deg)."""
    wind_sigma_deg_per_mps: Annotated[float, Field(ge=0.0, le=10.0)] = 0.4
    hint_accuracy: Annotated[float, Field(ge=0.0, le=1.0)] = 0.85
    """Probability that ``kind_hint`` is right for a strong (high-SNR) sound."""
    clutter_per_window: Annotated[float, Field(ge=0.0, le=50.0)] = 0.02
    max_range_m: Annotated[float, Field(gt=0.0, le=100_000.0)] = 20_000.0
    """Computational cut-off for targets (the loudest, a tracked vehicle, fades by ~10 km)."""

    @model_validator(mode="after")
    def _circle_needs_three(self) -> AcousticParams:
        if self.geometry == "circular" and self.n_mics < 3:
            raise ValueError("n_mics: a circular array needs at least 3 mics")
        return self


def _col(params: list[AcousticParams], name: str) -> FloatArray:
    return np.array([float(getattr(p, name)) for p in params], dtype=np.float64)


class Blasts:
    """Distant blasts: times of emission (sim s) and positions, drawn once for the run."""

    def __init__(self, per_hour: float, duration_s: float, centre_xy: tuple[float, float],
                 rng: np.random.Generator) -> None:
        n = int(rng.poisson(per_hour * duration_s / 3600.0))
        self.t_s = np.sort(rng.uniform(0.0, duration_s, n))
        rng_m = rng.uniform(8000.0, 25000.0, n)
        az = rng.uniform(0.0, 2.0 * np.pi, n)
        self.xy = np.column_stack([centre_xy[0] + rng_m * np.sin(az),
                                   centre_xy[1] + rng_m * np.cos(az)])


class AcousticArray:
    """Every tower's array; :meth:`batch` gives ``[window][tower]`` outputs."""

    def __init__(self, towers: list[TowerSpec], params: list[AcousticParams], window_s: float,
                 env: Environment, terrain: Terrain, targets: Targets, blasts: Blasts,
                 noise_rng: np.random.Generator, clutter_rng: np.random.Generator) -> None:
        self.window_s = window_s
        self.env, self.terrain, self.targets, self.blasts = env, terrain, targets, blasts
        self.noise_rng, self.clutter_rng = noise_rng, clutter_rng
        self.xy = np.array([[t.x_m, t.y_m] for t in towers], dtype=np.float64)
        self.h_m = np.array([t.height_m for t in towers], dtype=np.float64)
        self.n_mics = _col(params, "n_mics")
        self.spacing = _col(params, "spacing_m")
        self.linear = np.array([p.geometry == "linear" for p in params])
        self.axis_deg = _col(params, "axis_deg")
        self.alias_hz = alias_free_hz(self.spacing, env.sound_speed_mps)
        self.snapshots = _col(params, "snapshots")
        self.det_thr = _col(params, "detector_snr_db")
        self.floor = _col(params, "bearing_floor_deg")
        self.wind_sigma = _col(params, "wind_sigma_deg_per_mps") * env.wind_mps
        self.hint_acc = _col(params, "hint_accuracy")
        self.clutter_rate = _col(params, "clutter_per_window")
        self.max_range = _col(params, "max_range_m")
        self.gain_db = 10.0 * np.log10(self.n_mics)
        kinds = targets.kinds
        self.src = [own or SOUNDS[k] for k, own in zip(kinds, targets.sounds, strict=True)]
        self.count_db = count_level_db(targets.counts)

    def _sigma(self, snr_db: FloatArray, freq_hz: FloatArray, t_i: npt.NDArray[np.intp],
               az_deg: FloatArray) -> FloatArray:
        """Bearing 1-sigma: the array's bound at the per-mic SNR (the array output's
        ``snr_db`` less the array gain, counted once), the floor and wind in quadrature,
        <= 60°. A linear array's bound grows towards its ends (``az_deg``)."""
        per_mic = snr_db - self.gain_db[t_i]
        c = self.env.sound_speed_mps
        n, d, snaps = self.n_mics[t_i], self.spacing[t_i], self.snapshots[t_i]
        off = np.maximum(np.abs(np.sin(np.radians(az_deg - self.axis_deg[t_i]))), 0.05)
        bound = np.where(self.linear[t_i],
                         stoica_nehorai_sigma_deg(per_mic, freq_hz, n, d, snaps, c, off),
                         circular_sigma_deg(per_mic, freq_hz, np.maximum(n, 3.0), d, snaps, c))
        sigma = np.sqrt(bound**2 + self.floor[t_i] ** 2 + self.wind_sigma[t_i] ** 2)
        return np.asarray(np.minimum(sigma, 60.0), dtype=np.float64)

    def _ambiguity(self, az_deg: FloatArray, freq_hz: FloatArray, tonal: npt.NDArray[np.bool_],
                   t_i: npt.NDArray[np.intp]) -> FloatArray:
        """Where the array points: a linear array picks the mirror image about its axis half
        the time; a tonal sound above the alias-free frequency ``c / 2d`` lands on a grating
        lobe (anywhere) with probability ``0.5 min(1, f / f_alias - 1)`` (*estimate*)."""
        rng = self.noise_rng
        m = len(az_deg)
        mirror = self.linear[t_i] & (rng.random(m) < 0.5)
        out = np.where(mirror, 2.0 * self.axis_deg[t_i] - az_deg, az_deg)
        p_alias = 0.5 * np.clip(freq_hz / self.alias_hz[t_i] - 1.0, 0.0, 1.0) * tonal
        ghost = rng.random(m) < p_alias
        out = np.where(ghost, rng.uniform(0.0, 360.0, m), out)
        return np.asarray(wrap_deg(out), dtype=np.float64)

    def _hints(self, true_hint: list[str], snr_db: FloatArray, t_i: npt.NDArray[np.intp]
               ) -> list[str]:
        """The classifier's hint: right more often for strong sounds, else another at random."""
        rng = self.noise_rng
        acc = 0.5 + (self.hint_acc[t_i] - 0.5) / (1.0 + np.exp(-(snr_db - 6.0) / 3.0))
        right = rng.random(len(true_hint)) < acc
        wrong = rng.integers(0, len(HINTS) - 1, len(true_hint))
        out = []
        for h, ok, w in zip(true_hint, right.tolist(), wrong.tolist(), strict=True):
            others = [x for x in HINTS if x != h]
            out.append(h if ok else others[w])
        return out

    def batch(self, k0: int, n: int) -> list[list[FrameOut]]:
        """Windows ``k0 .. k0+n-1``; window k ends at ``k * window_s`` seconds."""
        t_end = np.arange(k0, k0 + n, dtype=np.float64) * self.window_s
        parts = [self._clutter(t_end), self._blasts(k0, t_end)]
        if self.targets.ids:
            parts.insert(0, self._targets(t_end))
        return group(parts, n, len(self.xy), DECIMALS)

    def _targets(self, t_end: FloatArray) -> Columns:
        rng = self.noise_rng
        n_f, n_t, n_n = len(t_end), len(self.xy), len(self.targets.ids)
        xy_now, _ = self.targets.at(t_end)
        r_now = np.hypot(xy_now[:, None, :, 0] - self.xy[None, :, None, 0],
                         xy_now[:, None, :, 1] - self.xy[None, :, None, 1])
        t_emit = t_end[:, None, None] - r_now / self.env.sound_speed_mps  # (F, T, N)
        xy, active = positions_at(self.targets, t_emit)  # (F, T, N, 2)
        dx = xy[..., 0] - self.xy[None, :, None, 0]
        dy = xy[..., 1] - self.xy[None, :, None, 1]
        r = np.maximum(np.hypot(dx, dy), 1.0)
        # which sound each target makes in each window
        choice = np.zeros((n_f, n_n), dtype=np.intp)
        level = np.zeros((n_f, n_n))
        freq = np.zeros((n_f, n_n))
        hints: list[list[str]] = []
        u = rng.random((n_f, n_n))
        for j, sources in enumerate(self.src):
            cum = np.cumsum([s.probability for s in sources])
            choice[:, j] = np.minimum(np.searchsorted(cum, u[:, j] * cum[-1]), len(sources) - 1)
            level[:, j] = np.array([s.level_db for s in sources])[choice[:, j]] + self.count_db[j]
            freq[:, j] = np.array([s.peak_hz for s in sources])[choice[:, j]]
            hints.append([s.hint for s in sources])
        level = level + rng.normal(0.0, 2.0, (n_f, n_n))
        alpha = absorption_db_per_m(freq, self.env.temperature_c, self.env.humidity_pct)
        # only pairs within reach are worked on, as flat arrays
        cand = active & (r < self.max_range[None, :, None])
        stride = max(1, round(LOS_INTERVAL_S / self.window_s))
        _, forest_m, built_m = self.terrain.paths_held(stride, self.xy,
                                                       np.full(n_t, SOURCE_HEIGHT_M), xy,
                                                       np.ones(n_n), cand)
        f_c, t_c, n_c = np.nonzero(cand)
        r_c = r[cand]
        freq_c = freq[f_c, n_c]
        excess = (ground_attenuation_db(r_c, 0.5 * (self.h_m[t_c] + SOURCE_HEIGHT_M))
                  + foliage_attenuation_db(forest_m[cand], freq_c)
                  + np.minimum(0.02 * built_m[cand], 10.0))
        received = received_level_db(level[f_c, n_c], r_c, alpha[f_c, n_c], excess)
        received = received + rng.normal(0.0, 1.5, received.shape)
        snr = received - self.env.noise_floor_db(t_end)[f_c] + self.gain_db[t_c]
        p = snr_detect_probability(snr, self.det_thr[t_c])
        hit = rng.random(p.shape) < p
        f_i, t_i, n_i = f_c[hit], t_c[hit], n_c[hit]
        m = len(f_i)
        f_hit = freq_c[hit]
        true_hint = [hints[j][c] for j, c in zip(n_i.tolist(), choice[f_i, n_i].tolist(),
                                                  strict=True)]
        tonal = np.array([h in TONAL_HINTS for h in true_hint], dtype=bool)
        pointed = self._ambiguity(bearing_deg(dx[cand][hit], dy[cand][hit]), f_hit, tonal, t_i)
        sigma = self._sigma(snr[hit], f_hit, t_i, pointed)
        values = {
            "bearing_deg": wrap_deg(pointed + rng.normal(0.0, 1.0, m) * sigma),
            "bearing_sigma_deg": sigma,
            "snr_db": snr[hit],
            "level_db": received[hit],
            "peak_hz": f_hit * np.exp(rng.normal(0.0, 0.05, m)),
        }
        ids = self.targets.ids
        return Columns(f_i, t_i, [ids[i] for i in n_i.tolist()], values,
                       {"kind_hint": self._hints(true_hint, snr[hit], t_i)})

    def _blasts(self, k0: int, t_end: FloatArray) -> Columns:
        b = self.blasts
        if len(b.t_s) == 0:
            return _EMPTY
        r = np.hypot(b.xy[:, None, 0] - self.xy[None, :, 0], b.xy[:, None, 1] - self.xy[None, :, 1])
        arrival = b.t_s[:, None] + r / self.env.sound_speed_mps  # (B, T)
        w = np.ceil(arrival / self.window_s - 1e-9).astype(np.intp) - k0
        inside = (w >= 0) & (w < len(t_end))
        b_i, t_i = np.nonzero(inside)
        if len(b_i) == 0:
            return _EMPTY
        rng = self.noise_rng
        r_hit = r[b_i, t_i]
        alpha = absorption_db_per_m(np.array([BLAST.peak_hz]), self.env.temperature_c,
                                    self.env.humidity_pct)[0]
        mean_h = 0.5 * (self.h_m[t_i] + SOURCE_HEIGHT_M)
        level = received_level_db(BLAST.level_db + rng.normal(0.0, 4.0, len(b_i)), r_hit, alpha,
                                  ground_attenuation_db(r_hit, mean_h))
        f_i = w[b_i, t_i]
        snr = level - self.env.noise_floor_db(t_end[f_i]) + self.gain_db[t_i]
        keep = rng.random(len(b_i)) < snr_detect_probability(snr, self.det_thr[t_i])
        f_i, t_i, b_i, snr, level = f_i[keep], t_i[keep], b_i[keep], snr[keep], level[keep]
        m = len(f_i)
        freq = BLAST.peak_hz * np.exp(rng.normal(0.0, 0.1, m))
        dx = b.xy[b_i, 0] - self.xy[t_i, 0]
        dy = b.xy[b_i, 1] - self.xy[t_i, 1]
        pointed = self._ambiguity(bearing_deg(dx, dy), freq, np.zeros(m, dtype=bool), t_i)
        sigma = self._sigma(snr, freq, t_i, pointed)
        values = {
            "bearing_deg": wrap_deg(pointed + rng.normal(0.0, 1.0, m) * sigma),
            "bearing_sigma_deg": sigma,
            "snr_db": snr,
            "level_db": level,
            "peak_hz": freq,
            "onset_t_s": self.env.epoch_s + arrival[b_i, t_i] + rng.normal(0.0, 0.005, m),
        }
        return Columns(f_i, t_i, [None] * m, values,
                       {"kind_hint": self._hints(["impulse"] * m, snr, t_i)})

    def _clutter(self, t_end: FloatArray) -> Columns:
        rng = self.clutter_rng
        counts = rng.poisson(np.broadcast_to(self.clutter_rate, (len(t_end), len(self.xy))))
        f_i, t_i = np.nonzero(counts)
        reps = counts[f_i, t_i]
        f_i, t_i = np.repeat(f_i, reps), np.repeat(t_i, reps)
        m = len(f_i)
        snr = self.det_thr[t_i] + rng.exponential(2.0, m)
        freq = np.exp(rng.uniform(np.log(80.0), np.log(2000.0), m))
        az = rng.uniform(0.0, 360.0, m)
        values = {
            "bearing_deg": az,
            "bearing_sigma_deg": self._sigma(snr, freq, t_i, az),
            "snr_db": snr,
            "level_db": self.env.noise_floor_db(t_end[f_i]) + snr - self.gain_db[t_i],
            "peak_hz": freq,
        }
        hint = ["unknown" if x < 0.7 else "impulse" for x in rng.random(m).tolist()]
        return Columns(f_i, t_i, [None] * m, values, {"kind_hint": hint})


_EMPTY = Columns(np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), [], {})
