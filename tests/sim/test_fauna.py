"""Animals by species, birds by the river, people's postures: drawn within published ranges."""

from __future__ import annotations

import numpy as np
import pytest

from sim.fauna import (
    BIRD,
    POSTURES,
    SPECIES,
    draw_animals,
    draw_species_mix,
    gait_speeds,
    posture_series,
)
from sim.rand import rng_for
from sim.signatures import signature
from sim.targets import Targets


@pytest.mark.parametrize("name", [*SPECIES, BIRD.name])
def test_each_kind_is_drawn_within_its_published_ranges(name: str) -> None:
    sp = SPECIES.get(name, BIRD)
    rng = rng_for(1, "fauna", name)
    animals = draw_animals([sp] * 400, rng)
    length = np.array([a.length_m for a in animals])
    shoulder = np.array([a.shoulder_m for a in animals])
    assert sp.length_m[0] <= length.min() and length.max() <= sp.length_m[1]
    assert sp.shoulder_m[0] <= shoulder.min() and shoulder.max() <= sp.shoulder_m[1]
    assert length.std() > 0.2 * (sp.length_m[1] - sp.length_m[0])  # drawn, not a constant
    groups = np.bincount([a.group for a in animals])
    assert groups.min() >= 1 and groups[:-1].max() <= sp.group[1]  # the last may be cut short
    speed = gait_speeds(sp, 200_000, 0.5, rng)
    moving = speed[speed > 0.0]
    in_walk = (moving >= sp.walk_mps[0]) & (moving <= sp.walk_mps[1])
    in_trot = (moving >= sp.trot_mps[0]) & (moving <= sp.trot_mps[1])
    assert (in_walk | in_trot).all()
    # paused the share its bout lengths give (exponential bouts, +-0.08 over 28 hours)
    pause_share = sp.pause_mean_s / (sp.move_mean_s + sp.pause_mean_s)
    assert float(np.mean(speed == 0.0)) == pytest.approx(pause_share, abs=0.08)


def test_several_kinds_overlap_people_in_size_and_pace() -> None:
    person = signature("person")
    overlapping = []
    for sp in SPECIES.values():
        small = sp.signature(sp.length_m[0], sp.shoulder_m[0]).critical_dim_m
        large = sp.signature(sp.length_m[1], sp.shoulder_m[1]).critical_dim_m
        if small <= person.critical_dim_m <= large and sp.walk_mps[1] >= 1.2:
            overlapping.append(sp.name)
    assert {"roe_deer", "wild_boar"} <= set(overlapping)
    fox = SPECIES["red_fox"].signature(0.7, 0.4).critical_dim_m
    cattle = SPECIES["cattle"].signature(2.2, 1.35).critical_dim_m
    assert fox < 0.7 * person.critical_dim_m < person.critical_dim_m < cattle


def test_the_species_mix_is_drawn_per_run_around_its_nominal_shares() -> None:
    mixes = [draw_species_mix(200, rng_for(seed, "mix")) for seed in range(40)]
    share = {name: np.mean([sum(s.name == name for s in m) / 200 for m in mixes])
             for name in SPECIES}
    for name, sp in SPECIES.items():
        assert share[name] == pytest.approx(sp.weight, abs=0.05)
    deer = [sum(s.name == "roe_deer" for s in m) for m in mixes]
    assert np.std(deer) > 10  # runs differ by more than sampling 200 animals would (~6.5)
    wider = [sum(s.name == "roe_deer" for s in draw_species_mix(200, rng_for(seed, "mix"),
                                                                spread=3.0))
             for seed in range(40)]
    assert np.std(wider) > np.std(deer)  # --perturb widens the draw


def test_birds_keep_to_the_river_and_animals_are_drawn_for_the_run() -> None:
    targets = Targets(0.5, 2400)
    river = (850.0, -4000.0, 1150.0, 4000.0)
    targets.add_fauna(6, (1000.0, -4000.0, 7000.0, 4000.0), rng_for(4, "nuisance"),
                      n_birds=5, river_box=river)
    birds = [i for i, s in enumerate(targets.species) if s == BIRD.name]
    assert len(birds) == 5 and len(targets.ids) == 11
    xy = targets.xy_m[birds]
    assert xy[..., 0].min() >= river[0] and xy[..., 0].max() <= river[2]
    fast = np.hypot(*np.diff(xy, axis=1).transpose(2, 0, 1)) / 0.5 > 10.0
    assert fast.any() and fast.mean() < 0.2  # short flights between long rests
    again = Targets(0.5, 2400)
    again.add_fauna(6, (1000.0, -4000.0, 7000.0, 4000.0), rng_for(4, "nuisance"),
                    n_birds=5, river_box=river)
    assert again.ids == targets.ids and np.array_equal(again.xy_m, targets.xy_m)


def test_people_crouch_and_crawl_now_and_then_and_look_smaller() -> None:
    stature, speed = posture_series(400_000, 0.5, rng_for(2, "posture"))
    shares = {p.name: float(np.mean(stature == p.stature)) for p in POSTURES}
    assert 0.75 < shares["walking"] < 0.95
    assert shares["crouching"] > 0.02 and shares["crawling"] > 0.02
    assert (speed[stature < 0.3] == 0.25).all()  # crawling is slow
    longer, _ = posture_series(400_000, 0.5, rng_for(2, "posture"), spread=2.0)
    assert np.mean(longer < 1.0) > np.mean(stature < 1.0)
