"""What each target kind looks and sounds like to the sensors (values and sources in
docs/sensors.md). Animals are deliberately neither a perfect decoy nor a giveaway."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

KINDS = ("person", "group", "light_vehicle", "heavy_vehicle", "animal")
HINTS = ("footsteps", "voice", "engine", "tracks", "impulse", "unknown")


@dataclass(frozen=True, slots=True)
class ThermalSignature:
    critical_dim_m: float  # Johnson critical dimension
    width_m: float
    height_m: float
    contrast_night_k: float  # body contrast against the background on a clear night
    contrast_floor_k: float  # contrast that does not vanish at crossover (engines, exhausts)


@dataclass(frozen=True, slots=True)
class SoundSource:
    """One kind of sound a target makes in a window: level at 1 m, dominant band, true hint."""

    level_db: float
    peak_hz: float
    hint: str
    probability: float  # share of windows in which this is the target's dominant sound


THERMAL: dict[str, ThermalSignature] = {
    "person": ThermalSignature(0.75, 0.5, 1.75, 10.0, 0.8),
    "group": ThermalSignature(1.5, 2.0, 1.75, 10.0, 0.8),  # of 3; see signature()
    "light_vehicle": ThermalSignature(2.3, 1.8, 1.5, 8.0, 5.0),
    "heavy_vehicle": ThermalSignature(3.0, 2.5, 2.8, 8.0, 8.0),
    "animal": ThermalSignature(0.6, 1.2, 0.9, 7.0, 0.5),
}

SOUNDS: dict[str, tuple[SoundSource, ...]] = {
    "person": (SoundSource(50.0, 250.0, "footsteps", 0.9), SoundSource(60.0, 500.0, "voice", 0.1)),
    "group": (SoundSource(50.0, 250.0, "footsteps", 0.7), SoundSource(62.0, 500.0, "voice", 0.3)),
    "light_vehicle": (SoundSource(91.0, 125.0, "engine", 1.0),),
    "heavy_vehicle": (SoundSource(113.0, 63.0, "tracks", 0.6),
                      SoundSource(105.0, 100.0, "engine", 0.4)),
    "animal": (SoundSource(45.0, 300.0, "footsteps", 0.85),
               SoundSource(72.0, 800.0, "unknown", 0.15)),
}

GROUP_HEAD_COUNT = 3
"""A group's head count when its scenario gives none: the group the tables and the coverage
model draw (``THERMAL["group"]`` is a group of 3)."""


def usual_count(kind: str) -> int:
    """The head count of a target of ``kind`` whose count is not given."""
    return GROUP_HEAD_COUNT if kind == "group" else 1


def count_level_db(count: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """What ``count`` heads add to one's sound level: ``10 log10(count)`` dB (incoherent
    sources of equal level; a count below 1 counts as 1)."""
    return 10.0 * np.log10(np.maximum(np.asarray(count, dtype=np.float64), 1.0))


BLAST = SoundSource(170.0, 40.0, "impulse", 1.0)
"""A distant blast (quarry, demolition, artillery far away): impulsive nuisance."""

SPEED_MPS: dict[str, tuple[float, float]] = {
    "person": (1.4, 0.15),
    "group": (1.2, 0.12),
    "light_vehicle": (10.0, 0.1),
    "heavy_vehicle": (6.0, 0.1),
    "animal": (0.8, 0.3),
}
"""Kind-typical speed and the relative random deviation about the scripted speed."""

LATERAL_SIGMA_M: dict[str, float] = {
    "person": 4.0, "group": 4.0, "light_vehicle": 2.0, "heavy_vehicle": 2.0, "animal": 10.0,
}
LATERAL_MEMORY_M: dict[str, float] = {
    "person": 60.0, "group": 60.0, "light_vehicle": 300.0, "heavy_vehicle": 300.0,
    "animal": 60.0,
}
"""A scripted route's lateral wander (std and correlation length along the ground, metres):
a few metres off the line over tens of metres for people (about 40 s of walking), a lane's
width over hundreds of metres for vehicles."""


def signature(kind: str, count: int = 1) -> ThermalSignature:
    """A kind's thermal signature; a group's grows with its head count (people ~0.7 m apart
    side by side: width 0.5 + 0.7 (count − 1) m, critical dimension ∝ sqrt(width))."""
    sig = THERMAL[kind]
    if kind != "group":
        return sig
    width = 0.5 + 0.7 * (max(count, 1) - 1)
    person = THERMAL["person"]
    return ThermalSignature(person.critical_dim_m * (width / person.width_m) ** 0.5, width,
                            sig.height_m, sig.contrast_night_k, sig.contrast_floor_k)


def thermal_table(kinds: list[str], counts: list[int],
                  own: Sequence[ThermalSignature | None] | None = None
                  ) -> dict[str, npt.NDArray[np.float64]]:
    """Per-target arrays of the thermal signature fields, for vectorised frames; a target's
    ``own`` signature (an animal's drawn size), where given, replaces its kind's."""
    sigs = [signature(k, c) for k, c in zip(kinds, counts, strict=True)]
    if own is not None:
        sigs = [s if o is None else o for s, o in zip(sigs, own, strict=True)]
    return {
        "critical_dim_m": np.array([s.critical_dim_m for s in sigs], dtype=np.float64),
        "width_m": np.array([s.width_m for s in sigs], dtype=np.float64),
        "height_m": np.array([s.height_m for s in sigs], dtype=np.float64),
        "contrast_night_k": np.array([s.contrast_night_k for s in sigs], dtype=np.float64),
        "contrast_floor_k": np.array([s.contrast_floor_k for s in sigs], dtype=np.float64),
    }
