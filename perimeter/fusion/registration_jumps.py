"""Registration's knocked-mast check on targets, and the towers' ``bias_jump`` alerts.

A knocked mast is found from *leave-one-out* residuals: each tower's bearings against the
trajectory a snapshot's other towers give (so the tower's own error does not hide in the
trajectory). When the median of a tower's recent leave-one-out residuals departs from its
estimate by more than its error (and ``min_jump_deg``), and the evidence of each of
``jump_min_tracks`` tracks departs on its own the same way, its bias is flagged as jumped
(its old information is dropped by :class:`~perimeter.fusion.registration.Registration`) and
a ``tower_fault`` alert (``fault: bias_jump``) raised until it has re-converged. One track's
snapshots are not independent evidence: a hot spot or a group's other member that the tower
pairs in its place shifts every one of them alike (three false jumps on ``crossover-group``,
15 snapshots of one still track, or of a group, 1-3 deg off on one tower).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from perimeter.contract import AlertEvent, AlertEventKind, Position
from perimeter.fusion.registration_fit import RegistrationConfig

__all__ = ["BiasJumps"]

FloatArray = npt.NDArray[np.float64]


def departure_sigmas(c: RegistrationConfig) -> float:
    """The departure a part of a tower's evidence must exceed, in its errors:
    ``jump_sigmas`` for the whole window alone; with ``change_point``, the two-sided normal
    quantile of ``jump_false_flags_per_hour``'s share of one check (every ``solve_every_s``)
    and one of the parts tested (``loo_window - jump_min_after + 1``; a union bound over
    both)."""
    if not c.change_point:
        return c.jump_sigmas
    splits = c.loo_window - c.jump_min_after + 1
    share = c.jump_false_flags_per_hour * c.solve_every_s / 3600.0 / splits
    return float(norm.isf(0.5 * share))


@dataclass(slots=True)
class _TowerFlag:
    alert_id: str | None = None
    jump_t_s: float | None = None
    jump_deg: float = 0.0
    loo: deque[tuple[float, float, float, int]] = field(
        default_factory=lambda: deque(maxlen=15))
    """Recent leave-one-out bias evidence ``(bias_rad, sigma_rad, t_s, track)``."""


class BiasJumps:
    """Each tower's leave-one-out evidence, its last bias jump and its open alert."""

    def __init__(self, towers_xy: FloatArray, tower_ids: Sequence[str],
                 config: RegistrationConfig,
                 next_alert_id: Callable[[], str] | None = None) -> None:
        self.config = config
        self.towers_xy = towers_xy
        self.tower_ids = list(tower_ids)
        self._flags = [_TowerFlag(loo=deque(maxlen=config.loo_window)) for _ in tower_ids]
        self._next_alert_id = next_alert_id
        self.sigmas = departure_sigmas(config)
        """The departure a part must exceed, in its errors (:func:`departure_sigmas`)."""

    def add_evidence(self, k: int, bias_rad: float, sigma_rad: float, t_s: float,
                     track: int) -> None:
        """Tower ``k``'s bias as one snapshot's other towers place its target (the track
        ``track``)."""
        self._flags[k].loo.append((bias_rad, sigma_rad, t_s, track))

    def check(self, t_s: float, theta: FloatArray, relative_sigma_rad: FloatArray,
              variance_factor: float) -> tuple[list[AlertEvent], int, float]:
        """Close the alerts of re-converged towers; the tower whose leave-one-out bias
        departs most from its estimate ``theta[k]`` (-1 if none does) and its shift."""
        c = self.config
        events = []
        worst, worst_ratio, worst_shift = -1, 1.0, 0.0
        for k, flag in enumerate(self._flags):
            sigma_deg = math.degrees(float(relative_sigma_rad[k]))
            if (flag.alert_id is not None and sigma_deg <= c.converged_deg
                    and flag.jump_t_s is not None and t_s - flag.jump_t_s >= c.min_alert_s):
                events.append(self._event("closed", k, t_s))
                flag.alert_id = None
            while flag.loo and t_s - flag.loo[0][2] > c.loo_max_age_s:
                flag.loo.popleft()
            if sigma_deg > c.jump_ready_deg:
                continue
            res = np.array(flag.loo) if flag.loo else np.zeros((0, 4))
            for before, part in self._parts(res):
                shift, ratio = self._departure(part, float(theta[k]), sigma_deg,
                                               variance_factor)
                if ratio <= worst_ratio:
                    continue
                # each track on its own, from two snapshots at least (its own spread)
                tracks = [self._departure(mine, float(theta[k]), sigma_deg, variance_factor)
                          for n in np.unique(part[:, 3])
                          if len(mine := part[part[:, 3] == n]) >= 2]
                need = c.jump_min_tracks if before is None else c.change_point_min_tracks
                if sum(s * shift > 0.0 and r > 1.0 for s, r in tracks) < need:
                    continue
                if before is not None and not (
                        self._all_moved(part, float(theta[k]), sigma_deg, shift,
                                        variance_factor)
                        and self._moved(before, part, shift, variance_factor)):
                    continue
                worst, worst_ratio, worst_shift = k, ratio, shift
        return events, worst, worst_shift

    def _all_moved(self, part: FloatArray, theta_rad: float, sigma_deg: float,
                   shift_rad: float, variance_factor: float) -> bool:
        """Whether every track in ``part`` departs from the estimate the way ``shift_rad``
        goes (each on its own values, one or more): a knocked mast moves every target's
        evidence. On ``crossover-group`` two tracks paired with hot spots (2-3 deg off) while
        a third in the same part stayed at the estimate."""
        for n in np.unique(part[:, 3]).tolist():
            move, ratio = self._departure(part[part[:, 3] == n], theta_rad, sigma_deg,
                                          variance_factor)
            if move * shift_rad <= 0.0 or ratio <= 1.0:
                return False
        return True

    def _moved(self, before: FloatArray, after: FloatArray, shift_rad: float,
               variance_factor: float) -> bool:
        """Whether the tracks seen on both sides of a split (one at least) all moved there,
        the way ``shift_rad`` goes (by the same test: a track's median after less its median
        before, in their errors). A knocked mast moves every target's evidence; a track its
        tower pairs with a hot spot beside it is off from its first snapshot and stays so
        (``crossover-group``'s still tracks, T06 2.6-3.3 deg and T04 1.2-2.1 deg off)."""
        both = np.intersect1d(before[:, 3], after[:, 3]).tolist()
        for n in both:
            old = before[before[:, 3] == n]
            centre = float(np.median(old[:, 0]))
            old_err = self._error(old, centre, variance_factor)
            move, ratio = self._departure(after[after[:, 3] == n], centre,
                                          math.degrees(old_err), variance_factor)
            if move * shift_rad <= 0.0 or ratio <= 1.0:
                return False
        return bool(both)

    def _parts(self, res: FloatArray) -> list[tuple[FloatArray | None, FloatArray]]:
        """The evidence tested, each part with what came before it (None for the whole
        window): the whole window once it is full; with ``change_point``, also the evidence
        since each split (the latest ``jump_min_after`` values or more), so a jump shows
        once enough evidence follows it, not once the window has turned over (the median of
        a window that mixes both sides reads the step as spread)."""
        c = self.config
        parts: list[tuple[FloatArray | None, FloatArray]] = (
            [(None, res)] if len(res) >= c.loo_window else [])
        if c.change_point:
            parts += [(res[:-m], res[-m:]) for m in range(c.jump_min_after, len(res))]
        return parts

    def _error(self, res: FloatArray, median: float, variance_factor: float) -> float:
        """The standard error of the median ``median`` of the evidence ``res``: its robust
        spread (at least its typical reported sigma, scaled), 1.2533 sigma / sqrt n. The
        typical sigma is the median one: a single snapshot of a mis-paired track (2.5 deg
        against 0.05 deg) would otherwise widen every value's error and hide a knock."""
        spread = max(float(np.sqrt(np.median(res[:, 1] ** 2) * variance_factor)),
                     1.4826 * float(np.median(np.abs(res[:, 0] - median))))
        return 1.2533 * spread / math.sqrt(len(res))

    def _departure(self, res: FloatArray, theta_rad: float, sigma_deg: float,
                   variance_factor: float) -> tuple[float, float]:
        """The median of the evidence ``res`` less the estimate, and its ratio to the
        threshold (:attr:`sigmas` times its error, at least ``min_jump_deg``)."""
        c = self.config
        median = float(np.median(res[:, 0]))
        # the median's standard error and the estimate's own
        err = math.hypot(self._error(res, median, variance_factor), math.radians(sigma_deg))
        shift = median - theta_rad
        return shift, abs(shift) / max(self.sigmas * err, math.radians(c.min_jump_deg))

    def flag(self, k: int, shift_rad: float, t_s: float) -> list[AlertEvent]:
        """Tower ``k``'s bias jumped by ``shift_rad``: every tower's leave-one-out evidence
        is dropped (the jumped tower helped place their targets); raise or update its
        alert."""
        flag = self._flags[k]
        flag.jump_t_s, flag.jump_deg = t_s, math.degrees(shift_rad)
        for other in self._flags:
            other.loo.clear()
        if self._next_alert_id is not None and flag.alert_id is None:
            flag.alert_id = self._next_alert_id()
            return [self._event("new", k, t_s)]
        if flag.alert_id is not None:
            return [self._event("update", k, t_s)]
        return []

    def jump(self, k: int) -> tuple[float | None, float | None]:
        """Tower ``k``'s last bias jump: its time and size in degrees (None, None if none)."""
        flag = self._flags[k]
        return flag.jump_t_s, (round(flag.jump_deg, 4) if flag.jump_t_s is not None else None)

    def _event(self, kind: AlertEventKind, k: int, t_s: float) -> AlertEvent:
        flag = self._flags[k]
        x, y = self.towers_xy[k].tolist()
        return AlertEvent.model_validate({
            "event": kind, "alert_id": flag.alert_id, "t_s": t_s, "class": "tower_fault",
            "class_confidence": 1.0, "confidence": 1.0, "severity": "medium",
            "position": Position(x_m=x, y_m=y), "towers": [self.tower_ids[k]],
            "sensors": ["thermal"], "fault": "bias_jump",
            "bias_jump_deg": round(flag.jump_deg, 4)})

    def close_all(self, t_s: float) -> list[AlertEvent]:
        """Close every open alert (the run ends)."""
        events = []
        for k, flag in enumerate(self._flags):
            if flag.alert_id is not None:
                events.append(self._event("closed", k, t_s))
                flag.alert_id = None
        return events
