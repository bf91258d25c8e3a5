"""Where a fusion shard's output goes: :class:`ShardOutput` (a bus: :class:`BusShardOutput`),
and :class:`ShardSink`, the shard's :class:`FusionRunner`'s output through the shard's filters
(a standby publishes nothing, tower faults only of its own towers, track snapshots only of its
own sectors, every alert event stamped with its ``shard_id``). Used by :mod:`perimeter.shard`;
docs/scale.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from perimeter import topics
from perimeter.bus import Message, Publisher
from perimeter.contract import AlertEvent, DeadLetter, Handover, TracksSnapshot, dump_payload
from perimeter.fusion.alert import AlertState
from perimeter.fusion.runner import FusionOutput
from perimeter.fusion.track import Track

if TYPE_CHECKING:
    from perimeter.shard import ShardRunner


def handover_of(track: Track, t_s: float, state: AlertState, from_shard: str, to_shard: str,
                towers: list[str], run_id: str | None) -> Handover:
    """The handover of ``state``'s alert, with its track's state and covariance at ``t_s``."""
    x, p = track.state.x, track.state.p
    return Handover.model_validate({
        "alert_id": state.alert_id, "from_shard": from_shard, "to_shard": to_shard,
        "t_s": t_s, "position": {"x_m": float(x[0]), "y_m": float(x[1])},
        "velocity": {"vx_mps": float(x[2]), "vy_mps": float(x[3])},
        "covariance": [[float(v) for v in row] for row in 0.5 * (p + p.T)],
        "class": state.cls, "severity": state.severity, "origin": state.origin,
        "track_id": track.track_id, "towers": sorted(towers), "run_id": run_id})


class ShardOutput(FusionOutput, Protocol):
    """Where a shard's alerts, track snapshots, dead letters and handovers go."""

    def handover(self, message: Handover) -> None: ...


class BusShardOutput:
    """A :class:`ShardOutput` publishing on a bus: alerts, tracks, dead letters, handovers."""

    def __init__(self, bus: Publisher) -> None:
        self.bus = bus

    def alert(self, event: AlertEvent) -> None:
        self.bus.publish(Message(topics.ALERTS, dump_payload(event)))

    def tracks(self, snapshot: TracksSnapshot) -> None:
        self.bus.publish(Message(topics.TRACKS, dump_payload(snapshot), qos=0))

    def reject(self, dead_letter: DeadLetter) -> None:
        self.bus.publish(Message(topics.DEADLETTER, dump_payload(dead_letter)))

    def handover(self, message: Handover) -> None:
        self.bus.publish(Message(topics.HANDOVER, dump_payload(message)))


class ShardSink:
    """The fusion runner's output, through the shard's filters."""

    def __init__(self, shard: ShardRunner) -> None:
        self.shard = shard
        self.faults_out: set[str] = set()
        """The tower faults this shard reports (raised or resumed here), until closed."""

    def alert(self, event: AlertEvent) -> None:
        shard = self.shard
        if not shard.active:
            shard.counters["suppressed_standby"] += 1
            return
        if event.class_ == "tower_fault" and not self._fault_is_mine(event):
            return
        if event.event == "closed":
            shard._mine.discard(event.alert_id)
        else:
            shard._mine.add(event.alert_id)
        shard.output.alert(event.model_copy(update={"shard_id": shard.shard_id}))

    def _fault_is_mine(self, event: AlertEvent) -> bool:
        """Tower faults: those of this shard's own towers (a boundary tower is fed to two
        shards; its registration faults are reported once)."""
        if event.event == "new":
            mine = self.shard.fusion.health.watched
            if event.fault == "site_silent" or set(event.towers) <= mine:
                self.faults_out.add(event.alert_id)
                return True
            return False
        if event.alert_id in self.faults_out:
            if event.event == "closed":
                self.faults_out.discard(event.alert_id)
            return True
        return False

    def tracks(self, snapshot: TracksSnapshot) -> None:
        """Only the tracks in this shard's sectors (the shards' snapshots add up)."""
        shard = self.shard
        if not shard.active:
            return
        owned = set(shard.plan.owned(shard.shard_id))
        mine = [t for t in snapshot.tracks
                if shard.plan.sector_of(t.position.x_m, t.position.y_m) in owned]
        shard.output.tracks(snapshot.model_copy(update={"tracks": mine}))

    def reject(self, dead_letter: DeadLetter) -> None:
        self.shard.output.reject(dead_letter)
