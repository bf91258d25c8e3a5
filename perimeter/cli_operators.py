"""``perimeter operators add|list|remove``: who may use the console, in the alert store's
database (the API finds them there). A new operator's token is printed once; only its scrypt
hash is stored."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console

from perimeter.store import ROLES, AlertStore, StoreError

operators_app = typer.Typer(no_args_is_help=True,
                            help="Console operators: viewer, operator or admin, with tokens.")
err = Console(stderr=True)

DbOpt = Annotated[str | None, typer.Option(
    "--db", help="Alert store: a SQLite path or postgresql://... "
                 "[env PERIMETER_DB_URL; default perimeter.db].")]


def _store(db: str | None) -> AlertStore:
    from perimeter.config import ApiSettings

    url = db if db is not None else ApiSettings().db_url
    try:
        return AlertStore.open(url)
    except StoreError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


@operators_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The operator's name, as acks will show it.")],
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}.")] = "operator",
    db: DbOpt = None,
) -> None:
    """Add an operator and print its bearer token (shown this once)."""
    with _store(db) as store:
        try:
            operator, token = store.operators.add(name, role, time.time())
        except StoreError as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from None
    err.print(f"added {operator.name} ({operator.role}); the token, shown once:")
    typer.echo(token)


@operators_app.command("list")
def list_operators(db: DbOpt = None) -> None:
    """Every operator with its role (tokens are never shown again)."""
    with _store(db) as store:
        found = store.operators.list()
    for operator in found:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(operator.created_at_wall_s))
        typer.echo(f"{operator.name}\t{operator.role}\tadded {when} UTC")
    if not found:
        err.print("no operators (the holder of PERIMETER_API_TOKEN is the bootstrap admin)")


@operators_app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="The operator to remove.")],
           db: DbOpt = None) -> None:
    """Remove an operator; its token is refused from then on."""
    with _store(db) as store:
        removed = store.operators.remove(name)
    if not removed:
        err.print(f"[red]error:[/] name: no operator named {name!r}")
        raise typer.Exit(1)
    err.print(f"removed {name}")


def register(app: typer.Typer) -> None:
    app.add_typer(operators_app, name="operators")



