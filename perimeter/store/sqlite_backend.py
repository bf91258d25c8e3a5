"""SQLite backend: WAL journal, busy timeout, one connection shared under a lock."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from perimeter.store.backend import Row
from perimeter.store.records import StoreError
from perimeter.store.schema import create_tables, migrate

BUSY_TIMEOUT_MS = 10_000



def sqlite_path(url: str) -> str:
    """The file path (or ``:memory:``) of a ``sqlite:///PATH`` URL or a bare path."""
    if url in (":memory:", "sqlite://", "sqlite:///:memory:"):
        return ":memory:"
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise StoreError("db_url", f"unsupported scheme {scheme!r}; use sqlite:///PATH, "
                                   "postgresql://... or a path")
    if not url:
        raise StoreError("db_url", "empty")
    return url


class _SqliteTx:
    def __init__(self, cur: sqlite3.Cursor) -> None:
        self._cur = cur

    def execute(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return [tuple(r) for r in self._cur.execute(sql, tuple(args)).fetchall()]

    def insert_event(self, alert_id: str, event: str, t_s: float, payload: str) -> int | None:
        self._cur.execute("INSERT OR IGNORE INTO alert_events (alert_id, event, t_s, payload) "
                          "VALUES (?, ?, ?, ?)", (alert_id, event, t_s, payload))
        return int(self._cur.lastrowid or 0) if self._cur.rowcount else None

    def insert_returning_id(self, sql: str, args: Sequence[Any]) -> int:
        self._cur.execute(sql, tuple(args))
        return int(self._cur.lastrowid or 0)


class SqliteBackend:
    """A SQLite file (or ``:memory:``), safe for one writer and readers in other processes."""

    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                     check_same_thread=False)
        self._lock = threading.Lock()
        self._commits = 0
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        with self.write() as tx:
            existed = bool(tx.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                      "AND name = 'alerts'"))
            for statement in create_tables("sqlite"):
                tx.execute(statement)
            migrate(tx, existed)

    def read(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return [tuple(r) for r in self._conn.execute(sql, tuple(args)).fetchall()]

    @contextmanager
    def write(self) -> Iterator[_SqliteTx]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error) under the lock."""
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(cur)
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
                self._commits += 1
            finally:
                cur.close()

    def version(self) -> tuple[int, int]:
        """Changes whenever anything is committed, by this or any other connection."""
        with self._lock:
            other = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
            return other, self._commits

    def close(self) -> None:
        with self._lock:
            self._conn.close()
