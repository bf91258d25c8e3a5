"""Scenario files (contract "Scenario files"): loading, validation with field-path errors."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from perimeter.geometry import crosses_polyline, point_in_polygon
from perimeter.site import Site, SiteError, load_site
from sim.environment import WEATHERS, Weather
from sim.sensors.acoustic import AcousticParams
from sim.sensors.optics import ThermalParams
from sim.signatures import SPEED_MPS, usual_count

TargetKind = Literal["person", "group", "light_vehicle", "heavy_vehicle", "animal"]
FaultKind = Literal["offline", "link_down", "sensor_fail"]
Point = tuple[float, float]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; one ``field.path: reason`` line per problem."""


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WeatherChange(_Spec):
    at_s: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    weather: Weather


class EnvironmentSpec(_Spec):
    start_time: datetime
    weather: Weather | Annotated[list[WeatherChange], Field(min_length=1)] = "clear"
    wind_mps: Annotated[float, Field(ge=0.0, le=40.0)] = 2.0
    temperature_c: Annotated[float, Field(ge=-40.0, le=50.0)] = 10.0
    humidity_pct: Annotated[float, Field(gt=0.0, le=100.0)] = 70.0

    @field_validator("start_time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    @field_validator("weather", mode="before")
    @classmethod
    def _known(cls, value: Any) -> Any:
        if (isinstance(value, str) and value not in WEATHERS) or not isinstance(value, str | list):
            raise ValueError(f"must be one of {', '.join(WEATHERS)}, or a list of "
                             f"{{at_s, weather}}; got {value!r}")
        return value

    @field_validator("weather")
    @classmethod
    def _ordered(cls, value: Weather | list[WeatherChange]) -> Weather | list[WeatherChange]:
        if isinstance(value, list):
            times = [w.at_s for w in value]
            if times != sorted(times):
                raise ValueError("weather changes must be in increasing at_s order")
        return value

    def timeline(self) -> list[tuple[float, str]]:
        """``[(at_s, weather), ...]`` starting at 0 (clear before the first change)."""
        if isinstance(self.weather, str):
            return [(0.0, self.weather)]
        steps = [(w.at_s, str(w.weather)) for w in self.weather]
        return steps if steps[0][0] == 0.0 else [(0.0, "clear"), *steps]


class StopSpec(_Spec):
    """A scripted halt: the target stands still from ``at_s`` for ``duration_s``."""

    at_s: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    duration_s: Annotated[float, Field(gt=0.0, allow_inf_nan=False)]


class TargetSpec(_Spec):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    kind: TargetKind
    start_s: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    speed_mps: Annotated[float, Field(gt=0.0, le=40.0)] | None = None
    """Mean speed along the path; the kind's typical speed when left out."""
    path: Annotated[list[tuple[Finite, Finite]], Field(min_length=2)]
    count: Annotated[int, Field(ge=1, le=100)] = 1
    """Head count; when left out, the kind's usual (``usual_count``: a group of 3)."""
    stops: list[StopSpec] = []
    """Halts on the way (scenario seconds), in increasing, non-overlapping order."""

    @model_validator(mode="before")
    @classmethod
    def _usual_count(cls, data: Any) -> Any:
        if isinstance(data, dict) and "count" not in data and isinstance(data.get("kind"), str):
            return {**data, "count": usual_count(data["kind"])}
        return data

    @property
    def mean_speed_mps(self) -> float:
        return self.speed_mps if self.speed_mps is not None else SPEED_MPS[self.kind][0]

    @field_validator("stops")
    @classmethod
    def _ordered_stops(cls, value: list[StopSpec]) -> list[StopSpec]:
        for i in range(1, len(value)):
            if value[i].at_s < value[i - 1].at_s + value[i - 1].duration_s:
                raise ValueError(f"stop {i} begins before stop {i - 1} ends")
        return value

    @field_validator("path")
    @classmethod
    def _distinct(cls, value: list[Point]) -> list[Point]:
        for i in range(1, len(value)):
            if value[i] == value[i - 1]:
                raise ValueError(f"waypoints {i - 1} and {i} are the same point")
        return value


class NuisanceSpec(_Spec):
    animals: Annotated[int, Field(ge=0, le=1000)] = 0
    """Wandering animals; their species mix and sizes are drawn per run (``sim.fauna``)."""
    birds: Annotated[int, Field(ge=0, le=1000)] = 0
    """Water birds near the site's river (none without a river)."""
    blasts_per_hour: Annotated[float, Field(ge=0.0, le=600.0)] = 0.0


class FaultSpec(_Spec):
    tower: str
    kind: FaultKind
    start_s: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    duration_s: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] | None = None
    sensor: Literal["thermal", "acoustic"] = "thermal"
    """Which sensor a ``sensor_fail`` stops."""


