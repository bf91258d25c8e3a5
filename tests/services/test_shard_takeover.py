"""Who takes over a dead shard, and when a shard counts as dead: its ``offline`` status (its
last will), or a status gone stale while the broker was moving messages; and the broker
probe that tells a stalled cluster from silent peers."""

from __future__ import annotations

from perimeter.bus import InMemoryBus, Message
from perimeter.contract import ShardStatus
from perimeter.sectors import plan_sectors
from perimeter.site import Site, TowerSpec
from services.broker_probe import BrokerProbe
from services.shard_watch import ShardWatch, shard_will, successor


def line_site(n_towers: int = 40, spacing_m: float = 1000.0) -> Site:
    towers = [TowerSpec(id=f"G{i:03d}", x_m=0.0, y_m=spacing_m * (i + 0.5))
              for i in range(n_towers)]
    return Site(name="line", towers=towers,
                perimeter=[(1000.0, 0.0), (1000.0, spacing_m * n_towers)])


def status(shard: str, state: str = "active", taken_over: list[str] | None = None) -> ShardStatus:
    return ShardStatus(shard_id=shard, state=state, taken_over=taken_over or [])


def test_the_standby_of_a_dead_shard_takes_over_else_the_nearest_neighbour() -> None:
    plan = plan_sectors(line_site(), 4, standby=1)  # s5 mirrors s1
    assert successor(plan, "s1", {"s2", "s3", "s4", "s5"}) == "s5"
    assert successor(plan, "s1", {"s2", "s3", "s4"}) == "s2", "no standby left"
    assert successor(plan, "s3", {"s1", "s2", "s4", "s5"}) == "s2", "the lower on a tie"
    assert successor(plan, "s3", {"s4", "s5"}) == "s4"
    assert successor(plan, "s3", set()) is None


def test_a_shard_is_dead_on_its_will_or_when_its_status_goes_stale() -> None:
    watch = ShardWatch("s2", stale_after_s=10.0, will_grace_s=3.0)
    watch.heard(status("s1"), 0.0)
    watch.heard(status("s3"), 0.0)
    watch.heard(status("s1", "offline"), 1.0)  # s1's will
    assert watch.newly_dead(3.5) == set(), "a will is taken back by a reconnect in its grace"
    assert watch.alive() == {"s1", "s2", "s3"}
    assert watch.newly_dead(4.5) == {"s1"}
    assert watch.newly_dead(5.0) == set(), "found once"
    watch.not_listening(9.0)  # a stalled broker: s3's silence is not s3's
    assert watch.newly_dead(18.0) == set()
    assert watch.newly_dead(19.5) == {"s3"}
    assert watch.alive() == {"s2"}


def test_a_will_fired_while_the_shard_lives_is_taken_back_by_its_next_status() -> None:
    watch = ShardWatch("s1", will_grace_s=6.0)
    watch.heard(status("s2"), 0.0)
    watch.heard(status("s2", "offline"), 1.0)  # a dying broker node fired s2's will
    watch.heard(status("s2"), 4.0)  # s2 reconnected to another node and says so
    assert watch.newly_dead(15.0) == set(), "past the will's grace, within its status's"
    assert watch.alive() == {"s1", "s2"}


def test_statuses_age_only_while_the_watcher_hears_its_own() -> None:
    watch = ShardWatch("s2", stale_after_s=10.0)
    watch.heard(status("s2"), 0.0)
    watch.heard(status("s1"), 0.0)
    watch.heard(status("s2"), 5.0)  # then its own stop coming back: the statuses' stall
    assert watch.newly_dead(30.0) == set(), "s1's silence is the watcher's"
    watch.heard(status("s2"), 10.5)
    assert watch.newly_dead(30.0) == {"s1"}, "heard its own, not s1's, for more than 10 s"


