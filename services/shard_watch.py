"""Takeover in sharded fusion: when a shard counts as dead, and who takes over its sectors.

A shard is dead when its status said ``offline`` (its last will: the broker saw its connection
drop) and no ``online`` one followed for ``will_grace_s`` of listening (a dying broker node's
neighbours fire the wills of live clients too; a live shard re-announces itself on reconnect;
the retained ``offline`` of a shard not seen alive counts only if it is of the watcher's run and
the watcher's own previous process held that shard (its retained status, heard on subscribing,
listed it in ``taken_over``), as when a taker restarts after the shard it had taken over died
for good: that shard is taken over again; if that previous status was a bare last will (a
crash: what it held is unknown) every retained ``offline`` of the run counts; a clean restart
of the whole cluster (each left a full ``offline`` status) takes none over for being slow to
start. A retained ``offline`` counts at most once per process: a reconnect subscribes again
and gets it again, which is no new death; an earlier run's is none),
or when its status has not been refreshed for ``stale_after_s`` of wall time while the
watcher was listening (a shard that dies with its broker node leaves no will; while the broker
is stalled or the watcher cut off, nobody's status ages). Listening means receiving statuses:
the watcher's own status, which comes back through the same subscription, is its probe, and
another's status ages only up to when the watcher last heard its own (a subscription still
stalled after a reconnect, while other topics flow again, is no neighbour's death), and a gap
of more than ``deaf_after_s`` between two of its own (a reconnect to another node) restarts
every other's clock: their statuses may still be held by the stalled cluster when its own
re-announced one comes back.

Its successor (:func:`successor`) is the standby that mirrors it, else the nearest live active
shard (the lower one on a tie). Every shard applies the same rule to what it has heard, so one
takes over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from perimeter.contract import ShardStatus
from perimeter.sectors import SectorPlan

if TYPE_CHECKING:
    from perimeter.shard import ShardRunner


def successor(plan: SectorPlan, dead: str, alive: set[str]) -> str | None:
    """Who takes over ``dead``: its live standby, else the nearest live active shard in plan
    order (the lower one on a tie), else nobody."""
    for standby, mirrored in sorted(plan.standby_for.items()):
        if mirrored == dead and standby in alive:
            return standby
    active = plan.active_shards
    if dead not in active:
        return None
    at = active.index(dead)
    by_distance = sorted((abs(i - at), i) for i, s in enumerate(active) if s in alive)
    return active[by_distance[0][1]] if by_distance else None


class ShardWatch:
    """What one shard knows of the others from their statuses (wall times, monotonic s)."""

    def __init__(self, me: str, stale_after_s: float = 12.0, deaf_after_s: float = 6.0,
                 will_grace_s: float = 6.0, run_id: str | None = None) -> None:
        self.me, self.stale_after_s, self.deaf_after_s = me, stale_after_s, deaf_after_s
        self.will_grace_s = will_grace_s
        self.run_id = run_id
        self.seen_s: dict[str, float] = {}  # live shards -> when their status last came
        self.wills_s: dict[str, float] = {}  # shards whose will came -> when
        self.own_heard_s: float | None = None
        """When this shard's own status last came back (None: never; ages count up to now)."""
        self.held_before: set[str] | None = None
        """What this shard's previous process had taken over, by its retained ``offline``
        status (None: not heard, or a bare last will: unknown)."""
        self._cold: set[str] = set()
        """Shards whose will is a retained ``offline``, not seen alive since this started."""
        self._gone: set[str] = set()
        """Shards found dead, or whose retained ``offline`` was taken as a will, and not seen
        alive since: their retained ``offline`` (again on every re-subscribe) is no new will."""

    def heard(self, status: ShardStatus, now_s: float, *, retained: bool = False) -> None:
        """A shard's status heard at ``now_s``; ``retained``: sent on subscribing (the
        broker's copy from before, not a live one)."""
        if status.shard_id == self.me:
            if status.state == "offline" and retained and not _bare_will(status):
                self.held_before = set(status.taken_over)
            if status.state != "offline":
                if self.own_heard_s is not None and now_s - self.own_heard_s > self.deaf_after_s:
                    self.not_listening(now_s)  # the others' silence meanwhile was ours
                self.own_heard_s = now_s
            return
        if status.state == "offline":
            if status.shard_id in self.seen_s:
                del self.seen_s[status.shard_id]
                self.wills_s[status.shard_id] = now_s
            elif (status.shard_id not in self._gone and status.shard_id not in self.wills_s
                  and self.run_id is not None and status.run_id == self.run_id):
                if retained:  # it died before this started
                    self._cold.add(status.shard_id)
                self._gone.add(status.shard_id)
                self.wills_s[status.shard_id] = now_s
            return
        self.wills_s.pop(status.shard_id, None)
        self._cold.discard(status.shard_id)
        self._gone.discard(status.shard_id)
        self.seen_s[status.shard_id] = now_s
        for shard in status.taken_over:  # already taken over by someone
            self.wills_s.pop(shard, None)

    def not_listening(self, now_s: float) -> None:
        """Cut off (or the broker stalled): nobody's status or will ages meanwhile."""
        for times_s in (self.seen_s, self.wills_s):
            for shard in times_s:
                times_s[shard] = now_s

    def newly_dead(self, now_s: float) -> set[str]:
        """Shards found dead since the last call (a will not taken back, or a status gone
        stale, each counted up to the last time this shard heard its own status)."""
        heard_to_s = now_s if self.own_heard_s is None else min(now_s, self.own_heard_s)
        found = {s for s, at in self.seen_s.items() if heard_to_s - at > self.stale_after_s}
        found |= {s for s, at in self.wills_s.items() if heard_to_s - at > self.will_grace_s}
        for shard in found:
            self.seen_s.pop(shard, None)
            self.wills_s.pop(shard, None)
        self._gone |= found
        held = self.held_before
        return {s for s in found if held is None or s in held or s not in self._cold}

    def alive(self) -> set[str]:
        """This shard and every other not yet found dead (a will alone is no death yet)."""
        return {*self.seen_s, *self.wills_s, self.me}


def shard_will(shard_id: str, run_id: str | None) -> ShardStatus:
    """A shard's last will: ``offline`` with its run and nothing else (what it held is
    unknown), set on its client when it connects."""
    return ShardStatus(shard_id=shard_id, state="offline", run_id=run_id)


def _bare_will(status: ShardStatus) -> bool:
    """A shard's last will (:func:`shard_will`), not the ``offline`` status it publishes when
    it stops (its full status)."""
    return status.model_dump() == shard_will(status.shard_id, status.run_id).model_dump()


def take_over_dead(watch: ShardWatch, shard: ShardRunner, now_s: float
                   ) -> list[tuple[str, int]]:
    """Take over (:meth:`ShardRunner.take_over`) the shards found dead by ``now_s`` that
    ``shard`` succeeds by its plan (as it stands after each takeover): per takeover, the dead
    shard and how many of its alerts continued with a track at once."""
    return [(dead, shard.take_over(dead)) for dead in sorted(watch.newly_dead(now_s))
            if successor(shard.plan, dead, watch.alive()) == shard.shard_id]
