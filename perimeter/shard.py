"""ShardRunner: one fusion shard of sector-sharded fusion, around :class:`FusionRunner`.

A shard fuses the reports of the towers its :class:`~perimeter.sectors.SectorPlan` feeds it
(others are dropped) and raises and keeps alerts only for tracks in its own sectors (with the
plan's hysteresis). A track that leaves them is **handed over**: the shard publishes a
:class:`~perimeter.contract.Handover` (alert id, state and covariance) and the shard that owns
the new sector continues the alert with its own track of the object (a chi-square gate on the
state), or waits for one, as for a lost track. Every shard hears the others' alert events (fed
to :meth:`ShardRunner.feed`): a track that matches another shard's open alert opens none, so
two shards that see one intruder near a boundary raise one alert. A shard that dies is taken
over (:meth:`ShardRunner.take_over`) by a standby or a neighbour, whose tracks that match the
dead shard's open alerts continue them (no second ``new``); the rest wait to be reacquired.
Restarted, the dead shard gets its sectors back (:meth:`ShardRunner.hand_back`, on its live
``active`` status) and the alerts in them by handover. Design and limits: docs/scale.md,
"Sectors, handover and takeover".
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from perimeter import shard_takeover, topics
from perimeter.alert_resume import LeftOpen, resume_alert
from perimeter.bus import Message
from perimeter.contract import (
    AlertEvent,
    ContractError,
    DeadLetter,
    Handover,
    ShardStatus,
    parse_payload,
)
from perimeter.fusion.alert import AlertConfig, AlertState
from perimeter.fusion.health import TowerHealth
from perimeter.fusion.runner import FusionRunner
from perimeter.fusion.track import Track
from perimeter.sectors import Claim, SectorPlan
from perimeter.shard_match import STALE_S, OtherAlert, handover_distance2
from perimeter.shard_output import ShardOutput, ShardSink, handover_of
from perimeter.site import Site
from perimeter.thresholds import Thresholds

log = logging.getLogger(__name__)
FloatArray = npt.NDArray[np.float64]
P = TypeVar("P", AlertEvent, Handover, ShardStatus)

CLAIM_WAIT_S = 3.0
"""Data time a shard waits before raising a new alert in the low end of its interval
(:data:`perimeter.sectors.Claim.WAIT`): the neighbour below, which raises there at once, has
its alert reach this shard meanwhile."""


_OUTPUT_TOPICS = frozenset({topics.TRACKS, topics.DEADLETTER, topics.FUSION_STATUS})


class ShardRunner:
    """One fusion shard: :class:`FusionRunner` on its towers, alerts for its own sectors."""

    def __init__(self, site: Site, plan: SectorPlan, shard_id: str, thresholds: Thresholds,
                 output: ShardOutput, *, active: bool = True, run_id: str | None = None,
                 claim_wait_s: float = CLAIM_WAIT_S, heartbeat_timeout_s: float = 15.0,
                 tracks_interval_s: float = 1.0, first_alert_number: int = 1,
                 first_track_number: int = 1, alert_config: AlertConfig | None = None,
                 one_tower_ranging: bool = True) -> None:
        plan.owned(shard_id)  # PlanError for a shard not in the plan
        if plan.site != site.name:
            raise ValueError(f"the plan is for site {plan.site!r}, not {site.name!r}")
        self.site = site
        self.plan = plan
        self.base_plan = plan
        """The plan as given: what every shard owns while none is taken over."""
        self.shard_id = shard_id
        self.active = active
        self.output = output
        self.claim_wait_s = claim_wait_s
        self.towers = plan.towers_for(shard_id)
        self.taken_over: list[str] = []
        self.sink = ShardSink(self)
        self.fusion = FusionRunner(site, thresholds, self.sink, run_id=run_id,
                                   heartbeat_timeout_s=heartbeat_timeout_s,
                                   tracks_interval_s=tracks_interval_s,
                                   first_alert_number=first_alert_number,
                                   first_track_number=first_track_number,
                                   alert_config=alert_config,
                                   one_tower_ranging=one_tower_ranging)
        self.counters: Counter[str] = self.fusion.counters
        alerter = self.fusion.alerter
        alerter.id_prefix = f"a-{shard_id}-"
        alerter.policy = self
        self.fusion.health = TowerHealth(site, alerter.next_alert_id, heartbeat_timeout_s,
                                         towers=self._own_towers() if active else ())
        self._takers: dict[str, tuple[str, ...]] = {}
        """Other active shards -> the shards they last said they had taken over."""
        self.others: dict[str, OtherAlert] = {}
        """Other shards' open alerts (tower faults included), by alert id."""
        self._mine: set[str] = set()
        self._waiting: dict[int, float] = {}

    # -- input --------------------------------------------------------------------------
    @property
    def clock_s(self) -> float | None:
        return self.fusion.clock_s

    def feed(self, message: Message) -> None:
        """Take one bus message: a tower's (dropped unless this shard is fed that tower),
        another shard's alert event or handover, or anything fusion takes (thresholds)."""
        tower = topics.parse_tower_topic(message.topic)
        if tower is not None:
            if tower.tower_id in self.towers:
                self.fusion.feed(message)
            else:
                self.counters["dropped_not_fed"] += 1
            return
        if message.topic == topics.ALERTS:
            event = self._parse(AlertEvent, message)
            if event is not None:
                self._heard_alert(event)
        elif message.topic == topics.HANDOVER:
            handover = self._parse(Handover, message)
            if handover is not None:
                self._heard_handover(handover)
        elif topics.parse_shard_status_topic(message.topic) is not None:
            status = self._parse(ShardStatus, message)
            if status is not None:
                self._heard_status(status, live=not message.retain)
        elif message.topic in _OUTPUT_TOPICS:  # fusion's own outputs: nothing to fuse
            self.counters["ignored_output"] += 1
        else:
            self.fusion.feed(message)

    def idle(self, t_s: float) -> None:
        self.fusion.idle(t_s)

    def set_thresholds(self, thresholds: Thresholds) -> None:
        self.fusion.set_thresholds(thresholds)

    def finish(self) -> None:
        """End of stream: close this shard's open alerts (``stream_end``)."""
        self.fusion.finish()

    def status(self) -> ShardStatus:
        """This shard's retained status."""
        return ShardStatus(shard_id=self.shard_id,
                           state="active" if self.active else "standby",
                           sectors=list(self.plan.owned(self.shard_id)),
                           towers=len(self.towers), taken_over=list(self.taken_over),
                           t_s=self.clock_s, run_id=self.fusion.run_id)

    def resume_alerts(self, alerts: Iterable[LeftOpen]) -> int:
        """Continue the open alerts this shard left before a restart (same run id, docs/
        fusion.md "Sessions"; :mod:`perimeter.alert_resume`). Returns how many were taken."""
        return sum(self._resume(alert) for alert in alerts)

    def _resume(self, alert: LeftOpen) -> bool:
        resumed = resume_alert(self.fusion, alert)
        if resumed:
            self._mine.add(alert.alert_id)
            if alert.class_ == "tower_fault":
                self.sink.faults_out.add(alert.alert_id)
        return resumed

    # -- takeover (perimeter.shard_takeover) --------------------------------------------
    def take_over(self, dead_shard: str) -> int:
        """Take over ``dead_shard`` (:func:`perimeter.shard_takeover.take_over`); how many
        of its alerts continued with a track at once."""
        return shard_takeover.take_over(self, dead_shard)

    def hand_back(self, shard_id: str) -> None:
        """``shard_id``, taken over by this shard, is back: its sectors are its own again
        (:func:`perimeter.shard_takeover.hand_back`)."""
        shard_takeover.hand_back(self, shard_id)

    # -- other shards' messages ---------------------------------------------------------
    def _heard_alert(self, event: AlertEvent) -> None:
        if event.shard_id == self.shard_id or event.alert_id in self._mine:
            return
        if event.event == "closed":
            self.others.pop(event.alert_id, None)
        else:
            self.others[event.alert_id] = OtherAlert.of_event(event)
        self.counters["other_alert_events"] += 1

    def _heard_status(self, status: ShardStatus, *, live: bool = True) -> None:
        """Another shard took over sectors: they are its now in this shard's plan too (so
        alerts leaving this shard's sectors are handed to it, not to the dead shard); one it
        no longer lists (handed back) is its owner's again. A shard this one took over that
        says it is active (live, not a retained copy) is back
        (:func:`perimeter.shard_takeover.back`)."""
        self.counters["shard_status"] += 1
        if status.shard_id == self.shard_id:
            return
        if status.state == "active" and live:
            shard_takeover.back(self, status.shard_id)
        if status.state == "offline":  # its takeovers stand until its own taker's status
            return
        taken = tuple(status.taken_over) if status.state == "active" else ()
        if self._takers.get(status.shard_id, ()) == taken:
            return
        self._takers[status.shard_id] = taken
        shard_takeover.replan(self)
        self.counters["plan_updates"] += 1

    def _heard_handover(self, message: Handover) -> None:
        if message.from_shard == self.shard_id:
            return
        if message.to_shard in self.taken_over:  # sent before the sender knew of the takeover
            message = message.model_copy(update={"to_shard": self.shard_id})
        if message.to_shard != self.shard_id:
            self.others[message.alert_id] = OtherAlert.of_handover(message)
            return
        if message.alert_id in self._mine:
            self.counters["handovers_repeated"] += 1
            return
        self.others.pop(message.alert_id, None)
        self._mine.add(message.alert_id)
        track = self._gate(message)
        alert = OtherAlert.of_handover(message)
        if track is not None and self.fusion.alerter.adopt(track, alert.state()):
            self.counters["handovers_adopted"] += 1
        else:  # no track of it yet: it waits, like a lost track's alert, to be reacquired
            self.fusion.resume_alerts([alert])
            self.counters["handovers_waiting"] += 1

    def _gate(self, message: Handover) -> Track | None:
        """The confirmed local track without an alert nearest (chi-square, 4 dof) to the
        handed-over state, if within the gate."""
        return self.nearest_free(lambda track: handover_distance2(
            message, track.state.x, track.state.p, track.state.t_s))

    def nearest_free(self, distance: Callable[[Track], float | None]) -> Track | None:
        """The confirmed local track without an alert of least ``distance`` (None: out of
        its gate), if any."""
        best: tuple[float, Track] | None = None
        for track in self.fusion.engine.tracks:
            if track.score.status != "confirmed" or track.alert_id is not None:
                continue
            d = distance(track)
            if d is not None and (best is None or d < best[0]):
                best = (d, track)
        return best[1] if best else None

    def owner_of(self, track: Track) -> str:
        """The shard whose sector the track's position lies in now."""
        return self.plan.owner_at(self.plan.arc_m(*_track_xy(track)))

    # -- the alert policy (perimeter.fusion.alert_policy.AlertPolicy) ------------------------
    def admits(self, track: Track, t_s: float) -> bool:
        if not self.active:
            return False
        x, y = _track_xy(track)
        if self.plan.claim(self.shard_id, self.plan.arc_m(x, y)) is Claim.NO:
            self._waiting.pop(track.number, None)
            return False
        if self._held_elsewhere(track, t_s):
            self.counters["claims_deferred"] += 1
            return False
        return True

    def opens(self, track: Track, t_s: float) -> bool:
        x, y = _track_xy(track)
        if self.plan.claim(self.shard_id, self.plan.arc_m(x, y)) is Claim.YES:
            return True
        if len(self._waiting) > 4096:  # forget tracks gone meanwhile
            live = {t.number for t in self.fusion.engine.tracks}
            self._waiting = {n: w for n, w in self._waiting.items() if n in live}
        since = self._waiting.setdefault(track.number, t_s)
        if t_s - since < self.claim_wait_s:
            return False
        del self._waiting[track.number]
        return True

    def keeps(self, track: Track, t_s: float) -> bool:
        x, y = _track_xy(track)
        return self.active and self.plan.holds(self.shard_id, self.plan.arc_m(x, y))

    def released(self, track: Track, t_s: float, state: AlertState) -> None:
        """Hand the alert to the shard owning the track's sector now."""
        to_shard = self.owner_of(track)
        message = handover_of(track, t_s, state, self.shard_id, to_shard,
                              [self.site.towers[i].id for i in track.evidence.towers],
                              self.fusion.run_id)
        self._mine.discard(state.alert_id)
        self.others[state.alert_id] = OtherAlert.of_handover(message)
        self.counters["handovers_sent"] += 1
        try:
            self.output.handover(message)
        except Exception:  # pragma: no cover - a failing output must not break fusion
            log.exception("handover output failed")

    def _held_elsewhere(self, track: Track, t_s: float) -> bool:
        """Whether another shard holds an open alert that matches this track."""
        return any(self._distance_to(alert, track) is not None
                   for alert in self.others.values()
                   if alert.class_ != "tower_fault" and t_s - alert.last_t_s <= STALE_S)

    def _distance_to(self, alert: OtherAlert, track: Track) -> float | None:
        return alert.distance_m(track.state.x, track.state.t_s)

    # -- output (the filters: perimeter.shard_output.ShardSink) ----------------------------
    def _own_towers(self) -> set[str]:
        """The towers whose faults this shard reports: those standing in its sectors."""
        owned = set(self.plan.owned(self.shard_id))
        return {t.id for t in self.site.towers if self.plan.sector_of(t.x_m, t.y_m) in owned}

    def _parse(self, model: type[P], message: Message) -> P | None:
        try:
            return parse_payload(model, message.payload)
        except ContractError as exc:
            self.counters["rejected:bad_payload"] += 1
            first = message.payload[:200].decode("utf-8", errors="replace")
            self.output.reject(DeadLetter(topic=message.topic[:512],
                                          reason=f"bad_payload: {exc}"[:500],
                                          first_bytes=first, t_s=self.clock_s))
            return None


def _track_xy(track: Track) -> tuple[float, float]:
    return float(track.state.x[0]), float(track.state.x[1])
