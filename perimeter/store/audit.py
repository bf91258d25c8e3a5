"""The thresholds audit log: every accepted change, who made it, when, and the result in force."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from perimeter.store.backend import Backend


class ThresholdChange(BaseModel):
    """One accepted thresholds change: the values patched and the full set then in force."""

    model_config = ConfigDict(frozen=True)

    id: int
    at_wall_s: float
    """Wall-clock time of the change (Unix s, the API server's clock)."""
    at_t_s: float | None = None
    """Data time of the change (the newest report time the API had seen), None if unknown."""
    by: str
    changes: dict[str, Any]
    result: dict[str, Any]


class ThresholdAudit:
    """Append and read thresholds changes in the store's database (``threshold_changes``)."""

    def __init__(self, backend: Backend) -> None:
        self._db = backend

    def record(self, changes: Mapping[str, Any], by: str, at_wall_s: float,
               result: Mapping[str, Any], at_t_s: float | None = None) -> ThresholdChange:
        """Keep one change made at wall-clock ``at_wall_s`` and data time ``at_t_s``; returns
        it with its id."""
        with self._db.write() as tx:
            change_id = tx.insert_returning_id(
                "INSERT INTO threshold_changes (at_wall_s, at_t_s, actor, changes, result) "
                "VALUES (?, ?, ?, ?, ?)",
                (at_wall_s, at_t_s, by, json.dumps(dict(changes)), json.dumps(dict(result))))
        return ThresholdChange(id=change_id, at_wall_s=at_wall_s, at_t_s=at_t_s, by=by,
                               changes=dict(changes), result=dict(result))

    def history(self, limit: int = 100) -> list[ThresholdChange]:
        """The newest ``limit`` changes, newest first."""
        rows = self._db.read("SELECT id, at_wall_s, at_t_s, actor, changes, result "
                             "FROM threshold_changes ORDER BY id DESC LIMIT ?", (limit,))
        return [_change(row) for row in rows]

    def get(self, change_id: int) -> ThresholdChange | None:
        """One change by its id, or None."""
        rows = self._db.read("SELECT id, at_wall_s, at_t_s, actor, changes, result "
                             "FROM threshold_changes WHERE id = ?", (change_id,))
        return _change(rows[0]) if rows else None


def _change(row: tuple[Any, ...]) -> ThresholdChange:
    i, wall_s, t_s, by, changes, result = row
    return ThresholdChange(id=i, at_wall_s=wall_s, at_t_s=t_s, by=by,
                           changes=json.loads(changes), result=json.loads(result))
