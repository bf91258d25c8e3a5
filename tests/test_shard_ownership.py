"""Who owns a sector after takeovers, restarts and returns (docs/scale.md, "Ownership").

The rule: a shard owns its own sectors while it lives; a dead shard's sectors, with every
sector it held for others, go to its successor (:func:`services.shard_watch.successor`), whose
status lists them all; a shard back (its live ``active`` status) gets its own sectors back from
whoever holds them, down a chain of takeovers too; a shard starting cold takes the retained
``offline`` status of a shard of its run that its own previous process held (after a crash,
any) as a will, once, so a shard left dead is taken over again.
Every live shard's plan must end the same, with one live owner per sector.

In process (an :class:`InMemoryBus`), with the service's watch driven by explicit times.
"""

from __future__ import annotations

import itertools
import json

import numpy as np

from perimeter import topics
from perimeter.bus import Message
from perimeter.contract import Position, ShardStatus, dump_payload, parse_payload
from perimeter.fusion.alert_config import AlertConfig
from perimeter.sectors import SectorPlan, plan_sectors
from perimeter.shard import ShardRunner
from perimeter.shard_match import OtherAlert
from perimeter.site import Site, TowerSpec
from services.shard_watch import ShardWatch, shard_will, take_over_dead
from tests.fusion.synth import EPOCH_S, generate, straight
from tests.test_shard import SITE, Cluster

RUN = "r1"


def owners_in_every_plan(cluster: Cluster) -> list[str]:
    """The owners of each sector, asserted the same in every live shard's plan and alive."""
    live = {s: shard for s, shard in cluster.shards.items() if s not in cluster.dead}
    plans = {s: shard.plan.owners for s, shard in live.items()}
    first = next(iter(plans.values()))
    assert all(owners == first for owners in plans.values()), f"plans disagree: {plans}"
    assert set(first) <= set(live), f"a sector owned by a dead shard: {first}"
    return first


def die(cluster: Cluster, shard_id: str) -> None:
    """The shard stops; its last will (retained, ``offline``) replaces its status."""
    cluster.dead.add(shard_id)
    cluster.bus.publish(offline(shard_id))


def offline(shard_id: str) -> Message:
    return Message(topics.shard_status(shard_id), dump_payload(shard_will(shard_id, RUN)),
                   retain=True)


def retained(cluster: Cluster) -> list[Message]:
    """The statuses a new subscriber gets (retain flag set): the live shards' latest, the dead
    ones' will."""
    return [offline(s) if s in cluster.dead else
            Message(topics.shard_status(s), dump_payload(shard.status()), retain=True)
            for s, shard in cluster.shards.items()]


def cold_start(cluster: Cluster, shard_id: str) -> ShardRunner:
    """A new process of ``shard_id`` (nothing held): it hears the retained statuses, then
    says it is live."""
    shard = cluster._start(shard_id)
    for message in retained(cluster):
        shard.feed(message)
    cluster.shards[shard_id] = shard
    cluster.dead.discard(shard_id)
    cluster.announce(shard)
    return shard


def test_a_shard_back_after_a_chain_of_takeovers_has_its_sectors_and_one_owner_each() -> None:
    plan = plan_sectors(SITE, 3)  # s1, s2, s3: sectors 0, 1, 2
    cluster = Cluster(plan, run_id=RUN)
    die(cluster, "s1")
    cluster.shards["s2"].take_over("s1")  # B takes A
    cluster.announce(cluster.shards["s2"])
    die(cluster, "s2")
    s3 = cluster.shards["s3"]
    s3.take_over("s2")  # C takes B, and with it A's sectors
    cluster.announce(s3)
    assert owners_in_every_plan(cluster) == ["s3", "s3", "s3"]
    assert s3.status().taken_over == ["s2", "s1"], "its status names every sector it holds"

    cluster.restart("s1")  # A is back
    assert owners_in_every_plan(cluster) == ["s1", "s3", "s3"]
    assert s3.counters["handed_back"] == 1
    s1_towers = {t.id for t in SITE.towers if plan.sector_of(t.x_m, t.y_m) == 0}
    assert not s1_towers & s3.fusion.health.watched, "s1's towers are s1's to watch again"
    cluster.restart("s2")  # and B
    assert owners_in_every_plan(cluster) == plan.owners
    assert all(shard.plan == plan for shard in cluster.shards.values())
    assert s3.status().taken_over == []


