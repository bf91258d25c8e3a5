"""Constant-velocity EKF with a bearing measurement from a tower, vectorised over tracks.

State ``[x_m, y_m, vx_mps, vy_mps]``; process noise is white acceleration of spectral density
``q`` (m^2/s^3). Arrays carry a leading track axis: ``x (n, 4)``, ``P (n, 4, 4)``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from perimeter.geometry import wrap_pi

FloatArray = npt.NDArray[np.float64]

_I4 = np.eye(4)


def transition(dt_s: FloatArray) -> FloatArray:
    """Transition matrices ``F (n, 4, 4)`` for intervals ``dt_s (n,)``."""
    dt = np.asarray(dt_s, dtype=np.float64)
    f = np.broadcast_to(_I4, (*dt.shape, 4, 4)).copy()
    f[..., 0, 2] = dt
    f[..., 1, 3] = dt
    return f


def process_noise(dt_s: FloatArray, q: FloatArray | float) -> FloatArray:
    """Discrete white-acceleration process noise ``Q (n, 4, 4)``."""
    dt = np.abs(np.asarray(dt_s, dtype=np.float64))
    qq = np.broadcast_to(np.asarray(q, dtype=np.float64), dt.shape)
    out = np.zeros((*dt.shape, 4, 4))
    a, b, c = qq * dt**3 / 3.0, qq * dt**2 / 2.0, qq * dt
    out[..., 0, 0] = out[..., 1, 1] = a
    out[..., 0, 2] = out[..., 2, 0] = out[..., 1, 3] = out[..., 3, 1] = b
    out[..., 2, 2] = out[..., 3, 3] = c
    return out


def predict(x: FloatArray, p: FloatArray, dt_s: FloatArray,
            q: FloatArray | float) -> tuple[FloatArray, FloatArray]:
    """Predict states and covariances forward by ``dt_s`` (per track)."""
    f = transition(dt_s)
    xp = np.einsum("nij,nj->ni", f, x)
    pp = f @ p @ np.swapaxes(f, -1, -2) + process_noise(dt_s, q)
    return xp, pp


def bearing_model(x: FloatArray, tower_xy: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Predicted bearings (rad) and Jacobians ``H (n, 4)`` of states seen from ``tower_xy``."""
    dx = x[:, 0] - tower_xy[..., 0]
    dy = x[:, 1] - tower_xy[..., 1]
    r2 = np.maximum(dx * dx + dy * dy, 1.0)
    h = np.zeros((x.shape[0], 4))
    h[:, 0] = dy / r2
    h[:, 1] = -dx / r2
    return np.arctan2(dx, dy), h


def innovation(x: FloatArray, p: FloatArray, tower_xy: FloatArray, z_rad: FloatArray,
               r_rad2: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Innovations ``nu (n, m)``, variances ``S (n, m)`` and ``H (n, 4)``.

    Every track ``n`` against every bearing ``m`` from one tower.
    """
    zp, h = bearing_model(x, tower_xy)
    hph = np.einsum("ni,nij,nj->n", h, p, h)
    nu = wrap_pi(z_rad[None, :] - zp[:, None])
    s = hph[:, None] + r_rad2[None, :]
    return nu, s, h


def update(x: FloatArray, p: FloatArray, h: FloatArray, nu: FloatArray,
           r_rad2: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Scalar-measurement EKF update per track (Joseph form); ``nu, r_rad2`` have shape (n,)."""
    ph = np.einsum("nij,nj->ni", p, h)
    s = np.einsum("ni,ni->n", h, ph) + r_rad2
    k = ph / s[:, None]
    xn = x + k * nu[:, None]
    a = _I4[None] - k[:, :, None] * h[:, None, :]
    pn = a @ p @ np.swapaxes(a, -1, -2) + r_rad2[:, None, None] * k[:, :, None] * k[:, None, :]
    return xn, 0.5 * (pn + np.swapaxes(pn, -1, -2))


def update_with_gain(x: FloatArray, p: FloatArray, h_eff: FloatArray, nu: FloatArray,
                     s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Scalar update with an effective Jacobian and innovation variance (out-of-sequence use).

    For a measurement taken ``dt`` before the state, ``h_eff = H F(-dt)`` and ``s`` includes the
    process noise over the gap, a conservative retrodiction that ignores its cross-covariance.
    """
    ph = np.einsum("nij,nj->ni", p, h_eff)
    k = ph / s[:, None]
    xn = x + k * nu[:, None]
    pn = p - s[:, None, None] * k[:, :, None] * k[:, None, :]
    return xn, 0.5 * (pn + np.swapaxes(pn, -1, -2))
