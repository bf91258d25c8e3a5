"""Sharded fusion in process: handover at a sector boundary, one alert per intruder near a
boundary, and a shard taken over mid-stream by a standby or a neighbour.

The streams are simulated bearings (``tests/fusion/synth.py``: people walking on the
western-heights site, seen by every tower at 0.5 s with noise, misses and clutter); the shards
talk through an :class:`InMemoryBus` as they would through the broker.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pytest

from perimeter import topics
from perimeter.bus import InMemoryBus, Message
from perimeter.contract import AlertEvent, Handover, dump_payload, parse_payload
from perimeter.evaluation.run import fuse
from perimeter.fusion.alert_config import AlertConfig
from perimeter.sectors import SectorPlan, plan_sectors
from perimeter.shard import ShardRunner
from perimeter.shard_output import BusShardOutput
from perimeter.site import Site, TowerSpec, western_heights
from perimeter.store import AlertStore
from perimeter.thresholds import Thresholds
from services.shard_service import continue_held_alerts
from tests.fusion.synth import EPOCH_S, Target, generate, straight

SITE = western_heights()
PLAN = plan_sectors(SITE, 2, standby=1)  # s1: y < 0, s2: y > 0, s3 mirrors s1
BOUNDARY_Y_M = 0.0


@dataclass
class Cluster:
    """Shards on one in-memory bus; ``stop`` silences a shard as a crash would."""

    plan: SectorPlan
    site: Site = SITE
    bus: InMemoryBus = field(default_factory=InMemoryBus)
    shards: dict[str, ShardRunner] = field(default_factory=dict)
    dead: set[str] = field(default_factory=set)
    alerts: list[AlertEvent] = field(default_factory=list)
    handovers: list[Handover] = field(default_factory=list)
    run_id: str | None = None
    _announced: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for shard_id in self.plan.shards:
            self.shards[shard_id] = self._start(shard_id)
            self.bus.subscribe("#", self._deliver(shard_id))
        self.bus.subscribe(topics.ALERTS, lambda m: self.alerts.append(
            parse_payload(AlertEvent, m.payload)))
        self.bus.subscribe(topics.HANDOVER, lambda m: self.handovers.append(
            parse_payload(Handover, m.payload)))

    def _start(self, shard_id: str) -> ShardRunner:
        return ShardRunner(self.site, self.plan, shard_id, Thresholds(),
                           BusShardOutput(self.bus), active=shard_id in self.plan.active_shards,
                           run_id=self.run_id)

    def _deliver(self, shard_id: str):  # type: ignore[no-untyped-def]
        def handler(message: Message) -> None:
            if shard_id not in self.dead:
                shard = self.shards[shard_id]
                shard.feed(message)
                if (topics.parse_shard_status_topic(message.topic) is not None
                        and shard.taken_over != self._announced.get(shard_id, [])):
                    self.announce(shard)  # handed back: as ShardService publishes it at once
        return handler

    def announce(self, shard: ShardRunner) -> None:
        """The shard's status, delivered live (MQTT clears the retain flag of a live one)."""
        self._announced[shard.shard_id] = list(shard.taken_over)
        self.bus.publish(Message(topics.shard_status(shard.shard_id),
                                 dump_payload(shard.status())))

    def restart(self, shard_id: str) -> ShardRunner:
        """Start the dead shard again as run_shard does: from a store of every alert event so
        far (continue_held_alerts), then its status."""
        shard = self._start(shard_id)
        with AlertStore.open(":memory:") as store:
            for event in self.alerts:
                store.append(event)
            continue_held_alerts(shard, shard.output, store)
        self.shards[shard_id] = shard
        self.dead.discard(shard_id)
        self.announce(shard)
        return shard

    def run(self, messages: Sequence[Message], *, stop: str | None = None,
            stop_t_s: float = math.inf, take_over_by: str | None = None,
            take_over_after_s: float = 5.0, restart_t_s: float = math.inf) -> None:
        taken = restarted = False
        for message in messages:
            t_s = json.loads(message.payload)["t_s"]
            if stop is not None and t_s >= stop_t_s and stop not in self.dead and not restarted:
                self.dead.add(stop)  # no finish(): its open alerts stay open
            if (take_over_by is not None and not taken and stop in self.dead
                    and t_s >= stop_t_s + take_over_after_s):
                taker = self.shards[take_over_by]
                taker.take_over(stop)
                self.announce(taker)
                taken = True
            if stop is not None and taken and not restarted and t_s >= restart_t_s:
                self.restart(stop)
                restarted = True
            self.bus.publish(message)
        for shard_id, shard in self.shards.items():
            if shard_id not in self.dead:
                shard.finish()

    def new_alerts(self) -> list[AlertEvent]:
        return [a for a in self.alerts if a.event == "new" and a.class_ != "tower_fault"]

    def events_of(self, alert_id: str) -> list[AlertEvent]:
        return [a for a in self.alerts if a.alert_id == alert_id]


