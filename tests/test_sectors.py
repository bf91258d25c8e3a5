"""The sector plan: arc-length sectors along the perimeter, owners, towers fed, hysteresis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perimeter import topics
from perimeter.contract import Handover, ShardStatus, dump_payload, parse_payload
from perimeter.sectors import Claim, PlanError, SectorPlan, load_plan, plan_sectors
from perimeter.site import Site, TowerSpec, western_heights


def line_site(n_towers: int, spacing_m: float = 1000.0) -> Site:
    """Towers on x = 0 every ``spacing_m`` along a perimeter line at x = 1000."""
    length = spacing_m * n_towers
    towers = [TowerSpec(id=f"G{i:03d}", x_m=0.0, y_m=spacing_m * (i + 0.5))
              for i in range(n_towers)]
    return Site(name="line", towers=towers, perimeter=[(1000.0, 0.0), (1000.0, length)])


def test_sectors_are_equal_arcs_and_positions_map_by_projection() -> None:
    plan = plan_sectors(line_site(40), 4)
    assert plan.boundaries_m == [0.0, 10_000.0, 20_000.0, 30_000.0, 40_000.0]
    assert plan.owners == ["s1", "s2", "s3", "s4"]
    assert [plan.owned(s) for s in plan.shards] == [(0,), (1,), (2,), (3,)]
    # a point 5 km out in the approach falls in the sector of its foot on the line
    assert plan.sector_of(6000.0, 15_000.0) == 1
    assert plan.sector_of(-3000.0, 29_999.0) == 2
    assert plan.sector_of(6000.0, 30_000.0) == 3
    # beyond the line's ends: the end sectors
    assert plan.sector_of(1000.0, -500.0) == 0
    assert plan.sector_of(1000.0, 45_000.0) == 3


def test_a_bent_perimeter_projects_by_arc_length() -> None:
    site = Site(name="bend", towers=[TowerSpec(id="T1", x_m=0.0, y_m=0.0)],
                perimeter=[(0.0, 0.0), (0.0, 1000.0), (1000.0, 1000.0)])
    plan = plan_sectors(site, 2)
    assert plan.length_m == pytest.approx(2000.0)
    assert plan.arc_m(-50.0, 400.0) == pytest.approx(400.0)
    assert plan.arc_m(600.0, 1200.0) == pytest.approx(1600.0)
    assert plan.sector_of(-50.0, 400.0) == 0
    assert plan.sector_of(600.0, 1200.0) == 1


def test_towers_near_a_boundary_feed_both_neighbours() -> None:
    plan = plan_sectors(line_site(40), 4, margin_m=1000.0, view_range_m=3000.0)
    s1, s2 = plan.towers_for("s1"), plan.towers_for("s2")
    # s1 owns y in [0, 10 km): its towers see up to 1 km past it, 3 km each way
    assert s1 == frozenset(f"G{i:03d}" for i in range(0, 14))
    assert s2 == frozenset(f"G{i:03d}" for i in range(6, 24))
    shared = s1 & s2
    assert shared and all(6 <= int(t[1:]) <= 13 for t in shared)
    assert "G030" not in s1 | s2
    # every tower feeds some shard
    assert frozenset().union(*(plan.towers_for(s) for s in plan.shards)) == frozenset(
        t.id for t in line_site(40).towers)


def test_hold_and_claim_zones_have_hysteresis_and_the_upper_shard_waits() -> None:
    plan = plan_sectors(line_site(40), 4, hysteresis_m=50.0)
    b = 10_000.0
    # the lower shard claims up to b + h at once, the upper one from b - h after waiting
    assert plan.claim("s1", b - 10.0) is Claim.YES
    assert plan.claim("s1", b + 49.0) is Claim.YES
    assert plan.claim("s1", b + 51.0) is Claim.NO
    assert plan.claim("s2", b - 51.0) is Claim.NO
    assert plan.claim("s2", b - 49.0) is Claim.WAIT
    assert plan.claim("s2", b + 140.0) is Claim.WAIT
    assert plan.claim("s2", b + 160.0) is Claim.YES
    assert plan.holds("s2", b - 49.0) and not plan.holds("s2", b - 51.0)
    # the line's ends are open: no neighbour there
    assert plan.claim("s1", -500.0) is Claim.YES
    assert plan.claim("s4", 41_000.0) is Claim.YES


def test_reassign_moves_sectors_and_towers() -> None:
    plan = plan_sectors(line_site(40), 3, standby=1)
    assert plan.shards == ["s1", "s2", "s3", "s4"]
    assert plan.owned("s4") == ()
    assert plan.standby_for == {"s4": "s1"}
    assert plan.towers_for("s4") == plan.towers_for("s1")
    after = plan.reassign("s2", "s4")
    assert after.owned("s4") == plan.owned("s2")
    assert after.owned("s2") == ()
    assert after.towers_for("s4") == plan.towers_for("s1") | plan.towers_for("s2")
    assert after.towers_for("s2") == frozenset()
    assert after.standby_for == {}
    neighbour = plan.reassign("s2", "s3")
    assert neighbour.owned("s3") == (1, 2)
    assert neighbour.intervals("s3") == [(plan.boundaries_m[1], plan.boundaries_m[3])]
    # the boundary s2/s3 is gone: s3 claims there at once
    assert neighbour.claim("s3", plan.boundaries_m[2]) is Claim.YES
    with pytest.raises(PlanError, match="unknown shard"):
        plan.reassign("s9", "s1")
    with pytest.raises(PlanError, match="itself"):
        plan.reassign("s1", "s1")


def test_a_plan_round_trips_through_a_file(tmp_path: Path) -> None:
    plan = plan_sectors(western_heights(), 2, standby=1, sectors_per_shard=3)
    path = tmp_path / "plan.json"
    plan.save(path)
    loaded = load_plan(path)
    assert loaded == plan
    assert loaded.sector_of(3000.0, 100.0) == plan.sector_of(3000.0, 100.0) == 3
    assert loaded.owned("s2") == (3, 4, 5)
    with pytest.raises(ValueError, match="owners"):
        SectorPlan.model_validate({**plan.model_dump(), "owners": ["s1"]})


def test_bad_plans_are_refused() -> None:
    with pytest.raises(PlanError, match="shards >= 1"):
        plan_sectors(western_heights(), 0)
    with pytest.raises(PlanError, match="standby"):
        plan_sectors(western_heights(), 1, standby=2)


def test_shard_topics_and_payloads() -> None:
    assert topics.shard_status("s2") == "perimeter/v1/fusion/shards/s2/status"
    assert topics.parse_shard_status_topic("perimeter/v1/fusion/shards/s2/status") == "s2"
    assert topics.parse_shard_status_topic("perimeter/v1/fusion/status") is None
    assert topics.HANDOVER == "perimeter/v1/fusion/handover"
    with pytest.raises(ValueError, match="shard id"):
        topics.shard_status("s/2")
    handover = Handover.model_validate({
        "alert_id": "a-s1-000003", "from_shard": "s1", "to_shard": "s2", "t_s": 100.0,
        "position": {"x_m": 1.0, "y_m": 2.0}, "velocity": {"vx_mps": 0.5, "vy_mps": 0.0},
        "covariance": [[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 0.1, 0], [0, 0, 0, 0.1]],
        "class": "person", "severity": "high"})
    assert parse_payload(Handover, dump_payload(handover)) == handover
    short = {**handover.model_dump(by_alias=True), "covariance": [[1.0, 0.0, 0.0]] * 4}
    with pytest.raises(ValueError, match="covariance"):
        parse_payload(Handover, json.dumps(short))
    status = ShardStatus(shard_id="s3", state="standby")
    assert parse_payload(ShardStatus, dump_payload(status)).state == "standby"
