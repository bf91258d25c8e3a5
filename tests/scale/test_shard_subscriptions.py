"""What a shard subscribes to for its towers, in process: one subscription per tower fed on a
bus that offers it (``SplitBus.subscribe_towers``), those a takeover adds once taken over, and
on any other bus the towers' wildcard once, however many takeovers."""

from __future__ import annotations

import pytest

from perimeter import topics
from perimeter.bus import Handler, InMemoryBus
from perimeter.sectors import plan_sectors
from perimeter.shard import ShardRunner
from perimeter.site import Site, TowerSpec
from perimeter.thresholds import Thresholds
from services.shard_service import ShardBusOutput, ShardService


def line_site(n_towers: int = 40, spacing_m: float = 1000.0) -> Site:
    towers = [TowerSpec(id=f"G{i:03d}", x_m=0.0, y_m=spacing_m * (i + 0.5))
              for i in range(n_towers)]
    return Site(name="line", towers=towers,
                perimeter=[(1000.0, 0.0), (1000.0, spacing_m * n_towers)])


class ByTowerBus(InMemoryBus):
    """An in-memory bus that, like ``SplitBus`` at QoS 0, is asked for towers by id."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[frozenset[str]] = []

    def subscribe_towers(self, tower_ids: frozenset[str], handler: Handler) -> None:
        self.asked.append(tower_ids)


def shard_service(bus: InMemoryBus, shard_id: str = "s3") -> ShardService:
    site = line_site()
    plan = plan_sectors(site, 4)

    def make(output: ShardBusOutput) -> ShardRunner:
        return ShardRunner(site, plan, shard_id, Thresholds(), output, run_id="subs")

    return ShardService(bus, make)


def test_towers_subscribed_by_id_and_again_after_a_takeover() -> None:
    bus = ByTowerBus()
    service = shard_service(bus)
    service.start()
    own = frozenset(service.shard.towers)
    assert bus.asked == [own]
    service.shard.take_over("s1")
    service._after_step()
    assert len(bus.asked) == 2 and bus.asked[1] > own, "s1's towers too (0-10 km: s3 is fed 10-40)"
    service._after_step()
    assert len(bus.asked) == 2, "nothing new: not asked again"
    service.stop()


def test_the_wildcard_once_on_a_plain_bus() -> None:
    bus = InMemoryBus()
    service = shard_service(bus)
    service.start()
    service.shard.take_over("s1")
    service._after_step()
    wildcards = [f for f, _ in bus._subs if f == topics.TOWER_WILDCARD]
    assert wildcards == [topics.TOWER_WILDCARD], "a second would feed every report twice"
    service.stop()


def test_a_will_grace_within_a_status_interval_is_refused() -> None:
    site = line_site()
    plan = plan_sectors(site, 4)

    def make(output: ShardBusOutput) -> ShardRunner:
        return ShardRunner(site, plan, "s1", Thresholds(), output, run_id="subs")

    with pytest.raises(ValueError, match=r"will_grace_s \(1.5 s\) must exceed status_interval_s"):
        ShardService(InMemoryBus(), make, status_interval_s=2.0, will_grace_s=1.5)
    assert ShardService(InMemoryBus(), make, status_interval_s=1.0,
                        will_grace_s=2.5).watch.will_grace_s == 2.5
