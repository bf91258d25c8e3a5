"""Nuisance animals by species, and people's postures: sizes and gaits from published ranges
(sources in docs/sensors.md, "Animals, birds and posture"), drawn per animal and per run.

Every animal is still of kind ``animal`` for truth and scoring; its species sets its thermal
signature (body length and shoulder height drawn within the species' range), its sounds, its
walking and trotting paces and how long it walks and pauses. Birds keep to the river.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

from sim.draws import widened
from sim.signatures import SoundSource, ThermalSignature

FloatArray = npt.NDArray[np.float64]
PERSON_DC_PER_SQRT_AREA = 0.75 / (0.5 * 1.75) ** 0.5
"""A person's critical dimension (0.75 m) over the square root of its silhouette (0.5 x
1.75 m): the same ratio turns an animal's silhouette into its critical dimension."""


@dataclass(frozen=True, slots=True)
class Species:
    """Published size and gait ranges of one nuisance species (estimates marked in the docs)."""

    name: str
    length_m: tuple[float, float]  # body length (seen side on: the silhouette's width)
    shoulder_m: tuple[float, float]  # shoulder height (the silhouette is 1.15x, with the head)
    walk_mps: tuple[float, float]  # walking pace, drawn per bout
    trot_mps: tuple[float, float]  # trotting pace
    trot_share: float  # share of moving bouts at a trot
    move_mean_s: float  # mean length of a moving bout
    pause_mean_s: float  # mean length of a pause (grazing, rooting, resting)
    group: tuple[int, int]  # group size, drawn uniformly
    contrast_night_k: float
    sounds: tuple[SoundSource, ...]
    weight: float  # share of the nuisance animals of a run, before the per-run draw
    turn_sigma: float = 0.05  # heading random walk per 0.5 s step (rad)

    def signature(self, length_m: float, shoulder_m: float) -> ThermalSignature:
        """The thermal signature of one animal of this species with the drawn size."""
        height = 1.15 * shoulder_m
        dc = PERSON_DC_PER_SQRT_AREA * (length_m * height) ** 0.5
        return ThermalSignature(dc, length_m, height, self.contrast_night_k, 0.5)


_STEPS = SoundSource(45.0, 300.0, "footsteps", 0.9)

SPECIES: dict[str, Species] = {s.name: s for s in (
    Species("roe_deer", (0.95, 1.35), (0.60, 0.75), (0.6, 1.5), (2.5, 4.0), 0.10, 60.0, 60.0,
            (1, 3), 7.0, (_STEPS, SoundSource(80.0, 800.0, "unknown", 0.05)), 0.30),
    Species("red_deer", (1.60, 2.60), (0.95, 1.37), (0.8, 1.6), (3.0, 5.0), 0.10, 90.0, 60.0,
            (1, 6), 7.0, (_STEPS, SoundSource(85.0, 400.0, "unknown", 0.05)), 0.10),
    Species("wild_boar", (0.90, 2.00), (0.55, 1.10), (0.3, 1.2), (2.0, 3.5), 0.05, 60.0, 90.0,
            (1, 6), 6.0, (SoundSource(48.0, 250.0, "footsteps", 0.8),
                          SoundSource(65.0, 300.0, "unknown", 0.2)), 0.20),
    Species("red_fox", (0.50, 0.90), (0.35, 0.45), (0.6, 1.5), (1.7, 3.6), 0.30, 45.0, 45.0,
            (1, 1), 6.0, (SoundSource(38.0, 400.0, "footsteps", 0.95),
                          SoundSource(80.0, 1000.0, "unknown", 0.05)), 0.20),
    Species("dog", (0.60, 1.00), (0.40, 0.65), (1.3, 1.8), (2.5, 4.5), 0.25, 60.0, 30.0,
            (1, 2), 7.0, (SoundSource(42.0, 350.0, "footsteps", 0.9),
                          SoundSource(90.0, 600.0, "unknown", 0.1)), 0.10),
    Species("cattle", (2.00, 2.50), (1.20, 1.50), (0.5, 1.3), (2.0, 3.0), 0.02, 60.0, 240.0,
            (3, 12), 8.0, (SoundSource(55.0, 200.0, "footsteps", 0.95),
                           SoundSource(90.0, 250.0, "unknown", 0.05)), 0.10, 0.03),
)}

BIRD = Species("waterbird", (0.74, 1.00), (0.35, 0.50), (0.1, 0.4), (12.0, 18.0), 0.15,
               30.0, 300.0, (1, 8), 3.0, (SoundSource(75.0, 900.0, "unknown", 1.0),), 0.0, 0.02)
"""Geese and herons by the river: a walking (wading) pace, and 'trots' that are short, fast
flights along the water."""


@dataclass(frozen=True, slots=True)
class Animal:
    """One drawn animal: its species, size, and where its group starts."""

    species: Species
    length_m: float
    shoulder_m: float
    group: int  # index of its group (members follow the first)


def draw_species_mix(n: int, rng: np.random.Generator, spread: float = 1.0) -> list[Species]:
    """``n`` animals' species for one run: shares drawn around the nominal weights
    (Dirichlet, concentration 20 / ``spread``), then each animal's species."""
    names = list(SPECIES)
    weights = np.array([SPECIES[s].weight for s in names])
    shares = rng.dirichlet(weights * 20.0 / max(spread, 1e-3))
    return [SPECIES[names[i]] for i in rng.choice(len(names), size=n, p=shares)]