def walker(x_m: float, y_m: float, vx_mps: float, vy_mps: float) -> Target:
    return straight((x_m, y_m), (vx_mps, vy_mps), EPOCH_S + 5.0, EPOCH_S + 5000.0, size_m=0.75)


def stream(targets: list[Target], duration_s: float, seed: int) -> list[Message]:
    return generate(SITE, targets, duration_s, np.random.default_rng(seed))


def alerted_targets(alerts: list[AlertEvent], targets: list[Target]) -> list[int]:
    """Per ``new`` alert, the target it is on (its first position within 150 m), -1 for
    none (a false alert on the stream's clutter)."""
    out = []
    for alert in alerts:
        assert alert.position is not None
        dists = [math.hypot(alert.position.x_m - t.path(alert.t_s)[0],
                            alert.position.y_m - t.path(alert.t_s)[1]) for t in targets]
        out.append(int(np.argmin(dists)) if min(dists) < 150.0 else -1)
    return sorted(out)


def test_a_walker_crossing_a_boundary_keeps_one_alert_handed_over() -> None:
    messages = stream([walker(3000.0, -300.0, -0.3, 1.4)], 330.0, seed=3)
    single = fuse(SITE, Thresholds(), messages)
    assert len([a for a in single.alerts if a.event == "new"]) == 1
    cluster = Cluster(plan_sectors(SITE, 2))
    cluster.run(messages)
    new = cluster.new_alerts()
    assert len(new) == 1  # one alert for the one intruder, from the sector it was in
    alert_id = new[0].alert_id
    assert alert_id.startswith("a-s1-") and new[0].shard_id == "s1"
    assert new[0].position is not None and new[0].position.y_m < BOUNDARY_Y_M
    assert [(h.alert_id, h.from_shard, h.to_shard) for h in cluster.handovers] == [
        (alert_id, "s1", "s2")]
    handover = cluster.handovers[0]
    assert handover.position.y_m > BOUNDARY_Y_M + PLAN.hysteresis_m - 30.0
    events = cluster.events_of(alert_id)
    assert {a.alert_id for a in cluster.alerts} == {alert_id}
    by_s1 = [a for a in events if a.shard_id == "s1"]
    by_s2 = [a for a in events if a.shard_id == "s2"]
    # s1 updates it until the handover, s2 from then on, under the same id
    assert by_s1 and by_s2 and max(a.t_s for a in by_s1) <= handover.t_s <= by_s2[0].t_s
    assert all(a.event == "update" for a in by_s2[:-1]) and by_s2[-1].event == "closed"
    assert by_s2[0].t_s - handover.t_s <= 6.0
    assert all(a.position is not None and a.position.y_m > BOUNDARY_Y_M for a in by_s2)
    assert by_s2[-1].origin == new[0].origin or by_s2[-1].origin == by_s1[-1].origin
    assert cluster.shards["s2"].counters["handovers_adopted"] == 1


@pytest.mark.parametrize(("y_m", "owner"), [(-100.0, "s1"), (-20.0, "s1"), (20.0, "s1"),
                                            (120.0, "s2")])
def test_two_shards_seeing_one_intruder_near_a_boundary_raise_one_alert(
        y_m: float, owner: str) -> None:
    # both shards are fed every tower and both track the walker; it walks along the boundary
    messages = stream([walker(3500.0, y_m, -1.4, 0.0)], 150.0, seed=5)
    cluster = Cluster(plan_sectors(SITE, 2))
    cluster.run(messages)
    for shard in cluster.shards.values():
        assert shard.counters["tracks_confirmed"] >= 1
    new = cluster.new_alerts()
    assert [(a.shard_id, a.alert_id.split("-")[1]) for a in new] == [(owner, owner)]
    assert {a.alert_id for a in cluster.alerts} == {new[0].alert_id}


