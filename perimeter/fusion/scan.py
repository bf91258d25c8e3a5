"""A scan: one sensor report's detections as numpy arrays (no per-detection objects)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from perimeter.contract import SensorReport

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

KIND_HINTS = ("footsteps", "voice", "engine", "tracks", "impulse", "unknown")
"""Acoustic ``kind_hint`` codes: the index in this tuple; -1 when absent."""


@dataclass(slots=True)
class Scan:
    """One tower sensor's report, detections as parallel arrays (angles in radians)."""

    tower_id: str
    tower_index: int
    tower_xy: FloatArray
    sensor: str
    seq: int
    t_s: float
    bearing_rad: FloatArray
    sigma_rad: FloatArray
    snr_db: FloatArray
    size_px: FloatArray
    contrast_k: FloatArray
    level_db: FloatArray
    kind_hint: IntArray
    elevation_rad: FloatArray | None = None
    late: bool = field(default=False)

    @property
    def size(self) -> int:
        return int(self.bearing_rad.shape[0])

    def select(self, keep: npt.NDArray[np.bool_]) -> Scan:
        """A scan holding only the detections where ``keep`` is true."""
        return Scan(self.tower_id, self.tower_index, self.tower_xy, self.sensor, self.seq,
                    self.t_s, self.bearing_rad[keep], self.sigma_rad[keep], self.snr_db[keep],
                    self.size_px[keep], self.contrast_k[keep], self.level_db[keep],
                    self.kind_hint[keep],
                    None if self.elevation_rad is None else self.elevation_rad[keep], self.late)


def _opt(value: float | None) -> float:
    return math.nan if value is None else float(value)


def scan_from_report(report: SensorReport, tower_index: int, tower_xy: FloatArray) -> Scan:
    """Convert a validated report into a :class:`Scan`."""
    dets = report.detections
    hints = {name: i for i, name in enumerate(KIND_HINTS)}
    return Scan(
        tower_id=report.tower_id,
        tower_index=tower_index,
        tower_xy=tower_xy,
        sensor=report.sensor,
        seq=report.seq,
        t_s=report.t_s,
        bearing_rad=np.radians(np.array([d.bearing_deg for d in dets], dtype=np.float64)),
        sigma_rad=np.radians(np.array([d.bearing_sigma_deg for d in dets], dtype=np.float64)),
        snr_db=np.array([d.snr_db for d in dets], dtype=np.float64),
        size_px=np.array([_opt(d.size_px) for d in dets], dtype=np.float64),
        contrast_k=np.array([_opt(d.contrast_k) for d in dets], dtype=np.float64),
        level_db=np.array([_opt(d.level_db) for d in dets], dtype=np.float64),
        kind_hint=np.array([hints[d.kind_hint] if d.kind_hint else -1 for d in dets],
                           dtype=np.int64),
        elevation_rad=np.radians(np.array([_opt(d.elevation_deg) for d in dets],
                                          dtype=np.float64)),
    )
