"""The alert store over SQLite (WAL): alert events appended once, alerts' current state kept.

One writer process (fusion) and readers (the API) may share a file: WAL journal, a busy
timeout and short transactions. Within a process one connection is shared under a lock.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from perimeter.contract import AlertEvent, dump_payload, parse_payload
from perimeter.store.audit import ThresholdAudit
from perimeter.store.records import (
    AlertRecord,
    StoredEvent,
    StoreError,
    UnknownAlertError,
    alert_number,
    decode_cursor,
    encode_cursor,
)

MAX_PAGE = 1000
BUSY_TIMEOUT_MS = 10_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    event TEXT NOT NULL,
    t_s REAL NOT NULL,
    payload TEXT NOT NULL,
    UNIQUE (alert_id, event, t_s)
);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY,
    number INTEGER NOT NULL,
    track_number INTEGER NOT NULL,
    created_seq INTEGER NOT NULL UNIQUE,
    status TEXT NOT NULL,
    class TEXT NOT NULL,
    severity TEXT NOT NULL,
    first_t_s REAL NOT NULL,
    last_t_s REAL NOT NULL,
    last_seq INTEGER NOT NULL,
    updates INTEGER NOT NULL,
    latest TEXT NOT NULL,
    acked_by TEXT,
    acked_at_t_s REAL
);
CREATE INDEX IF NOT EXISTS alerts_by_time ON alerts (first_t_s);
"""

_COLUMNS = ("alert_id, status, first_t_s, last_t_s, last_seq, updates, latest, "
            "acked_by, acked_at_t_s, created_seq")


def sqlite_path(url: str) -> str:
    """The file path (or ``:memory:``) of a ``sqlite:///PATH`` URL or a bare path."""
    if url in (":memory:", "sqlite://", "sqlite:///:memory:"):
        return ":memory:"
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise StoreError("db_url", f"unsupported scheme {scheme!r}; use sqlite:///PATH or a path")
    if not url:
        raise StoreError("db_url", "empty")
    return url


