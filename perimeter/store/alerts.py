"""The alert store: alert events appended once, each alert's current state, acknowledgements.

Over SQLite (WAL; fusion writing and the API reading one file is safe) or PostgreSQL. Every
transaction is short; one writer (fusion) keeps event sequence numbers in commit order.
"""

from __future__ import annotations

from typing import Any

from perimeter.contract import AlertEvent, dump_payload, parse_payload
from perimeter.store.audit import ThresholdAudit
from perimeter.store.backend import Backend, Row, Tx
from perimeter.store.operators import OperatorRegistry
from perimeter.store.records import (
    AlertAction,
    AlertRecord,
    StoredEvent,
    StoreError,
    UnknownAlertError,
    alert_number,
    decode_cursor,
    encode_cursor,
)
from perimeter.store.sqlite_backend import SqliteBackend, sqlite_path
from perimeter.store.workflow import SEVERITY_RANK_SQL, AlertWorkflow

MAX_PAGE = 1000

_COLUMNS = ("alerts.alert_id, status, first_t_s, last_t_s, last_seq, updates, latest, "
            "acked_by, acked_at_t_s, acked_at_wall_s, disposition, resolved_by, "
            "resolved_at_t_s, resolved_at_wall_s, created_seq")
_FROM = "alerts LEFT JOIN alert_resolutions r ON r.alert_id = alerts.alert_id"


def open_backend(url: str) -> Backend:
    """The backend of ``postgresql://...``, ``sqlite:///PATH``, a bare path or ``:memory:``."""
    if url.startswith(("postgresql://", "postgres://")):
        from perimeter.store.postgres_backend import PostgresBackend

        return PostgresBackend(url)
    return SqliteBackend(sqlite_path(url))


