"""Sector plan of sharded fusion: the perimeter cut into arc-length sectors, owned by shards.

A position belongs to the sector of its projection onto the site's perimeter polyline (its
*arc position* ``arc_m``, metres along the line from its first point). Each fusion shard
(``s1`` .. ``sN``) owns contiguous sectors and is fed the towers whose view (a disc of
``view_range_m``) reaches its sectors or ``margin_m`` beyond them, so a tower near a boundary
feeds both neighbours and a shard tracks an object before it enters its sectors. Standby shards
own nothing and mirror an active shard's towers (a hot standby). The plan is a pydantic model:
``plan.model_dump_json()`` writes it to a file, :func:`load_plan` reads it back.

Ownership of an alert has hysteresis (docs/scale.md, "Sectors, handover and takeover"): a shard
*holds* a track's alert while its arc position lies within its owned intervals widened by
``hysteresis_m`` on each side shared with another shard; it may *claim* (raise or take over) an
alert in the same zone, but near the low end of an interval it must first wait (the shard
below claims there at once and its alert, seen on the alerts topic, settles who holds it).
"""

from __future__ import annotations

import itertools
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from perimeter.fusion.triangulate import InitiatorConfig
from perimeter.site import Site

Point = tuple[float, float]
FloatArray = npt.NDArray[np.float64]
ShardIdStr = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]

VIEW_RANGE_M = InitiatorConfig().max_range_m
"""A tower's view for the plan: fusion starts tracks only within this range of the towers
(:attr:`perimeter.fusion.triangulate.InitiatorConfig.max_range_m`, 8 km)."""
MARGIN_M = 2000.0
"""A shard is fed the towers that see this far past its sectors: an object walking in
(1.4 m/s) is tracked for ~20 min, a car (15 m/s) for ~2 min, before it crosses."""
HYSTERESIS_M = 50.0
"""A held alert is handed over only this far past a boundary (track estimates of one object
by two shards differ by metres to tens of metres)."""
CLAIM_WAIT_SPAN = 4.0
"""Near the low end of a shard's interval the zone where it waits before claiming spans
``[lo - h, lo + (CLAIM_WAIT_SPAN - 1) h)``: both neighbours raise one object only when their
estimates of it differ by more than 2 h."""
DISC_SAMPLES = 64


class PlanError(ValueError):
    """A plan that cannot be built or used (unknown shard, bad reassignment)."""


class Claim(StrEnum):
    """May a shard open or take over an alert for a track at this arc position?"""

    NO = "no"
    YES = "yes"
    WAIT = "wait"
    """Only after waiting (data time) and only if no other shard holds an alert for it."""


def shard_ids(count: int, first: int = 1) -> list[str]:
    """``["s1", "s2", ...]``."""
    return [f"s{i}" for i in range(first, first + count)]


class _Arc:
    """Projection of points onto a polyline by arc length (metres from its first point)."""

    def __init__(self, points: list[Point]) -> None:
        pts = np.asarray(points, dtype=np.float64)
        self.a = pts[:-1]
        self.ab = pts[1:] - self.a
        seg = np.hypot(self.ab[:, 0], self.ab[:, 1])
        self.len2 = np.maximum(seg**2, 1e-12)
        self.start = np.concatenate([[0.0], np.cumsum(seg)[:-1]])
        self.seg = seg
        self.length_m = float(seg.sum())

    def project(self, xy: FloatArray) -> FloatArray:
        """Arc positions of points ``(n, 2)`` (nearest point on the line; ties: first)."""
        p = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        d = p[:, None, :] - self.a[None, :, :]
        t = np.clip(np.einsum("nki,ki->nk", d, self.ab) / self.len2, 0.0, 1.0)
        near = self.a[None, :, :] + t[:, :, None] * self.ab[None, :, :]
        dist2 = np.sum((near - p[:, None, :]) ** 2, axis=-1)
        k = np.argmin(dist2, axis=1)
        rows = np.arange(p.shape[0])
        return np.asarray(self.start[k] + t[rows, k] * self.seg[k], dtype=np.float64)


