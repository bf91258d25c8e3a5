"""The store's schema version and the migrations that bring an older database up to date.

Both backends create the latest tables on a new database, then call :func:`migrate` in the
same write transaction: a database made before versioning (it has ``alerts`` but no
``store_schema``) is version 1 and gets every migration; a new one starts at :data:`LATEST`.
The SQL here runs unchanged on SQLite and PostgreSQL (``?`` placeholders, translated by the
PostgreSQL backend). A later change appends a version to :data:`MIGRATIONS`.
"""

from __future__ import annotations

from perimeter.store.backend import Tx
from perimeter.store.records import StoreError

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