class ClockSpec(_Spec):
    """Nominal spread of the towers' clock errors, drawn per tower and run."""

    offset_sigma_s: Annotated[float, Field(ge=0.0, le=10.0)] = 0.01
    drift_sigma_ppm: Annotated[float, Field(ge=0.0, le=1000.0)] = 2.0


class SensorsSpec(_Spec):
    """Scenario-wide sensor settings; towers may override the parameters (site ``thermal:``)."""

    frame_hz: Annotated[float, Field(gt=0.0, le=50.0)] = 2.0
    window_s: Annotated[float, Field(gt=0.0, le=60.0)] = 1.0
    status_interval_s: Annotated[float, Field(gt=0.0)] | None = None
    thermal: ThermalParams = ThermalParams()
    acoustic: AcousticParams = AcousticParams()
    clock: ClockSpec = ClockSpec()


class Scenario(_Spec):
    """A scenario exactly as the contract describes it, plus optional ``sensors``."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: Annotated[str, Field(min_length=1, max_length=128)]
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    duration_s: Annotated[float, Field(gt=0.0, le=30 * 86400.0)]
    site: str | dict[str, Any] = "western-heights"
    environment: EnvironmentSpec
    targets: list[TargetSpec] = []
    nuisance: NuisanceSpec = NuisanceSpec()
    faults: list[FaultSpec] = []
    sensors: SensorsSpec = SensorsSpec()
    perturb: Annotated[float, Field(ge=0.0, le=10.0)] = 1.0
    """*Extension*: widens every true parameter the run draws around its nominal (target
    sizes, contrasts, sound levels, animals, postures; ``sim.draws``): 0 nominal, 1 the
    documented spreads. ``perimeter eval --perturb`` and ``perimeter sim --perturb`` set it."""
    base_dir: Path | None = Field(default=None, exclude=True)

    @cached_property
    def site_model(self) -> Site:
        """The resolved site (built-in, file relative to the scenario, or inline)."""
        return load_site(self.site, base_dir=self.base_dir)

    @property
    def epoch_s(self) -> float:
        """The scenario's start as Unix time."""
        return self.environment.start_time.timestamp()

    def thermal_params(self, tower_id: str) -> ThermalParams:
        """The scenario's thermal parameters with the tower's overrides applied."""
        override = self.site_model.tower(tower_id).thermal
        base = self.sensors.thermal
        return ThermalParams.model_validate({**base.model_dump(), **override}) if override \
            else base

    def acoustic_params(self, tower_id: str) -> AcousticParams:
        """The scenario's acoustic parameters with the tower's overrides applied."""
        override = self.site_model.tower(tower_id).acoustic
        base = self.sensors.acoustic
        return AcousticParams.model_validate({**base.model_dump(), **override}) if override \
            else base


def with_perturb(scenario: Scenario, perturb: float) -> Scenario:
    """The scenario with its true-parameter spreads set to ``perturb`` times the documented
    ones (validated: 0 to 10)."""
    if not 0.0 <= perturb <= 10.0:
        raise ScenarioError(f"perturb: must be between 0 and 10, got {perturb:g}")
    return scenario.model_copy(update={"perturb": float(perturb)})


def format_errors(exc: ValidationError, prefix: str = "") -> str:
    """One ``field.path: reason`` line per error, without pydantic's union-branch tags."""
    lines = []
    for err in exc.errors(include_url=False):
        parts = [str(p) for p in (prefix, *err["loc"]) if p != ""]
        path = ".".join(p for p in parts if "[" not in p)
        reason = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{path or '<root>'}: {reason}")
    return "\n".join(dict.fromkeys(lines))