class AlertStore:
    """Alerts and their event history; thread-safe, safe across processes."""

    def __init__(self, backend: Backend) -> None:
        self._db = backend
        self.thresholds_audit = ThresholdAudit(backend)
        """The thresholds audit log, kept in the same database."""
        self.workflow = AlertWorkflow(backend)
        """Operators' acknowledgements, resolutions and comments."""
        self.operators = OperatorRegistry(backend)
        """Who may use the console (tokens kept as hashes)."""

    @classmethod
    def open(cls, url: str) -> AlertStore:
        """Open ``sqlite:///path.db``, a path, ``:memory:`` or ``postgresql://...``, creating
        the schema (and a SQLite file's folder)."""
        return cls(open_backend(url))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> AlertStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # writes ---------------------------------------------------------------------------------

    def append(self, event: AlertEvent) -> int:
        """Store ``event`` once (same alert, kind and ``t_s`` → same seq) and update its alert."""
        payload = dump_payload(event).decode()
        with self._db.write() as tx:
            seq = tx.insert_event(event.alert_id, event.event, event.t_s, payload)
            if seq is None:
                found = tx.execute(
                    "SELECT seq FROM alert_events WHERE alert_id = ? AND event = ? AND t_s = ?",
                    (event.alert_id, event.event, event.t_s))
                return int(found[0][0])
            _update_alert(tx, seq, event, payload)
            return seq

    def ack(self, alert_id: str, by: str, at_wall_s: float,
            at_t_s: float | None = None) -> AlertRecord:
        """Acknowledge an alert at wall-clock ``at_wall_s`` (Unix s) and data time ``at_t_s``
        (None when unknown); the first acknowledgement is kept, repeats change nothing."""
        self.workflow.ack(alert_id, by, at_wall_s, at_t_s)
        return self._get_or_raise(alert_id)

    def resolve(self, alert_id: str, by: str, at_wall_s: float, disposition: str,
                comment: str | None = None, at_t_s: float | None = None) -> AlertRecord:
        """Resolve an alert with a disposition (once: a second raises
        :class:`~perimeter.store.workflow.ResolutionConflictError`)."""
        self.workflow.resolve(alert_id, by, at_wall_s, disposition, comment, at_t_s)
        return self._get_or_raise(alert_id)

    def comment(self, alert_id: str, by: str, at_wall_s: float, text: str,
                at_t_s: float | None = None) -> AlertAction:
        """Add a comment to an alert."""
        return self.workflow.comment(alert_id, by, at_wall_s, text, at_t_s)

    def _get_or_raise(self, alert_id: str) -> AlertRecord:
        record = self.get_alert(alert_id)
        if record is None:
            raise UnknownAlertError(alert_id)
        return record

    # reads ----------------------------------------------------------------------------------

    def list_alerts(self, *, status: str | None = None, severity: str | None = None,
                    class_: str | None = None, since_t_s: float | None = None,
                    until_t_s: float | None = None, limit: int = 50,
                    cursor: str | None = None, run_id: str | None = None,
                    disposition: str | None = None, acked: bool | None = None,
                    ) -> tuple[list[AlertRecord], str | None]:
        """One page of alerts, newest first (by creation); the cursor is stable under inserts.

        ``since_t_s`` / ``until_t_s`` bound when the alert was raised (``first_t_s``);
        ``run_id`` keeps one fusion session's alerts.
        """
        if not 1 <= limit <= MAX_PAGE:
            raise StoreError("limit", f"must be in [1, {MAX_PAGE}], got {limit}")
        where: list[str] = []
        args: list[Any] = []
        for column, value in (("status", status), ("severity", severity), ("class", class_),
                              ("run_id", run_id), ("disposition", disposition)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if acked is not None:
            where.append("acked_by IS NOT NULL" if acked else "acked_by IS NULL")
        if since_t_s is not None:
            where.append("first_t_s >= ?")
            args.append(since_t_s)
        if until_t_s is not None:
            where.append("first_t_s <= ?")
            args.append(until_t_s)
        if cursor is not None:
            where.append("created_seq < ?")
            args.append(decode_cursor(cursor))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._db.read(
            f"SELECT {_COLUMNS} FROM {_FROM} {clause} ORDER BY created_seq DESC LIMIT ?",
            (*args, limit + 1))
        page = [_record(row) for row in rows[:limit]]
        next_cursor = encode_cursor(rows[limit - 1][-1]) if len(rows) > limit else None
        return page, next_cursor

    def get_alert(self, alert_id: str) -> AlertRecord | None:
        """The alert with its event history (oldest first), or None."""
        found = self._db.read(f"SELECT {_COLUMNS} FROM {_FROM} WHERE alerts.alert_id = ?",
                              (alert_id,))
        if not found:
            return None
        events = self._db.read("SELECT seq, payload FROM alert_events WHERE alert_id = ? "
                               "ORDER BY t_s, seq", (alert_id,))
        history = [StoredEvent(seq=s, event=parse_payload(AlertEvent, p)) for s, p in events]
        return _record(found[0], history, self.workflow.actions(alert_id))

    def queue(self, limit: int = 100) -> list[AlertRecord]:
        """Alerts not yet resolved, most severe first, then oldest first (raised at)."""
        if not 1 <= limit <= MAX_PAGE:
            raise StoreError("limit", f"must be in [1, {MAX_PAGE}], got {limit}")
        rows = self._db.read(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE status <> 'resolved' "
            f"ORDER BY {SEVERITY_RANK_SQL}, first_t_s, created_seq LIMIT ?", (limit,))
        return [_record(row) for row in rows]

    def latest_event(self, alert_id: str) -> AlertEvent | None:
        """The alert's latest event as stored (with any extras the record drops), or None."""
        found = self._db.read("SELECT latest FROM alerts WHERE alert_id = ?", (alert_id,))
        return parse_payload(AlertEvent, found[0][0]) if found else None

    def events_after(self, seq: int, limit: int = 500) -> list[tuple[int, AlertEvent]]:
        """Events with a sequence number above ``seq``, in order (for resuming a feed)."""
        if not 1 <= limit <= 10 * MAX_PAGE:
            raise StoreError("limit", f"must be in [1, {10 * MAX_PAGE}], got {limit}")
        found = self._db.read("SELECT seq, payload FROM alert_events WHERE seq > ? "
                              "ORDER BY seq LIMIT ?", (seq, limit))
        return [(int(s), parse_payload(AlertEvent, p)) for s, p in found]

    def last_seq(self) -> int:
        """The highest event sequence number stored (0 when empty)."""
        return int(self._db.read("SELECT COALESCE(MAX(seq), 0) FROM alert_events")[0][0])

    def open_alerts(self, page: int = 200) -> list[AlertRecord]:
        """Every alert still open, newest first (what a restarted fusion takes over)."""
        records: list[AlertRecord] = []
        cursor: str | None = None
        while True:
            items, cursor = self.list_alerts(status="open", limit=page, cursor=cursor)
            records += items
            if cursor is None:
                return records

    def max_alert_number(self) -> int:
        """The highest alert number stored, so a restarted fusion continues the numbering."""
        return int(self._db.read("SELECT COALESCE(MAX(number), 0) FROM alerts")[0][0])

    def max_track_number(self) -> int:
        """The highest track number named by a stored alert."""
        return int(self._db.read("SELECT COALESCE(MAX(track_number), 0) FROM alerts")[0][0])

    def version(self) -> object | None:
        """Changes on every commit to the database (by any process); None where the backend
        cannot tell cheaply. Equal versions mean equal answers, so callers may cache on it."""
        return self._db.version()

    def writable(self) -> bool:
        """Whether a write transaction can be taken now (for readiness checks)."""
        try:
            with self._db.write() as tx:
                tx.execute("SELECT 1")
        except Exception:  # any driver error means not ready
            return False
        return True


def _update_alert(tx: Tx, seq: int, event: AlertEvent, payload: str) -> None:
    found = tx.execute("SELECT last_t_s FROM alerts WHERE alert_id = ?", (event.alert_id,))
    status = "closed" if event.event == "closed" else "open"
    kept = "CASE WHEN status = 'resolved' THEN status ELSE ? END"  # an operator's resolution
    if not found:
        tx.execute(
            "INSERT INTO alerts (alert_id, number, track_number, created_seq, status, class, "
            "severity, first_t_s, last_t_s, last_seq, updates, latest, run_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
            (event.alert_id, alert_number(event.alert_id), alert_number(event.track_id or ""),
             seq, status, event.class_, event.severity, event.t_s, event.t_s, seq, payload,
             event.run_id))
        return
    if event.t_s < found[0][0]:  # a late, older event: history only; a close still closes
        tx.execute("UPDATE alerts SET updates = updates + 1, "
                   "first_t_s = CASE WHEN ? < first_t_s THEN ? ELSE first_t_s END, "
                   "status = CASE WHEN ? = 'closed' AND status <> 'resolved' THEN 'closed' "
                   "ELSE status END "
                   "WHERE alert_id = ?", (event.t_s, event.t_s, event.event, event.alert_id))
        return
    tx.execute(
        f"UPDATE alerts SET status = {kept}, class = ?, severity = ?, last_t_s = ?, "
        "last_seq = ?, updates = updates + 1, latest = ? WHERE alert_id = ?",
        (status, event.class_, event.severity, event.t_s, seq, payload, event.alert_id))


def _record(row: Row, history: list[StoredEvent] | None = None,
            actions: list[AlertAction] | None = None) -> AlertRecord:
    (alert_id, status, first_t_s, last_t_s, last_seq, updates, latest, by, at_t_s, wall_s,
     disposition, resolved_by, resolved_at_t_s, resolved_at_wall_s, _) = row
    workflow = "resolved" if resolved_by is not None else "acknowledged" if by else "new"
    return AlertRecord.from_stored(
        latest, alert_id=alert_id, status=status,
        first_t_s=first_t_s, last_t_s=last_t_s, last_seq=last_seq, updates=updates,
        acked=by is not None, acked_by=by, acked_at_t_s=at_t_s, acked_at_wall_s=wall_s,
        workflow=workflow, disposition=disposition, resolved_by=resolved_by,
        resolved_at_t_s=resolved_at_t_s, resolved_at_wall_s=resolved_at_wall_s,
        history=history, actions=actions)
