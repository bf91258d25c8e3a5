"""The evaluation's cache of simulated runs: same runs as fresh ones, keyed by what shapes them."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from perimeter.evaluation.run import run_scenario, simulate
from perimeter.evaluation.stream_cache import StreamCache
from sim.scenario import Scenario, load_scenario
from sim.world import World


def _scenario(seed: int | None = None) -> Scenario:
    scenario = load_scenario("default", duration_s=40.0)
    return scenario if seed is None else scenario.model_copy(update={"seed": seed})


def test_a_cached_run_is_the_fresh_run(tmp_path: Path) -> None:
    fresh = simulate(_scenario())
    first = simulate(_scenario(), tmp_path)
    entries = list(tmp_path.glob("*.pickle"))
    assert len(entries) == 1
    again = simulate(_scenario(), tmp_path)
    assert [m.payload for m in again.messages] == [m.payload for m in fresh.messages]
    assert [m.topic for m in again.messages] == [m.topic for m in first.messages]
    assert [t.id for t in again.truth.targets] == [t.id for t in fresh.truth.targets]
    assert list(tmp_path.glob("*.pickle")) == entries
    assert StreamCache(tmp_path).load(_scenario()) is not None  # the entry itself is served


def test_a_cached_run_is_not_simulated_again(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    simulate(_scenario(), tmp_path)

    def no_world(*args: object, **kwargs: object) -> None:
        raise AssertionError("simulated again")

    monkeypatch.setattr(World, "run", no_world)
    assert simulate(_scenario(), tmp_path).messages
    with pytest.raises(AssertionError, match="simulated again"):
        simulate(_scenario(seed=11), tmp_path)


def test_the_report_is_the_same_from_the_cache(tmp_path: Path) -> None:
    plain = run_scenario("default", duration_s=40.0)
    cold = run_scenario("default", duration_s=40.0, cache_dir=tmp_path)
    warm = run_scenario("default", duration_s=40.0, cache_dir=tmp_path)
    expected = plain.model_dump(exclude={"run_time_s"})
    for report in (cold, warm):
        assert report.model_dump(exclude={"run_time_s"}) == expected


def test_the_key_follows_the_scenario_as_run(tmp_path: Path) -> None:
    cache = StreamCache(tmp_path)
    assert cache.key(_scenario()) == cache.key(_scenario())
    assert cache.key(_scenario(seed=7)) != cache.key(_scenario())
    longer = load_scenario("default", duration_s=41.0)
    assert cache.key(longer) != cache.key(_scenario())


def test_an_unreadable_entry_is_made_again(tmp_path: Path) -> None:
    cache = StreamCache(tmp_path)
    scenario = _scenario()
    (tmp_path / f"{cache.key(scenario)}.pickle").write_bytes(b"not a pickle")
    assert cache.load(scenario) is None
    run = simulate(scenario, tmp_path)
    with (tmp_path / f"{cache.key(scenario)}.pickle").open("rb") as f:
        assert len(pickle.load(f).messages) == len(run.messages)
