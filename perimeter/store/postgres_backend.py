"""PostgreSQL backend (psycopg 3): one connection under a lock, short transactions."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from perimeter.store.backend import Row
from perimeter.store.schema import migrate

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS alert_events (
        seq BIGSERIAL PRIMARY KEY,
        alert_id TEXT NOT NULL,
        event TEXT NOT NULL,
        t_s DOUBLE PRECISION NOT NULL,
        payload TEXT NOT NULL,
        UNIQUE (alert_id, event, t_s))""",
    """CREATE TABLE IF NOT EXISTS alerts (
        alert_id TEXT PRIMARY KEY,
        number BIGINT NOT NULL,
        track_number BIGINT NOT NULL,
        created_seq BIGINT NOT NULL UNIQUE,
        status TEXT NOT NULL,
        class TEXT NOT NULL,
        severity TEXT NOT NULL,
        first_t_s DOUBLE PRECISION NOT NULL,
        last_t_s DOUBLE PRECISION NOT NULL,
        last_seq BIGINT NOT NULL,
        updates BIGINT NOT NULL,
        latest TEXT NOT NULL,
        acked_by TEXT,
        acked_at_wall_s DOUBLE PRECISION,
        acked_at_t_s DOUBLE PRECISION,
        run_id TEXT)""",
    """CREATE TABLE IF NOT EXISTS threshold_changes (
        id BIGSERIAL PRIMARY KEY,
        at_wall_s DOUBLE PRECISION NOT NULL,
        at_t_s DOUBLE PRECISION,
        actor TEXT NOT NULL,
        changes TEXT NOT NULL,
        result TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS alert_resolutions (
        alert_id TEXT PRIMARY KEY,
        disposition TEXT NOT NULL,
        resolved_by TEXT NOT NULL,
        resolved_at_wall_s DOUBLE PRECISION NOT NULL,
        resolved_at_t_s DOUBLE PRECISION)""",
    """CREATE TABLE IF NOT EXISTS alert_actions (
        id BIGSERIAL PRIMARY KEY,
        alert_id TEXT NOT NULL,
        action TEXT NOT NULL,
        by_name TEXT NOT NULL,
        at_wall_s DOUBLE PRECISION NOT NULL,
        at_t_s DOUBLE PRECISION,
        disposition TEXT,
        text TEXT)""",
    "CREATE INDEX IF NOT EXISTS alert_actions_by_alert ON alert_actions (alert_id, id)",
    """CREATE TABLE IF NOT EXISTS operators (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        key_id TEXT NOT NULL UNIQUE,
        token_hash TEXT NOT NULL,
        created_at_wall_s DOUBLE PRECISION NOT NULL)""",
]
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
            for statement in SCHEMA:
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