class SectorPlan(BaseModel):
    """Sectors along the perimeter, their owners and the towers each shard is fed."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    site: str
    """The site's name (a plan is made for one site)."""
    perimeter: Annotated[list[Point], Field(min_length=2)]
    boundaries_m: Annotated[list[float], Field(min_length=2)]
    """Arc positions of the sector boundaries, ``[0, ..., length]``: sector ``k`` is
    ``[boundaries_m[k], boundaries_m[k + 1])``."""
    owners: list[ShardIdStr]
    """The shard owning each sector."""
    shards: Annotated[list[ShardIdStr], Field(min_length=1)]
    """Every shard, standby ones included."""
    towers: dict[str, list[str]]
    """Per shard, the tower ids it is fed (sorted)."""
    standby_for: dict[str, str] = {}
    """A standby shard's id -> the active shard whose towers it is fed (hot standby)."""
    view_range_m: Annotated[float, Field(gt=0.0)] = VIEW_RANGE_M
    margin_m: Annotated[float, Field(ge=0.0)] = MARGIN_M
    hysteresis_m: Annotated[float, Field(ge=0.0)] = HYSTERESIS_M

    @model_validator(mode="after")
    def _consistent(self) -> SectorPlan:
        if len(self.owners) != len(self.boundaries_m) - 1:
            raise ValueError("owners: one per sector (len(boundaries_m) - 1)")
        if any(b <= a for a, b in itertools.pairwise(self.boundaries_m)):
            raise ValueError("boundaries_m: must rise strictly")
        unknown = sorted(({*self.owners} | {*self.towers} | {*self.standby_for}
                          | {*self.standby_for.values()}) - {*self.shards})
        if unknown:
            raise ValueError(f"shards {unknown} are not in shards")
        if len(set(self.shards)) != len(self.shards):
            raise ValueError("shards: duplicate ids")
        return self

    @property
    def _arc(self) -> _Arc:
        return _arc_of(tuple(self.perimeter))

    # -- positions ----------------------------------------------------------------------
    @property
    def sectors(self) -> int:
        return len(self.owners)

    @property
    def length_m(self) -> float:
        return self._arc.length_m

    def arc_m(self, x_m: float, y_m: float) -> float:
        """The arc position of a point: where its projection falls along the perimeter."""
        return float(self._arc.project(np.array([[x_m, y_m]]))[0])

    def sector_at(self, arc_m: float) -> int:
        """The sector of an arc position (clamped to the line's ends)."""
        k = int(np.searchsorted(self.boundaries_m, arc_m, side="right")) - 1
        return min(max(k, 0), self.sectors - 1)

    def sector_of(self, x_m: float, y_m: float) -> int:
        """The sector of a position, by its projection onto the perimeter."""
        return self.sector_at(self.arc_m(x_m, y_m))

    def owner_at(self, arc_m: float) -> str:
        return self.owners[self.sector_at(arc_m)]

    # -- shards -------------------------------------------------------------------------
    def _check(self, shard_id: str) -> None:
        if shard_id not in self.shards:
            raise PlanError(f"unknown shard {shard_id!r} (plan has {', '.join(self.shards)})")

    @property
    def active_shards(self) -> list[str]:
        """Shards that own at least one sector, in order."""
        return [s for s in self.shards if s in self.owners]

    def owned(self, shard_id: str) -> tuple[int, ...]:
        """The sectors a shard owns (empty for a standby)."""
        self._check(shard_id)
        return tuple(k for k, owner in enumerate(self.owners) if owner == shard_id)

    def towers_for(self, shard_id: str) -> frozenset[str]:
        """The towers a shard is fed: those whose view reaches its sectors (plus the margin)."""
        self._check(shard_id)
        return frozenset(self.towers.get(shard_id, ()))

    def intervals(self, shard_id: str) -> list[tuple[float, float]]:
        """The shard's owned sectors merged into arc intervals ``(lo_m, hi_m)``."""
        out: list[tuple[float, float]] = []
        for k in self.owned(shard_id):
            lo, hi = self.boundaries_m[k], self.boundaries_m[k + 1]
            if out and out[-1][1] == lo:
                out[-1] = (out[-1][0], hi)
            else:
                out.append((lo, hi))
        return out

    def holds(self, shard_id: str, arc_m: float) -> bool:
        """Whether the shard keeps an alert for a track at ``arc_m``: inside its sectors
        widened by the hysteresis (open-ended at the line's ends)."""
        return self.claim(shard_id, arc_m) is not Claim.NO

    def claim(self, shard_id: str, arc_m: float) -> Claim:
        """Whether the shard may open (or take over) an alert for a track at ``arc_m``."""
        h = self.hysteresis_m
        for lo, hi in self.intervals(shard_id):
            low = -np.inf if lo <= self.boundaries_m[0] else lo - h
            high = np.inf if hi >= self.boundaries_m[-1] else hi + h
            if low <= arc_m <= high:
                if np.isfinite(low) and arc_m < lo + (CLAIM_WAIT_SPAN - 1.0) * h:
                    return Claim.WAIT
                return Claim.YES
        return Claim.NO

    def reassign(self, dead_shard: str, to_shard: str) -> SectorPlan:
        """The plan after ``to_shard`` (a standby or a neighbour) takes over every sector of
        ``dead_shard`` and is fed its towers as well; the dead shard leaves the plan's
        owners and tower lists (it stays in ``shards``)."""
        self._check(dead_shard)
        self._check(to_shard)
        if dead_shard == to_shard:
            raise PlanError(f"shard {dead_shard!r} cannot take over itself")
        owners = [to_shard if o == dead_shard else o for o in self.owners]
        towers = dict(self.towers)
        towers[to_shard] = sorted(set(towers.get(to_shard, ())) | set(towers.pop(dead_shard, ())))
        standby = {s: m for s, m in self.standby_for.items() if s not in (dead_shard, to_shard)}
        return self.model_copy(update={"owners": owners, "towers": towers,
                                       "standby_for": standby})

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")


