"""Constant-velocity EKF with a bearing measurement from a tower, vectorised over tracks.

State ``[x_m, y_m, vx_mps, vy_mps]``; process noise is white acceleration of spectral density
``q`` (m^2/s^3). Arrays carry a leading track axis: ``x (n, 4)``, ``P (n, 4, 4)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from perimeter.fusion import kernels

FloatArray = npt.NDArray[np.float64]

_I4_FLAT = np.eye(4).ravel()


def _f64(a: object) -> FloatArray:
    """A C-contiguous float64 array (what the kernels are compiled for; no copy if it is)."""
    return np.ascontiguousarray(a, dtype=np.float64)


def transition(dt_s: FloatArray) -> FloatArray:
    """Transition matrices ``F (n, 4, 4)`` for intervals ``dt_s (n,)``."""
    dt = np.asarray(dt_s, dtype=np.float64)
    f = np.empty((*dt.shape, 16))
    f[...] = _I4_FLAT
    f[..., 2] = dt  # F[0, 2]
    f[..., 7] = dt  # F[1, 3]
    return f.reshape(*dt.shape, 4, 4)


def process_noise(dt_s: FloatArray, q: FloatArray | float) -> FloatArray:
    """Discrete white-acceleration process noise ``Q (n, 4, 4)``."""
    dt = np.abs(np.asarray(dt_s, dtype=np.float64))
    qq = np.asarray(q, dtype=np.float64)
    if qq.shape != dt.shape:
        qq = np.broadcast_to(qq, dt.shape)
    out = np.zeros((*dt.shape, 16))
    a, b, c = qq * dt**3 / 3.0, qq * dt**2 / 2.0, qq * dt
    out[..., 0] = out[..., 5] = a  # Q[0, 0], Q[1, 1]
    out[..., 2] = out[..., 8] = out[..., 7] = out[..., 13] = b  # Q[0, 2], Q[2, 0], Q[1, 3], Q[3, 1]
    out[..., 10] = out[..., 15] = c  # Q[2, 2], Q[3, 3]
    return out.reshape(*dt.shape, 4, 4)


def predict_back(x: FloatArray, p: FloatArray, back_s: float,
                 q: float) -> tuple[FloatArray, FloatArray]:
    """One state ``x (4,)`` and covariance ``p (4, 4)`` predicted ``back_s`` (>= 0) backwards:
    the process noise of the interval is added with position and velocity errors opposed."""
    f = transition(np.array([-back_s]))[0]
    flip = np.diag([1.0, 1.0, -1.0, -1.0])
    noise = process_noise(np.array([back_s]), q)[0]
    return f @ x, f @ p @ f.T + flip @ noise @ flip


def predict(x: FloatArray, p: FloatArray, dt_s: FloatArray,
            q: FloatArray | float) -> tuple[FloatArray, FloatArray]:
    """Predict states and covariances forward by ``dt_s`` (per track; compiled kernel)."""
    n = x.shape[0]
    dt = _f64(dt_s)
    if dt.shape != (n,):
        dt = np.ascontiguousarray(np.broadcast_to(dt, (n,)))
    qq = q if isinstance(q, np.ndarray) and q.shape == (n,) else np.full(n, q, dtype=np.float64)
    return kernels.predict(_f64(x), _f64(p), dt, _f64(qq))


class FilterState(Protocol):
    """What :class:`PredictionCache` reads of a track's state (a
    :class:`~perimeter.fusion.track_state.TrackState`): ``x, p`` at ``t_s``."""

    x: FloatArray
    p: FloatArray
    t_s: float


_Row = tuple[FilterState, FloatArray, FloatArray, float, float, FloatArray, FloatArray]


class PredictionCache:
    """Tracks predicted to one time ``t_s``, each kept while its state is unchanged.

    The reports of one frame (every tower sensor's, same ``t_s``) predict the same tracks to
    the same time; only a track updated since (its ``x``/``p`` arrays replaced: track states
    are replaced, never written in place) or whose process noise changed is predicted again.
    Each row is what :func:`predict` gives for that track alone, so results do not change.
    The returned arrays may be shared between calls and must not be written to.
    """

    def __init__(self, t_s: float) -> None:
        self.t_s = t_s
        self._rows: dict[int, _Row] = {}
        self._version = 0
        self._last: tuple[list[FilterState], int, FloatArray, FloatArray] | None = None
        self._block: tuple[FloatArray, FloatArray] | None = None
        self._in_block: dict[int, tuple[tuple[FloatArray, FloatArray], int]] = {}
        """Where a track's row lies in a batch of :func:`predict` (while that row is current)."""

    def predict(self, tracks: Sequence[FilterState],
                q: Sequence[float]) -> tuple[FloatArray, FloatArray]:
        """States ``(n, 4)`` and covariances ``(n, 4, 4)`` of ``tracks`` at ``t_s``."""
        rows = self._rows
        stale = []
        for i, track in enumerate(tracks):
            row = rows.get(id(track))
            if (row is None or row[0] is not track or row[1] is not track.x
                    or row[2] is not track.p or row[3] != track.t_s or row[4] != q[i]):
                stale.append(i)
        if stale:
            before = self._version
            self._version += 1
            # a track already at t_s (updated earlier in the frame): F = I and Q = 0, so the
            # prediction is the state itself (+ 0.0 turns a -0.0 into 0.0, as the products do)
            moved = [i for i in stale if tracks[i].t_s != self.t_s]
            for i in stale:
                track = tracks[i]
                if track.t_s == self.t_s:
                    rows[id(track)] = (track, track.x, track.p, track.t_s, q[i],
                                       track.x + 0.0, track.p + 0.0)
                    self._in_block.pop(id(track), None)
            if moved:
                xp, pp = predict(np.array([tracks[i].x for i in moved]),
                                 np.array([tracks[i].p for i in moved]),
                                 np.array([self.t_s - tracks[i].t_s for i in moved]),
                                 np.array([q[i] for i in moved]))
                self._block = block = (xp, pp)
                for k, i in enumerate(moved):
                    track = tracks[i]
                    rows[id(track)] = (track, track.x, track.p, track.t_s, q[i], xp[k], pp[k])
                    self._in_block[id(track)] = (block, k)
                if len(moved) == len(tracks):
                    self._last = (list(tracks), self._version, xp, pp)
                    return xp, pp
            else:
                patched = self._patched(tracks, stale, before)
                if patched is not None:
                    return patched
        elif (self._last is not None and self._last[1] == self._version
              and len(self._last[0]) == len(tracks)
              and all(a is b for a, b in zip(self._last[0], tracks, strict=True))):
            return self._last[2], self._last[3]
        x, p = self._assemble(tracks)
        self._last = (list(tracks), self._version, x, p)
        return x, p

    def _assemble(self, tracks: Sequence[FilterState]) -> tuple[FloatArray, FloatArray]:
        """The rows of ``tracks``: one take from the newest batch of :func:`predict` where
        their rows lie in it, the others written in after."""
        rows, newest = self._rows, self._block
        ks, others = [], []
        if newest is not None:
            for i, track in enumerate(tracks):
                entry = self._in_block.get(id(track))
                if entry is not None and entry[0] is newest:
                    ks.append(entry[1])
                else:
                    ks.append(0)
                    others.append(i)
        if newest is None or len(others) == len(tracks):
            return (np.array([rows[id(track)][5] for track in tracks]),
                    np.array([rows[id(track)][6] for track in tracks]))
        x, p = newest[0][ks], newest[1][ks]
        for i in others:
            row = rows[id(tracks[i])]
            x[i], p[i] = row[5], row[6]
        return x, p

    def _patched(self, tracks: Sequence[FilterState], stale: list[int],
                 before: int) -> tuple[FloatArray, FloatArray] | None:
        """The last result with the ``stale`` rows replaced, when it was for the same tracks
        and no row changed since (version ``before``): the usual call after a track of the
        frame was updated. None otherwise."""
        last = self._last
        if (last is None or last[1] != before or len(last[0]) != len(tracks)
                or not all(a is b for a, b in zip(last[0], tracks, strict=True))):
            return None
        x, p = last[2].copy(), last[3].copy()
        for i in stale:
            row = self._rows[id(tracks[i])]
            x[i], p[i] = row[5], row[6]
        self._last = (list(tracks), self._version, x, p)
        return x, p


def innovation(x: FloatArray, p: FloatArray, tower_xy: FloatArray, z_rad: FloatArray,
               r_rad2: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Innovations ``nu (n, m)``, variances ``S (n, m)`` and ``H (n, 4)``.

    Every track ``n`` against every bearing ``m`` from one tower.
    """
    tx, ty = tower_xy.tolist()
    return kernels.innovation(_f64(x), _f64(p), tx, ty, _f64(z_rad), _f64(r_rad2))


def update(x: FloatArray, p: FloatArray, h: FloatArray, nu: FloatArray,
           r_rad2: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Scalar-measurement EKF update per track (Joseph form); ``nu, r_rad2`` have shape (n,)."""
    return kernels.update(_f64(x), _f64(p), _f64(h), _f64(nu), _f64(r_rad2))


def update_with_gain(x: FloatArray, p: FloatArray, h_eff: FloatArray, nu: FloatArray,
                     s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Scalar update with an effective Jacobian and innovation variance (out-of-sequence use).

    For a measurement taken ``dt`` before the state, ``h_eff = H F(-dt)`` and ``s`` includes the
    process noise over the gap, a conservative retrodiction that ignores its cross-covariance.
    """
    return kernels.update_with_gain(_f64(x), _f64(p), _f64(h_eff), _f64(nu), _f64(s))
