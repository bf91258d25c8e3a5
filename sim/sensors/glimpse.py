"""Detection over time as correlated glimpses (NVESD time-limited search; docs/sensors.md).

Each tower-target pair carries a persistent state:

- a latent difficulty ``u = Phi(z)``, fixed while the target stays on the same background: the
  pair is *detectable* while ``u < P_inf`` (``P_inf``, the TTPF of the current cycles on
  target), so the long-run share of pairs that are ever detected is ``P_inf``, not
  ``1 - (1 - p)^n`` of independent looks; ``z`` is redrawn gradually as the target moves
  (an AR(1) in the distance moved, correlation length ``decorrelation_m``);
- an acquisition clock: while detectable and looked at, hazard accrues at ``P_inf / tau0`` per
  second of looking (``tau = tau0 / P_inf``); the pair is acquired when the hazard passes an
  Exp(1) budget. For a static target ``P(acquired by t) = P_inf (1 - exp(-t / tau))``.

An acquired pair stays acquired while detectable; it is lost when it is not, and must then be
found again.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


class Glimpses:
    """Search state of every (tower, target) pair, advanced frame by frame."""

    def __init__(self, n_towers: int, n_targets: int, tau0_s: FloatArray,
                 decorrelation_m: FloatArray, rng: np.random.Generator) -> None:
        self.rng = rng
        self.tau0_s = np.asarray(tau0_s, dtype=np.float64)  # (T,)
        self.decorrelation_m = np.asarray(decorrelation_m, dtype=np.float64)  # (T,)
        self.z = rng.standard_normal((n_towers, n_targets))
        self.budget = rng.exponential(1.0, (n_towers, n_targets))
        self.hazard = np.zeros((n_towers, n_targets))
        self.acquired = np.zeros((n_towers, n_targets), dtype=bool)

    def move(self, moved_m: FloatArray) -> None:
        """The targets moved ``moved_m (N,)`` since the last frame: their backgrounds change."""
        if not np.any(moved_m > 0.0):
            return
        a = np.exp(-moved_m[None, :] / self.decorrelation_m[:, None])
        self.z = a * self.z + np.sqrt(1.0 - a * a) * self.rng.standard_normal(self.z.shape)

    def look(self, towers: IntArray, targets: IntArray, p_inf: FloatArray,
             dt_s: float) -> BoolArray:
        """One frame's looks at pairs ``(towers, targets)``; which of them are acquired."""
        detectable = ndtr(self.z[towers, targets]) < p_inf
        lost = ~detectable & self.acquired[towers, targets]
        if lost.any():
            self.acquired[towers[lost], targets[lost]] = False
        reset = ~detectable & (self.hazard[towers, targets] > 0.0)
        if reset.any():  # a new search, with a fresh budget (the old one was conditioned)
            t, n = towers[reset], targets[reset]
            self.hazard[t, n] = 0.0
            self.budget[t, n] = self.rng.exponential(1.0, len(t))
        searching = detectable & ~self.acquired[towers, targets]
        if searching.any():
            t, n = towers[searching], targets[searching]
            self.hazard[t, n] += dt_s * p_inf[searching] / self.tau0_s[t]
            found = self.hazard[t, n] >= self.budget[t, n]
            if found.any():
                self.acquired[t[found], n[found]] = True
                self.budget[t[found], n[found]] = self.rng.exponential(1.0, int(found.sum()))
        return np.asarray(self.acquired[towers, targets], dtype=bool)