TARGETS = [walker(3500.0, -1500.0, -1.4, 0.0),   # in s1's sector all along
           walker(3000.0, -300.0, -0.3, 1.4),    # crosses into s2's at ~255 s
           walker(3500.0, 1500.0, -1.2, -0.3),   # in s2's sector
           walker(3400.0, 300.0, -0.2, -1.4)]    # crosses into s1's at ~255 s


@pytest.mark.parametrize("taker", ["s3", "s2"])
def test_a_dead_shard_is_taken_over_without_loss_or_duplicate(taker: str) -> None:
    messages = stream(TARGETS, 330.0, seed=7)
    fault_free = Cluster(PLAN)
    fault_free.run(messages)
    reference = fault_free.new_alerts()
    # every alert, false ones included: the shards together raise what one runner raises
    single = [a for a in fuse(SITE, Thresholds(), messages).alerts if a.event == "new"]
    assert alerted_targets(reference, TARGETS) == alerted_targets(single, TARGETS)
    assert sorted(set(alerted_targets(reference, TARGETS)) - {-1}) == [0, 1, 2, 3]

    cluster = Cluster(PLAN)
    stop_t_s = EPOCH_S + 150.0  # s1 dies with two open alerts, one about to cross
    cluster.run(messages, stop="s1", stop_t_s=stop_t_s, take_over_by=taker)
    new = cluster.new_alerts()
    assert alerted_targets(new, TARGETS) == alerted_targets(reference, TARGETS)
    assert len(new) == len(reference)
    # no tower fault either (every tower reports all along; new_alerts leaves faults out)
    assert [a for a in [*single, *fault_free.alerts, *cluster.alerts]
            if a.class_ == "tower_fault"] == []
    # the dead shard's alerts go on, under their ids, from the shard that took over
    dead = {a.alert_id for a in new if a.shard_id == "s1"}
    assert len(dead) == 2
    for alert_id in dead:
        after = [a for a in cluster.events_of(alert_id) if a.t_s > stop_t_s]
        assert after and after[0].shard_id == taker and after[0].event == "update"
        assert after[-1].event == "closed" and after[-1].reason == "stream_end"
    assert cluster.shards[taker].counters["alerts_taken_over"] == 2
    # the crossing walker's alert still moves on to s2 (when s3 holds it)
    crossing = next(a for a in new if alerted_targets([a], TARGETS) == [1]).alert_id
    assert cluster.events_of(crossing)[-1].shard_id == "s2"
    # and the one crossing the other way after the takeover goes to the taker, not to s1
    inbound = next(a for a in new if alerted_targets([a], TARGETS) == [3]).alert_id
    assert [(h.from_shard, h.to_shard) for h in cluster.handovers
            if h.alert_id == inbound] == [("s2", taker)] * (taker != "s2")
    assert cluster.events_of(inbound)[-1].shard_id == taker
    assert cluster.shards[taker].status().sectors == ([0, 1] if taker == "s2" else [0])
    assert cluster.shards[taker].status().taken_over == ["s1"]


@pytest.mark.parametrize("taker", ["s3", "s2"])
def test_a_restarted_shard_gets_its_sectors_and_alerts_back_from_its_taker(taker: str) -> None:
    messages = stream(TARGETS, 330.0, seed=7)
    fault_free = Cluster(PLAN, run_id="r1")
    fault_free.run(messages)
    reference = fault_free.new_alerts()

    cluster = Cluster(PLAN, run_id="r1")
    stop_t_s, restart_t_s = EPOCH_S + 150.0, EPOCH_S + 200.0
    cluster.run(messages, stop="s1", stop_t_s=stop_t_s, take_over_by=taker,
                restart_t_s=restart_t_s)
    new = cluster.new_alerts()
    assert alerted_targets(new, TARGETS) == alerted_targets(reference, TARGETS)
    assert len(new) == len(reference)  # no second new: not from the taker, not from s1 back
    s1, back = cluster.shards["s1"], cluster.shards[taker]
    assert back.counters["handed_back"] == 1 and back.taken_over == []
    assert back.status().sectors == list(PLAN.owned(taker))
    assert back.status().state == ("standby" if taker == "s3" else "active")
    assert back.plan == PLAN and s1.plan == PLAN
    assert cluster.shards["s2"].plan == PLAN, "the other shards' plans are whole again"
    # the alert of the walker in s1's sector all along: s1, the taker, then s1 again
    stays = next(a for a in new if alerted_targets([a], TARGETS) == [0]).alert_id
    holders = [shard for shard, _ in itertools.groupby(a.shard_id for a in
                                                        cluster.events_of(stays))]
    assert holders == ["s1", taker, "s1"]
    assert [(h.from_shard, h.to_shard) for h in cluster.handovers if h.alert_id == stays
            and h.t_s >= restart_t_s] == [(taker, "s1")]
    # and the walker crossing into s1's sector after the restart goes to s1 itself
    inbound = next(a for a in new if alerted_targets([a], TARGETS) == [3]).alert_id
    assert cluster.events_of(inbound)[-1].shard_id == "s1"


