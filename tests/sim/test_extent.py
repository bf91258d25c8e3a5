"""Blob width and height: the body seen at its heading, through blur, noise and whole pixels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sim.scenario import load_scenario
from sim.sensors.extent import (
    ANIMAL_BREADTH_SHARE,
    FWHM_PER_SIGMA,
    LENGTH_M,
    draw_bodies,
    extent_px,
    headings_deg,
    posture_length_m,
    silhouette_width_m,
)
from sim.signatures import signature
from sim.targets import ScriptedMove, Targets
from sim.uplink import MemoryUplink
from sim.world import World


def test_a_body_shows_its_length_broadside_and_its_breadth_head_on() -> None:
    length, breadth = np.array([1.2, 1.2, 1.2]), np.array([0.35, 0.35, 0.35])
    width = silhouette_width_m(length, breadth, np.array([90.0, 0.0, 180.0]))
    assert width[0] == pytest.approx(1.2)
    assert width[1] == pytest.approx(0.35) and width[2] == pytest.approx(0.35)
    oblique = silhouette_width_m(length[:1], breadth[:1], np.array([-45.0]))[0]
    assert breadth[0] < oblique < length[0] + breadth[0]


def test_people_stretch_along_their_heading_as_they_lower_animals_do_not() -> None:
    stature = np.array([1.0, 0.63, 0.26])
    person = posture_length_m(np.full(3, 0.35), stature, np.ones(3, dtype=bool))
    assert person[0] == pytest.approx(0.35)
    assert person[0] < person[1] < person[2]
    animal = posture_length_m(np.full(3, 1.1), stature, np.zeros(3, dtype=bool))
    assert np.all(animal == 1.1)


@pytest.mark.parametrize("true_px", [1.7, 3.4, 12.5])
def test_whole_pixel_readings_average_to_the_blurred_extent(true_px: float) -> None:
    rng = np.random.default_rng(5)
    n, blur = 20000, 0.3
    out = extent_px(np.full(n, true_px), np.full(n, blur), np.zeros(n), rng)
    assert np.all(out == np.round(out)) and out.min() >= 1.0
    blurred = float(np.hypot(true_px, FWHM_PER_SIGMA * blur))
    assert out.mean() == pytest.approx(blurred, abs=4.0 * out.std() / np.sqrt(n) + 1e-9)
    assert set(np.unique(out)) <= {np.floor(blurred), np.floor(blurred) + 1.0}
    noisy = extent_px(np.full(n, true_px), np.full(n, blur), np.full(n, 0.2), rng)
    assert noisy.std() > out.std()


def test_a_point_reads_one_pixel_whatever_its_shape() -> None:
    rng = np.random.default_rng(1)
    out = extent_px(np.full(1000, 0.05), np.full(1000, 0.3), np.zeros(1000), rng)
    assert np.all(out == 1.0)


def test_heading_follows_the_path_and_is_held_through_pauses() -> None:
    x = np.array([0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 2.0, 3.0])  # still, east, paused, north
    y = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    y[-1] = 1.0
    heading = headings_deg(np.stack([x, y], axis=-1)[None])[0]
    assert heading[0] == pytest.approx(90.0)  # before the first move: its first heading
    assert heading[2] == pytest.approx(90.0)
    assert heading[4] == pytest.approx(90.0) and heading[5] == pytest.approx(90.0)
    assert heading[6] == pytest.approx(45.0) and heading[7] == pytest.approx(45.0)


def test_a_scripted_target_faces_along_its_route_through_wobble_and_stops() -> None:
    targets = Targets(dt_s=0.5, n_steps=800)
    move = ScriptedMove(id="p1", kind="person", start_s=10.0, speed_mps=1.3,
                        path=[(0.0, 0.0), (300.0, 0.0), (300.0, 300.0)],
                        stops=((100.0, 60.0),))
    targets.add_scripted(move, np.random.default_rng(2))
    heading = targets.headings_deg()[0]
    by_step = headings_deg(targets.xy_m)[0]  # the last step's direction, wobble and all
    east = slice(40, 190)  # walking the first leg
    assert np.all(heading[:590] == pytest.approx(90.0))  # before the start, east, in the stop
    assert np.std(by_step[east]) > 3.0  # the path wanders off the leg's direction
    assert heading[-1] == pytest.approx(0.0)  # north on the second leg


def test_bodies_are_drawn_per_target_around_the_nominals() -> None:
    ids, kinds = ["p", "a", "v"], ["person", "animal", "light_vehicle"]
    sigs = [None, signature("animal"), None]
    nominal = draw_bodies(ids, kinds, [1, 1, 1], sigs, seed=3, perturb=0.0)
    assert nominal.length_m[0] == LENGTH_M["person"]
    assert nominal.breadth_m[0] == signature("person").width_m
    assert nominal.breadth_m[1] == pytest.approx(ANIMAL_BREADTH_SHARE
                                                 * signature("animal").width_m)
    assert nominal.length_m[2] == LENGTH_M["light_vehicle"]
    assert list(nominal.crouches) == [True, False, False]
    drawn = draw_bodies(ids, kinds, [1, 1, 1], sigs, seed=3)
    assert drawn.length_m[0] != nominal.length_m[0]
    # a target's body is its own draw: adding another does not change it
    more = draw_bodies(["x", *ids], ["person", *kinds], [1, 1, 1, 1], [None, *sigs], seed=3)
    assert np.array_equal(more.length_m[1:], drawn.length_m)
    lengths = [draw_bodies(["p"], ["person"], [1], [None], seed=s).length_m[0]
               for s in range(400)]
    assert float(np.std(np.log(lengths))) == pytest.approx(0.15, rel=0.15)


def _scenario(seed: int) -> dict[str, Any]:
    # one person walking across the line of sight at 600 m, one walking away from 590 m
    targets = [{"id": "across", "kind": "person", "start_s": 0, "speed_mps": 1.3,
                "path": [[354.0, 495.0], [495.0, 354.0]]},
               {"id": "away", "kind": "person", "start_s": 0, "speed_mps": 1.3,
                "path": [[580.0, 100.0], [720.0, 100.0]]}]
    site = {"name": "one", "origin": {"lat": 50.0, "lon": 10.0},
            "towers": [{"id": "T1", "x_m": 0.0, "y_m": 0.0}],
            "perimeter": [[50.0, -3000.0], [50.0, 3000.0]]}
    return {"name": "extent", "seed": seed, "duration_s": 120, "site": site,
            "environment": {"start_time": "2026-01-15T22:00:00Z"}, "targets": targets,
            "nuisance": {"animals": 6},
            "sensors": {"thermal": {"pointing": "staring", "hot_spot_scale": 0.0}}}


def _readings(seed: int) -> dict[str, list[tuple[float, float, float]]]:
    world = World(load_scenario(_scenario(seed)), MemoryUplink())
    thermal = world._feeds()["thermal"].compute
    out: dict[str, list[tuple[float, float, float]]] = {}
    for frame in thermal.batch(0, 200):
        for tower in frame:
            for d, tag in zip(tower.detections, tower.tags, strict=True):
                key = "noise" if tag is None else tag
                out.setdefault(key, []).append(
                    (float(d["width_px"]), float(d["height_px"]), float(d["bearing_deg"])))
    return out


def test_people_read_tall_and_narrow_animals_low_and_long_reproducibly() -> None:
    readings = _readings(8)
    assert readings == _readings(8)
    people = {k: np.array(v) for k, v in readings.items() if k in ("across", "away")}
    assert set(people) == {"across", "away"}
    for v in people.values():
        assert np.median(np.log(v[:, 1] / v[:, 0])) > 0.7  # aspect ~2.5 or more
    # at the same range the walker going away shows its shoulders, the other its side
    assert np.mean(people["away"][:, 0]) > np.mean(people["across"][:, 0]) + 0.3
    animals = np.concatenate([np.array(v) for k, v in readings.items()
                              if k not in ("across", "away", "noise")])
    assert len(animals) > 50
    assert np.median(np.log(animals[:, 1] / animals[:, 0])) < 0.0
    noise = np.array(readings["noise"])
    assert np.median(noise[:, 0]) == 1.0 and np.median(noise[:, 1]) == 1.0