def test_a_shard_starting_cold_during_a_chain_of_takeovers_sees_who_holds_what() -> None:
    plan = plan_sectors(SITE, 4)
    cluster = Cluster(plan, run_id=RUN)
    die(cluster, "s1")
    cluster.shards["s2"].take_over("s1")
    cluster.announce(cluster.shards["s2"])
    die(cluster, "s2")
    cluster.shards["s3"].take_over("s2")
    cluster.announce(cluster.shards["s3"])
    die(cluster, "s4")
    cold_start(cluster, "s4")  # restarted: it knows only the retained statuses
    assert owners_in_every_plan(cluster) == ["s3", "s3", "s3", "s4"]


class Watched:
    """A shard with the service's watch (:class:`ShardWatch`), driven with explicit times:
    what :class:`services.shard_service.ShardService` does, without threads or a broker."""

    def __init__(self, cluster: Cluster, shard_id: str, now_s: float = 0.0) -> None:
        self.cluster, self.shard = cluster, cluster.shards[shard_id]
        self.watch = ShardWatch(shard_id, will_grace_s=6.0, run_id=RUN)
        self.now_s = now_s
        cluster.bus.subscribe(topics.SHARD_STATUS_WILDCARD, self.heard)

    def heard(self, message: Message) -> None:
        if self.shard.shard_id not in self.cluster.dead:
            self.watch.heard(parse_payload(ShardStatus, message.payload), self.now_s,
                               retained=message.retain)

    def tick(self, now_s: float) -> None:
        self.now_s = now_s
        if self.shard.shard_id in self.cluster.dead:
            return
        self.cluster.announce(self.shard)  # its status every 2 s (its own: it is listening)
        if take_over_dead(self.watch, self.shard, now_s):
            self.cluster.announce(self.shard)


def test_a_taker_restarted_cold_takes_a_shard_left_dead_over_again() -> None:
    plan = plan_sectors(SITE, 2, standby=1)  # s3 mirrors s1
    cluster = Cluster(plan, run_id=RUN)
    watched = {s: Watched(cluster, s) for s in plan.shards}
    for now_s in (0.0, 2.0):
        for w in watched.values():
            w.tick(now_s)
    die(cluster, "s1")  # for good: its restarts are spent
    for now_s in np.arange(4.0, 20.0, 2.0):
        for w in watched.values():
            w.tick(now_s)
    assert cluster.shards["s3"].taken_over == ["s1"]
    assert owners_in_every_plan(cluster) == ["s3", "s2"]

    die(cluster, "s3")  # the taker dies and is restarted at once, cold (a standby again)
    s3 = cold_start(cluster, "s3")
    watched["s3"] = Watched(cluster, "s3", now_s=20.0)
    for message in retained(cluster):  # the new process's watch hears them too
        watched["s3"].heard(message)
    for now_s in np.arange(20.0, 40.0, 2.0):
        for w in watched.values():
            w.tick(now_s)
    assert s3.taken_over == ["s1"], "s1's sectors are taken over again"
    assert owners_in_every_plan(cluster) == ["s3", "s2"]


def test_an_alert_waiting_in_a_taker_goes_back_with_its_sector_and_is_not_closed_twice(
) -> None:
    # 20 towers along 10 km, views of 2 km: s2 hears nothing of a walker deep in s1's sector
    towers = [TowerSpec(id=f"L{i:02d}", x_m=0.0, y_m=250.0 + 500.0 * i) for i in range(20)]
    site = Site(name="line", towers=towers, perimeter=[(1000.0, 0.0), (1000.0, 10_000.0)])
    plan: SectorPlan = plan_sectors(site, 2, view_range_m=2000.0, margin_m=500.0)
    target = straight((1900.0, 600.0), (-1.0, 0.5), EPOCH_S + 5.0, EPOCH_S + 5000.0,
                      size_m=0.75)
    messages = generate(site, [target], 480.0, np.random.default_rng(9), max_range_m=2000.0)
    cluster = Cluster(plan, site=site, run_id=RUN)
    stop_t_s = EPOCH_S + 120.0
    # s2 takes over 5 s after s1 stops; s1 is back 10 s later, before s2 has a track of it
    cluster.run(messages, stop="s1", stop_t_s=stop_t_s, take_over_by="s2",
                restart_t_s=stop_t_s + 15.0)
    (new,) = cluster.new_alerts()
    s1, s2 = cluster.shards["s1"], cluster.shards["s2"]
    assert s2.counters["alerts_waiting"] == 1 and s2.counters["handed_back"] == 1
    events = cluster.events_of(new.alert_id)
    after = [e for e in events if e.t_s > stop_t_s]
    speakers = [(e.shard_id, e.event, e.reason) for e in after if e.shard_id != "s1"]
    assert after and not speakers, f"only s1 speaks for it after the restart: {speakers}"
    closed = [e for e in events if e.event == "closed"]
    assert [(e.shard_id, e.reason) for e in closed] == [("s1", "stream_end")]
    assert s1.counters["alerts_resumed"] >= 1
    # the stream outlasts the taker's wait for a track (reacquire_s after the alert's last event)
    end_t_s = json.loads(messages[-1].payload)["t_s"]
    last_s1_t_s = max(e.t_s for e in events if e.t_s <= stop_t_s)
    assert end_t_s > last_s1_t_s + AlertConfig().reacquire_s


