"""PostgreSQL backend (psycopg 3): one connection under a lock, short transactions."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from perimeter.store.backend import Row
from perimeter.store.schema import create_tables, migrate

_SCHEMA_LOCK_KEY = 0x7065726D  # serialises schema creation between processes


def _pg(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s``."""
    return sql.replace("?", "%s")


class _PgTx:
    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self._cur = cur

    def execute(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        self._cur.execute(_pg(sql), tuple(args))
        return [tuple(r) for r in self._cur.fetchall()] if self._cur.description else []

    def insert_event(self, alert_id: str, event: str, t_s: float, payload: str) -> int | None:
        self._cur.execute("INSERT INTO alert_events (alert_id, event, t_s, payload) "
                          "VALUES (%s, %s, %s, %s) ON CONFLICT (alert_id, event, t_s) "
                          "DO NOTHING RETURNING seq", (alert_id, event, t_s, payload))
        row = self._cur.fetchone()
        return int(row[0]) if row else None

    def insert_returning_id(self, sql: str, args: Sequence[Any]) -> int:
        self._cur.execute(_pg(sql) + " RETURNING id", tuple(args))
        row = self._cur.fetchone()
        assert row is not None
        return int(row[0])


class PostgresBackend:
    """A PostgreSQL database given by a ``postgresql://`` URL."""

    def __init__(self, url: str) -> None:
        self._conn = psycopg.connect(url, autocommit=True)
        self._lock = threading.Lock()
        with self.write() as tx:
            tx.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK_KEY,))
            existed = tx.execute("SELECT to_regclass('alerts')")[0][0] is not None
            for statement in create_tables("postgres"):
                tx.execute(statement)
            migrate(tx, existed)

    def read(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self._lock, self._conn.cursor() as cur:
            cur.execute(_pg(sql), tuple(args))
            return [tuple(r) for r in cur.fetchall()]

    @contextmanager
    def write(self) -> Iterator[_PgTx]:
        with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
            yield _PgTx(cur)

    def version(self) -> None:
        """No cheap change counter here: callers must not cache."""
        return None

    def close(self) -> None:
        with self._lock:
            self._conn.close()
