"""Sharded fusion on a real 3-node NATS cluster: a car driving across the boundary of two
shards' sectors gets one alert whose track the second shard continues; killing a shard
(its standby takes over; started again, it gets its sectors and the car's alert back) or the
broker node of a shard and of a third of the towers (every client reconnects to another node)
loses no alert and raises none twice, against the same recording fused without faults."""

from __future__ import annotations

import itertools

import pytest

from perimeter.contract import AlertEvent
from perimeter.sectors import SectorPlan, plan_sectors
from services.nats_cluster import NatsCluster
from sim.scenario import Scenario
from tests.reliability.live import LiveTowers
from tests.reliability.streams import simulate
from tests.scale.harness import (
    AlertsRecorder,
    LiveShard,
    crossing_along_spec,
    new_alerts,
    reference_alerts,
    unrecovered_faults,
)
from tests.services.mqtt_helpers import subscriptions_active, wait_until

pytestmark = pytest.mark.integration

SPEED = 5.0
NODE_KILL_SPEED = 2.0
"""A node's death stalls every QoS 1 message for 5-10 s of wall time (docs/scale.md): at 5x
that is 25-50 s of data, with a third of the towers then that far behind the rest, more than
fusion's tracks outlast; at 2x, 10-20 s."""
DURATION_S = 100.0
RESTART_DURATION_S = 150.0


def run_live(cluster: NatsCluster, scenario: Scenario, plan: SectorPlan, *,
             kill_shard: str | None = None, kill_node: int | None = None, speed: float = SPEED,
             restart: bool = False
             ) -> tuple[list[AlertEvent], dict[str, LiveShard], AlertsRecorder]:
    """The shards (shard i starting on node i mod 3) and towers on the cluster; ``kill_*``
    once the car's alert is open, while the car is still in the first shard's sectors;
    ``restart``: the killed shard started again once taken over."""
    recorder = AlertsRecorder(cluster.urls, 2).start()
    assert subscriptions_active(recorder.bus)
    shards = {shard_id: LiveShard(cluster.urls, i, scenario, plan, shard_id,
                                  standby=shard_id not in plan.active_shards).start()
              for i, shard_id in enumerate(plan.shards)}
    for shard in shards.values():
        assert subscriptions_active(shard.bus)
        assert subscriptions_active(shard.bus.towers)
    towers = LiveTowers(",".join(cluster.urls), scenario, speed).start()
    duration_s = scenario.duration_s
    if kill_shard is not None or kill_node is not None:
        assert wait_until(lambda: any(e.event == "new" for e in recorder.snapshot()),
                          duration_s / speed + 30.0), "the car's alert, before the fault"
        if kill_shard is not None:
            shards[kill_shard].kill()
        if kill_node is not None:
            cluster.kill(kill_node)
    if restart and kill_shard is not None:
        assert wait_until(lambda: any(s.counters.get("takeovers", 0) for s in shards.values()),
                          30.0), "taken over before the restart"
        killed = shards[kill_shard]
        shards[kill_shard] = LiveShard(cluster.urls, plan.shards.index(kill_shard), scenario,
                                       plan, kill_shard).start()
        killed.bus.close(0.1)
        kill_shard = None
    assert towers.join(duration_s / speed + 90.0), "towers did not finish"
    live = {i: s for i, s in shards.items() if i != kill_shard}
    for shard in live.values():
        assert shard.service.wait_idle(60.0)
    wait_until(lambda: len(recorder.snapshot()) >= sum(len(s.alerts) for s in live.values()),
               20.0)
    events = recorder.snapshot()  # before the shards stop (a stopped shard is taken over)
    for shard in shards.values():
        shard.taken_over = shard.counters.get("takeovers", 0)
    for shard in reversed(live.values()):
        shard.stop()
    recorder.bus.close()
    return events, shards, recorder


def recorded(duration_s: float, start_y_m: float
             ) -> tuple[Scenario, SectorPlan, list[AlertEvent]]:
    scenario, messages = simulate(crossing_along_spec(duration_s, start_y_m))
    plan = plan_sectors(scenario.site_model, 2, standby=1)  # s3 mirrors s1
    return scenario, plan, reference_alerts(scenario, plan, messages)


@pytest.fixture(scope="module")
def recording() -> tuple[Scenario, SectorPlan, list[AlertEvent]]:
    return recorded(DURATION_S, -500.0)


