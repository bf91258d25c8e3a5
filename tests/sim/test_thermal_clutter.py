"""Clutter consistent with the detector: noise blobs at the rate the threshold implies over
the pixels the heads process, and the site's clutter map of persistent hot spots."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import numpy as np

from perimeter.site import western_heights
from sim.scenario import load_scenario
from sim.sensors.clutter_map import HOT_SPOTS, draw_clutter_map
from sim.sensors.detector import peaks_per_pixel, threshold_sigma
from sim.uplink import MemoryUplink
from sim.world import World

EMPTY: dict[str, Any] = {"name": "empty", "seed": 12, "duration_s": 300,
                         "environment": {"start_time": "2026-01-15T22:00:00Z"}}


def _clutter(data: dict[str, Any]) -> tuple[World, list[tuple[str, int, int]]]:
    world = World(load_scenario(data), MemoryUplink())
    world.run()
    return world, [(t.tower_id, t.seq, t.index) for t in world.truth.detections
                   if t.sensor == "thermal" and t.target_id is None]


def test_noise_blobs_follow_the_gaussian_tail_over_the_pixel_count() -> None:
    world, blobs = _clutter({**EMPTY, "sensors": {"thermal": {"hot_spot_scale": 0.0}}})
    heads = world._feeds()["thermal"].compute.heads
    frames = 300 * 2
    k = float(threshold_sigma(14.0))
    # two heads of 640 x 512 pixels per tower and frame, 12 towers
    assert heads.pixels[0] == 2 * 640 * 512
    expected = peaks_per_pixel(k) * heads.pixels.sum() * frames
    assert abs(len(blobs) - expected) < 4.0 * np.sqrt(expected)
    per_tower_frame = len(blobs) / (12 * frames)
    assert 0.1 < per_tower_frame < 0.3


def test_lowering_the_threshold_floods_the_stream() -> None:
    short = {**EMPTY, "duration_s": 30}
    _, calm = _clutter({**short, "sensors": {"thermal": {"hot_spot_scale": 0.0,
                                                         "detector_snr_db": 12.0}}})
    expected = peaks_per_pixel(float(threshold_sigma(12.0))) * 2 * 640 * 512 * 12 * 60
    assert abs(len(calm) - expected) < 4.0 * np.sqrt(expected)
    _, flood = _clutter({**short, "sensors": {"thermal": {"hot_spot_scale": 0.0,
                                                          "detector_snr_db": 6.0}}})
    assert len(flood) == 100 * 12 * 60  # every frame of every tower at the detector's cap


def test_the_clutter_map_follows_the_site_zones() -> None:
    site = western_heights()
    box = (1000.0, -4000.0, 7000.0, 4000.0)  # the approach watch zone
    spots = draw_clutter_map(site, box, 1.0, np.random.default_rng(1))
    counts = Counter(spots.kind)
    built_km2, forest_km2 = 1.5 * 3.0, 4.5 * 2.5
    open_km2 = 6.0 * 8.0 - built_km2 - forest_km2
    for kind, area in (("roof", built_km2), ("treetop", forest_km2), ("rock", open_km2),
                       ("water", 8.0)):  # water: per km of the river inside the box
        expected = HOT_SPOTS[kind].density * area
        assert abs(counts[kind] - expected) < 4.0 * np.sqrt(expected) + 1, kind
    assert len(draw_clutter_map(site, box, 0.0, np.random.default_rng(1))) == 0


def _persistent(start: str, wind_mps: float = 2.0) -> tuple[int, int]:
    """One tower's false detections over ten minutes: how many, and how many fall on places
    (within 0.15 deg) detected at least five times; noise blobs almost never repeat."""
    data = {**EMPTY, "duration_s": 600,
            "environment": {"start_time": start, "wind_mps": wind_mps}}
    uplink = MemoryUplink()
    World(load_scenario(data), uplink).run()
    bearings = sorted(float(d["bearing_deg"]) for m in uplink.messages
                      if m.topic.endswith("/T06/thermal")
                      for d in json.loads(m.payload)["detections"])
    places = np.split(np.array(bearings), np.nonzero(np.diff(bearings) > 0.15)[0] + 1)
    return len(bearings), sum(len(p) for p in places if len(p) >= 5)


def test_hot_spots_stay_in_place_and_grow_by_day_and_in_wind() -> None:
    _, night = _persistent("2026-01-15T22:00:00Z")
    day_all, day = _persistent("2026-06-15T11:00:00Z")
    _, windy = _persistent("2026-06-15T11:00:00Z", wind_mps=10.0)
    assert day > 2 * max(night, 1)
    assert windy > day
    assert day > 0.5 * day_all  # by day most false detections are hot spots, in place