def stopped(shard_id: str, taken_over: list[str]) -> ShardStatus:
    """The full ``offline`` status a shard publishes when it stops (not its bare will)."""
    return ShardStatus(shard_id=shard_id, state="offline", sectors=[0], towers=3,
                       taken_over=taken_over, t_s=EPOCH_S, run_id=RUN)


def test_a_cluster_restarted_with_its_run_id_takes_no_slow_shard_over() -> None:
    # s1 and s2 stopped cleanly; s1's new process hears both retained offlines, s2 is slow
    watch = ShardWatch("s1", will_grace_s=6.0, run_id=RUN)
    watch.heard(stopped("s2", []), 0.0, retained=True)
    watch.heard(stopped("s1", []), 0.0, retained=True)  # its own: it held nobody's sectors
    assert not watch.newly_dead(20.0), "a shard slow to start is not dead"
    # what it held before it stopped it takes over again (the shard left dead)
    watch = ShardWatch("s1", will_grace_s=6.0, run_id=RUN)
    watch.heard(stopped("s1", ["s2"]), 0.0, retained=True)
    watch.heard(stopped("s2", []), 0.0, retained=True)
    assert watch.newly_dead(20.0) == {"s2"}


def test_a_retained_offline_heard_again_on_a_reconnect_is_no_second_death() -> None:
    watch = ShardWatch("s1", will_grace_s=6.0, run_id=RUN)
    watch.heard(shard_will("s2", RUN), 0.0, retained=True)
    assert watch.newly_dead(7.0) == {"s2"}  # its own previous status unknown: taken over
    watch.heard(shard_will("s2", RUN), 10.0, retained=True)
    assert not watch.newly_dead(20.0), "the re-subscribe's copy is the same death"


def point_at_arc(plan: SectorPlan, site: Site, arc_m: float) -> tuple[float, float]:
    """A point on the perimeter within 1 m of arc position ``arc_m``."""
    ring = [*site.perimeter, site.perimeter[0]]
    for (x0, y0), (x1, y1) in itertools.pairwise(ring):
        for f in np.linspace(0.0, 1.0, 2000):
            x, y = x0 + f * (x1 - x0), y0 + f * (y1 - y0)
            if abs(plan.arc_m(x, y) - arc_m) < 1.0:
                return x, y
    raise AssertionError(f"no point at arc {arc_m} m")


def test_a_waiting_alert_in_a_sector_given_back_goes_back_even_within_the_hysteresis() -> None:
    plan = plan_sectors(SITE, 2)
    cluster = Cluster(plan, run_id=RUN)
    s2 = cluster.shards["s2"]
    arc_m = plan.boundaries_m[1] - plan.hysteresis_m / 2  # s1's sector, s2's hysteresis
    x, y = point_at_arc(plan, SITE, arc_m)
    assert plan.owner_at(plan.arc_m(x, y)) == "s1" and plan.holds("s2", plan.arc_m(x, y))
    s2.others["a-s1-1"] = OtherAlert("a-s1-1", "s1", EPOCH_S, "person", "high",
                                     Position(x_m=x, y_m=y), None)
    die(cluster, "s1")
    assert s2.take_over("s1") == 0 and s2.counters["alerts_waiting"] == 1
    s2.hand_back("s1")  # s1 restarted resumes it from the store: s2 must not keep a copy
    assert s2.counters["waiting_handed_on"] == 1
    assert [h.to_shard for h in cluster.handovers] == ["s1"]