@pytest.fixture(scope="module")
def long_recording() -> tuple[Scenario, SectorPlan, list[AlertEvent]]:
    """The car 1 km farther back (y = 0 about 127 s in): still in s1's sectors when s1,
    killed once its alert is open, is back after the takeover."""
    return recorded(RESTART_DURATION_S, -1500.0)


def the_car_alert(events: list[AlertEvent]) -> str:
    raised = [e.alert_id for e in events if e.event == "new" and e.class_ != "tower_fault"]
    assert len(raised) == 1, f"one alert for the one car, got {raised}"
    return raised[0]


def test_a_car_across_a_boundary_gets_one_alert_that_the_next_shard_continues(
        nats_cluster: NatsCluster, recording: tuple[Scenario, SectorPlan, list[AlertEvent]]
) -> None:
    scenario, plan, reference = recording
    events, _, recorder = run_live(nats_cluster, scenario, plan)
    alert_id = the_car_alert(events)
    holders = [e.shard_id for e in events if e.alert_id == alert_id]
    assert holders[0] == "s1" and "s2" in holders, f"handed over from s1 to s2: {holders}"
    assert recorder.handovers
    assert new_alerts(events) == new_alerts(reference)


def test_a_shard_killed_mid_run_is_taken_over_without_a_lost_or_second_alert(
        nats_cluster: NatsCluster, recording: tuple[Scenario, SectorPlan, list[AlertEvent]]
) -> None:
    scenario, plan, reference = recording
    events, shards, _ = run_live(nats_cluster, scenario, plan, kill_shard="s1")
    alert_id = the_car_alert(events)
    assert shards["s3"].taken_over == 1, "the standby took over s1"
    after = [e for e in events if e.alert_id == alert_id and e.shard_id != "s1"]
    assert after, "the alert continued after s1 died"
    assert new_alerts(events) == new_alerts(reference)


def test_a_killed_shard_started_again_gets_its_sectors_back_from_its_standby(
        nats_cluster: NatsCluster,
        long_recording: tuple[Scenario, SectorPlan, list[AlertEvent]]) -> None:
    scenario, plan, reference = long_recording
    events, shards, recorder = run_live(nats_cluster, scenario, plan, kill_shard="s1",
                                        restart=True)
    alert_id = the_car_alert(events)
    standby = shards["s3"]
    assert standby.taken_over == 1 and standby.counters["handed_back"] == 1
    assert standby.service.shard.status().state == "standby"
    for shard in shards.values():
        assert shard.service.shard.plan == plan, f"{shard.service.shard.shard_id}'s plan"
    # the car's alert: s1's, the standby's after the kill (it may hold it without an event
    # before it hands it back), s1's again once it is back (a handover from s3, the car still
    # in s1's sectors), then s2's past the boundary
    handed = [h for h, _ in itertools.groupby(  # (a QoS 1 copy sent again is one)
        (h.from_shard, h.to_shard, h.t_s) for h in recorder.handovers if h.alert_id == alert_id)]
    assert [(f, t) for f, t, _ in handed] == [("s3", "s1"), ("s1", "s2")], handed
    back_t_s, on_t_s = handed[0][2], handed[1][2]
    by = [(e.shard_id, e.t_s) for e in events if e.alert_id == alert_id]
    assert by[0][0] == "s1" and by[-1][0] == "s2"
    assert all(t_s <= back_t_s for s, t_s in by if s == "s3")
    assert any(back_t_s <= t_s <= on_t_s for s, t_s in by if s == "s1"), "s1 continued it"
    assert all(t_s >= on_t_s for s, t_s in by if s == "s2")
    assert new_alerts(events) == new_alerts(reference)


def test_a_broker_node_killed_mid_run_loses_no_alert_and_repeats_none(
        nats_cluster: NatsCluster, recording: tuple[Scenario, SectorPlan, list[AlertEvent]]
) -> None:
    scenario, plan, reference = recording
    events, shards, _ = run_live(nats_cluster, scenario, plan, kill_node=0,  # s1's node
                                 speed=NODE_KILL_SPEED)
    the_car_alert(events)
    assert shards["s1"].bus.counters["connects"] >= 2, "s1 reconnected to another node"
    assert all(s.taken_over == 0 for s in shards.values()), \
        "a broker node's death is no shard's death"
    assert new_alerts(events) == new_alerts(reference)
    stopping_s = scenario.epoch_s + DURATION_S - 5.0  # the towers' own stop: their wills
    assert not unrecovered_faults(events, stopping_s), \
        "a tower fault of the node's death (a will fired, or silence) closes once it is back"
