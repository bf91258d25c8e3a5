"""Batches of sensor output: per frame, per tower, the detections and their truth tags."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

DetectionDict = dict[str, float | str]


@dataclass(slots=True)
class FrameOut:
    """One tower's output for one frame or window: contract detection dicts and truth tags."""

    detections: list[DetectionDict] = field(default_factory=list)
    tags: list[str | None] = field(default_factory=list)


EMPTY = FrameOut()
"""Shared by every frame without detections; never appended to."""


@dataclass(slots=True)
class Columns:
    """Detections as columns: frame index, tower index, tag, and named value columns."""

    frame: IntArray
    tower: IntArray
    tags: list[str | None]
    values: dict[str, FloatArray]
    strings: dict[str, list[str]] = field(default_factory=dict)


def group(parts: list[Columns], n_frames: int, n_towers: int,
          decimals: dict[str, int]) -> list[list[FrameOut]]:
    """``[frame][tower]`` outputs, detections sorted by bearing, values rounded for JSON."""
    out = [[EMPTY] * n_towers for _ in range(n_frames)]
    rows: list[DetectionDict] = []
    tags: list[str | None] = []
    keys: list[tuple[IntArray, IntArray, FloatArray]] = []
    for part in parts:
        if not part.tags:
            continue
        names = [*part.values, *part.strings]
        cols: list[list[float] | list[str]] = [
            _rounded(n, v, decimals.get(n, 4)).tolist() for n, v in part.values.items()]
        cols.extend(part.strings.values())
        rows.extend(dict(zip(names, row, strict=True)) for row in zip(*cols, strict=True))
        tags.extend(part.tags)
        keys.append((part.frame, part.tower, part.values["bearing_deg"]))
    if not rows:
        return out
    frames = np.concatenate([k[0] for k in keys])
    towers = np.concatenate([k[1] for k in keys])
    order = np.lexsort((np.concatenate([k[2] for k in keys]), towers, frames)).tolist()
    frame_list, tower_list = frames.tolist(), towers.tolist()
    for i in order:
        slot = out[frame_list[i]][tower_list[i]]
        if slot is EMPTY:
            slot = out[frame_list[i]][tower_list[i]] = FrameOut()
        slot.detections.append(rows[i])
        slot.tags.append(tags[i])
    return out


def _rounded(name: str, values: FloatArray, decimals: int) -> FloatArray:
    out = np.round(values, decimals)
    if name == "bearing_deg":
        out = np.mod(out, 360.0)
        out[out >= 360.0] = 0.0
    return np.asarray(out, dtype=np.float64)


def wrap_deg(angle_deg: FloatArray) -> FloatArray:
    """Angles into [0, 360)."""
    wrapped = np.mod(angle_deg, 360.0)
    return np.asarray(np.where(wrapped >= 360.0, 0.0, wrapped), dtype=np.float64)


def bearing_deg(dx: FloatArray, dy: FloatArray) -> FloatArray:
    """Clockwise from grid north."""
    return wrap_deg(np.degrees(np.arctan2(dx, dy)))
