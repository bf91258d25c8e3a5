"""How a fusion shard matches other shards' alerts and handed-over states to its own tracks.

:class:`OtherAlert` is another shard's open alert as last heard (from its events on the alerts
topic, or a handover): a track within ``MATCH_DISTANCE_M + MATCH_SPEED_MPS * age`` of its last
position carried on by its velocity is that alert's object (:meth:`OtherAlert.distance_m`).
A handed-over state (with its covariance) is matched by a chi-square gate
(:func:`handover_distance2`). Used by :mod:`perimeter.shard`; docs/scale.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

from perimeter.contract import AlertEvent, Handover, Origin, Position, Severity, Velocity
from perimeter.fusion.alert import AlertState

FloatArray = npt.NDArray[np.float64]

MATCH_DISTANCE_M = 150.0
MATCH_SPEED_MPS = 2.0
"""Another shard's open alert matches a track within ``MATCH_DISTANCE_M +
MATCH_SPEED_MPS * age`` of its last position carried on by its velocity (the evaluation's
150 m; an alert updates every 5 s, or waits up to 60 s for its lost track)."""
GATE_PROBABILITY = 0.999
"""Chi-square gate (4 dof) of a handed-over state against a local track."""
PROCESS_NOISE = 0.3
"""White-acceleration noise (m²/s³) carrying a handed-over state to the local track's time
(fusion's value for an unknown class)."""
STALE_S = 90.0
"""Another shard's alert unheard of for this long (its 60 s reacquire wait is over) no
longer blocks a local track."""


@dataclass(slots=True)
class OtherAlert:
    """Another shard's open alert as last heard (satisfies ``perimeter.fusion.alert.OpenAlert``,
    so it can wait to be reacquired here)."""

    alert_id: str
    holder: str | None
    last_t_s: float
    class_: str
    severity: Severity
    position: Position | None
    velocity: Velocity | None
    origin: Origin | None = None
    track_id: str | None = None
    towers: list[str] = field(default_factory=list)
    fault: str | None = None

    @classmethod
    def of_event(cls, event: AlertEvent) -> OtherAlert:
        return cls(event.alert_id, event.shard_id, event.t_s, event.class_, event.severity,
                   event.position, event.velocity, event.origin, event.track_id,
                   list(event.towers), event.fault)

    @classmethod
    def of_handover(cls, message: Handover) -> OtherAlert:
        return cls(message.alert_id, message.to_shard, message.t_s, message.class_,
                   message.severity, message.position, message.velocity, message.origin,
                   message.track_id, list(message.towers))

    def state(self) -> AlertState:
        return AlertState(self.alert_id, self.last_t_s, self.class_, self.severity,
                          self.origin, self.last_t_s, adopted=True)

    def distance_m(self, x: FloatArray, t_s: float) -> float | None:
        """Distance from a track's state ``x`` at ``t_s`` to this alert's last position
        carried on to ``t_s``, if within the match distance."""
        if self.position is None:
            return None
        age = abs(t_s - self.last_t_s)
        v = self.velocity
        guess_x = self.position.x_m + (v.vx_mps * age if v else 0.0)
        guess_y = self.position.y_m + (v.vy_mps * age if v else 0.0)
        dist = math.hypot(float(x[0]) - guess_x, float(x[1]) - guess_y)
        return dist if dist <= MATCH_DISTANCE_M + MATCH_SPEED_MPS * age else None


def handover_distance2(message: Handover, x: FloatArray, p: FloatArray, t_s: float
                       ) -> float | None:
    """Chi-square distance (4 dof) of a track's state ``x, p`` at ``t_s`` from the
    handed-over state carried to ``t_s``; None outside the gate."""
    x0 = np.array([message.position.x_m, message.position.y_m,
                   message.velocity.vx_mps, message.velocity.vy_mps])
    p0 = np.array(message.covariance, dtype=np.float64)
    f, q = _transition(t_s - message.t_s)
    nu = x - f @ x0
    try:
        d2 = float(nu @ np.linalg.solve(p + f @ p0 @ f.T + q, nu))
    except np.linalg.LinAlgError:
        return None
    return d2 if d2 <= _gate_limit() else None


def _transition(dt_s: float) -> tuple[FloatArray, FloatArray]:
    """Constant-velocity transition and white-acceleration noise over ``dt_s``."""
    f = np.eye(4)
    f[0, 2] = f[1, 3] = dt_s
    a = abs(dt_s)
    q1 = np.array([[a**3 / 3.0, a**2 / 2.0], [a**2 / 2.0, a]]) * PROCESS_NOISE
    q = np.zeros((4, 4))
    q[np.ix_([0, 2], [0, 2])] = q1
    q[np.ix_([1, 3], [1, 3])] = q1
    return f, q


@lru_cache(maxsize=1)
def _gate_limit() -> float:
    return float(chi2.ppf(GATE_PROBABILITY, 4))