def test_a_gap_in_its_own_statuses_restarts_the_others_clocks() -> None:
    watch = ShardWatch("s1", stale_after_s=12.0, deaf_after_s=6.0)
    watch.heard(status("s1"), 0.0)
    watch.heard(status("s2"), 1.0)
    watch.heard(status("s1"), 2.0)
    watch.heard(status("s1"), 20.0)  # reconnected to another node: its re-announced status
    assert watch.newly_dead(20.5) == set(), "s2's status may still be held by the cluster"
    for now_s in (22.0, 24.0, 26.0, 28.0, 30.0):  # its own, every 2 s: listening
        watch.heard(status("s1"), now_s)
    assert watch.newly_dead(31.0) == set()
    watch.heard(status("s1"), 32.5)
    assert watch.newly_dead(32.5) == {"s2"}, "silent for 12.5 s while s1 heard its own"


def test_an_offline_status_of_a_shard_never_seen_alive_or_already_taken_over_is_no_death() -> None:
    watch = ShardWatch("s5", run_id="r2")
    earlier = ShardStatus(shard_id="s1", state="offline", run_id="r1")
    watch.heard(earlier, 0.0)  # retained from an earlier run: never seen alive here
    assert watch.newly_dead(8.5) == set(), "past the will's grace"
    watch.heard(status("s1"), 1.0)
    watch.heard(status("s1", "offline"), 2.0)
    watch.heard(status("s2", taken_over=["s1"]), 2.1)  # s2 was faster
    assert watch.newly_dead(8.5) == set(), "past the will's grace"


def test_the_retained_will_of_a_shard_of_the_same_run_is_its_death_after_the_grace() -> None:
    # the watcher started after s4 died (a taker restarted cold): s4 is dead all the same
    watch = ShardWatch("s5", will_grace_s=6.0, run_id="r2")
    watch.heard(ShardStatus(shard_id="s4", state="offline", run_id="r2"), 0.0)
    assert watch.alive() == {"s4", "s5"}, "a will alone is no death yet"
    assert watch.newly_dead(5.0) == set()
    watch.heard(ShardStatus(shard_id="s4", state="offline", run_id="r2"), 5.5)  # again
    assert watch.newly_dead(6.5) == {"s4"}, "the grace counts from the first"
    watch.heard(ShardStatus(shard_id="s3", state="offline", run_id="r2"), 7.0)
    watch.heard(status("s3"), 9.0)  # restarting, and back within the grace
    assert watch.newly_dead(20.0) == set()


def test_its_own_retained_stop_status_says_what_it_held_its_bare_will_does_not() -> None:
    watch = ShardWatch("s1", run_id="r2")
    full = ShardStatus(shard_id="s1", state="offline", sectors=[0], towers=3,
                       taken_over=["s2"], t_s=100.0, run_id="r2")
    watch.heard(full, 0.0, retained=True)
    assert watch.held_before == {"s2"}
    watch = ShardWatch("s1", run_id="r2")
    watch.heard(shard_will("s1", "r2"), 0.0, retained=True)  # a crash: what it held is unknown
    assert watch.held_before is None


class StallingBus(InMemoryBus):
    """An in-process bus that holds every message while ``stalled`` (a cluster electing)."""

    def __init__(self) -> None:
        super().__init__()
        self.stalled, self.held = False, list[Message]()

    def publish(self, message: Message) -> None:
        if self.stalled:
            self.held.append(message)
        else:
            super().publish(message)

    def release(self) -> None:
        self.stalled = False
        for message in self.held:
            super().publish(message)


def test_the_probe_sees_a_stall_and_counts_it_once_it_ends() -> None:
    bus = StallingBus()
    probe = BrokerProbe(bus, "fusion-s1", interval_s=1.0, stall_after_s=3.0)
    probe.start()
    probe.tick(0.0)
    assert not probe.stalled(0.5)
    bus.stalled = True
    for t_s in (1.0, 2.0, 3.0, 4.0, 5.0):
        probe.tick(t_s)
    assert not probe.stalled(3.9)
    assert probe.stalled(4.5), "the probe sent at 1 s is unanswered after 3.5 s"
    bus.release()
    assert not probe.stalled(5.5)
    assert probe.stalls == 1
