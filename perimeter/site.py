"""Sites: towers, the perimeter line, river and terrain zones, in the site's east-north frame."""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from perimeter.terrain import BUILTIN_DEMS, Dem

Point = tuple[float, float]
ZoneKind = Literal["forest", "built", "water", "open"]


class SiteError(ValueError):
    """A site that cannot be loaded; the message names the field path and the reason."""


class GeoOrigin(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class TowerSpec(BaseModel):
    """One tower: position, mast height and optional per-sensor parameter overrides."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
    x_m: float
    y_m: float
    height_m: Annotated[float, Field(ge=0.0, le=200.0)] = 15.0
    thermal: dict[str, Any] = {}
    acoustic: dict[str, Any] = {}

    @property
    def xy(self) -> Point:
        return (self.x_m, self.y_m)


class Zone(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ZoneKind
    name: str | None = None
    polygon: Annotated[list[Point], Field(min_length=3)]


class WatchZone(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    polygon: Annotated[list[Point], Field(min_length=3)]


class Site(BaseModel):
    """A site as the contract describes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    origin: GeoOrigin | None = None
    towers: Annotated[list[TowerSpec], Field(min_length=1)]
    perimeter: Annotated[list[Point], Field(min_length=2)]
    river: list[Point] | None = None
    terrain: list[Zone] = []
    watch_zones: list[WatchZone] = []
    dem: str | Dem | None = None
    """Terrain relief: a built-in DEM's name or a grid (``perimeter.terrain.Dem``); flat
    ground when left out."""

    @field_validator("dem")
    @classmethod
    def _known_dem(cls, value: str | Dem | None) -> str | Dem | None:
        if isinstance(value, str) and value not in BUILTIN_DEMS:
            raise ValueError(f"must be a grid or one of the built-in DEMs "
                             f"({', '.join(BUILTIN_DEMS)}), got {value!r}")
        return value

    @property
    def elevation(self) -> Dem | None:
        """The site's DEM, built-in ones generated (once) on first use; None for flat ground."""
        if isinstance(self.dem, str):
            return BUILTIN_DEMS[self.dem]()
        return self.dem

    @model_validator(mode="after")
    def _unique_tower_ids(self) -> Site:
        ids = [t.id for t in self.towers]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate tower ids {dupes}")
        return self

    def tower(self, tower_id: str) -> TowerSpec:
        for spec in self.towers:
            if spec.id == tower_id:
                return spec
        raise KeyError(tower_id)

    @property
    def perimeter_length_m(self) -> float:
        pts = self.perimeter
        return float(sum(((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5
                         for (ax, ay), (bx, by) in itertools.pairwise(pts)))


def western_heights() -> Site:
    """The built-in site of the contract: twelve towers on the ridge at x = 0."""
    return _builtin_western_heights()


@cache
def _builtin_western_heights() -> Site:
    towers = [TowerSpec(id=f"T{i:02d}", x_m=0.0, y_m=-2750.0 + 500.0 * (i - 1), height_m=15.0)
              for i in range(1, 13)]
    return Site(
        name="western-heights",
        origin=GeoOrigin(lat=50.0, lon=10.0),
        towers=towers,
        perimeter=[(1000.0, -3000.0), (1000.0, 3000.0)],
        river=[(1000.0, -4000.0), (1000.0, 4000.0)],
        terrain=[
            Zone(kind="forest", name="forest",
                 polygon=[(1500, 1500), (6000, 1500), (6000, 4000), (1500, 4000)]),
            Zone(kind="built", name="ruined town",
                 polygon=[(1000, -1500), (2500, -1500), (2500, 1500), (1000, 1500)]),
        ],
        watch_zones=[WatchZone(name="approach",
                               polygon=[(1000, -4000), (7000, -4000), (7000, 4000), (1000, 4000)])],
        dem="western-heights",
    )


BUILTIN_SITES = {"western-heights": western_heights}


def format_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """One line per error: ``field.path: reason``."""
    lines = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        lines.append(f"{path or '<root>'}: {err['msg']}")
    return "\n".join(lines)


def load_site(ref: str | Path | dict[str, Any], *, base_dir: Path | None = None) -> Site:
    """A site from a built-in name, a YAML file path, or an inline mapping."""
    if isinstance(ref, dict):
        try:
            return Site.model_validate(ref)
        except ValidationError as exc:
            raise SiteError(format_validation_error(exc, "site")) from None
    name = str(ref)
    if name in BUILTIN_SITES:
        return BUILTIN_SITES[name]()
    path = Path(name)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        raise SiteError(f"site: {name!r} is neither a built-in site "
                        f"({', '.join(BUILTIN_SITES)}) nor a file")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise SiteError(f"site: {path} does not hold a mapping")
    return load_site(data)
