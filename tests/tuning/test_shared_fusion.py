"""Points that differ only in the alert stage share a tracker, with each point's own outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import perimeter.fusion.duplicates as duplicates
from perimeter.evaluation.run import Collector, fuse
from perimeter.fusion.duplicates import DuplicateConfig
from perimeter.fusion.engine_config import EngineConfig
from perimeter.fusion.manage import ManageConfig
from perimeter.fusion.track import Track
from perimeter.thresholds import Thresholds
from perimeter.tuning.runner import plan_tasks
from perimeter.tuning.shared_fusion import SharedRunner, StreamSnr, fuse_points, tracker_key
from perimeter.tuning.tasks import Task, run_task
from sim.scenario import Scenario, load_scenario
from sim.uplink import MemoryUplink
from sim.world import World

ALL = ["person", "group", "vehicle", "animal", "unknown"]
POINTS = [Thresholds().patched({"alert.classes": []}),
          Thresholds().patched({"alert.classes": ALL, "alert.min_confidence": 0.0}),
          Thresholds(),
          Thresholds().patched({"alert.min_confidence": 0.9})]


@pytest.fixture(scope="module")
def stream() -> tuple[Scenario, list[Any]]:
    """The first 600 s of ``default`` (12 towers: cars, walkers, animals; 300 s held only
    the car, which every point but ``alert.classes`` [] alerts alike)."""
    scenario = load_scenario("default", duration_s=600.0)
    uplink = MemoryUplink()
    World(scenario, uplink).run(speed=None)
    return scenario, uplink.messages


def _lines(c: Collector) -> tuple[list[str], list[str], list[str]]:
    return ([e.model_dump_json() for e in c.alerts], [s.model_dump_json() for s in c.snapshots],
            [r.model_dump_json() for r in c.rejects])


def test_each_point_gets_what_its_own_run_gives(stream: tuple[Scenario, list[Any]]) -> None:
    scenario, messages = stream
    shared = fuse_points(scenario.site_model, POINTS, messages)
    alone = [fuse(scenario.site_model, t, messages) for t in POINTS]
    assert [_lines(c) for c in shared] == [_lines(c) for c in alone]
    # the points differ in what they alert (none, everything, the default's), so the check
    # covers alert stages that diverge, tracks' alert ids in snapshots and fault ids
    assert len({str(_lines(c)[0]) for c in alone}) >= 3
    assert not alone[0].alerts and alone[1].alerts and alone[2].alerts


def test_points_whose_duplicate_removal_differs_are_fused_again(
        stream: tuple[Scenario, list[Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    """A removal rule that turns on alerts (of a pair where one track has an alert, the first
    goes; else the second), and every two tracks within 3 km duplicates: the alert stages
    disagree on which track goes, and the disagreeing points leave and are fused again."""
    def alert_decides(a: Track, b: Track) -> Track:
        return a if (a.alert_id is None) != (b.alert_id is None) else b

    monkeypatch.setattr(duplicates, "weaker", alert_decides)
    config = EngineConfig(manage=ManageConfig(duplicates=DuplicateConfig(
        merge_d2=1e6, shadow_window_s=0.0, shadow_radius_m=3000.0)))
    options = {"engine_config": config}
    scenario, messages = stream
    again: list[int] = []
    shared = fuse_points(scenario.site_model, POINTS, messages, options, again=again)
    alone = [fuse(scenario.site_model, t, messages, options) for t in POINTS]
    assert again  # the check below covers points that left their group
    assert [_lines(c) for c in shared] == [_lines(c) for c in alone]


def test_snr_floors_that_drop_the_same_detections_share_a_tracker(
        stream: tuple[Scenario, list[Any]]) -> None:
    scenario, messages = stream
    snr = StreamSnr.of(messages)
    lowest, middle = float(snr.thermal[0]), float(np.median(snr.thermal))
    assert lowest > 6.0  # the check below needs floors under every thermal detection
    points = [Thresholds(),
              Thresholds().patched({"thermal.min_snr_db": 6.0, "alert.min_confidence": 0.9}),
              Thresholds().patched({"thermal.min_snr_db": lowest}),  # keeps it: >=
              Thresholds().patched({"thermal.min_snr_db": middle})]  # drops half
    trackers: dict[int, int] = {}
    shared = fuse_points(scenario.site_model, points, messages, trackers=trackers)
    assert trackers[0] == trackers[1] == trackers[2] != trackers[3]
    alone = [fuse(scenario.site_model, t, messages) for t in points]
    assert [_lines(c) for c in shared] == [_lines(c) for c in alone]
    assert snr.dropped(points[2])[0] == 0  # a floor at the lowest SNR drops none: >=
    with pytest.raises(ValueError, match="SNR floors"):
        SharedRunner(scenario.site_model, {0: points[0], 1: points[3]}, snr=snr)


def test_only_points_equal_but_for_the_alert_stage_share() -> None:
    lax = Thresholds().patched({"alert.min_confidence": 0.3, "alert.classes": ["vehicle"]})
    assert tracker_key(lax) == tracker_key(Thresholds())
    other = Thresholds().patched({"thermal.min_snr_db": 9.0})
    assert tracker_key(other) != tracker_key(Thresholds())
    site = load_scenario("default", duration_s=10.0).site_model
    with pytest.raises(ValueError, match="alert_min_confidence"):
        SharedRunner(site, {0: Thresholds(), 1: other})


def test_tasks_keep_a_tracker_group_together() -> None:
    points = [(i, Thresholds().patched({"thermal.min_snr_db": snr, "alert.min_confidence": c}))
              for i, (c, snr) in enumerate([(0.4, 6.0), (0.4, 7.0), (0.5, 6.0), (0.5, 7.0)])]
    tasks = plan_tasks(["default"], 1, points, min_tasks=2)
    assert [[i for i, _ in task.points] for task in tasks] == [[0, 2], [1, 3]]


def test_a_task_simulates_once_across_sweeps(tiny_scenario: dict[str, Any], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    task = Task(tiny_scenario, 5, ((0, Thresholds()),), duration_s=60.0, cache_dir=tmp_path)
    first = run_task(task)
    assert list(tmp_path.glob("*.pickle"))

    def no_simulation(*_: object, **__: object) -> None:
        raise AssertionError("simulated again")

    monkeypatch.setattr(World, "run", no_simulation)
    again = run_task(task)
    assert again[0][1].model_copy(update={"run_time_s": 0.0}) == \
        first[0][1].model_copy(update={"run_time_s": 0.0})
    with pytest.raises(AssertionError, match="simulated again"):  # an uncached seed would
        run_task(Task(tiny_scenario, 6, ((0, Thresholds()),), duration_s=60.0,
                      cache_dir=tmp_path))
