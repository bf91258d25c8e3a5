"""A run's true target parameters, drawn around the documented nominal values.

Fusion works from nominal values with their spread (its own priors); the simulated world must
not agree with it exactly, so every scripted target's size, body contrast and sound levels are
drawn per run around the nominals of ``sim.signatures``, with the spreads below (docs/sensors.md,
"True parameters per run"). ``perturb`` (the scenario's ``perturb``, ``perimeter eval
--perturb``) multiplies every spread: 0 gives the nominal world, 1 the documented spreads,
2 and more a world that agrees with the nominals less than the literature says it should.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.signatures import SOUNDS, SoundSource, ThermalSignature, signature


@dataclass(frozen=True, slots=True)
class Spread:
    """Relative 1-sigma spreads of one kind's true parameters (log-normal), and of its sound
    levels in dB (normal)."""

    height: float
    width: float
    contrast: float
    level_db: float


SPREADS: dict[str, Spread] = {
    "person": Spread(0.04, 0.08, 0.25, 3.0),
    "group": Spread(0.04, 0.12, 0.25, 3.0),
    "light_vehicle": Spread(0.08, 0.10, 0.25, 3.0),
    "heavy_vehicle": Spread(0.10, 0.10, 0.25, 3.0),
    "animal": Spread(0.15, 0.15, 0.25, 4.0),
}
"""Stature of adults ~4 % (7 cm of 175 cm), shoulder breadth ~8 %; body contrast 5-15 K about
10 K at night (physics notes) taken as +-2 sigma; a voice 50-60 dB at 1 m (physics notes) as
+-1.7 sigma; vehicle sizes and levels *estimates* (fleet variety)."""


def drawn_signature(kind: str, count: int, rng: np.random.Generator,
                    perturb: float = 1.0) -> ThermalSignature:
    """The kind's nominal signature with its height, width and contrast drawn for one target
    (the critical dimension follows the square root of the silhouette's area)."""
    nominal = signature(kind, count)
    spread = SPREADS[kind]
    h, w, c = np.exp(rng.normal(0.0, 1.0, 3) * perturb
                     * np.array([spread.height, spread.width, spread.contrast]))
    return ThermalSignature(nominal.critical_dim_m * float(np.sqrt(h * w)),
                            nominal.width_m * float(w), nominal.height_m * float(h),
                            nominal.contrast_night_k * float(c), nominal.contrast_floor_k)


def drawn_sounds(kind: str, rng: np.random.Generator,
                 perturb: float = 1.0) -> tuple[SoundSource, ...]:
    """The kind's sounds with one level offset drawn for the target (its voice, its engine)."""
    offset = float(rng.normal(0.0, SPREADS[kind].level_db * perturb))
    return tuple(SoundSource(s.level_db + offset, s.peak_hz, s.hint, s.probability)
                 for s in SOUNDS[kind])


def widened(bounds: tuple[float, float], perturb: float) -> tuple[float, float]:
    """A published range widened (or narrowed) about its centre by ``perturb`` (>= 0); never
    below a tenth of its lower bound."""
    lo, hi = bounds
    mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo) * perturb
    return max(mid - half, 0.1 * lo), mid + half