class AlertStore:
    """Alerts and their event history in SQLite; thread-safe, safe across processes."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        with self._lock:
            conn.executescript(SCHEMA)
        self.thresholds_audit = ThresholdAudit(conn, self._lock)
        """The thresholds audit log, kept in the same database."""

    @classmethod
    def open(cls, url: str) -> AlertStore:
        """Open ``sqlite:///path.db``, a path or ``:memory:``, creating folder and schema."""
        path = sqlite_path(url)
        if path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        return cls(conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> AlertStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # writes ---------------------------------------------------------------------------------

    def append(self, event: AlertEvent) -> int:
        """Store ``event`` once (same alert, kind and ``t_s`` → same seq) and update its alert."""
        payload = dump_payload(event).decode()
        with self._lock, self._transaction() as cur:
            cur.execute("INSERT OR IGNORE INTO alert_events (alert_id, event, t_s, payload) "
                        "VALUES (?, ?, ?, ?)", (event.alert_id, event.event, event.t_s, payload))
            if cur.rowcount == 0:
                row = cur.execute(
                    "SELECT seq FROM alert_events WHERE alert_id = ? AND event = ? AND t_s = ?",
                    (event.alert_id, event.event, event.t_s)).fetchone()
                return int(row[0])
            seq = int(cur.lastrowid or 0)
            self._update_alert(cur, seq, event, payload)
            return seq

    def _update_alert(self, cur: sqlite3.Cursor, seq: int, event: AlertEvent, payload: str) -> None:
        row = cur.execute("SELECT last_t_s, status FROM alerts WHERE alert_id = ?",
                          (event.alert_id,)).fetchone()
        status = "closed" if event.event == "closed" else "open"
        if row is None:
            cur.execute(
                "INSERT INTO alerts (alert_id, number, track_number, created_seq, status, class, "
                "severity, first_t_s, last_t_s, last_seq, updates, latest) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                (event.alert_id, alert_number(event.alert_id),
                 alert_number(event.track_id or ""), seq, status, event.class_, event.severity,
                 event.t_s, event.t_s, seq, payload))
            return
        if event.t_s < row[0]:  # a late, older event: history only; a close still closes
            cur.execute("UPDATE alerts SET updates = updates + 1, first_t_s = MIN(first_t_s, ?), "
                        "status = CASE WHEN ? = 'closed' THEN 'closed' ELSE status END "
                        "WHERE alert_id = ?", (event.t_s, event.event, event.alert_id))
            return
        cur.execute(
            "UPDATE alerts SET status = ?, class = ?, severity = ?, last_t_s = ?, last_seq = ?, "
            "updates = updates + 1, latest = ? WHERE alert_id = ?",
            (status, event.class_, event.severity, event.t_s, seq, payload, event.alert_id))

    def ack(self, alert_id: str, by: str, at_t_s: float) -> AlertRecord:
        """Acknowledge an alert; the first acknowledgement is kept, repeats change nothing."""
        if not by.strip():
            raise StoreError("by", "must name who acknowledges")
        with self._lock, self._transaction() as cur:
            cur.execute("UPDATE alerts SET acked_by = ?, acked_at_t_s = ? "
                        "WHERE alert_id = ? AND acked_by IS NULL", (by, at_t_s, alert_id))
        record = self.get_alert(alert_id)
        if record is None:
            raise UnknownAlertError(alert_id)
        return record

    # reads ----------------------------------------------------------------------------------

    def list_alerts(self, *, status: str | None = None, severity: str | None = None,
                    class_: str | None = None, since_t_s: float | None = None,
                    until_t_s: float | None = None, limit: int = 50,
                    cursor: str | None = None) -> tuple[list[AlertRecord], str | None]:
        """One page of alerts, newest first (by creation); the cursor is stable under inserts.

        ``since_t_s`` / ``until_t_s`` bound when the alert was raised (``first_t_s``).
        """
        if not 1 <= limit <= MAX_PAGE:
            raise StoreError("limit", f"must be in [1, {MAX_PAGE}], got {limit}")
        where: list[str] = []
        args: list[Any] = []
        for column, value in (("status", status), ("severity", severity), ("class", class_)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
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
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM alerts {clause} ORDER BY created_seq DESC LIMIT ?",
                (*args, limit + 1)).fetchall()
        page = [_record(row) for row in rows[:limit]]
        next_cursor = encode_cursor(rows[limit - 1][-1]) if len(rows) > limit else None
        return page, next_cursor

    def get_alert(self, alert_id: str) -> AlertRecord | None:
        """The alert with its event history (oldest first), or None."""
        with self._lock:
            row = self._conn.execute(f"SELECT {_COLUMNS} FROM alerts WHERE alert_id = ?",
                                     (alert_id,)).fetchone()
            if row is None:
                return None
            events = self._conn.execute(
                "SELECT seq, payload FROM alert_events WHERE alert_id = ? ORDER BY t_s, seq",
                (alert_id,)).fetchall()
        history = [StoredEvent(seq=s, event=parse_payload(AlertEvent, p)) for s, p in events]
        return _record(row, history)

    def events_after(self, seq: int, limit: int = 500) -> list[tuple[int, AlertEvent]]:
        """Events with a sequence number above ``seq``, in order (for resuming a feed)."""
        if not 1 <= limit <= 10 * MAX_PAGE:
            raise StoreError("limit", f"must be in [1, {10 * MAX_PAGE}], got {limit}")
        with self._lock:
            rows = self._conn.execute("SELECT seq, payload FROM alert_events WHERE seq > ? "
                                      "ORDER BY seq LIMIT ?", (seq, limit)).fetchall()
        return [(int(s), parse_payload(AlertEvent, p)) for s, p in rows]

    def last_seq(self) -> int:
        """The highest event sequence number stored (0 when empty)."""
        with self._lock:
            row = self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM alert_events").fetchone()
        return int(row[0])

    def max_alert_number(self) -> int:
        """The highest alert number stored, so a restarted fusion continues the numbering."""
        return self._max("number")

    def max_track_number(self) -> int:
        """The highest track number named by a stored alert."""
        return self._max("track_number")

    def writable(self) -> bool:
        """Whether a write transaction can be taken now (for readiness checks)."""
        try:
            with self._lock, self._transaction():
                pass
        except sqlite3.Error:
            return False
        return True

    def _max(self, column: str) -> int:
        with self._lock:
            row = self._conn.execute(f"SELECT COALESCE(MAX({column}), 0) FROM alerts").fetchone()
        return int(row[0])

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error), yielding a cursor."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._cur = conn.cursor()

    def __enter__(self) -> sqlite3.Cursor:
        self._cur.execute("BEGIN IMMEDIATE")
        return self._cur

    def __exit__(self, exc_type: type[BaseException] | None, *_rest: object) -> None:
        self._cur.execute("ROLLBACK" if exc_type is not None else "COMMIT")
        self._cur.close()


def _record(row: tuple[Any, ...], history: list[StoredEvent] | None = None) -> AlertRecord:
    alert_id, status, first_t_s, last_t_s, last_seq, updates, latest, by, at_t_s, _ = row
    return AlertRecord.from_latest(
        parse_payload(AlertEvent, latest), alert_id=alert_id, status=status,
        first_t_s=first_t_s, last_t_s=last_t_s, last_seq=last_seq, updates=updates,
        acked=by is not None, acked_by=by, acked_at_t_s=at_t_s, history=history)
