"""What the alert store needs from a database: reads, short write transactions, and an
insert-once of an event. SQL is written with ``?`` placeholders; backends translate."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

Row = tuple[Any, ...]


class Tx(Protocol):
    """An open write transaction."""

    def execute(self, sql: str, args: Sequence[Any] = ()) -> list[Row]: ...

    def insert_event(self, alert_id: str, event: str, t_s: float, payload: str) -> int | None:
        """Insert into ``alert_events``; the new ``seq``, or None when already stored."""
        ...

    def insert_returning_id(self, sql: str, args: Sequence[Any]) -> int: ...


class Backend(Protocol):
    """A database holding the store's tables (schema created on open)."""

    def read(self, sql: str, args: Sequence[Any] = ()) -> list[Row]: ...

    def write(self) -> AbstractContextManager[Tx]: ...

    def version(self) -> object | None:
        """A value that changes on every commit (any connection), or None if unknown."""
        ...

    def close(self) -> None: ...
