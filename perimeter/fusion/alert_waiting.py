"""Waiting alerts: an alert whose track was lost (or no longer shows its object), or that
another run or shard left open, waits ``reacquire_s`` for a track of its object to continue it
(:class:`.alert.TrackAlerter`): which track may (:func:`reacquire`) and the stand-in tracks
such an alert waits as (:func:`stand_in`, :func:`resumed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from perimeter.contract import Origin, Position, Severity, Velocity
from perimeter.fusion.alert_config import AlertConfig
from perimeter.fusion.duplicates import elsewhere
from perimeter.fusion.reacquire import compatible, family, reacquire_d2, wait_s
from perimeter.fusion.track import Track
from perimeter.fusion.track_evidence import TrackEvidence
from perimeter.fusion.track_score import TrackScore
from perimeter.fusion.track_state import TrackState


class OpenAlert(Protocol):
    """An alert an earlier run left open (a stored alert record)."""

    @property
    def alert_id(self) -> str: ...
    @property
    def track_id(self) -> str | None: ...
    @property
    def class_(self) -> str: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def position(self) -> Position | None: ...
    @property
    def velocity(self) -> Velocity | None: ...
    @property
    def origin(self) -> Origin | None: ...
    @property
    def towers(self) -> list[str]: ...
    @property
    def last_t_s(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Seen:
    """Where an alert last put its object: its track's estimate (``x, p`` at ``t_s``)."""

    x: npt.NDArray[np.float64]
    p: npt.NDArray[np.float64]
    t_s: float


@dataclass(slots=True)
class AlertState:
    """An open alert's state: what a track's alert carries between its events."""

    alert_id: str
    last_t_s: float
    cls: str
    severity: Severity
    origin: Origin | None
    origin_t_s: float
    adopted: bool = False
    doubted_t_s: float | None = None
    seen: Seen | None = None
    """The track's estimate at the alert's last event: where the alert last put the object
    (a track that is then no longer believed leaves its alert waiting there)."""


@dataclass(slots=True)
class Dormant:
    """An alert whose track was lost, waiting ``reacquire_s`` for the object to come back."""

    state: AlertState
    track: Track
    lost_t_s: float
    wait_s: float
    """How long it waits from ``lost_t_s`` (:func:`.reacquire.wait_s`)."""
    live: Track | None = None
    """The live track a stand-in ``track`` waits for (:func:`stand_in`): a merge
    that later drops it names its :attr:`.Track.successor`."""
    resumed: bool = False
    """Left open by another run or shard (:func:`resumed`): no track here was
    alive beside its track, so none was elsewhere then (:func:`.duplicates.elsewhere`)."""
    host: Track | None = None
    """The live alerted track it waits on (:mod:`.alert_ride`), while that one holds its
    alert."""




def stand_in(track: Track, state: AlertState) -> Track:
    """A stand-in for ``track`` where its alert last put it (``state.seen``), to wait for
    reacquisition: its number, class, towers and sensors, its score now."""
    seen = state.seen or track.state
    ev = track.evidence
    return Track(number=track.number, first_t_s=track.first_t_s,
                 state=TrackState(seen.x.copy(), seen.p.copy(), seen.t_s),
                 score=TrackScore(status=track.score.status, llr=track.score.llr,
                                  last_update_t_s=track.score.last_update_t_s),
                 evidence=TrackEvidence(label=state.cls, probabilities=dict(ev.probabilities),
                                        label_probability=ev.label_probability,
                                        towers=set(ev.towers), sensors=set(ev.sensors)),
                 alert_id=state.alert_id)


