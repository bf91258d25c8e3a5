"""Takeover and hand-back in sector-sharded fusion: a :class:`~perimeter.shard.ShardRunner`
taking over a dead shard's sectors, towers and open alerts (:func:`take_over`), giving them
back when it is back (:func:`hand_back`, :func:`back`), and its plan recomputed from every
takeover it made or heard of (:func:`replan`). Design: docs/scale.md, "Ownership: the rule"."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perimeter.shard import ShardRunner
    from perimeter.shard_match import OtherAlert

log = logging.getLogger("perimeter.shard")


def take_over(shard: ShardRunner, dead_shard: str) -> int:
    """Take over ``dead_shard``'s sectors and towers (this shard a standby or a neighbour)
    and its open alerts: each continues with the local track that matches it (no second
    ``new``), or waits, like a lost track's, to be reacquired; its tower faults continue.
    What the dead shard held for others (a chain of takeovers) comes with it, and this
    shard's status names them all. Returns how many alerts continued with a track at once."""
    chain = [s for s in shard._takers.get(dead_shard, ())
             if s != shard.shard_id and s not in shard.taken_over]
    shard.taken_over += [dead_shard, *chain]
    replan(shard)
    shard.active = True
    shard.counters["takeovers"] += 1
    health = shard.fusion.health
    health.watch(shard._own_towers(), shard.clock_s)
    gone = {dead_shard, *chain}
    alerts = [a for a in shard.others.values() if a.holder in gone]
    adopted = 0
    for alert in sorted(alerts, key=lambda a: a.alert_id):
        del shard.others[alert.alert_id]
        if alert.class_ != "tower_fault" and adopt_nearest(shard, alert):
            shard._mine.add(alert.alert_id)
            adopted += 1
        elif shard._resume(alert) and alert.class_ != "tower_fault":
            shard.counters["alerts_waiting"] += 1
    shard.counters["alerts_taken_over"] += adopted
    return adopted


def hand_back(shard: ShardRunner, shard_id: str) -> None:
    """``shard_id``, taken over by this shard, is back (restarted): its sectors and towers
    are its own again (:func:`replan`). Alerts of tracks in them are handed to it as they
    are next checked (:meth:`ShardRunner.keeps` no longer holds them)."""
    if shard_id not in shard.taken_over:
        return
    shard.taken_over.remove(shard_id)
    replan(shard)
    shard.counters["handed_back"] += 1
    log.warning("shard %s handed %s its sectors back (now %s)", shard.shard_id, shard_id,
                "active" if shard.active else "standby")


def back(shard: ShardRunner, shard_id: str) -> None:
    """``shard_id`` says it is live and active: no shard holds its sectors any more, by
    this shard's account, whoever took them (a chain too: its taker taken over in turn)."""
    stale = [taker for taker, deads in shard._takers.items() if shard_id in deads]
    for taker in stale:
        shard._takers[taker] = tuple(d for d in shard._takers[taker] if d != shard_id)
    if shard_id in shard.taken_over:
        hand_back(shard, shard_id)
    elif stale:
        replan(shard)
        shard.counters["plan_updates"] += 1


def replan(shard: ShardRunner) -> None:
    """The plan: the base plan with every takeover this shard made or heard of applied
    (a chain too), and the towers it is fed. Sectors given back: their towers' faults are
    dropped (their owner resumes them from the store), the alerts waiting there are handed
    on (:func:`release_waiting`), and a standby with none left is one again."""
    owned_before = set(shard.plan.owned(shard.shard_id))
    pairs = [(dead, shard.shard_id) for dead in shard.taken_over]
    pairs += [(dead, taker) for taker, deads in sorted(shard._takers.items())
              for dead in deads if dead != shard.shard_id]
    plan = shard.base_plan
    for _ in range(len(pairs) + 1):  # until nothing moves (each pass applies what it can)
        moved = False
        for dead, taker in pairs:
            if dead in plan.owners and dead != taker:
                plan = plan.reassign(dead, taker)
                moved = True
        if not moved:
            break
    shard.plan = plan
    shard.towers = plan.towers_for(shard.shard_id)
    if owned_before - set(plan.owned(shard.shard_id)):
        health = shard.fusion.health
        health.unwatch(health.watched - shard._own_towers())
        shard.active = bool(plan.owned(shard.shard_id))
        release_waiting(shard)


def release_waiting(shard: ShardRunner) -> None:
    """Alerts waiting here for a track whose last position this shard no longer owns go
    to the owner as a held one would (left here, they would close ``track_lost``). By the
    strict owner, not :meth:`keeps` (its hysteresis): the owner, restarted, resumes them
    from the store, so a copy kept here would be a second holder."""
    released = shard.fusion.alerter.release_dormant(
        lambda track: shard.owner_of(track) == shard.shard_id)
    for track, state in released:
        shard.released(track, track.state.t_s, state)
    shard.counters["waiting_handed_on"] += len(released)


def adopt_nearest(shard: ShardRunner, alert: OtherAlert) -> bool:
    """The nearest confirmed local track without an alert that matches ``alert``
    (position gate) continues it."""
    track = shard.nearest_free(lambda t: shard._distance_to(alert, t))
    return track is not None and shard.fusion.alerter.adopt(track, alert.state())
