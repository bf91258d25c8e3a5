"""Live alerts of one object: two live tracks side by side, each with its own alert (or one
about to raise it), that are the same object (:class:`.alert.TrackAlerter`).

The waiting-alert rules (:mod:`.reacquire`) join an alert to a track only once the alert's
track is lost; duplicate removal (:mod:`.duplicates`) merges two tracks whose states agree in
one scan and that no imager tells apart. Neither joins two live tracks that each hold an alert.
This test does, from the tracks' own states and covariances over several scans: each scan
(at most one sample per ``join_interval_s``) gives the squared Mahalanobis distance of the
two states (position and velocity, both predicted to the later of their times with their
process noise) under the hypothesis that they are one object, ``d² = Δxᵀ (P_a + P_b)⁻¹ Δx``,
chi-square with 4 dof; the two are one object when the last ``join_scans`` samples sum to at
most the chi-square quantile of ``4 · join_scans`` dof at ``join_probability``. A sum over
several scans has far more power against a steady offset than one scan's gate (two people
walking 20 m apart, each located to 2 m, give d² in the hundreds every scan), and one good
scan of two tracks of different objects does not join them. No floor is added to the
covariances: a pair the test cannot tell apart by their own uncertainty is not joined on a
radius. ``P_a + P_b`` leaves out the two estimates' cross-covariance (positive for two tracks
of one object fed by the same towers), so the test errs towards *not* joining.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

from perimeter.fusion import ekf
from perimeter.fusion.alert_config import AlertConfig
from perimeter.fusion.alert_waiting import AlertState
from perimeter.fusion.track import Track

FloatArray = npt.NDArray[np.float64]

STATE_DOF = 4
"""Position and velocity."""

DEFAULT_Q = 0.05
"""Process noise for a track with no filtered history yet (the tracker's walking value)."""


def pair_d2(a: Track, b: Track) -> float:
    """Squared Mahalanobis distance of two tracks' states, both predicted to the later of
    their times, under the hypothesis that they are one object (4 dof)."""
    t_s = max(a.state.t_s, b.state.t_s)
    xs, ps = [], []
    for track in (a, b):
        h = track.state.history
        q = h.last_q if h.n else DEFAULT_Q
        x, p = ekf.predict(track.state.x[None], track.state.p[None],
                           np.array([t_s - track.state.t_s]), np.array([q]))
        xs.append(x[0])
        ps.append(p[0])
    d = xs[1] - xs[0]
    try:
        return float(d @ np.linalg.solve(ps[0] + ps[1], d))
    except np.linalg.LinAlgError:
        return float("inf")


@dataclass(slots=True)
class _Pair:
    samples: deque[float]
    last_t_s: float


class LiveJoin:
    """The same-object test over the pairs of an alerted live track and another live track."""

    def __init__(self, config: AlertConfig) -> None:
        self.config = config
        self.gate = float(chi2.ppf(config.join_probability, STATE_DOF * config.join_scans))
        """The window's sum at or below which a pair is one object."""
        self.live: dict[int, Track] = {}
        """The live tracks that hold (or last held) an open alert, by number."""
        self.joined: dict[int, int] = {}
        """A track judged the same object as another live track alerted first: that one's
        number (its alert is the one this track continues when that track is lost)."""
        self._pairs: dict[tuple[int, int], _Pair] = {}

    def same_as(self, track: Track, state: AlertState | None,
                open_alerts: Mapping[int, AlertState], t_s: float) -> int | None:
        """The number of another live track, whose alert is open (``open_alerts``, by track)
        and was raised before ``track``'s (``state``, None: none yet), that the test says is
        ``track``'s object; None if none is (or ``join_live`` is off)."""
        if not self.config.join_live or track.score.status != "confirmed":
            return None
        found: int | None = None
        for number, other in list(self.live.items()):
            held = open_alerts.get(number)
            if held is None or other.alert_id != held.alert_id:
                del self.live[number]  # its alert closed, waits or went on elsewhere
                continue
            if number == track.number or (state is not None and (
                    state.origin_t_s, state.alert_id) <= (held.origin_t_s, held.alert_id)):
                continue  # this track's alert was raised first (ties: the lower id)
            if self.observe(other, track, t_s) and found is None:
                found = number
        if found is not None:
            self.joined[track.number] = found
        elif self.joined.get(track.number) in self.live:
            del self.joined[track.number]  # told apart from it since: another object
        return found

    def observe(self, alerted: Track, other: Track, t_s: float) -> bool:
        """Sample the pair (at most once per ``join_interval_s``); whether the last
        ``join_scans`` samples say they are one object."""
        cfg = self.config
        key = (alerted.number, other.number)
        pair = self._pairs.get(key)
        if pair is None:
            pair = self._pairs[key] = _Pair(deque(maxlen=cfg.join_scans), -np.inf)
        if t_s - pair.last_t_s >= cfg.join_interval_s:
            pair.last_t_s = t_s
            pair.samples.append(pair_d2(alerted, other))
        return self.same(alerted.number, other.number)

    def same(self, alerted: int, other: int) -> bool:
        """Whether the pair's last ``join_scans`` samples (all of them taken) say one object."""
        pair = self._pairs.get((alerted, other))
        return (pair is not None and len(pair.samples) == self.config.join_scans
                and sum(pair.samples) <= self.gate)

    def ended(self, number: int) -> None:
        """A track ended: its pairs and its join go."""
        self.joined.pop(number, None)
        for key in [k for k in self._pairs if number in k]:
            del self._pairs[key]