def resumed(alert: OpenAlert, tower_ids: list[str], config: AlertConfig) -> Dormant | None:
    """An alert an earlier run (or another shard) left open, waiting as a stand-in track at
    its last position (as long as ``config`` has a lost track's wait); None for tower faults
    and alerts without a position."""
    if alert.position is None or alert.class_ == "tower_fault":
        return None
    number = alert.track_id[2:] if alert.track_id else ""
    v = alert.velocity
    x = np.array([alert.position.x_m, alert.position.y_m,
                  v.vx_mps if v else 0.0, v.vy_mps if v else 0.0])
    track = Track(number=int(number) if number.isdigit() else 0, first_t_s=alert.last_t_s,
                  state=TrackState(x, np.eye(4), alert.last_t_s),
                  score=TrackScore(last_update_t_s=alert.last_t_s),
                  evidence=TrackEvidence(
                      label=alert.class_, probabilities={alert.class_: 1.0},
                      towers={tower_ids.index(t) for t in alert.towers if t in tower_ids}),
                  alert_id=alert.alert_id)
    state = AlertState(alert.alert_id, alert.last_t_s, alert.class_, alert.severity,
                       alert.origin, alert.last_t_s, adopted=True)
    return Dormant(state, track, alert.last_t_s, wait_s(track, config), resumed=True)


def reacquire(waiting: list[Dormant], track: Track, config: AlertConfig, *,
              settles_doubt: bool = False, any_class: bool = False) -> Dormant | None:
    """The waiting alert this new track continues, if any: the nearest (by
    :func:`.reacquire.reacquire_d2`) within the gate whose class is compatible; first the alert
    of a track merged into this one, never one of a track it was elsewhere beside
    (:func:`.duplicates.elsewhere`; an alert resumed from another run or shard had no track
    beside it here). ``settles_doubt``: the track is of an alerting class, so an alert whose
    track was lost while its class was in doubt (:attr:`AlertState.doubted_t_s`; it may
    show the doubted class) needs no compatible class: the doubt was whether it is one.
    ``any_class``: the class is not asked at all (:func:`held`)."""
    best: tuple[float, Dormant] | None = None
    for dormant in waiting:
        doubt = any_class or (settles_doubt and dormant.state.doubted_t_s is not None)
        if not doubt and not compatible(dormant.state.cls, track.evidence.label):
            continue
        if (dormant.live or dormant.track).successor == track.number:
            best = (-1.0, dormant)
            continue
        d2 = reacquire_d2(dormant.track, track, config)
        if dormant.host is not None:  # or split off the track it waits on (:mod:`.alert_ride`)
            d2 = min(d2, reacquire_d2(dormant.host, track, config))
        if d2 > config.reacquire_gate_d2 or (best is not None and d2 >= best[0]):
            continue
        if dormant.resumed or not elsewhere(dormant.track, track):  # the costlier test last
            best = (d2, dormant)
    return None if best is None else best[1]


def held(waiting: list[Dormant], track: Track, config: AlertConfig) -> bool:
    """Whether ``track``, which continues none of the ``waiting`` alerts, should not open its
    own yet: its class family's probability is below ``config.settle_probability`` and a
    waiting alert of another family could be its object (:func:`reacquire` with the class
    left out). Its class may still turn to the waiting alert's and continue it; it opens its
    own once its class is settled or that alert's wait is over."""
    if config.settle_probability <= 0.0 or not waiting:
        return False
    own = family(track.evidence.label)
    p_own = sum(p for cls, p in track.evidence.probabilities.items() if family(cls) == own)
    if p_own >= config.settle_probability:
        return False
    other = [d for d in waiting if family(d.state.cls) != own]
    return bool(other) and reacquire(other, track, config, any_class=True) is not None


def dismount(dormant: Dormant, t_s: float, config: AlertConfig) -> None:
    """The track ``dormant`` waited on no longer holds its alert: from ``t_s`` the alert waits,
    as a lost one does, where that track last put the object (:mod:`.alert_ride`)."""
    host = dormant.host
    if host is None:
        return
    dormant.state.seen = Seen(host.state.x.copy(), host.state.p.copy(), host.state.t_s)
    dormant.track = stand_in(dormant.track, dormant.state)
    dormant.lost_t_s, dormant.wait_s, dormant.host = t_s, wait_s(dormant.track, config), None