def test_a_neighbour_not_fed_the_dead_shards_towers_picks_its_alert_up_cold() -> None:
    # 20 towers along 10 km, views of 2 km: s2 hears nothing of a walker deep in s1's sector
    towers = [TowerSpec(id=f"L{i:02d}", x_m=0.0, y_m=250.0 + 500.0 * i) for i in range(20)]
    site = Site(name="line", towers=towers, perimeter=[(1000.0, 0.0), (1000.0, 10_000.0)])
    plan = plan_sectors(site, 2, view_range_m=2000.0, margin_m=500.0)
    target = straight((1900.0, 600.0), (-1.0, 0.5), EPOCH_S + 5.0, EPOCH_S + 5000.0,
                      size_m=0.75)
    seen_by = {t.id for t in towers
               if math.hypot(1900.0 - t.x_m, 700.0 - t.y_m) < 2000.0}
    assert seen_by and not seen_by & plan.towers_for("s2")
    messages = generate(site, [target], 250.0, np.random.default_rng(9), max_range_m=2000.0)
    cluster = Cluster(plan, site=site)
    stop_t_s = EPOCH_S + 120.0
    cluster.run(messages, stop="s1", stop_t_s=stop_t_s, take_over_by="s2")
    new = cluster.new_alerts()
    assert len(new) == 1 and new[0].shard_id == "s1"
    s2 = cluster.shards["s2"]
    assert s2.counters["alerts_waiting"] == 1  # no track of it at the takeover: it waits
    after = [a for a in cluster.events_of(new[0].alert_id) if a.t_s > stop_t_s]
    assert after[0].shard_id == "s2" and after[0].event == "update"
    # picked up before it would close as lost, once the walker's new track is as settled a
    # person as raising an alert needs (animal <= 15 %: about 126 s here, from 32 s)
    assert after[0].t_s - stop_t_s < AlertConfig().reacquire_s
    assert after[-1].reason == "stream_end"
    assert s2.towers == frozenset(t.id for t in towers)


def test_a_restarted_shard_continues_the_open_alerts_it_held_from_the_store() -> None:
    messages = stream([walker(3000.0, -1200.0, -0.3, 1.4)], 200.0, seed=3)
    cut_t_s = EPOCH_S + 120.0
    first = Cluster(plan_sectors(SITE, 2), run_id="r1")
    first.run([m for m in messages if json.loads(m.payload)["t_s"] < cut_t_s], stop="s1",
              stop_t_s=cut_t_s - 0.5)
    (alert,) = first.new_alerts()
    last = first.events_of(alert.alert_id)[-1]
    assert last.event == "update"  # left open by the stop
    earlier = last.model_copy(update={"alert_id": "a-s1-000077", "run_id": "r0"})
    elsewhere = last.model_copy(update={"alert_id": "a-s2-000009", "shard_id": "s2"})
    with AlertStore.open(":memory:") as store:
        for event in [*first.alerts, earlier, elsewhere]:
            store.append(event)
        # s1 restarted with the same run, as run_shard builds it
        second = Cluster(plan_sectors(SITE, 2), run_id="r1")
        s1 = second.shards["s1"]
        assert continue_held_alerts(s1, s1.output, store) == 1
    assert s1.counters["alerts_superseded"] == 1  # the earlier run's, not s2's
    assert [(a.alert_id, a.reason) for a in second.alerts] == [("a-s1-000077", "superseded")]
    second.run([m for m in messages if json.loads(m.payload)["t_s"] >= cut_t_s])
    assert second.new_alerts() == []
    events = second.events_of(alert.alert_id)
    assert events and events[0].event == "update" and events[0].shard_id == "s1"
    assert events[-1].reason == "stream_end"