@lru_cache(maxsize=16)
def _arc_of(points: tuple[Point, ...]) -> _Arc:
    return _Arc(list(points))


def load_plan(path: str | Path) -> SectorPlan:
    """A plan written by :meth:`SectorPlan.save` (or ``model_dump_json``)."""
    return SectorPlan.model_validate_json(Path(path).read_text(encoding="utf-8"))


def plan_sectors(site: Site, shards: int, *, standby: int = 0, sectors_per_shard: int = 1,
                 margin_m: float = MARGIN_M, hysteresis_m: float = HYSTERESIS_M,
                 view_range_m: float = VIEW_RANGE_M) -> SectorPlan:
    """Cut ``site``'s perimeter into ``shards * sectors_per_shard`` sectors of equal arc
    length, give each shard ``sectors_per_shard`` contiguous ones, and feed it the towers whose
    view disc (``view_range_m``) projects onto its sectors widened by ``margin_m``. ``standby``
    shards ``s{N+1}..`` own nothing; standby ``i`` mirrors active shard ``i`` (its towers)."""
    if shards < 1 or standby < 0 or sectors_per_shard < 1:
        raise PlanError(f"need shards >= 1, standby >= 0, sectors_per_shard >= 1 "
                        f"(got {shards}, {standby}, {sectors_per_shard})")
    if standby > shards:
        raise PlanError(f"{standby} standby shards for {shards} active ones: one each at most")
    arc = _Arc(list(site.perimeter))
    count = shards * sectors_per_shard
    bounds = np.linspace(0.0, arc.length_m, count + 1)
    active = shard_ids(shards)
    spare = shard_ids(standby, first=shards + 1)
    owners = [active[k // sectors_per_shard] for k in range(count)]
    reach = _tower_reach(arc, site, view_range_m)
    towers: dict[str, list[str]] = {}
    for i, shard in enumerate(active):
        lo = bounds[i * sectors_per_shard] - margin_m
        hi = bounds[(i + 1) * sectors_per_shard] + margin_m
        towers[shard] = sorted(tid for tid, (r_lo, r_hi) in reach.items()
                               if r_hi >= lo and r_lo <= hi)
    standby_for = {s: active[i] for i, s in enumerate(spare)}
    for s, mirrored in standby_for.items():
        towers[s] = list(towers[mirrored])
    return SectorPlan(site=site.name, perimeter=list(site.perimeter),
                      boundaries_m=[float(b) for b in bounds], owners=owners,
                      shards=active + spare, towers=towers, standby_for=standby_for,
                      view_range_m=view_range_m, margin_m=margin_m, hysteresis_m=hysteresis_m)


def _tower_reach(arc: _Arc, site: Site, view_range_m: float) -> dict[str, tuple[float, float]]:
    """Per tower, the arc interval its view disc projects onto (sampled: centre, a ring at
    half the range and the rim; exact for a straight line, conservative for a bend)."""
    angles = np.linspace(0.0, 2.0 * np.pi, DISC_SAMPLES, endpoint=False)
    ring = np.stack([np.sin(angles), np.cos(angles)], axis=-1)
    offsets = np.concatenate([[[0.0, 0.0]], 0.5 * view_range_m * ring, view_range_m * ring])
    out: dict[str, tuple[float, float]] = {}
    batch = 64
    for start in range(0, len(site.towers), batch):
        chunk = site.towers[start:start + batch]
        xy = np.array([t.xy for t in chunk])
        s = arc.project((xy[:, None, :] + offsets[None, :, :]).reshape(-1, 2))
        s = s.reshape(len(chunk), -1)
        for tower, lo, hi in zip(chunk, s.min(axis=1), s.max(axis=1), strict=True):
            out[tower.id] = (float(lo), float(hi))
    return out
