"""A task scores each point as ``perimeter eval`` would, sharing what its points share."""

from __future__ import annotations

from pathlib import Path

import pytest

import perimeter.tuning.tasks as tasks
from perimeter.evaluation.covered import target_coverage
from perimeter.evaluation.gospa import GospaMemo, TruthAt
from perimeter.evaluation.run import fuse, simulate
from perimeter.evaluation.score_run import score_run
from perimeter.thresholds import Thresholds
from perimeter.tuning.shared_fusion import StreamSnr
from perimeter.tuning.tasks import Task, run_task
from sim.scenario import load_scenario

POINTS = (Thresholds(),
          Thresholds().patched({"alert.min_confidence": 0.6000001}),  # the default's alerts
          Thresholds().patched({"alert.classes": []}),
          Thresholds().patched({"thermal.min_snr_db": 9.0}))  # floor below every detection


def test_each_report_is_that_of_its_own_run(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports of points on one tracker share its GOSPA series, and a point whose alerts
    equal another's of that tracker and class set takes its report: each is still the report
    of fusing and scoring that point alone."""
    calls: list[int] = []
    memos: list[int] = []

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return score_run(*args, **kwargs)  # type: ignore[arg-type]

    class CountedMemo(GospaMemo):
        def __init__(self, truth_at: TruthAt) -> None:
            memos.append(1)
            super().__init__(truth_at)

    monkeypatch.setattr(tasks, "score_run", counted)
    monkeypatch.setattr(tasks, "GospaMemo", CountedMemo)
    task = Task("default", None, tuple(enumerate(POINTS)), duration_s=300.0, cache_dir=tmp_path)
    got = [r.model_copy(update={"run_time_s": 0.0}) for _, r in run_task(task)]
    scenario = load_scenario("default", duration_s=300.0)
    world = simulate(scenario, tmp_path)
    snr = StreamSnr.of(world.messages)
    assert snr.dropped(POINTS[3]) == snr.dropped(POINTS[0])  # the 9 dB floor drops nothing
    alone = []
    for thresholds in POINTS:
        out = fuse(scenario.site_model, thresholds, world.messages)
        alone.append(score_run(world.truth, scenario.site_model, out.alerts, out.snapshots,
                               world.messages, thresholds, rejected_messages=len(out.rejects),
                               covered=target_coverage(scenario, world.truth, thresholds)))
    assert got == alone
    assert len(calls) == len(POINTS) - 1  # the second point took the first one's report
    assert len(memos) == 1  # the four points share one tracker, so one GOSPA series
    assert got[2] != got[0]  # no alert class: scored on its own