def draw_animals(species: list[Species], rng: np.random.Generator,
                 spread: float = 1.0) -> list[Animal]:
    """Sizes within each species' range (widened about its centre by ``spread``), in groups
    (a group's members share its species)."""
    out: list[Animal] = []
    k = 0
    while k < len(species):
        sp = species[k]
        size = int(rng.integers(sp.group[0], sp.group[1] + 1))
        group = len({a.group for a in out})
        for _ in range(min(size, len(species) - k)):
            out.append(Animal(sp, float(rng.uniform(*widened(sp.length_m, spread))),
                              float(rng.uniform(*widened(sp.shoulder_m, spread))), group))
            k += 1
    return out


def gait_speeds(sp: Species, n_steps: int, dt_s: float, rng: np.random.Generator) -> FloatArray:
    """Speed on the time grid: alternating moving and paused bouts (exponential lengths), each
    moving bout at a walking pace or, with ``trot_share``, a trot, drawn within the ranges."""
    out = np.zeros(n_steps)
    k = 0
    moving = bool(rng.random() < sp.move_mean_s / (sp.move_mean_s + sp.pause_mean_s))
    while k < n_steps:
        length = max(1, int(rng.exponential(sp.move_mean_s if moving else sp.pause_mean_s)
                            / dt_s))
        if moving:
            lo, hi = sp.trot_mps if rng.random() < sp.trot_share else sp.walk_mps
            out[k:k + length] = rng.uniform(lo, hi)
        k += length
        moving = not moving
    return out


@dataclass(frozen=True, slots=True)
class Posture:
    """A person's posture: the share of the standing silhouette's height it shows, its speed
    relative to walking, and its mean duration once taken."""

    name: str
    stature: float
    speed: float
    mean_s: float


POSTURES = (Posture("walking", 1.0, 1.0, 300.0), Posture("crouching", 0.63, 0.6, 40.0),
            Posture("crawling", 0.26, 0.25, 60.0))
"""Standing 1.75 m, crouching ~1.1 m, crawling on hands and knees ~0.45 m (*estimates*)."""
CROUCH_SHARE_OF_BREAKS = 0.6
"""Of the breaks from walking, the share spent crouching (the rest crawling)."""


def posture_series(n_steps: int, dt_s: float, rng: np.random.Generator,
                   spread: float = 1.0) -> tuple[FloatArray, FloatArray]:
    """A person's stature share and speed factor on the time grid: walking bouts broken by
    crouching or crawling ones (exponential lengths; ``spread`` lengthens the breaks)."""
    stature, speed = np.ones(n_steps), np.ones(n_steps)
    k = int(rng.exponential(POSTURES[0].mean_s) / dt_s)
    while k < n_steps:
        p = POSTURES[1] if rng.random() < CROUCH_SHARE_OF_BREAKS else POSTURES[2]
        length = max(1, int(rng.exponential(p.mean_s * spread) / dt_s))
        stature[k:k + length], speed[k:k + length] = p.stature, p.speed
        k += length + max(1, int(rng.exponential(POSTURES[0].mean_s) / dt_s))
    return stature, speed


def wander(animals: list[Animal], box: tuple[float, float, float, float], n_steps: int,
           dt_s: float, rng: np.random.Generator) -> FloatArray:
    """Positions ``(n_steps, len(animals), 2)``: each group's first member walks its species'
    gait with a wandering heading inside ``box`` (reflected at the walls); the others keep
    within ~15 m of it (an Ornstein-Uhlenbeck offset, a minute's memory)."""
    x0, y0, x1, y1 = box
    out = np.empty((n_steps, len(animals), 2))
    leaders: dict[int, FloatArray] = {}
    a = float(np.exp(-dt_s / 60.0))
    for i, animal in enumerate(animals):
        sp = animal.species
        if animal.group not in leaders:
            speed = gait_speeds(sp, n_steps, dt_s, rng)
            heading = rng.uniform(0.0, 2.0 * np.pi) + np.cumsum(
                rng.normal(0.0, sp.turn_sigma, n_steps))
            free = np.empty((n_steps, 2))
            free[0] = rng.uniform(x0, x1), rng.uniform(y0, y1)
            free[1:, 0] = free[0, 0] + np.cumsum((np.sin(heading) * speed * dt_s)[:-1])
            free[1:, 1] = free[0, 1] + np.cumsum((np.cos(heading) * speed * dt_s)[:-1])
            leaders[animal.group] = free
            out[:, i] = free
        else:
            noise = rng.standard_normal((n_steps, 2)) * np.sqrt(1.0 - a * a)
            noise[0] /= np.sqrt(1.0 - a * a)  # start in the stationary distribution
            offset = lfilter([15.0], [1.0, -a], noise, axis=0)
            out[:, i] = leaders[animal.group] + offset
    out[..., 0] = _fold(out[..., 0], x0, x1)
    out[..., 1] = _fold(out[..., 1], y0, y1)
    return out


def _fold(u: FloatArray, lo: float, hi: float) -> FloatArray:
    """Mirror a free coordinate into [lo, hi] (a walk reflected at the walls)."""
    span = hi - lo
    v = np.mod(u - lo, 2.0 * span)
    return np.asarray(lo + np.where(v > span, 2.0 * span - v, v), dtype=np.float64)
