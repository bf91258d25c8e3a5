"""The analyst's commands: ``eval``, ``tune``, ``coverage`` and ``export``.

Registered on the ``perimeter`` app by :func:`register`; each is a thin shell over
:mod:`perimeter.evaluation`, :mod:`perimeter.tuning`, :mod:`sim.coverage_command` and
:mod:`perimeter.export`. Bad input exits 2 with a message naming the option at fault.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import typer
from rich.console import Console

from perimeter.thresholds import Thresholds

err = Console(stderr=True)
T = TypeVar("T")

ThresholdsOpt = Annotated[Path | None, typer.Option(
    "--thresholds", help="YAML/JSON file of thresholds (public flat names).")]


def _guarded(action: Callable[[], T]) -> T:
    """Run ``action``; a refusal of the user's input becomes a message and exit code 2."""
    from perimeter.site import SiteError
    from perimeter.thresholds import ThresholdError
    from perimeter.tuning.apply import ApplyError
    from sim.scenario import ScenarioError

    try:
        return action()
    except (ScenarioError, SiteError, ThresholdError, ApplyError, ValueError, OSError) as exc:
        for line in str(exc).splitlines():
            err.print(f"error: {line}", markup=False, highlight=False)
        raise typer.Exit(2) from None


def _thresholds(path: Path | None) -> Thresholds | None:
    if path is None:
        return None
    from perimeter.thresholds import load_thresholds

    return load_thresholds(path)


def eval_command(
    scenarios: Annotated[list[str], typer.Argument(help="Scenario files or built-in names.")],
    thresholds: ThresholdsOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report.")] = False,
    aggregate: Annotated[bool, typer.Option(
        help="With --json: {\"runs\": [...], \"aggregate\": {...}} instead of a list.")] = False,
    workers: Annotated[int, typer.Option(min=1, help="Scenarios run in parallel.")] = 1,
    seeds: Annotated[int, typer.Option(
        min=1, help="Runs per scenario: its seed, then seed + 1000, + 2000, ...")] = 1,
    duration: Annotated[float | None, typer.Option(
        "--duration", min=1.0, help="Simulated seconds per run (default: each scenario's "
                                    "duration_s); what starts later is left out.")] = None,
    perturb: Annotated[float | None, typer.Option(
        min=0.0, max=10.0, help="Widen the simulated world's true-parameter draws (sizes, "
        "contrasts, levels, animals) to FACTOR times their documented spread: robustness to "
        "model mismatch (default: each scenario's perturb, 1).")] = None,
    cache_dir: Annotated[Path | None, typer.Option(
        envvar="PERIMETER_EVAL_CACHE", help="Keep the simulated runs here and reuse them while "
        "the scenario and the simulation's source are unchanged (fusion changes reuse them).")
    ] = None,
) -> None:
    """Run scenarios faster than real time through fusion and score them against truth."""
    from perimeter.evaluation.render import report_json, report_table
    from perimeter.evaluation.run import evaluate

    reports = _guarded(lambda: evaluate(scenarios, _thresholds(thresholds), workers=workers,
                                               seeds=seeds, perturb=perturb,
                                               duration_s=duration, cache_dir=cache_dir))
    if as_json:
        sys.stdout.write(report_json(reports, include_aggregate=aggregate) + "\n")
    else:
        Console().print(report_table(reports))


