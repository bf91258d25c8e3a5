"""Named random streams."""

from __future__ import annotations

import numpy as np

from sim.rand import rng_for


def test_streams_are_reproducible_and_independent_of_creation_order() -> None:
    a1 = rng_for(7, "target", "p1").random(5)
    rng_for(7, "target", "p2").random(100)  # another source drawing in between
    a2 = rng_for(7, "target", "p1").random(5)
    np.testing.assert_array_equal(a1, a2)
    assert not np.array_equal(a1, rng_for(7, "target", "p2").random(5))
    assert not np.array_equal(a1, rng_for(8, "target", "p1").random(5))
