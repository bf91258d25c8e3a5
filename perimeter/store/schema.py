"""The store's schema version and the migrations that bring an older database up to date.

Both backends create the latest tables on a new database, then call :func:`migrate` in the
same write transaction: a database made before versioning (it has ``alerts`` but no
``store_schema``) is version 1 and gets every migration; a new one starts at :data:`LATEST`.
The SQL here runs unchanged on SQLite and PostgreSQL (``?`` placeholders, translated by the
PostgreSQL backend). A later change appends a version to :data:`MIGRATIONS`.
"""

from __future__ import annotations

from typing import Literal

from perimeter.store.backend import Tx
from perimeter.store.records import StoreError

TABLES = [
    """CREATE TABLE IF NOT EXISTS alert_events (
        seq {serial_key},
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
        id {serial_key},
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
        id {serial_key},
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
"""The latest tables, written once for both databases: ``{serial_key}`` is each database's
auto-numbered key (``BIGINT``/``DOUBLE PRECISION`` have the right affinity in SQLite too)."""

SERIAL_KEYS = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgres": "BIGSERIAL PRIMARY KEY"}


def create_tables(dialect: Literal["sqlite", "postgres"]) -> list[str]:
    """The ``CREATE`` statements of the latest schema in ``dialect``."""
    return [statement.replace("{serial_key}", SERIAL_KEYS[dialect]) for statement in TABLES]


MIGRATIONS: dict[int, list[str]] = {
    # 2: one clock per record. Version 1 kept the wall-clock time of an acknowledgement and of
    # a thresholds change in ``*_t_s`` columns beside data-time ones; they move to ``*_wall_s``
    # and ``*_t_s`` becomes the data time. Alerts carry the run (session) that raised them.
    2: [
        "ALTER TABLE alerts RENAME COLUMN acked_at_t_s TO acked_at_wall_s",
        "ALTER TABLE alerts ADD COLUMN acked_at_t_s DOUBLE PRECISION",
        "ALTER TABLE alerts ADD COLUMN run_id TEXT",
        "ALTER TABLE threshold_changes RENAME COLUMN at_t_s TO at_wall_s",
        "ALTER TABLE threshold_changes ADD COLUMN at_t_s DOUBLE PRECISION",
    ],
}
LATEST = max(MIGRATIONS)

INDEXES = [
    "CREATE INDEX IF NOT EXISTS alerts_by_time ON alerts (first_t_s)",
    "CREATE INDEX IF NOT EXISTS alerts_by_run ON alerts (run_id, created_seq)",
]
"""Created after the migrations (they may name migrated columns)."""


def migrate(tx: Tx, existed: bool) -> int:
    """Bring the schema to :data:`LATEST` inside the open transaction ``tx``; ``existed``:
    the ``alerts`` table was there before this open. Returns the version found."""
    tx.execute("CREATE TABLE IF NOT EXISTS store_schema (version INTEGER NOT NULL)")
    rows = tx.execute("SELECT version FROM store_schema")
    if rows:
        found = int(rows[0][0])
    else:
        found = 1 if existed else LATEST
        tx.execute("INSERT INTO store_schema (version) VALUES (?)", (found,))
    if found > LATEST:
        raise StoreError("db_url", f"the database has schema version {found}, newer than "
                                   f"this program's {LATEST}: upgrade the program")
    for version in range(found + 1, LATEST + 1):
        for statement in MIGRATIONS[version]:
            tx.execute(statement)
    if found < LATEST:
        tx.execute("UPDATE store_schema SET version = ?", (LATEST,))
    for statement in INDEXES:
        tx.execute(statement)
    return found
