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
    width_px: FloatArray | None = None
    """Thermal blobs' horizontal and vertical extents (NaN where a detection has none)."""
    height_px: FloatArray | None = None
    bias_rad: float = 0.0
    """The azimuth bias registration took off the bearings (:meth:`.Registration.correct`):
    the raw bearings are ``bearing_rad + bias_rad``, whatever the estimate is by now."""
    clock_s: float = 0.0
    """The clock offset registration took off ``t_s``."""

    @property
    def size(self) -> int:
        return int(self.bearing_rad.shape[0])

    def select(self, keep: npt.NDArray[np.bool_]) -> Scan:
        """A scan holding only the detections where ``keep`` is true."""
        return Scan(self.tower_id, self.tower_index, self.tower_xy, self.sensor, self.seq,
                    self.t_s, self.bearing_rad[keep], self.sigma_rad[keep], self.snr_db[keep],
                    self.size_px[keep], self.contrast_k[keep], self.level_db[keep],
                    self.kind_hint[keep],
                    None if self.elevation_rad is None else self.elevation_rad[keep], self.late,
                    None if self.width_px is None else self.width_px[keep],
                    None if self.height_px is None else self.height_px[keep],
                    self.bias_rad, self.clock_s)


def _opt(value: float | None) -> float:
    return math.nan if value is None else float(value)


_HINTS = {name: i for i, name in enumerate(KIND_HINTS)}
_NO_FLOAT = np.zeros(0, dtype=np.float64)
_NO_INT = np.zeros(0, dtype=np.int64)


def scan_from_report(report: SensorReport, tower_index: int, tower_xy: FloatArray,
                     min_snr_db: float | None = None) -> Scan:
    """Convert a validated report into a :class:`Scan`; with ``min_snr_db``, only the
    detections at or above it (the same as :func:`~perimeter.fusion.gate.apply_snr_threshold`
    on the whole scan, without building arrays for what it drops)."""
    dets = report.detections
    if dets and min_snr_db is not None:
        dets = [d for d in dets if d.snr_db >= min_snr_db]
    if not dets:  # most reports: nothing seen (arrays are never written to, so shared)
        return Scan(report.tower_id, tower_index, tower_xy, report.sensor, report.seq,
                    report.t_s, _NO_FLOAT, _NO_FLOAT, _NO_FLOAT, _NO_FLOAT, _NO_FLOAT,
                    _NO_FLOAT, _NO_INT, _NO_FLOAT)
    # math.radians is the same multiplication by pi/180 as np.radians, bit for bit
    radians = math.radians
    table = np.array([(radians(d.bearing_deg), radians(d.bearing_sigma_deg), d.snr_db,
                       _opt(d.size_px), _opt(d.contrast_k), _opt(d.level_db),
                       math.nan if d.elevation_deg is None else radians(d.elevation_deg),
                       _opt(d.width_px), _opt(d.height_px))
                      for d in dets], dtype=np.float64)
    return Scan(report.tower_id, tower_index, tower_xy, report.sensor, report.seq, report.t_s,
                bearing_rad=table[:, 0], sigma_rad=table[:, 1], snr_db=table[:, 2],
                size_px=table[:, 3], contrast_k=table[:, 4], level_db=table[:, 5],
                kind_hint=np.array([_HINTS[d.kind_hint] if d.kind_hint else -1 for d in dets],
                                   dtype=np.int64),
                elevation_rad=table[:, 6], width_px=table[:, 7], height_px=table[:, 8])
