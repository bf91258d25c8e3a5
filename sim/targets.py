"""Target motion: scripted paths at kind-typical speeds with small random deviation, and
wandering animals (random walk with pauses). Trajectories are computed once, on a time grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

from sim.signatures import LATERAL_SIGMA_M, SPEED_MPS
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


def ou_series(rng: np.random.Generator, n: int, sigma: float, dt_s: float,
              tau_s: float) -> FloatArray:
    """A stationary Ornstein–Uhlenbeck (AR(1)) series of ``n`` samples with std ``sigma``."""
    a = float(np.exp(-dt_s / tau_s))
    noise = rng.standard_normal(n)
    noise[0] *= 1.0 / max(np.sqrt(1.0 - a * a), 1e-9)  # start in the stationary distribution
    out = lfilter([sigma * np.sqrt(1.0 - a * a)], [1.0, -a], noise)
    return np.asarray(out, dtype=np.float64)


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
        self._xy: list[FloatArray] = []
        self._active: list[BoolArray] = []
        self._stacked: tuple[FloatArray, BoolArray] | None = None

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

    def _add(self, tid: str, kind: str, scripted: bool, count: int, start_s: float,
             end_s: float, xy: FloatArray, active: BoolArray) -> None:
        self.ids.append(tid)
        self.kinds.append(kind)
        self.scripted.append(scripted)
        self.counts.append(count)
        self.origins.append((float(xy[0, 0]), float(xy[0, 1])) if not scripted else (0.0, 0.0))
        self.start_s.append(start_s)
        self.end_s.append(end_s)
        self._xy.append(xy)
        self._active.append(active)
        self._stacked = None

    def add_scripted(self, move: ScriptedMove, rng: np.random.Generator) -> None:
        """A target following its waypoints from ``start_s`` until its last one."""
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
        lateral = ou_series(rng, self.n_steps, LATERAL_SIGMA_M[move.kind], self.dt_s, 40.0)
        lateral *= np.clip(dist / 50.0, 0.0, 1.0)  # the origin is the first waypoint itself
        xy = np.stack([x + lateral * nx, y + lateral * ny], axis=1)
        active = moving & ~done
        self._add(move.id, move.kind, True, move.count, move.start_s, end_s, xy, active)
        self.origins[-1] = (float(path[0, 0]), float(path[0, 1]))

    def add_wanderers(self, n: int, box: tuple[float, float, float, float],
                      rng: np.random.Generator, prefix: str = "animal") -> None:
        """``n`` random-walking animals inside ``box`` (x0, y0, x1, y1) for the whole run."""
        if n <= 0:
            return
        x0, y0, x1, y1 = box
        start = np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])
        heading = rng.uniform(0.0, 2.0 * np.pi, n) + np.cumsum(
            rng.normal(0.0, 0.05, (self.n_steps, n)), axis=0)
        moving = np.stack([pause_mask(rng, self.n_steps, self.dt_s) for _ in range(n)], axis=1)
        # a new walking pace now and then (~ once a minute), held until the next
        new_bout = rng.random((self.n_steps, n)) < self.dt_s / 60.0
        new_bout[0] = True
        pace = np.clip(0.8 * rng.lognormal(0.0, 0.5, (self.n_steps, n)), 0.2, 4.0)
        last = np.maximum.accumulate(np.where(new_bout, np.arange(self.n_steps)[:, None], 0),
                                     axis=0)
        step = np.take_along_axis(pace, last, axis=0) * self.dt_s * moving
        free = np.empty((self.n_steps, n, 2))
        free[0] = start
        free[1:, :, 0] = start[:, 0] + np.cumsum((np.sin(heading) * step)[:-1], axis=0)
        free[1:, :, 1] = start[:, 1] + np.cumsum((np.cos(heading) * step)[:-1], axis=0)
        # reflecting walls: fold the free walk back into the box
        xy = np.stack([_fold(free[..., 0], x0, x1), _fold(free[..., 1], y0, y1)], axis=-1)
        for i in range(n):
            self._add(f"{prefix}-{i + 1:03d}", "animal", False, 1, 0.0, float("inf"),
                      xy[:, i, :].copy(), np.ones(self.n_steps, dtype=bool))

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


def _fold(u: FloatArray, lo: float, hi: float) -> FloatArray:
    """Mirror a free coordinate into [lo, hi] (a walk reflected at the walls)."""
    span = hi - lo
    v = np.mod(u - lo, 2.0 * span)
    return np.asarray(lo + np.where(v > span, 2.0 * span - v, v), dtype=np.float64)


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