def _scenario_dir() -> Path:
    return Path(str(resources.files("sim") / "scenarios"))


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped in ``sim/scenarios``."""
    return sorted(p.stem for p in _scenario_dir().glob("*.yaml"))


def _check_against_site(scenario: Scenario) -> None:
    """Site resolution and cross-checks that need the site; errors name the field path."""
    try:
        site = scenario.site_model
    except SiteError as exc:
        raise ScenarioError(str(exc)) from None
    problems: list[str] = []
    tower_ids = [t.id for t in site.towers]
    for i, fault in enumerate(scenario.faults):
        if fault.tower not in tower_ids:
            problems.append(f"faults.{i}.tower: unknown tower {fault.tower!r} "
                            f"(site {site.name!r} has {', '.join(tower_ids)})")
        if fault.start_s >= scenario.duration_s:
            problems.append(f"faults.{i}.start_s: {fault.start_s:g} is not before the end "
                            f"(duration_s {scenario.duration_s:g})")
    seen: set[str] = set()
    for i, target in enumerate(scenario.targets):
        if target.id in seen:
            problems.append(f"targets.{i}.id: duplicate target id {target.id!r}")
        seen.add(target.id)
        if target.start_s >= scenario.duration_s:
            problems.append(f"targets.{i}.start_s: {target.start_s:g} is not before the end "
                            f"(duration_s {scenario.duration_s:g})")
    problems += _outside_watch_zones(scenario, site)
    for j, tower in enumerate(site.towers):
        for sensor, model in (("thermal", ThermalParams), ("acoustic", AcousticParams)):
            override = getattr(tower, sensor)
            if override:
                try:
                    base = getattr(scenario.sensors, sensor).model_dump()
                    model.model_validate({**base, **override})
                except ValidationError as exc:
                    problems.append(format_errors(exc, f"site.towers.{j}.{sensor}"))
    if problems:
        raise ScenarioError("\n".join(problems))


def _outside_watch_zones(scenario: Scenario, site: Site) -> list[str]:
    """Path points outside every watch zone of the site, each named by target and point.

    A path may leave the zones only by crossing the perimeter line: past it, on the protected
    side, its points are the intruder's goal, not the approach.
    """
    if not site.watch_zones:
        return []
    problems = []
    for i, target in enumerate(scenario.targets):
        crossed = False
        for k, point in enumerate(target.path):
            if k and not crossed:
                crossed = crosses_polyline(target.path[k - 1], point, site.perimeter)
            if crossed or any(point_in_polygon(point, z.polygon) for z in site.watch_zones):
                continue
            zones = ", ".join(z.name for z in site.watch_zones)
            problems.append(f"targets.{i}.path.{k}: target {target.id!r} point "
                            f"({point[0]:g}, {point[1]:g}) lies outside the site's watch zones "
                            f"({zones}) before crossing the perimeter")
    return problems


def _with_duration(data: dict[str, Any], duration_s: float) -> dict[str, Any]:
    """``data`` run for ``duration_s``: what would start after the end is left out."""
    if not duration_s > 0:
        raise ScenarioError(f"duration_s: must be positive, got {duration_s:g}")

    def starts_in_time(item: Any) -> bool:
        return not isinstance(item, dict) or float(item.get("start_s", 0.0)) < duration_s

    out = {**data, "duration_s": duration_s}
    for key in ("targets", "faults"):
        if isinstance(data.get(key), list):
            out[key] = [item for item in data[key] if starts_in_time(item)]
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"<file>: {path} is not valid YAML: {exc}") from None
    except OSError as exc:
        raise ScenarioError(f"<file>: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"<file>: {path} is not UTF-8 text: {exc.reason} at byte "
                            f"{exc.start}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"<root>: {path} does not hold a mapping")
    return data


def load_scenario(ref: str | Path | dict[str, Any], *,
                  site: str | Path | None = None, duration_s: float | None = None) -> Scenario:
    """A validated scenario from a built-in name, a YAML path or a mapping.

    ``site`` (optional) replaces the scenario's site; ``duration_s`` (optional) shortens or
    lengthens the run, dropping the targets and faults that would start after its end.
    Raises :class:`ScenarioError`.
    """
    base_dir: Path | None = None
    if isinstance(ref, dict):
        data = dict(ref)
    else:
        name = str(ref)
        path = _scenario_dir() / f"{name}.yaml" if name in builtin_scenarios() else Path(name)
        if not path.is_file():
            raise ScenarioError(f"<scenario>: {name!r} is neither a built-in scenario "
                                f"({', '.join(builtin_scenarios())}) nor a file")
        data = _read_yaml(path)
        base_dir = path.parent
    if site is not None:
        data["site"] = str(Path(site).resolve()) if Path(site).is_file() else str(site)
    if duration_s is not None:
        data = _with_duration(data, duration_s)
    data.pop("base_dir", None)
    try:
        scenario = Scenario.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        raise ScenarioError(format_errors(exc)) from None
    _check_against_site(scenario)
    return scenario
