"""The thresholds audit log: every accepted change, who made it, when, and the result in force."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

AUDIT_SCHEMA = """
CREATE TABLE IF NOT EXISTS threshold_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_t_s REAL NOT NULL,
    actor TEXT NOT NULL,
    changes TEXT NOT NULL,
    result TEXT NOT NULL
);
"""


class ThresholdChange(BaseModel):
    """One accepted thresholds change: the values patched and the full set then in force."""

    model_config = ConfigDict(frozen=True)

    id: int
    at_t_s: float
    by: str
    changes: dict[str, Any]
    result: dict[str, Any]


class ThresholdAudit:
    """Append and read thresholds changes on a store's connection, under its lock."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock) -> None:
        self._conn, self._lock = conn, lock
        with lock:
            conn.executescript(AUDIT_SCHEMA)

    def record(self, changes: Mapping[str, Any], by: str, at_t_s: float,
               result: Mapping[str, Any]) -> ThresholdChange:
        """Keep one change; returns it with its id."""
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO threshold_changes (at_t_s, actor, changes, result) "
                "VALUES (?, ?, ?, ?)",
                (at_t_s, by, json.dumps(dict(changes)), json.dumps(dict(result))))
            change_id = int(cur.lastrowid or 0)
        return ThresholdChange(id=change_id, at_t_s=at_t_s, by=by, changes=dict(changes),
                               result=dict(result))

    def history(self, limit: int = 100) -> list[ThresholdChange]:
        """The newest ``limit`` changes, newest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, at_t_s, actor, changes, result FROM threshold_changes "
                "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [ThresholdChange(id=i, at_t_s=t, by=by, changes=json.loads(c), result=json.loads(r))
                for i, t, by, c, r in rows]
