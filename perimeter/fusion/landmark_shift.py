"""One tower's bias shift against the landmarks the other towers place.

Used two ways by :class:`~perimeter.fusion.registration.Registration`:

- **acquisition**: a tower whose bias is not yet known (or was wrongly estimated from a
  stray target snapshot) may have its peaks too far from the landmarks' predicted bearings
  for the association gate. The shift that puts most of its peaks on landmarks (each landmark
  counted once) is its bias hypothesis, used to associate it;
- **a knocked mast**: a registered tower's *recently active* peaks that sit on the landmarks
  only after a common shift, while few sit where its current estimate puts them, mean its
  bias jumped (the mast was knocked, a head re-mounted).

The landmarks are those with ``min_towers`` members other than the tower itself (placed
without it, so its own error does not hide in them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from perimeter.fusion.landmark_peaks import FloatArray, IntArray
from perimeter.fusion.landmarks import Landmarks
from perimeter.geometry import wrap_pi


@dataclass(frozen=True, slots=True)
class Shift:
    shift_rad: float
    """Peaks minus predicted bearings (the current estimate included), median of the
    matches."""
    count: int
    """Landmarks with a peak within the tolerance of the shift."""
    count_at_zero: int
    """Landmarks with a peak within the tolerance of the current estimate."""


def predicted(landmarks: Landmarks, tower: int, min_towers: int) -> FloatArray:
    """The bearings from ``tower`` of the landmarks placed by ``min_towers`` other towers."""
    xy = [m.xy for m in landmarks.landmarks
          if len([k for k in m.members if k != tower]) >= min_towers]
    if not xy:
        return np.zeros(0)
    d = np.array(xy) - landmarks.towers_xy[tower]
    return np.asarray(np.arctan2(d[:, 0], d[:, 1]) % (2.0 * math.pi), dtype=np.float64)


def best_shift(pred_rad: FloatArray, peaks_rad: FloatArray, search_rad: float,
               tol_rad: float) -> Shift | None:
    """The shift of ``peaks_rad`` against ``pred_rad`` that most landmarks agree on (ties:
    the smallest); None without any peak within ``search_rad`` of a landmark."""
    if pred_rad.size == 0 or peaks_rad.size == 0:
        return None
    off = wrap_pi(peaks_rad[None, :] - pred_rad[:, None])  # (landmarks, peaks)
    rows, cols = np.nonzero(np.abs(off) <= search_rad)
    if rows.size == 0:
        return None
    values = off[rows, cols]
    # for each candidate shift, the landmarks with an offset within the tolerance of it
    near = np.abs(values[:, None] - values[None, :]) <= tol_rad
    hit: IntArray = np.zeros((len(values), pred_rad.size), dtype=np.int64)
    for j in range(pred_rad.size):
        mine = rows == j
        hit[:, j] = near[:, mine].any(axis=1)
    counts = hit.sum(axis=1)
    best = counts.max()
    tied = np.flatnonzero(counts == best)
    i = int(tied[np.argmin(np.abs(values[tied]))])
    matched = np.abs(values - values[i]) <= tol_rad
    at_zero = int(np.unique(rows[np.abs(values) <= tol_rad]).size)
    return Shift(float(np.median(values[matched])), int(best), at_zero)


def tower_shift(landmarks: Landmarks, tower: int, peaks_rad: FloatArray, theta_rad: float,
                min_towers: int, search_rad: float, tol_rad: float) -> Shift | None:
    """:func:`best_shift` of ``tower``'s peaks against its landmarks' bearings plus
    ``theta_rad``."""
    pred = predicted(landmarks, tower, min_towers)
    return best_shift(pred + theta_rad, peaks_rad, search_rad, tol_rad)


class ShiftWatch:
    """Per tower: acquisition hints and the knocked-mast check, run at every landmark update.

    A tower whose active peaks sit on ``min_count`` landmarks only after a shift of at least
    ``min_jump_rad`` (and on at most half as many unshifted) has *moved* this update. A tower
    that is not registered by landmarks is associated at the shifted estimate (a hint); one
    that moved ``checks`` updates in a row, after it had been registered at some estimate,
    has jumped by the difference (if that is ``min_jump_rad`` or more)."""

    def __init__(self, n: int, *, search_rad: float, tol_rad: float, min_jump_rad: float,
                 min_count: int = 3, checks: int = 3) -> None:
        self.search_rad, self.tol_rad, self.min_jump_rad = search_rad, tol_rad, min_jump_rad
        self.min_count, self.checks = min_count, checks
        self.moved = [0] * n
        self.hint: dict[int, float] = {}
        self.last: dict[int, float] = {}
        """Each tower's shift at its last check that moved (consecutive ones must agree)."""
        self.known: dict[int, float] = {}
        """Each tower's bias when last registered by landmarks."""

    def association_theta(self, theta: FloatArray, registered: list[bool]) -> FloatArray:
        """``theta`` with each unregistered tower's hint, or else its last registered bias."""
        out = theta.copy()
        for k in range(len(out)):
            if not registered[k]:
                out[k] = self.hint.get(k, self.known.get(k, float(theta[k])))
        return out

    def check(self, landmarks: Landmarks, active_tower: IntArray, active_rad: FloatArray,
              theta: FloatArray, registered: list[bool], min_towers: int) -> list[tuple[int,
                                                                                      float]]:
        """Update hints and counts; the towers that jumped now and by how much (rad)."""
        jumps = []
        for k in range(len(self.moved)):
            if registered[k]:
                self.known[k] = float(theta[k])
                self.hint.pop(k, None)
            base = self.known.get(k, self.hint.get(k, float(theta[k])))
            found = tower_shift(landmarks, k, active_rad[active_tower == k], base, min_towers,
                                self.search_rad, self.tol_rad)
            moved = (found is not None and found.count >= self.min_count
                     and abs(found.shift_rad) >= self.min_jump_rad
                     and found.count >= 2 * found.count_at_zero + 1)
            same = (found is not None and k in self.last
                    and abs(found.shift_rad - self.last[k]) <= 2.0 * self.tol_rad)
            self.moved[k] = (self.moved[k] + 1 if same else 1) if moved else 0
            if found is None or not moved:
                continue
            self.last[k] = found.shift_rad
            if not registered[k]:
                self.hint[k] = base + found.shift_rad
            if self.moved[k] >= self.checks and k in self.known:
                jumps.append((k, found.shift_rad))
                self.hint[k] = base + found.shift_rad
                self.moved[k] = 0
                del self.known[k]
        return jumps
