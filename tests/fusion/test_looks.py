from __future__ import annotations

import math

import numpy as np

from perimeter.fusion.looks import Looks

FRAME_S = 0.5


def _stream(looks: Looks, revisit_frames: int, frames: int, *, offset_s: float = 0.003,
            seed: int = 5) -> None:
    """Tower 0's imager: a hot spot at 30 deg seen at every look of a head with the given
    revisit, and a random clutter blob in a quarter of the frames."""
    rng = np.random.default_rng(seed)
    for k in range(frames):
        t_s = k * FRAME_S + offset_s
        bearings = []
        if k % revisit_frames == 3 % revisit_frames:
            bearings.append(math.radians(30.0))
        if rng.random() < 0.25:
            bearings.append(float(rng.uniform(0.0, math.pi)))
        looks.observe((0, "thermal"), t_s, bearings)


def test_revisit_is_learned_from_a_scanning_stream() -> None:
    looks = Looks()
    _stream(looks, 11, 11 * 60)
    assert looks.frames((0, "thermal")) == 11
    assert math.isclose(looks.revisit_s((0, "thermal")), 5.5, abs_tol=1e-6)
    key = (0, "thermal")
    assert looks.looked(key, 100.0 + 5.5, 100.0)
    assert looks.looked(key, 100.0 + 11.0 + 0.1, 100.0)
    assert not looks.looked(key, 100.0 + 3.0, 100.0)
    assert not looks.looked(key, 100.0 + 0.5, 100.0)


def test_staring_stream_looks_every_frame() -> None:
    looks = Looks()
    _stream(looks, 1, 400)
    assert looks.frames((0, "thermal")) == 1
    assert looks.looked((0, "thermal"), 100.5, 100.0)


def test_unlearned_sensor_looks_at_every_report() -> None:
    looks = Looks()
    assert looks.frames((3, "thermal")) == 1
    assert looks.looked((3, "thermal"), 1.0, 0.5)
    assert looks.longest_revisit_s() == 0.0


def test_only_learned_revisits_count_as_the_longest_learned() -> None:
    looks = Looks()
    _stream(looks, 11, 40)  # the frame is known, too few same-cell intervals for the revisit
    assert looks.longest_revisit_s() > 0.0 and looks.longest_learned_revisit_s() == 0.0
    _stream(looks, 11, 11 * 60, offset_s=40 * FRAME_S + 0.003)  # the stream goes on
    assert math.isclose(looks.longest_learned_revisit_s(), 5.5, abs_tol=1e-6)
