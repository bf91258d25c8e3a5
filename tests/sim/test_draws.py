"""A run's true parameters: drawn around the nominals, widened by --perturb."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from perimeter.cli import app
from sim.draws import SPREADS, drawn_signature, drawn_sounds, widened
from sim.rand import rng_for
from sim.scenario import ScenarioError, load_scenario, with_perturb
from sim.signatures import SOUNDS, signature
from sim.uplink import MemoryUplink
from sim.world import World


@pytest.mark.parametrize("kind", list(SPREADS))
def test_sizes_and_contrasts_scatter_about_the_nominal_by_the_documented_spread(
        kind: str) -> None:
    nominal = signature(kind, 3)
    for perturb in (1.0, 2.5):
        rng = rng_for(0, "draws", kind)
        sigs = [drawn_signature(kind, 3, rng, perturb) for _ in range(4000)]
        height = np.log([s.height_m / nominal.height_m for s in sigs])
        contrast = np.log([s.contrast_night_k / nominal.contrast_night_k for s in sigs])
        assert abs(height.mean()) < 0.05 * perturb
        assert height.std() == pytest.approx(SPREADS[kind].height * perturb, rel=0.05)
        assert contrast.std() == pytest.approx(SPREADS[kind].contrast * perturb, rel=0.05)
    assert drawn_signature(kind, 3, rng_for(0, "x"), 0.0) == nominal  # 0: the nominal world
    levels = [drawn_sounds(kind, rng_for(k, "s"), 1.0)[0].level_db for k in range(2000)]
    assert np.std(levels) == pytest.approx(SPREADS[kind].level_db, rel=0.07)
    assert np.mean(levels) == pytest.approx(SOUNDS[kind][0].level_db, abs=0.3)


def test_ranges_widen_about_their_centre() -> None:
    assert widened((0.6, 0.8), 1.0) == pytest.approx((0.6, 0.8))
    assert widened((0.6, 0.8), 0.0) == pytest.approx((0.7, 0.7))
    assert widened((0.6, 0.8), 3.0) == pytest.approx((0.4, 1.0))


SHORT: dict[str, Any] = {
    "name": "draws", "seed": 9, "duration_s": 60,
    "environment": {"start_time": "2026-01-15T22:00:00Z"},
    "targets": [{"id": f"p{i}", "kind": "person", "path": [[3000, 100.0 * i], [1000, 0]]}
                for i in range(12)],
    "nuisance": {"animals": 20},
}


def _world(perturb: float) -> World:
    return World(with_perturb(load_scenario(SHORT), perturb), MemoryUplink())


def test_the_world_draws_its_people_and_animals_wider_with_perturb() -> None:
    nominal = signature("person")

    def spread(world: World) -> float:
        sigs = [s for s, k in zip(world.targets.signatures, world.targets.kinds, strict=True)
                if k == "person"]
        assert len(sigs) == 12 and all(s is not None for s in sigs)
        return float(np.std([np.log(s.height_m / nominal.height_m) for s in sigs if s]))

    exact, usual, wide = _world(0.0), _world(1.0), _world(3.0)
    assert spread(exact) == 0.0 < spread(usual) < spread(wide)
    # the same seed draws the same world
    again = _world(1.0)
    assert again.targets.signatures == usual.targets.signatures
    assert np.array_equal(again.targets.xy_m, usual.targets.xy_m)


def test_perturb_is_checked_and_reaches_the_commands(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ScenarioError, match="perturb"):
        with_perturb(load_scenario(SHORT), -1.0)
    scenario = tmp_path / "draws.yaml"
    scenario.write_text(yaml.safe_dump({**SHORT, "duration_s": 20, "nuisance": {}}),
                        encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(scenario), "--perturb", "11"])
    assert result.exit_code == 2 and "--perturb" in result.output
    ok = CliRunner().invoke(app, ["sim", "--scenario", str(scenario), "--perturb", "2",
                                  "--record", str(tmp_path / "rec.jsonl")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "rec.jsonl").stat().st_size > 0
    seen: list[float] = []

    def world(scenario: Any, uplink: Any) -> World:
        seen.append(scenario.perturb)
        return World(scenario, uplink)

    monkeypatch.setattr("perimeter.evaluation.run.World", world)
    result = CliRunner().invoke(app, ["eval", str(scenario), "--perturb", "2.5"])
    assert result.exit_code == 0, result.output
    assert seen == [2.5]