def tune_command(
    scenarios: Annotated[list[str], typer.Argument(help="Scenario files or built-in names.")],
    param: Annotated[list[str], typer.Option(
        help="NAME=LO:HI:STEP, repeatable (e.g. thermal.min_snr_db=14:16:0.5).")],
    seeds: Annotated[int, typer.Option(min=1, help="Seeds per scenario.")] = 1,
    random: Annotated[int | None, typer.Option(
        help="Random search with this many points instead of the grid.")] = None,
    random_seed: Annotated[int, typer.Option(help="Seed of the random search.")] = 0,
    max_false_alerts_per_km_day: Annotated[float, typer.Option(
        help="False-alert budget of the recommendation.")] = 1.0,
    thresholds: ThresholdsOpt = None,
    plot: Annotated[Path | None, typer.Option(help="Write the ROC-style PNG here.")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write JSON here.")] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write CSV here.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    executor: Annotated[str, typer.Option(help="local or dask.")] = "local",
    address: Annotated[str | None, typer.Option(
        help="Dask scheduler address (with --executor dask).")] = None,
    apply: Annotated[str | None, typer.Option(
        help="PATCH the recommendation to this running API (token: PERIMETER_API_TOKEN).")
    ] = None,
    force: Annotated[bool, typer.Option(
        help="--apply even a recommendation the sample cannot separate from the current.")
    ] = False,
    duration: Annotated[float | None, typer.Option(
        "--duration", min=1.0, help="Simulated seconds per run (default: each scenario's "
                                    "duration_s).")] = None,
    judged: Annotated[str | None, typer.Option(
        help="Alert store (SQLite path or postgresql://...) whose resolved alerts to replay "
             "each point's alert thresholds on.")] = None,
    cache_dir: Annotated[Path | None, typer.Option(
        envvar="PERIMETER_EVAL_CACHE", help="Keep the simulated runs here and reuse them (as "
        "eval does): each scenario and seed is simulated once.")] = None,
) -> None:
    """Sweep thresholds over scenarios; recommend the best Pd within the false-alert budget."""
    from perimeter.tuning.command import TuneOptions, tune

    if executor not in ("local", "dask"):
        err.print(f"error: --executor: must be local or dask, got {executor!r}")
        raise typer.Exit(2)
    kind: Literal["local", "dask"] = "dask" if executor == "dask" else "local"
    options = TuneOptions(seeds=seeds, max_false_alerts_per_km_day=max_false_alerts_per_km_day,
                          random=random, random_seed=random_seed, plot=plot,
                          json_path=json_path, csv_path=csv_path, workers=workers,
                          executor=kind, address=address, apply_url=apply, force=force,
                          judged_db=judged, duration_s=duration, cache_dir=cache_dir)
    _guarded(lambda: tune(scenarios, param, options, base=_thresholds(thresholds)))


def coverage_cmd(
    kind: Annotated[str, typer.Option(help="person, group, light_vehicle, heavy_vehicle, animal")
                    ] = "person",
    weather: Annotated[str, typer.Option(help="clear, haze, fog or rain.")] = "clear",
    time: Annotated[str, typer.Option(help="night, day or crossover.")] = "night",
    without: Annotated[list[str] | None, typer.Option(help="Leave this tower out (repeatable).")
                       ] = None,
    site: Annotated[str, typer.Option(help="Built-in site or site YAML file.")
                    ] = "western-heights",
    thresholds: ThresholdsOpt = None,
    png: Annotated[Path | None, typer.Option(help="Write the heat map PNG here.")] = None,
    geojson: Annotated[Path | None, typer.Option(help="Write the GeoJSON here.")] = None,
    resolution_m: Annotated[float, typer.Option(min=5.0, help="Grid cell size.")] = 50.0,
    dwell_s: Annotated[float, typer.Option(help="Seconds a target is watched for a fix.")
                       ] = 10.0,
) -> None:
    """Probability of detection over the site from the sensor models; shows blind spots."""
    from sim.coverage_command import coverage_command

    if time not in ("night", "day", "crossover"):
        err.print(f"error: --time: must be night, day or crossover, got {time!r}")
        raise typer.Exit(2)
    lighting: Literal["night", "day", "crossover"] = time  # type: ignore[assignment]
    _guarded(lambda: coverage_command(
        site=site, kind=kind, weather=weather, time=lighting, without=without or (),
        png=png, geojson=geojson, resolution_m=resolution_m, dwell_s=dwell_s,
        thresholds=_thresholds(thresholds)))


def export_command(
    out: Annotated[Path, typer.Option(help="GeoJSON file to write ('-' for stdout).")],
    recording: Annotated[Path | None, typer.Option(
        help="Fuse this JSONL recording and export its alerts and tracks.")] = None,
    store: Annotated[str | None, typer.Option(
        help="Export every alert of this store (sqlite:///FILE or postgresql://...).")] = None,
    site: Annotated[str, typer.Option(help="Built-in site or site YAML file.")
                    ] = "western-heights",
    thresholds: ThresholdsOpt = None,
) -> None:
    """Alerts (with origins) and tracks as GeoJSON in the site's geographic frame."""
    from perimeter.export import from_recording, from_store
    from perimeter.site import load_site

    if (recording is None) == (store is None):
        err.print("error: give exactly one of --recording and --store")
        raise typer.Exit(2)

    def build() -> dict[str, object]:
        the_site = load_site(site)
        if recording is not None:
            return from_recording(recording, the_site, _thresholds(thresholds))
        assert store is not None
        return from_store(store, the_site)

    text = json.dumps(_guarded(build))
    if str(out) == "-":
        sys.stdout.write(text + "\n")
    else:
        out.write_text(text, encoding="utf-8")
        err.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add the analyst's commands to ``app``."""
    app.command("eval")(eval_command)
    app.command("tune")(tune_command)
    app.command("coverage")(coverage_cmd)
    app.command("export")(export_command)
