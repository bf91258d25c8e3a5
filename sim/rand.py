"""Seeded, reproducible random generators: one independent stream per named source."""

from __future__ import annotations

import zlib

import numpy as np


def rng_for(seed: int, *keys: str) -> np.random.Generator:
    """A generator for the source named by ``keys`` under the scenario ``seed``.

    Streams are independent of each other and of the order in which they are created, so adding
    a target or a fault does not change the random draws of any other source.
    """
    spawn_key = tuple(zlib.crc32(key.encode()) for key in keys)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=spawn_key)))
