"""Target motion: scripted paths at kind-typical speeds with small random deviation (people
change posture on the way), and the run's nuisance animals and birds (``sim.fauna``).
Trajectories are computed once, on a time grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.interpolate import CubicSpline
from scipy.signal import lfilter

from sim.draws import drawn_signature, drawn_sounds
from sim.fauna import BIRD, draw_animals, draw_species_mix, posture_series, wander
from sim.sensors import extent
from sim.signatures import (
    LATERAL_MEMORY_M,
    LATERAL_SIGMA_M,
    SPEED_MPS,
    SoundSource,
    ThermalSignature,
)
from sim.truth import TargetTruth

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class ScriptedMove:
    """What the scenario says about one target (a plain view of its ``targets`` entry)."""

    id: str
    kind: str
    start_s: float
    speed_mps: float
    path: list[Point]
    count: int = 1
    stops: tuple[tuple[float, float], ...] = ()
    """``(at_s, duration_s)`` halts: the target stands still then."""


def ou_series(rng: np.random.Generator, n: int, sigma: float, step: float,
              memory: float) -> FloatArray:
    """A stationary Ornstein–Uhlenbeck (AR(1)) series of ``n`` samples with std ``sigma``,
    ``step`` apart with correlation length ``memory`` (in time or distance, one unit)."""
    a = float(np.exp(-step / memory))
    noise = rng.standard_normal(n)
    noise[0] *= 1.0 / max(np.sqrt(1.0 - a * a), 1e-9)  # start in the stationary distribution
    out = lfilter([sigma * np.sqrt(1.0 - a * a)], [1.0, -a], noise)
    return np.asarray(out, dtype=np.float64)


def route_wobble_m(rng: np.random.Generator, dist_m: FloatArray, route_m: float,
                   sigma_m: float, memory_m: float) -> FloatArray:
    """The lateral wobble off a route at each distance travelled ``dist_m``: a stationary
    Ornstein–Uhlenbeck offset in distance (std ``sigma_m``, correlation length ``memory_m``)
    drawn at knots a quarter of ``memory_m`` apart along the ``route_m`` metres and joined
    by a cubic spline, so the path is smooth (a sideways slope of about a quarter, not a
    jitter at every step). A function of the distance covered, not of time or pace: it is
    still while the target is, and its shape on the ground is the same at any speed."""
    knot_m = memory_m / 4.0
    n = int(np.ceil(route_m / knot_m)) + 2
    series = ou_series(rng, n, sigma_m, knot_m, memory_m)
    return np.asarray(CubicSpline(np.arange(n) * knot_m, series)(dist_m), dtype=np.float64)


def pause_mask(rng: np.random.Generator, n: int, dt_s: float, move_mean_s: float = 60.0,
               pause_mean_s: float = 40.0) -> BoolArray:
    """Alternating moving (True) and paused (False) bouts with exponential durations."""
    out = np.empty(n, dtype=bool)
    k, moving = 0, bool(rng.random() < move_mean_s / (move_mean_s + pause_mean_s))
    while k < n:
        mean = move_mean_s if moving else pause_mean_s
        length = max(1, int(rng.exponential(mean) / dt_s))
        out[k:k + length] = moving
        k += length
        moving = not moving
    return out


class Targets:
    """All targets' positions on a regular time grid (``dt_s``), with activity masks."""

    def __init__(self, dt_s: float, n_steps: int) -> None:
        self.dt_s = dt_s
        self.n_steps = n_steps
        self.ids: list[str] = []
        self.kinds: list[str] = []
        self.scripted: list[bool] = []
        self.counts: list[int] = []
        self.origins: list[Point] = []
        self.start_s: list[float] = []
        self.end_s: list[float] = []
        self.signatures: list[ThermalSignature | None] = []
        """Per target: its own thermal signature (an animal's drawn size), else its kind's."""
        self.sounds: list[tuple[SoundSource, ...] | None] = []
        self.species: list[str | None] = []
        self._xy: list[FloatArray] = []
        self._active: list[BoolArray] = []
        self._stature: list[FloatArray | None] = []
        self._heading: list[FloatArray | None] = []
        self._stacked: tuple[FloatArray, BoolArray] | None = None
        self._statures: FloatArray | None = None

    @property
    def xy_m(self) -> FloatArray:
        """Positions ``(N, steps, 2)`` of every target on the time grid."""
        return self._stack()[0]

    @property
    def active(self) -> BoolArray:
        """Whether each target is in the scene, ``(N, steps)``."""
        return self._stack()[1]

    def _stack(self) -> tuple[FloatArray, BoolArray]:
        if self._stacked is None:
            n = self.n_steps
            self._stacked = (np.stack(self._xy) if self._xy else np.zeros((0, n, 2)),
                             np.stack(self._active) if self._active
                             else np.zeros((0, n), dtype=bool))
        return self._stacked

    def stature_at(self, sim_s: FloatArray) -> FloatArray:
        """Share of the standing silhouette each target shows (posture), ``(F, N)``."""
        if self._statures is None:
            self._statures = np.stack([np.ones(self.n_steps) if s is None else s
                                       for s in self._stature]) if self._stature \
                else np.zeros((0, self.n_steps))
        k = np.clip(np.rint(np.asarray(sim_s) / self.dt_s), 0, self.n_steps - 1).astype(np.intp)
        return np.asarray(self._statures[:, k].T, dtype=np.float64)

    def headings_deg(self) -> FloatArray:
        """Each target's body heading (clockwise from grid north) on the time grid,
        ``(N, steps)``: a scripted target faces along its route (the leg it is on, held
        through stops; the path's lateral wobble does not turn it), any other the direction
        of its last step (:func:`sim.sensors.extent.headings_deg`)."""
        rows = [extent.headings_deg(xy[None])[0] if h is None else h
                for xy, h in zip(self._xy, self._heading, strict=True)]
        return np.stack(rows) if rows else np.zeros((0, self.n_steps))

    def _add(self, tid: str, kind: str, scripted: bool, count: int, start_s: float,
             end_s: float, xy: FloatArray, active: BoolArray, *,
             signature: ThermalSignature | None = None,
             sounds: tuple[SoundSource, ...] | None = None, species: str | None = None,
             stature: FloatArray | None = None, heading_deg: FloatArray | None = None) -> None:
        self.ids.append(tid)
        self.kinds.append(kind)
        self.scripted.append(scripted)
        self.counts.append(count)
        self.origins.append((float(xy[0, 0]), float(xy[0, 1])) if not scripted else (0.0, 0.0))
        self.start_s.append(start_s)
        self.end_s.append(end_s)
        self._xy.append(xy)
        self._active.append(active)
        self.signatures.append(signature)
        self.sounds.append(sounds)
        self.species.append(species)
        self._stature.append(stature)
        self._heading.append(heading_deg)
        self._stacked = None
        self._statures = None

    def add_scripted(self, move: ScriptedMove, rng: np.random.Generator,
                     truth_rng: np.random.Generator | None = None,
                     perturb: float = 1.0) -> None:
        """A target following its waypoints from ``start_s`` until its last one; people
        (and groups) break their walk now and then to crouch or crawl (``sim.fauna``), more
        slowly and smaller. With ``truth_rng`` its size, contrast and sound levels are drawn
        around its kind's nominals (``sim.draws``), spreads times ``perturb``."""
        path = np.asarray(move.path, dtype=np.float64)
        seg = np.diff(path, axis=0)
        seg_len = np.hypot(seg[:, 0], seg[:, 1])
        cum = np.concatenate([[0.0], np.cumsum(seg_len)])
        t = np.arange(self.n_steps) * self.dt_s
        _, rel_sigma = SPEED_MPS[move.kind]
        speed = move.speed_mps * np.clip(
            1.0 + ou_series(rng, self.n_steps, rel_sigma, self.dt_s, 60.0), 0.5, 1.5)
        if move.kind == "animal":
            speed = speed * pause_mask(rng, self.n_steps, self.dt_s)
        stature = None
        if move.kind in ("person", "group"):
            stature, pace = posture_series(self.n_steps, self.dt_s, rng, perturb)
            speed = speed * pace
        for at_s, duration_s in move.stops:
            speed = np.where((t >= at_s) & (t < at_s + duration_s), 0.0, speed)
        moving = t >= move.start_s
        dist = np.cumsum(np.where(moving, speed * self.dt_s, 0.0))
        dist = np.where(moving, dist - dist[np.argmax(moving)] if moving.any() else 0.0, 0.0)
        done = dist >= cum[-1]
        end_s = float(t[np.argmax(done)]) if done.any() else float("inf")
        dist = np.minimum(dist, cum[-1])
        x = np.interp(dist, cum, path[:, 0])
        y = np.interp(dist, cum, path[:, 1])
        k = np.clip(np.searchsorted(cum, dist, side="right") - 1, 0, len(seg) - 1)
        nx, ny = -seg[k, 1] / seg_len[k], seg[k, 0] / seg_len[k]
        # the wobble advances with the distance covered (still in stops and pauses)
        lateral = route_wobble_m(rng, dist, float(cum[-1]), LATERAL_SIGMA_M[move.kind],
                                 LATERAL_MEMORY_M[move.kind])
        lateral *= np.clip(dist / 50.0, 0.0, 1.0)  # the origin is the first waypoint itself
        xy = np.stack([x + lateral * nx, y + lateral * ny], axis=1)
        active = moving & ~done
        own = (None, None) if truth_rng is None else (
            drawn_signature(move.kind, move.count, truth_rng, perturb),
            drawn_sounds(move.kind, truth_rng, perturb))
        self._add(move.id, move.kind, True, move.count, move.start_s, end_s, xy, active,
                  stature=stature, signature=own[0], sounds=own[1],
                  heading_deg=np.degrees(np.arctan2(seg[k, 0], seg[k, 1])))
        self.origins[-1] = (float(path[0, 0]), float(path[0, 1]))

    def add_fauna(self, n_animals: int, box: tuple[float, float, float, float],
                  rng: np.random.Generator, *, n_birds: int = 0,
                  river_box: tuple[float, float, float, float] | None = None,
                  spread: float = 1.0) -> None:
        """The run's nuisance animals: their species mix drawn around the nominal shares, in
        groups, each with its drawn size and its species' gait, inside ``box``; and
        ``n_birds`` water birds in ``river_box`` (skipped without one). Ids name the
        species (``roe_deer-001``); the kind stays ``animal``. ``spread`` widens the species
        mix and the size ranges (``--perturb``)."""
        herds = [(draw_animals(draw_species_mix(n_animals, rng, spread), rng, spread), box)]
        if n_birds > 0 and river_box is not None:
            herds.append((draw_animals([BIRD] * n_birds, rng, spread), river_box))
        counter: dict[str, int] = {}
        for animals, where in herds:
            if not animals:
                continue
            xy = wander(animals, where, self.n_steps, self.dt_s, rng)
            for i, animal in enumerate(animals):
                name = animal.species.name
                counter[name] = counter.get(name, 0) + 1
                self._add(f"{name}-{counter[name]:03d}", "animal", False, 1, 0.0, float("inf"),
                          xy[:, i, :].copy(), np.ones(self.n_steps, dtype=bool),
                          signature=animal.species.signature(animal.length_m, animal.shoulder_m),
                          sounds=animal.species.sounds, species=name)

    def at(self, sim_s: FloatArray) -> tuple[FloatArray, BoolArray]:
        """Positions ``(F, N, 2)`` and activity ``(F, N)`` at times ``sim_s (F,)``."""
        pos = np.clip(np.asarray(sim_s) / self.dt_s, 0.0, self.n_steps - 1.0)
        i0 = np.floor(pos).astype(np.intp)
        i1 = np.minimum(i0 + 1, self.n_steps - 1)
        w = (pos - i0)[None, :, None]
        xy = self.xy_m[:, i0] * (1.0 - w) + self.xy_m[:, i1] * w  # (N, F, 2)
        active = self.active[:, i0] & self.active[:, i1]
        return np.swapaxes(xy, 0, 1), active.T

    def truths(self, epoch_s: float) -> list[TargetTruth]:
        """Ground truth of every target, sampled while it is active."""
        t = np.arange(self.n_steps) * self.dt_s
        out = []
        for i, tid in enumerate(self.ids):
            act = self.active[i]
            out.append(TargetTruth(
                id=tid, kind=self.kinds[i], scripted=self.scripted[i],
                start_t_s=epoch_s + self.start_s[i], origin_xy_m=self.origins[i],
                end_t_s=epoch_s + self.end_s[i], t_s=epoch_s + t[act],
                xy_m=self.xy_m[i, act].copy(), count=self.counts[i]))
        return out


def positions_at(targets: Targets, sim_s: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Positions ``(..., N, 2)`` and activity ``(..., N)`` at per-target times ``(..., N)``."""
    pos = np.clip(np.asarray(sim_s) / targets.dt_s, 0.0, targets.n_steps - 1.0)
    i0 = np.floor(pos).astype(np.intp)
    i1 = np.minimum(i0 + 1, targets.n_steps - 1)
    n_idx = np.arange(len(targets.ids))
    n_idx = np.broadcast_to(n_idx, pos.shape)
    w = (pos - i0)[..., None]
    xy = targets.xy_m[n_idx, i0] * (1.0 - w) + targets.xy_m[n_idx, i1] * w
    active = targets.active[n_idx, i0] & targets.active[n_idx, i1]
    return np.asarray(xy, dtype=np.float64), np.asarray(active, dtype=bool)
