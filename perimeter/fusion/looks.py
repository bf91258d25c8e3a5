"""Looks: when a tower imager looked at a track, learned from the imager's own stream.

A scanning (step-stare) head looks at a bearing one frame per revisit (5.5 s by default,
docs/sensors.md), and a report does not say which azimuths its frame covered
(docs/contract.md). What the stream does say: reports come once a frame (the commonest
interval between a sensor's consecutive reports), and a fixed hot spot or a slow object is
detected again a whole number of revisits later in the same azimuth cell. So the revisit is
the commonest interval, in frames, between two detections of one imager in one cell (one
frame on a staring imager). A report is a *look* at a track when it comes a whole number of
revisits (within half a frame) after that imager's last detection of the track: only then
can it have missed it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from perimeter.fusion.scan import Scan

Key = tuple[int, str]


@dataclass(frozen=True, slots=True)
class LookConfig:
    cell_deg: float = 0.2
    """Azimuth cell in which repeated detections time the revisit (a few bearing sigmas;
    an object walking 1.5 m/s across the line of sight at 1 km crosses it in over 2 s)."""
    min_intervals: int = 30
    """Same-cell intervals counted before the revisit is trusted (until then every report
    is a look, as for a staring imager)."""
    max_frames: int = 64
    """Longest interval counted (in frames): longer ones are not the same object's."""
    min_frames_for_reports: int = 20
    """Report intervals counted before the frame is trusted."""


class _Sensor:
    __slots__ = ("cells", "counted", "frame_s", "frames", "gaps", "intervals",
                 "last_report_s", "stale")

    def __init__(self) -> None:
        self.last_report_s: float | None = None
        self.gaps: Counter[int] = Counter()  # report intervals in ms
        self.cells: dict[int, float] = {}  # cell -> last detection time
        self.intervals: Counter[int] = Counter()  # same-cell intervals in frames
        self.counted = 0  # their total (kept, not re-summed per scan)
        self.frame_s: float | None = None
        self.frames = 1
        self.stale = True


class Looks:
    """Each tower sensor's frame and revisit, learned online (see the module docstring)."""

    def __init__(self, config: LookConfig | None = None) -> None:
        self.config = config or LookConfig()
        self._sensors: dict[Key, _Sensor] = {}
        self._cell_rad = math.radians(self.config.cell_deg)

    def observe(self, key: Key, t_s: float, bearings_rad: list[float]) -> None:
        """One report of ``key`` at ``t_s`` with its detections' bearings (in time order
        per sensor; reports out of order only add no interval)."""
        s = self._sensors.get(key)
        if s is None:
            s = self._sensors[key] = _Sensor()
        if s.last_report_s is not None and t_s > s.last_report_s:
            s.gaps[round(1000.0 * (t_s - s.last_report_s))] += 1
            s.stale = True
        s.last_report_s = t_s if s.last_report_s is None else max(s.last_report_s, t_s)
        frame_s = s.frame_s
        if frame_s is None:
            if sum(s.gaps.values()) < self.config.min_frames_for_reports:
                return
            s.frame_s = frame_s = s.gaps.most_common(1)[0][0] / 1000.0
            if frame_s <= 0.0:
                s.frame_s = None
                return
        cells, cell_rad, longest = s.cells, self._cell_rad, self.config.max_frames
        for cell in {math.floor(b / cell_rad) for b in bearings_rad}:
            last = cells.get(cell)
            if last is not None and t_s > last:
                n = round((t_s - last) / frame_s)
                if 1 <= n <= longest:
                    s.intervals[n] += 1
                    s.counted += 1
                    s.stale = True
            cells[cell] = t_s

    def _sensor(self, key: Key) -> _Sensor | None:
        s = self._sensors.get(key)
        if s is not None and s.stale:
            s.stale = False
            if s.gaps:
                s.frame_s = s.gaps.most_common(1)[0][0] / 1000.0 or s.frame_s
            if s.counted >= self.config.min_intervals:
                s.frames = s.intervals.most_common(1)[0][0]
        return s

    def frames(self, key: Key) -> int:
        """The revisit in frames (1 until learned: every report a look)."""
        s = self._sensor(key)
        return 1 if s is None else s.frames

    def revisit_s(self, key: Key) -> float:
        """The revisit in seconds (0 until the frame is known)."""
        s = self._sensor(key)
        if s is None or s.frame_s is None:
            return 0.0
        return s.frames * s.frame_s

    def longest_revisit_s(self) -> float:
        """The longest revisit of any sensor learned so far (0 before any)."""
        return max((self.revisit_s(k) for k in self._sensors), default=0.0)

    def longest_learned_revisit_s(self) -> float:
        """As :meth:`longest_revisit_s` over the sensors whose revisit is learned
        (``min_intervals`` counted; 0 before any): until then :meth:`revisit_s` is one frame,
        which a search sized in revisits must not take for a scanning head's."""
        learned = [k for k, s in self._sensors.items() if s.counted >= self.config.min_intervals]
        return max((self.revisit_s(k) for k in learned), default=0.0)

    def looked(self, key: Key, t_s: float, last_seen_s: float) -> bool:
        """Whether a report of ``key`` at ``t_s`` looked at an object it last detected at
        ``last_seen_s``: a whole number (>= 1) of revisits later, within half a frame."""
        s = self._sensor(key)
        if s is None or s.frame_s is None or s.frames <= 1:
            return True
        revisit = s.frames * s.frame_s
        gap = t_s - last_seen_s
        k = round(gap / revisit)
        return k >= 1 and abs(gap - k * revisit) <= 0.5 * s.frame_s


def in_frame(scan: Scan, newest_s: float, same_frame_s: float, allowance_rad: float) -> Scan:
    """The scan as the revisit-aware score fuses it: a late report at most ``same_frame_s``
    behind the newest fused one (the same frame: towers' clocks lie milliseconds apart on
    the frame grid) fused in order at the newest time, so it scores hits and misses; and its
    sigmas widened by ``allowance_rad`` (the tower's unapplied registration sigma)."""
    changes: dict[str, object] = {}
    if scan.late and newest_s - scan.t_s <= same_frame_s:
        changes.update(t_s=newest_s, late=False)
    if allowance_rad > 0.0 and scan.size:
        changes["sigma_rad"] = np.hypot(scan.sigma_rad, allowance_rad)
    return replace(scan, **changes) if changes else scan  # type: ignore[arg-type]
