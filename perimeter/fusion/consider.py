"""Schmidt-Kalman "consider" update for the towers' residual azimuth biases.

A tower's residual bias ``b_k`` (what registration has not taken off its bearings, sigma
``sigma_b``) is common to every bearing it reports, so fusing its bearings as independent
shrinks the covariance as ``1/n`` while the bias's error in the estimate stays. The consider
filter (Schmidt 1966; Bar-Shalom, Li & Kirubarajan 2001, ch. 5.6) keeps each track's cross
covariance with each tower's bias, ``C_k = cov(x, b_k)`` (4,), without estimating the biases:

    S = h P h' + 2 h C_k + sigma_b^2 + r,   K = (P h' + C_k) / S
    x+ = x + K nu,   P+ = P - K (P h' + C_k)',   C_j+ = C_j - K (h C_j + [j = k] sigma_b^2)

and between updates ``C_j`` follows the state (``F C_j``; the biases are constant). ``P`` is
then the covariance of the estimate's error including the biases' part (docs/fusion.md,
"Track NEES"). Only the in-sequence imager/radar bearing update of the constant-velocity EKF
goes through here; the other paths (acoustic, late reports, JPDA shares, re-triangulation,
the IMM) leave a track's ``C`` as it was, moved to their time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class Numbered(Protocol):
    """A track, as far as :meth:`ConsiderBiases.prune` reads it."""

    @property
    def number(self) -> int: ...


class ConsiderBiases:
    """Each track's cross covariance with every tower's bias, by track number."""

    def __init__(self, n_towers: int) -> None:
        self.n_towers = n_towers
        self._c: dict[int, tuple[float, FloatArray]] = {}
        """Track number -> (time of ``C``, ``C (n_towers, 4)``)."""

    def at(self, number: int, t_s: float) -> FloatArray:
        """Track ``number``'s ``C`` moved to ``t_s`` (zeros for a track not seen yet)."""
        entry = self._c.get(number)
        if entry is None:
            return np.zeros((self.n_towers, 4))
        c = entry[1].copy()
        dt = t_s - entry[0]
        if dt != 0.0:
            c[:, :2] += dt * c[:, 2:]
        return c

    def update(self, number: int, t_s: float, x: FloatArray, p: FloatArray, h: FloatArray,
               nu: float, r_rad2: float, k: int, bias_rad2: float
               ) -> tuple[FloatArray, FloatArray]:
        """The consider update of one track (state ``x, p`` at ``t_s``) by one bearing of
        tower ``k`` (innovation ``nu``, Jacobian ``h``, noise ``r_rad2``, bias variance
        ``bias_rad2``); keeps the track's new ``C``. Returns ``x+, P+``."""
        c = self.at(number, t_s)
        ck = c[k]
        ph = p @ h + ck
        s = float(h @ ph + h @ ck + bias_rad2 + r_rad2)
        if not s > 0.0:  # a C inconsistent with P (another path shrank P): start it again
            c[:] = 0.0
            ph = p @ h
            s = float(h @ ph + bias_rad2 + r_rad2)
        gain = ph / s
        x_new = x + gain * nu
        p_new = p - np.outer(gain, ph)
        p_new = 0.5 * (p_new + p_new.T)
        hc = c @ h
        hc[k] += bias_rad2
        self._c[number] = (t_s, c - np.outer(hc, gain))
        return x_new, p_new

    def update_many(self, numbers: list[int], t_s: float, x: FloatArray, p: FloatArray,
                    h: FloatArray, nu: FloatArray, sigma_rad: FloatArray, k: int,
                    bias_rad: float, in_sigma_rad: float) -> tuple[FloatArray, FloatArray]:
        """:meth:`update` of tracks ``numbers`` (rows of ``x (n, 4)``, ``p``, ``h``, ``nu``)
        by bearings of sigmas ``sigma_rad (n,)`` from tower ``k``, whose residual bias has
        sigma ``bias_rad``, ``in_sigma_rad`` of it already added to ``sigma_rad`` (taken out
        again: the bias is not noise of each bearing)."""
        r = np.maximum(sigma_rad**2 - in_sigma_rad**2, 0.25 * sigma_rad**2)
        xn, pn = np.empty_like(x), np.empty_like(p)
        for j, number in enumerate(numbers):
            xn[j], pn[j] = self.update(number, t_s, x[j], p[j], h[j], float(nu[j]),
                                       float(r[j]), k, bias_rad**2)
        return xn, pn

    def prune(self, tracks: Sequence[Numbered]) -> None:
        """Forget deleted tracks, when many more are kept than ``tracks`` (the live ones)."""
        if len(self._c) > 2 * len(tracks) + 64:
            live = {t.number for t in tracks}
            for n in [n for n in self._c if n not in live]:
                del self._c[n]
