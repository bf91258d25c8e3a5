"""One tower's bias shift against the landmarks the other towers place.

Used two ways by :class:`~perimeter.fusion.registration.Registration`:

- **acquisition**: a tower whose bias is not yet known (or was wrongly estimated from a
  stray target snapshot) may have its peaks too far from the landmarks' predicted bearings
  for the association gate. The shift that puts most of its peaks on landmarks (each landmark
  counted once) is its bias hypothesis, used to associate it;
- **a knocked mast**: a registered tower's *recently active* peaks that sit on the landmarks
  only after a common shift, while few sit where its current estimate puts them, mean its
  bias jumped (the mast was knocked, a head re-mounted).

Either needs the shift's matches to be unlikely by chance (:func:`chance_probability`): with
tens of peaks (animals at rest, clutter) against tens of landmarks, some shift within the
search puts three landmarks on peaks now and then (a fixed count of three flagged healthy
masts on ``animals-only``).

The landmarks are those with ``min_towers`` members other than the tower itself (placed
without it, so its own error does not hide in them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from perimeter.fusion.landmark_peaks import FloatArray, IntArray
from perimeter.fusion.landmarks import Landmarks, chance_of_at_least
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


def chance_probability(pred_rad: FloatArray, peaks_rad: FloatArray, count: int,
                       search_rad: float, tol_rad: float, min_shift_rad: float) -> float:
    """The probability that some shift of at least ``min_shift_rad`` within ``search_rad``
    puts ``count`` or more of the landmarks ``pred_rad`` within ``tol_rad`` of a peak by
    chance (the false-alarm probability of a shift that many landmarks agree on).

    Null hypothesis: the tower's bias has not moved, so the peaks that do not sit on a
    landmark at zero shift fall at random in the searched sector about each landmark (width
    ``2 (search - tol)``). Landmark ``j`` with ``n_j`` such peaks there is hit at a given shift
    with ``p_j = 1 - (1 - w)^n_j``, ``w = 2 tol / (2 (search - tol))``. The count of landmarks
    hit is a sum of independent Bernoulli trials, whose upper tail is at most the binomial
    one with their mean probability (Hoeffding, "On the distribution of the number of
    successes in independent trials", Ann. Math. Stat. 27, 1956). The shift is searched
    over ``2 (search - min_shift)`` at a resolution of ``tol`` (windows of ``2 tol``
    overlapping by half): a union bound over those cells."""
    m = pred_rad.size
    if m == 0 or count <= 0:
        return 1.0
    off = np.abs(wrap_pi(peaks_rad[None, :] - pred_rad[:, None]))  # (landmarks, peaks)
    n_j = ((off <= search_rad) & (off > tol_rad)).sum(axis=1)
    width = min(2.0 * tol_rad / (2.0 * max(search_rad - tol_rad, tol_rad)), 1.0)
    cells = max(2.0 * (search_rad - min_shift_rad) / tol_rad, 1.0)
    return min(1.0, cells * chance_of_at_least(count, 1.0 - (1.0 - width) ** n_j))


class ShiftWatch:
    """Per tower: acquisition hints and the knocked-mast check, run at every landmark update.

    A tower whose active peaks sit on landmarks only after a shift of at least
    ``min_jump_rad``, on more of them than chance would put there with probability
    ``false_alarm`` (:func:`chance_probability`), and on at most half as many unshifted, has
    *moved* this update. A tower that is not registered by landmarks is associated at the
    shifted estimate (a hint); one that moved ``checks`` updates in a row, after it had been
    registered at some estimate, has jumped by the difference (if that is ``min_jump_rad`` or
    more). ``false_alarm`` is per tower and check (see ``RegistrationConfig``); consecutive
    checks share most of their peaks, so the ``checks`` in a row are not counted as
    independent trials in it. A tower never registered has no jump to flag: its hint is
    held to ``hint_false_alarm`` (T12 on ``default``, put 1 deg off by a stray snapshot, is
    acquired on a match of chance probability 0.04)."""

    def __init__(self, n: int, *, search_rad: float, tol_rad: float, min_jump_rad: float,
                 false_alarm: float, hint_false_alarm: float = 0.05, checks: int = 3) -> None:
        self.search_rad, self.tol_rad, self.min_jump_rad = search_rad, tol_rad, min_jump_rad
        self.false_alarm, self.checks = false_alarm, checks
        self.hint_false_alarm = hint_false_alarm
        """The level for a tower never registered (no jump to flag, only a hint for the
        association, which the landmark fit tests again)."""
        self.probability: dict[int, float] = {}
        """Each tower's chance probability of its best shift at the last check (status,
        benches)."""
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
            pred = predicted(landmarks, k, min_towers) + base
            peaks = active_rad[active_tower == k]
            found = best_shift(pred, peaks, self.search_rad, self.tol_rad)
            moved = (found is not None and abs(found.shift_rad) >= self.min_jump_rad
                     and found.count >= 2 * found.count_at_zero + 1)
            if found is not None and moved:
                chance = chance_probability(pred, peaks, found.count, self.search_rad,
                                            self.tol_rad, self.min_jump_rad)
                self.probability[k] = chance
                moved = chance <= (self.false_alarm if k in self.known
                                   else self.hint_false_alarm)
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
