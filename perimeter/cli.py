"""The ``perimeter`` command: ``up``, ``sim``, ``fusion``, ``api``, ``scenario validate``, and
the analyst's ``eval``, ``tune``, ``coverage`` and ``export`` (in :mod:`perimeter.cli_analysis`),
``operators add|list|remove`` (in :mod:`perimeter.cli_operators`).

Thin: options (or ``PERIMETER_*`` variables, through :mod:`perimeter.config`) are turned into
settings, and the services, imported inside each command, do the work.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from perimeter.config import ApiSettings, FusionSettings, SimSettings

app = typer.Typer(name="perimeter", no_args_is_help=True, add_completion=False,
                  help="Simulated, sensor-fused perimeter monitor.")
scenario_app = typer.Typer(no_args_is_help=True, help="Scenario files.")
app.add_typer(scenario_app, name="scenario")
contract_app = typer.Typer(no_args_is_help=True, help="The message contract's documents.")
app.add_typer(contract_app, name="contract")
err = Console(stderr=True)
S = TypeVar("S", SimSettings, FusionSettings, ApiSettings)

BrokerOpt = Annotated[str | None, typer.Option(
    "--broker", help="Broker URL mqtt://HOST:PORT \\[default: mqtt://127.0.0.1:1883; env "
         "PERIMETER_BROKER_URL].")]
SiteOpt = Annotated[str | None, typer.Option(
    help="Built-in site name or site YAML file \\[default: the scenario's site; env "
         "PERIMETER_SITE].")]
DbOpt = Annotated[Path | None, typer.Option(
    "--db", help="SQLite file of the alert store \\[env PERIMETER_DB_URL=sqlite:///PATH].")]


def _settings(cls: type[S], **options: Any) -> S:
    """Settings from the given options over ``PERIMETER_*`` variables; exit 2 if invalid."""
    try:
        return cls(**{k: v for k, v in options.items() if v is not None})
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            field = ".".join(str(p) for p in error["loc"])
            err.print(f"[red]error:[/] {field}: {error['msg']}")
        raise typer.Exit(2) from None


def _db_url(db: Path | None) -> str | None:
    return None if db is None else f"sqlite:///{db}"


def _logging() -> None:
    level = os.environ.get("PERIMETER_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")


@app.command()
def up(
    scenario: Annotated[str | None, typer.Option(
        help="Built-in scenario or YAML file \\[default: default].")] = None,
    site: SiteOpt = None,
    speed: Annotated[float | None, typer.Option(
        help="Simulation speed × real time \\[default: 1].")] = None,
    broker: Annotated[str | None, typer.Option(
        help="Use this broker (mqtt://HOST:PORT) instead of starting one.")] = None,
    mqtt_port: Annotated[int | None, typer.Option(
        help="Port of the embedded broker \\[default: 1883, or a free one if 1883 is taken].")
    ] = None,
    api_port: Annotated[int | None, typer.Option(
        help="Port of the REST API on 127.0.0.1 \\[default: 8000, or a free one if taken].")
    ] = None,
    db: Annotated[Path, typer.Option(help="SQLite file of the alert store.")] = Path(
        "perimeter.db"),
    broker_impl: Annotated[str, typer.Option(
        help="Embedded broker: auto (mosquitto if installed, else amqtt), amqtt, mosquitto.")
    ] = "auto",
    shards: Annotated[int, typer.Option(
        min=0, max=64, help="Sharded fusion: this many fusion shards on a local NATS cluster "
                            "(docs/scale.md); 0: one fusion on the embedded broker.")] = 0,
    broker_cluster: Annotated[int, typer.Option(
        min=0, max=9, help="Sharded fusion: nodes of the local NATS cluster \\[default: 3 "
                           "with --shards].")] = 0,
    standby: Annotated[int, typer.Option(
        min=0, max=64, help="Sharded fusion: hot standby shards (standby i mirrors shard i "
                            "and takes over its sectors when it dies).")] = 0,
) -> None:
    """Broker, simulation, fusion and API together; Ctrl-C stops them all."""
    from services.up import UpConfig, run_up

    _logging()
    if broker_impl not in ("auto", "amqtt", "mosquitto"):
        err.print(f"[red]error:[/] --broker-impl: must be auto, amqtt or mosquitto, "
                  f"got {broker_impl!r}")
        raise typer.Exit(2)
    sim = _settings(SimSettings, scenario=scenario, site=site, speed=speed, broker_url=broker)
    config = UpConfig(scenario=sim.scenario, site=sim.site, speed=sim.speed,
                      broker_url=broker, mqtt_port=mqtt_port or 0, api_port=api_port or 0,
                      db_path=db, broker_impl=broker_impl,  # type: ignore[arg-type]
                      shards=shards, broker_cluster=broker_cluster, standby=standby)
    raise typer.Exit(run_up(config, err))


@app.command()
def sim(
    scenario: Annotated[str | None, typer.Option(
        help="Built-in scenario or YAML file \\[default: default; env "
             "PERIMETER_SCENARIO].")] = None,
    site: SiteOpt = None,
    speed: Annotated[float | None, typer.Option(
        help="Speed × real time \\[default: 1; env PERIMETER_SPEED].")] = None,
    broker: BrokerOpt = None,
    record: Annotated[Path | None, typer.Option(
        help="Write the messages to this JSONL file ('-' for stdout) instead of a broker, "
             "as fast as possible.")] = None,
    perturb: Annotated[float | None, typer.Option(
        min=0.0, max=10.0, help="Widen the true-parameter draws to FACTOR times their "
        "documented spread (default: the scenario's perturb, 1).")] = None,
    duration: Annotated[float | None, typer.Option(
        "--duration", min=1.0, help="Simulated seconds to run (default: the scenario's "
                                    "duration_s); what starts later is left out.")] = None,
) -> None:
    """The tower simulation: live to the broker, or recorded to a file."""
    from sim.scenario import ScenarioError, load_scenario, with_perturb

    _logging()
    settings = _settings(SimSettings, scenario=scenario, site=site, speed=speed,
                         broker_url=broker)
    try:
        loaded = load_scenario(settings.scenario, site=settings.site, duration_s=duration)
        if perturb is not None:
            loaded = with_perturb(loaded, perturb)
    except ScenarioError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    if record is not None:
        from sim.record import record as record_scenario

        truth = record_scenario(loaded, sys.stdout if str(record) == "-" else record)
        err.print(f"recorded {loaded.name}: {truth.duration_s:g} s, "
                  f"{len(truth.targets)} targets")
        return
    from services.mqtt import MqttConnectError
    from services.tower_publisher import run_towers

    try:
        run_towers(settings, scenario=loaded)
    except MqttConnectError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None


@app.command()
def fusion(
    broker: BrokerOpt = None,
    db: DbOpt = None,
    site: SiteOpt = None,
    thresholds: Annotated[Path | None, typer.Option(
        help="YAML/JSON file of thresholds \\[env PERIMETER_THRESHOLDS_FILE].")] = None,
    replay: Annotated[Path | None, typer.Option(
        help="Fuse this JSONL recording ('-' for stdin); alert events to stdout as JSON lines.")
    ] = None,
    run_id: Annotated[str | None, typer.Option(
        help="The session [env PERIMETER_RUN_ID]: a restart with the same id continues its "
             "open alerts; others' are closed as superseded. Default: a new run.")] = None,
    shard: Annotated[str | None, typer.Option(
        help="Run as this shard of sharded fusion (docs/scale.md); needs --plan.")] = None,
    plan: Annotated[Path | None, typer.Option(
        help="The sector plan (JSON) the shard belongs to.")] = None,
    standby: Annotated[bool, typer.Option(
        help="With --shard: a hot standby that publishes nothing until it takes over.")
    ] = False,
) -> None:
    """The fusion service: live on the broker, or replaying a recording."""
    from perimeter.site import SiteError
    from perimeter.thresholds import ThresholdError

    _logging()
    settings = _settings(FusionSettings, broker_url=broker, db_url=_db_url(db), site=site,
                         thresholds_file=None if thresholds is None else str(thresholds),
                         run_id=run_id)
    if (shard is None) != (plan is None) or (standby and shard is None):
        err.print("[red]error:[/] --shard and --plan go together (and --standby needs them)")
        raise typer.Exit(2)
    try:
        if replay is not None:
            _replay(settings, replay)
            return
        from services.fusion_service import run_fusion
        from services.mqtt import MqttConnectError

        try:
            if shard is not None and plan is not None:
                from services.shard_service import run_shard

                run_shard(settings, shard, str(plan), standby=standby)
                return
            run_fusion(settings)
        except MqttConnectError as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
    except (SiteError, ThresholdError, OSError, ValueError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None


def _replay(settings: FusionSettings, path: Path) -> None:
    from perimeter.contract import dump_payload
    from perimeter.fusion.replay import Replay
    from perimeter.site import load_site
    thresholds = settings.load_thresholds()
    site = load_site(settings.site)
    with path.open(encoding="utf-8") if str(path) != "-" else sys.stdin as lines:
        run = Replay(lines, site, thresholds)
        for event in run:
            sys.stdout.write(dump_payload(event).decode() + "\n")
    rejected = {k: v for k, v in run.counters.items() if k.startswith("rejected")}
    err.print(f"replayed {run.counters['received']} messages; "
              f"{run.counters['alerts_new']} alerts; rejected {rejected or 0}")


@app.command()
def api(
    broker: BrokerOpt = None,
    db: DbOpt = None,
    site: SiteOpt = None,
    host: Annotated[str | None, typer.Option(
        help="Listen address \\[default: 127.0.0.1; env PERIMETER_API_HOST].")] = None,
    port: Annotated[int | None, typer.Option(
        help="Listen port \\[default: 8000; env PERIMETER_API_PORT].")] = None,
) -> None:
    """The REST API (token from PERIMETER_API_TOKEN)."""
    from services.api_service import run_api

    _logging()
    settings = _settings(ApiSettings, broker_url=broker, db_url=_db_url(db), site=site,
                         api_host=host, api_port=port)
    run_api(settings)


@scenario_app.command("validate")
def scenario_validate(
    file: Annotated[str, typer.Argument(help="Scenario YAML file or built-in name.")],
) -> None:
    """Check a scenario; exit 1 with one line per error, naming the field."""
    from sim.scenario import ScenarioError, load_scenario

    try:
        loaded = load_scenario(file)
    except ScenarioError as exc:
        for line in str(exc).splitlines():
            err.print(line, markup=False, highlight=False)
        raise typer.Exit(1) from None
    typer.echo(f"ok: {loaded.name}: {loaded.duration_s:g} s, {len(loaded.targets)} targets, "
               f"{len(loaded.faults)} faults, site {loaded.site_model.name}")


@scenario_app.command("list")
def scenario_list() -> None:
    """The built-in scenarios: name, simulated duration, targets and what they are."""
    from rich.table import Table

    from sim.scenario import builtin_scenarios, load_scenario

    table = Table(box=None)
    table.add_column("scenario", no_wrap=True)
    for heading in ("min", "targets", "start (UTC)", "weather"):
        table.add_column(heading, overflow="fold")
    for name in builtin_scenarios():
        loaded = load_scenario(name)
        env = loaded.environment
        kinds = ", ".join(sorted({t.kind for t in loaded.targets})) or "none"
        weather = env.weather if isinstance(env.weather, str) else "changing"
        table.add_row(name, f"{loaded.duration_s / 60:g}", f"{len(loaded.targets)}: {kinds}",
                      env.start_time.strftime("%Y-%m-%d %H:%M"), weather)
    Console().print(table)


@contract_app.command("write")
def contract_write(
    docs: Annotated[Path, typer.Option(help="The docs folder to write into.")] = Path("docs"),
    check: Annotated[bool, typer.Option(
        help="Write nothing; exit 1 when a document is not current.")] = False,
) -> None:
    """Generate docs/schemas/*.schema.json and docs/asyncapi.yaml from the payload models."""
    from perimeter.contract_docs import rendered, write

    if check:
        stale = [path for path, text in rendered(docs).items()
                 if not path.is_file() or path.read_text(encoding="utf-8") != text]
        for stale_path in stale:
            typer.echo(f"not current: {stale_path}", err=True)
        raise typer.Exit(1 if stale else 0)
    for written in write(docs):
        typer.echo(f"wrote {written}")


def _register_analysis() -> None:
    from perimeter import cli_operators
    from perimeter.cli_analysis import register

    register(app)
    cli_operators.register(app)


_register_analysis()
