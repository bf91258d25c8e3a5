"""Sensor heads on each tower: where each thermal head looks in each frame (docs/sensors.md).

``scanning`` (default): ``heads`` pan/tilt heads split the tower's sector into equal shares;
each steps across its share one field of view per frame (step-stare), so a point is looked at
once per revisit (``steps / frame_hz``). ``staring``: a mosaic of cores watches the whole
sector every frame. Either way the detector processes every pixel of every core looking.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from sim.sensors.frames import wrap_deg
from sim.sensors.optics import ThermalParams

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class Heads:
    """Every tower's thermal heads; :meth:`views` gives ``(F, T, H)`` view intervals."""

    def __init__(self, params: list[ThermalParams], frame_hz: float) -> None:
        n_heads = [p.heads if p.pointing == "scanning" else 1 for p in params]
        self.n_max = max(n_heads)
        shape = (len(params), self.n_max)
        self.sub_lo = np.zeros(shape)
        self.sub_w = np.full(shape, -1.0)  # never matches an azimuth where there is no head
        self.steps = np.ones(shape)
        self.fov = np.zeros(shape)
        self.pixels = np.zeros(len(params))
        self.revisit_s = np.zeros(len(params))
        for i, (p, h) in enumerate(zip(params, n_heads, strict=True)):
            lo, hi = p.sector_deg
            width = (hi - lo) / h
            core_px = p.width_px * p.height_px
            if p.pointing == "staring":
                self.sub_lo[i, 0], self.sub_w[i, 0], self.fov[i, 0] = lo, hi - lo, hi - lo
                self.pixels[i] = math.ceil((hi - lo) / p.hfov_deg) * core_px
                self.revisit_s[i] = 1.0 / frame_hz
                continue
            self.sub_lo[i, :h] = lo + width * np.arange(h)
            self.sub_w[i, :h] = width
            self.fov[i, :h] = min(p.hfov_deg, width)
            self.steps[i, :h] = max(1, math.ceil(width / p.hfov_deg - 1e-9))
            self.pixels[i] = h * core_px
            self.revisit_s[i] = float(self.steps[i, 0]) / frame_hz

    def views(self, k: npt.NDArray[np.intp]) -> tuple[FloatArray, FloatArray]:
        """Start and width of every head's view in frames ``k``: ``(F, T, H)`` each (width
        -1 where a tower has fewer heads)."""
        step = np.mod(k[:, None, None], self.steps[None])
        offset = np.minimum(step * self.fov, np.maximum(self.sub_w - self.fov, 0.0))
        lo = wrap_deg(self.sub_lo + offset)
        width = np.broadcast_to(np.where(self.sub_w < 0.0, -1.0, self.fov), lo.shape)
        return np.asarray(lo), np.asarray(width)

    @property
    def period(self) -> npt.NDArray[np.intp]:
        """Frames after which each tower's views repeat, ``(T,)``."""
        return np.asarray(self.steps[:, 0], dtype=np.intp)

    def static_seen(self, az_deg: FloatArray, wanted: BoolArray) -> BoolArray:
        """For fixed azimuths ``(T, X)``: whether each is in view at each phase of the scan,
        ``(T, P, X)`` with ``P`` the longest period (phase = frame mod the tower's period)."""
        phases = np.arange(int(self.period.max()))
        lo, width = self.views(phases)
        seen = self.seen(np.broadcast_to(az_deg, (len(phases), *az_deg.shape)), lo, width)
        return np.asarray(np.swapaxes(seen, 0, 1) & wanted[:, None, :], dtype=bool)

    @staticmethod
    def seen(az_deg: FloatArray, lo: FloatArray, width: FloatArray) -> BoolArray:
        """Whether azimuths ``(F, T, X)`` fall in any head's view ``(F, T, H)``."""
        rel = np.mod(az_deg[:, :, :, None] - lo[:, :, None, :], 360.0)
        return np.asarray((rel <= width[:, :, None, :]).any(axis=-1), dtype=bool)
