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


@dataclass(slots=True)
class Columns:
    """Detections as columns: frame index, tower index, tag, and named value columns."""

    frame: IntArray
    tower: IntArray
    tags: list[str | None]
    values: dict[str, FloatArray]
    strings: dict[str, list[str]] = field(default_factory=dict)


def concat(parts: list[Columns]) -> Columns:
    """Join column sets; a value or string column missing from a part is left out of its rows."""
    names = list(dict.fromkeys(n for p in parts for n in p.values))
    snames = sorted({n for p in parts for n in p.strings})
    return Columns(
        frame=np.concatenate([p.frame for p in parts]).astype(np.intp),
        tower=np.concatenate([p.tower for p in parts]).astype(np.intp),
        tags=[t for p in parts for t in p.tags],
        values={n: np.concatenate([p.values.get(n, np.full(len(p.tags), np.nan))
                                   for p in parts]) for n in names},
        strings={n: [s for p in parts for s in p.strings.get(n, [""] * len(p.tags))]
                 for n in snames},
    )


def group(cols: Columns, n_frames: int, n_towers: int,
          decimals: dict[str, int]) -> list[list[FrameOut]]:
    """``[frame][tower]`` outputs, detections sorted by bearing, values rounded for JSON."""
    out = [[FrameOut() for _ in range(n_towers)] for _ in range(n_frames)]
    if not cols.tags:
        return out
    order = np.lexsort((cols.values["bearing_deg"], cols.tower, cols.frame))
    names = list(cols.values)
    rounded = [_rounded(n, cols.values[n][order], decimals.get(n, 4)).tolist() for n in names]
    snames = list(cols.strings)
    strs = [[cols.strings[n][i] for i in order] for n in snames]
    frames = cols.frame[order].tolist()
    towers = cols.tower[order].tolist()
    for j, i in enumerate(order.tolist()):
        det: DetectionDict = {n: v for c, n in enumerate(names) if (v := rounded[c][j]) == v}
        for c, n in enumerate(snames):
            if strs[c][j]:
                det[n] = strs[c][j]
        slot = out[frames[j]][towers[j]]
        slot.detections.append(det)
        slot.tags.append(cols.tags[i])
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
