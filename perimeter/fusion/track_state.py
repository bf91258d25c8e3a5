"""A track's filter state, owned by the estimator: the state and covariance at the last
update, the filtered history kept for origin smoothing, and the located trail."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

HISTORY_CAP = 2048
"""Filtered states kept per track for origin smoothing (the first ones matter)."""

LATER_SPACING_S = 5.0
LATER_CAP = 256
"""After the first :data:`HISTORY_CAP` states, one filtered state every
:data:`LATER_SPACING_S`, the last :data:`LATER_CAP` of them (21 minutes): where a long-lived
track was at a given time (:func:`.duplicates.elsewhere`), which its first states no longer
say once it has outlived them."""

TRAIL_MAX_SIGMA_M = 30.0
"""A trail point (the motion classifier's input) is kept only while the filter locates the
track to this (1-sigma, larger axis): before it has converged, or on acoustic bearings alone
(~100 m), the estimate's jumps would read as fast, wandering motion, and one such window of
evidence outweighs many good ones."""

TRAIL_SPACING_S = 2.0
TRAIL_MAX_POINTS = 90


@dataclass(frozen=True, slots=True)
class Kept:
    """One kept filtered state: ``x, p`` at ``t_s``, with the process noise ``q`` in force
    (read only)."""

    t_s: float
    x: FloatArray
    p: FloatArray
    q: float


class History:
    """The first :data:`HISTORY_CAP` filtered states ``(t, x, P, q)`` of a track, and after
    them one every :data:`LATER_SPACING_S`, the last :data:`LATER_CAP`."""

    __slots__ = ("_later", "n", "p", "q", "t", "x")

    _later: deque[Kept]

    def __init__(self) -> None:
        self.n = 0
        self.t = np.zeros(16)
        self.x = np.zeros((16, 4))
        self.p = np.zeros((16, 4, 4))
        self.q = np.zeros(16)
        self._later = deque(maxlen=LATER_CAP)

    def append(self, t_s: float, x: FloatArray, p: FloatArray, q: float) -> None:
        if self.n >= HISTORY_CAP:
            if not self._later or t_s - self._later[-1].t_s >= LATER_SPACING_S:
                self._later.append(Kept(t_s, x.copy(), p.copy(), q))
            return
        if self.n == self.t.shape[0]:
            grow = min(2 * self.n, HISTORY_CAP)
            self.t = np.resize(self.t, grow)
            self.x = np.resize(self.x, (grow, 4))
            self.p = np.resize(self.p, (grow, 4, 4))
            self.q = np.resize(self.q, grow)
        i = self.n
        self.t[i], self.x[i], self.p[i], self.q[i] = t_s, x, p, q
        self.n += 1

    @property
    def full(self) -> bool:
        return self.n >= HISTORY_CAP

    def reset(self) -> None:
        self.n = 0
        self._later.clear()

    def near(self, t_s: float) -> Kept | None:
        """The kept state for ``t_s``: the last one at or before it (of the later ones, else
        of the first ones), or the first one if none is before; None with none kept."""
        if not self.n:
            return None
        later = next((k for k in reversed(self._later) if k.t_s <= t_s), None)
        if later is not None:
            return later
        i = max(int(np.searchsorted(self.t[:self.n], t_s, side="right")) - 1, 0)
        return Kept(float(self.t[i]), self.x[i], self.p[i], float(self.q[i]))

    @property
    def last_q(self) -> float:
        """The process noise of the last state kept (0 with none)."""
        if self._later:
            return self._later[-1].q
        return float(self.q[self.n - 1]) if self.n else 0.0


@dataclass(slots=True)
class ModeState:
    """The motion modes behind a track's estimate when the engine runs the IMM
    (:mod:`.imm`): each mode's state ``x (M, 4)`` and covariance ``p (M, 4, 4)``, their
    probabilities ``mu (M,)`` (order :data:`.imm.MODES`), and the combined estimate they gave
    at ``t_s``; a track whose estimate is no longer that one was re-estimated by another path
    (shared report, re-triangulation, late report) and its modes restart from it."""

    x: FloatArray
    p: FloatArray
    mu: FloatArray
    combined_x: FloatArray
    t_s: float

    def describes(self, x: FloatArray, t_s: float) -> bool:
        """Whether the modes are still those behind the estimate ``x`` at ``t_s``."""
        return t_s == self.t_s and bool(np.array_equal(x, self.combined_x))


@dataclass(slots=True)
class TrackState:
    """``x, p`` (position, velocity; m, m/s) hold the filter's estimate at ``t_s``."""

    x: FloatArray
    p: FloatArray
    t_s: float
    history: History = field(default_factory=History)
    trail: list[tuple[float, float, float]] = field(default_factory=list)
    """``(t_s, x_m, y_m)`` every :data:`TRAIL_SPACING_S` while located (see
    :data:`TRAIL_MAX_SIGMA_M`): the motion classifier's input."""
    trail_sigma_m: list[float] = field(default_factory=list)
    """The larger 1-sigma axis of the position error the filter claimed at each
    :attr:`trail` point (as long as the trail when :meth:`mark_trail` made it): how far
    apart two points may lie without the object moving (:mod:`.trail_jumps`)."""
    modes: ModeState | None = None
    """The IMM's modes (``EngineConfig.imm`` set), else None."""

    @property
    def mode_probability(self) -> FloatArray | None:
        """Probabilities of the motion modes (standing, walking, driving; :data:`.imm.MODES`)
        at the last update, when the engine runs the IMM: a feature for the classifier."""
        return None if self.modes is None else self.modes.mu

    @property
    def speed_mps(self) -> float:
        return math.hypot(float(self.x[2]), float(self.x[3]))

    @property
    def velocity_sigma_mps(self) -> float:
        return math.sqrt(max(float(self.p[2, 2] + self.p[3, 3]) / 2.0, 0.0))

    def surely_slower_than(self, speed_mps: float) -> bool:
        """The speed plus two standard errors is below ``speed_mps``."""
        return self.speed_mps + 2.0 * self.velocity_sigma_mps < speed_mps

    @property
    def position_major_var_m2(self) -> float:
        """The position covariance's larger eigenvalue: the error ellipse's larger axis,
        squared (1 sigma)."""
        a, b, c = float(self.p[0, 0]), float(self.p[1, 1]), float(self.p[0, 1])
        return 0.5 * (a + b) + math.sqrt(0.25 * (a - b) ** 2 + c * c)

    @property
    def position_major_sigma_m(self) -> float:
        """The position error ellipse's larger 1-sigma axis."""
        return math.sqrt(max(self.position_major_var_m2, 0.0))

    def located_to_m(self, sigma_m: float) -> bool:
        """The position error ellipse's larger 1-sigma axis is at most ``sigma_m``."""
        return self.position_major_var_m2 <= sigma_m * sigma_m

    def restart(self, x: FloatArray, p: FloatArray, t_s: float) -> None:
        """A new estimate the filtered history did not lead to (a re-triangulation): the
        history restarts from it (the trail, positions already passed, is kept)."""
        self.x, self.p, self.t_s = x, p, t_s
        self.history.reset()

    def mark_trail(self, t_s: float) -> None:
        """Add the present position to :attr:`trail` when due and located."""
        if (not self.trail or t_s - self.trail[-1][0] >= TRAIL_SPACING_S) and self.located_to_m(
                TRAIL_MAX_SIGMA_M):
            self.trail.append((t_s, float(self.x[0]), float(self.x[1])))
            self.trail_sigma_m.append(self.position_major_sigma_m)
            if len(self.trail) > TRAIL_MAX_POINTS:
                del self.trail[0]
                del self.trail_sigma_m[0]
