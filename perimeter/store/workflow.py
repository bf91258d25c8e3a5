"""The operators' alarm workflow: new → acknowledged → resolved, with comments.

Every step is kept as an :class:`AlertAction` (table ``alert_actions``, ids rising in commit
order, so a live feed can resume after an id). A resolution is also kept once per alert in
``alert_resolutions`` and turns the alert's ``status`` to ``resolved`` for good: fusion's later
events on it go to its history only.
"""

from __future__ import annotations

from perimeter.store.backend import Backend, Tx
from perimeter.store.records import (
    DISPOSITIONS,
    ActionKind,
    AlertAction,
    StoreError,
    UnknownAlertError,
)

MAX_COMMENT_CHARS = 2000
SEVERITY_RANK_SQL = ("CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 "
                     "WHEN 'medium' THEN 2 ELSE 3 END")
"""Most severe first, for ``ORDER BY``."""


class ResolutionConflictError(StoreError):
    """The alert is resolved already (by someone, at some time)."""


_ACTION_COLUMNS = "id, alert_id, action, by_name, at_wall_s, at_t_s, disposition, text"


def _action(row: tuple[object, ...]) -> AlertAction:
    i, alert_id, action, by, at_wall_s, at_t_s, disposition, text = row
    return AlertAction.model_validate({"id": i, "alert_id": alert_id, "action": action,
                                       "by": by, "at_wall_s": at_wall_s, "at_t_s": at_t_s,
                                       "disposition": disposition, "text": text})


def _check_text(text: str | None, field: str) -> str | None:
    if text is None:
        return None
    if len(text) > MAX_COMMENT_CHARS:
        raise StoreError(field, f"at most {MAX_COMMENT_CHARS} characters, got {len(text)}")
    return text.strip() or None


def _check_by(by: str) -> None:
    if not by.strip():
        raise StoreError("by", "must name who acts")


def _insert(tx: Tx, alert_id: str, action: ActionKind, by: str, when: tuple[float, float | None],
            disposition: str | None = None, text: str | None = None) -> None:
    tx.insert_returning_id(
        "INSERT INTO alert_actions (alert_id, action, by_name, at_wall_s, at_t_s, disposition, "
        "text) VALUES (?, ?, ?, ?, ?, ?, ?)", (alert_id, action, by, *when, disposition, text))


def _ack_in(tx: Tx, alert_id: str, by: str, when: tuple[float, float | None]) -> None:
    found = tx.execute("SELECT acked_by FROM alerts WHERE alert_id = ?", (alert_id,))
    if not found:
        raise UnknownAlertError(alert_id)
    if found[0][0] is None:
        tx.execute("UPDATE alerts SET acked_by = ?, acked_at_wall_s = ?, acked_at_t_s = ? "
                   "WHERE alert_id = ?", (by, *when, alert_id))
        _insert(tx, alert_id, "acknowledged", by, when)


class AlertWorkflow:
    """Acknowledge, resolve and comment on alerts; read the steps back.

    Every step has two clocks: ``at_wall_s`` (the API server's, Unix s) and ``at_t_s`` (data
    time: the newest report time the API had seen; None when unknown)."""

    def __init__(self, backend: Backend) -> None:
        self._db = backend

    def ack(self, alert_id: str, by: str, at_wall_s: float, at_t_s: float | None = None) -> None:
        """Acknowledge; the first acknowledgement stands, repeats change nothing."""
        _check_by(by)
        with self._db.write() as tx:
            _ack_in(tx, alert_id, by, (at_wall_s, at_t_s))

    def resolve(self, alert_id: str, by: str, at_wall_s: float, disposition: str,
                comment: str | None = None, at_t_s: float | None = None) -> None:
        """Resolve with a disposition (acknowledging it too if nobody had); once per alert."""
        _check_by(by)
        if disposition not in DISPOSITIONS:
            raise StoreError("disposition", f"must be one of {', '.join(DISPOSITIONS)}, "
                                            f"got {disposition!r}")
        text = _check_text(comment, "comment")
        when = (at_wall_s, at_t_s)
        with self._db.write() as tx:
            _ack_in(tx, alert_id, by, when)
            done = tx.execute("SELECT resolved_by, disposition FROM alert_resolutions "
                              "WHERE alert_id = ?", (alert_id,))
            if done:
                raise ResolutionConflictError(
                    "alert_id", f"{alert_id} is resolved already ({done[0][1]}, by "
                                f"{done[0][0]})")
            tx.execute("INSERT INTO alert_resolutions (alert_id, disposition, resolved_by, "
                       "resolved_at_wall_s, resolved_at_t_s) VALUES (?, ?, ?, ?, ?)",
                       (alert_id, disposition, by, *when))
            tx.execute("UPDATE alerts SET status = 'resolved' WHERE alert_id = ?", (alert_id,))
            _insert(tx, alert_id, "resolved", by, when, disposition, text)

    def comment(self, alert_id: str, by: str, at_wall_s: float, text: str,
                at_t_s: float | None = None) -> AlertAction:
        """Add a comment; returns it."""
        _check_by(by)
        checked = _check_text(text, "text")
        if checked is None:
            raise StoreError("text", "must not be empty")
        with self._db.write() as tx:
            if not tx.execute("SELECT 1 FROM alerts WHERE alert_id = ?", (alert_id,)):
                raise UnknownAlertError(alert_id)
            _insert(tx, alert_id, "comment", by, (at_wall_s, at_t_s), None, checked)
            row = tx.execute(f"SELECT {_ACTION_COLUMNS} FROM alert_actions WHERE alert_id = ? "
                             "ORDER BY id DESC LIMIT 1", (alert_id,))
        return _action(row[0])

    def actions(self, alert_id: str) -> list[AlertAction]:
        """The alert's steps, oldest first."""
        rows = self._db.read(f"SELECT {_ACTION_COLUMNS} FROM alert_actions WHERE alert_id = ? "
                             "ORDER BY id", (alert_id,))
        return [_action(r) for r in rows]

    def actions_after(self, action_id: int, limit: int = 500) -> list[AlertAction]:
        """Every step with an id above ``action_id``, in order (for resuming a live feed)."""
        rows = self._db.read(f"SELECT {_ACTION_COLUMNS} FROM alert_actions WHERE id > ? "
                             "ORDER BY id LIMIT ?", (action_id, limit))
        return [_action(r) for r in rows]

    def last_action_id(self) -> int:
        return int(self._db.read("SELECT COALESCE(MAX(id), 0) FROM alert_actions")[0][0])

    def counts(self) -> dict[str, int]:
        """``unacknowledged`` (not acknowledged, not resolved) and ``unresolved`` alerts."""
        row = self._db.read(
            "SELECT COALESCE(SUM(CASE WHEN acked_by IS NULL THEN 1 ELSE 0 END), 0), COUNT(*) "
            "FROM alerts WHERE status <> 'resolved'")[0]
        return {"unacknowledged": int(row[0]), "unresolved": int(row[1])}
