"""Reacquire: whether a new track may continue the alert of a lost one (:mod:`.alert`).

A track lost for less than ``AlertConfig.reacquire_s`` and picked up again where the object
could have got to keeps its alert (the new track continues it with ``update`` events; its origin
stays the first one): one object out of sight for a few minutes (a far group at night, a car
behind a ridge) is one alert, not one per track. *Could have got to* is a chi-square gate
(``reacquire_gate_d2``, 2 dof) on the new track's position against the lost one's, predicted at
constant velocity for at most ``reacquire_horizon_s`` (a walker does not keep a heading for ten
minutes) with its covariance grown over the gap: the lost track's position and velocity
covariance, plus the new one's, plus ``reacquire_floor_m`` (two triangulations of one object
differ by up to ~100 m at range), plus a speed spread times the gap
(``reacquire_speed_sigma_mps`` by class family: walkers 0.7 m/s, ~2 m/s at the 99 % gate;
vehicles 4 m/s). The new track's class must be of the alert's family when both are known (a
person's alert is not continued by an animal or a vehicle).
How long a lost alert waits (:func:`wait_s`) follows from the same gate: until the gate,
grown with the gap, would reach past ``reacquire_reach_m`` (a continuation further off than that
is no longer evidence of the same object), bounded by ``reacquire_s`` below and
``reacquire_max_s`` above. A walker's alert waits longer than a car's: a walker out of sight
for nine minutes is still within a few hundred metres of its line.
The values are ``AlertConfig``'s (docs/fusion.md "Alerts").
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from perimeter.fusion.alert_config import AlertConfig
from perimeter.fusion.track import Track


def family(cls: str) -> str:
    """A class's family: person and group are ``people``; ``unknown`` and the rest their own."""
    return "people" if cls in ("person", "group") else cls


def compatible(alert_cls: str, track_cls: str) -> bool:
    """Whether a track labelled ``track_cls`` may continue an alert of ``alert_cls``: same
    family, or either one not yet known (``unknown``)."""
    known = ("people", "vehicle", "animal")
    a, b = family(alert_cls), family(track_cls)
    return a == b or a not in known or b not in known


def reacquire_d2(lost: Track, new: Track, config: AlertConfig) -> float:
    """Squared Mahalanobis distance of ``new``'s position from where ``lost`` could have got
    to by ``new``'s time: ``lost`` predicted at constant velocity for at most
    ``reacquire_horizon_s``, the covariance grown by ``reacquire_floor_m`` and the class
    family's speed spread (``reacquire_speed_sigma_mps``) times the gap."""
    gap_s = max(0.0, new.state.t_s - lost.state.t_s)
    ahead_s = min(gap_s, config.reacquire_horizon_s)
    guess = lost.state.x[:2] + lost.state.x[2:] * ahead_s
    sigma_mps = _speed_sigma_mps(lost.evidence.label, config)
    cov = (lost.state.p[:2, :2] + ahead_s**2 * lost.state.p[2:, 2:] + new.state.p[:2, :2]
           + (config.reacquire_floor_m**2 + (sigma_mps * gap_s) ** 2) * np.eye(2))
    d = new.state.x[:2] - guess
    return float(d @ np.linalg.solve(cov, d))


def wait_s(lost: Track, config: AlertConfig) -> float:
    """How long the alert of ``lost`` waits for the object's next track: until the reacquire
    gate's radius (``reacquire_gate_d2`` times the lost position's variance along its major
    axis, the floor's and the class family's speed spread times the gap) reaches
    ``reacquire_reach_m``; within ``[reacquire_s, reacquire_max_s]``. ``reacquire_reach_m`` 0:
    ``reacquire_s`` (the fixed wait)."""
    if config.reacquire_reach_m <= 0.0:
        return config.reacquire_s
    sigma_mps = _speed_sigma_mps(lost.evidence.label, config)
    pos_var_m2 = float(np.linalg.eigvalsh(lost.state.p[:2, :2])[-1])
    room_m2 = (config.reacquire_reach_m**2 / config.reacquire_gate_d2
               - config.reacquire_floor_m**2 - pos_var_m2)
    reach_s = math.sqrt(room_m2) / sigma_mps if room_m2 > 0.0 else 0.0
    return min(max(reach_s, config.reacquire_s), max(config.reacquire_max_s, config.reacquire_s))


def _speed_sigma_mps(label: str, config: AlertConfig) -> float:
    """The class family's speed spread (key ``other`` for the rest)."""
    spreads = _spreads(config.reacquire_speed_sigma_mps)
    return spreads.get(family(label), spreads.get("other", 1.5))


@cache
def _spreads(by_family: tuple[tuple[str, float], ...]) -> dict[str, float]:
    """``AlertConfig.reacquire_speed_sigma_mps`` as a mapping, built once per value."""
    return dict(by_family)
