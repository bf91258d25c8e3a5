"""AlertStore: idempotent appends, current state, cursor pages, history, acks, restarts, sharing."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path
from typing import Any

import pytest

from perimeter.contract import AlertEvent
from perimeter.store import AlertStore, StoreError, UnknownAlertError
from perimeter.store.sqlite_backend import sqlite_path


def event(alert_id: str, kind: str = "new", t_s: float = 100.0, **extra: Any) -> AlertEvent:
    fields: dict[str, Any] = {
        "event": kind, "alert_id": alert_id, "track_id": "k-000007", "t_s": t_s,
        "class": "person", "confidence": 0.9, "severity": "high",
        "position": {"x_m": 2000.0, "y_m": -400.0}, "towers": ["T03", "T04"],
    }
    fields.update(extra)
    return AlertEvent.model_validate(fields)


def test_append_returns_rising_seq_and_is_idempotent(store: AlertStore) -> None:
    first = store.append(event("a-000001"))
    second = store.append(event("a-000001", "update", 101.0))
    assert second > first
    assert store.append(event("a-000001", "update", 101.0)) == second
    record = store.get_alert("a-000001")
    assert record is not None and record.updates == 2 and record.history is not None
    assert [e.seq for e in record.history] == [first, second]


def test_current_state_follows_latest_event_and_close(store: AlertStore) -> None:
    store.append(event("a-000001", t_s=10.0))
    store.append(event("a-000001", "update", 20.0, severity="critical",
                       position={"x_m": 1500.0, "y_m": 0.0}))
    store.append(event("a-000001", "update", 15.0, severity="low"))  # late and older
    record = store.get_alert("a-000001")
    assert record is not None
    assert record.status == "open" and record.severity == "critical"
    assert record.position is not None and record.position.x_m == 1500.0
    assert (record.first_t_s, record.last_t_s, record.updates) == (10.0, 20.0, 3)
    store.append(event("a-000001", "closed", 30.0))
    closed = store.get_alert("a-000001")
    assert closed is not None and closed.status == "closed"
    assert closed.class_ == "person" and closed.to_payload()["class"] == "person"


def test_list_newest_first_with_cursor_stable_under_inserts(store: AlertStore) -> None:
    for i in range(1, 8):
        store.append(event(f"a-{i:06d}", t_s=float(i)))
    page1, cursor = store.list_alerts(limit=3)
    assert [r.alert_id for r in page1] == ["a-000007", "a-000006", "a-000005"]
    assert cursor is not None
    store.append(event("a-000008", t_s=8.0))  # a new alert arrives between pages
    page2, cursor2 = store.list_alerts(limit=3, cursor=cursor)
    assert [r.alert_id for r in page2] == ["a-000004", "a-000003", "a-000002"]
    page3, cursor3 = store.list_alerts(limit=3, cursor=cursor2)
    assert [r.alert_id for r in page3] == ["a-000001"] and cursor3 is None


def test_list_filters(store: AlertStore) -> None:
    store.append(event("a-000001", t_s=1.0, severity="low"))
    store.append(event("a-000002", t_s=2.0, **{"class": "vehicle"}))
    store.append(event("a-000003", t_s=3.0))
    store.append(event("a-000003", "closed", 4.0))
    assert [r.alert_id for r in store.list_alerts(status="closed")[0]] == ["a-000003"]
    assert [r.alert_id for r in store.list_alerts(severity="low")[0]] == ["a-000001"]
    assert [r.alert_id for r in store.list_alerts(class_="vehicle")[0]] == ["a-000002"]
    window = store.list_alerts(since_t_s=1.5, until_t_s=2.5)[0]
    assert [r.alert_id for r in window] == ["a-000002"]


def test_bad_arguments_name_the_field(store: AlertStore) -> None:
    with pytest.raises(StoreError, match="cursor"):
        store.list_alerts(cursor="not-a-cursor")
    with pytest.raises(StoreError, match="limit"):
        store.list_alerts(limit=0)
    with pytest.raises(StoreError, match="db_url"):
        AlertStore.open("mysql://example/db")


def test_events_after_resumes_in_order(store: AlertStore) -> None:
    seqs = [store.append(event("a-000001", "update" if i else "new", float(i))) for i in range(5)]
    after = store.events_after(seqs[1])
    assert [s for s, _ in after] == seqs[2:]
    assert [e.t_s for _, e in after] == [2.0, 3.0, 4.0]
    assert store.events_after(seqs[0], limit=2)[-1][0] == seqs[2]
    assert store.last_seq() == seqs[-1]


def test_ack_keeps_first_and_unknown_raises(store: AlertStore) -> None:
    store.append(event("a-000001"))
    first = store.ack("a-000001", "alice", 1_796_500_000.0, 130.0)
    again = store.ack("a-000001", "bob", 1_796_500_060.0, 190.0)
    assert first.acked and (again.acked_by, again.acked_at_t_s, again.acked_at_wall_s) == (
        "alice", 130.0, 1_796_500_000.0)
    with pytest.raises(UnknownAlertError):
        store.ack("a-999999", "alice", 1.0)
    with pytest.raises(StoreError, match="by"):
        store.ack("a-000001", " ", 1.0)


def test_restart_keeps_everything_and_numbering(db_url: str) -> None:
    with AlertStore.open(db_url) as store:
        store.append(event("a-000041"))
        store.append(event("a-000017", track_id="k-000099"))
        seq = store.append(event("a-000041", "closed", 110.0))
    with AlertStore.open(db_url) as reopened:
        assert reopened.max_alert_number() == 41
        assert reopened.max_track_number() == 99
        assert reopened.append(event("a-000041", "closed", 110.0)) == seq  # no duplicate
        assert len(reopened.list_alerts()[0]) == 2


def test_memory_store_and_urls() -> None:
    assert sqlite_path("sqlite:///rel/a.db") == "rel/a.db"
    assert sqlite_path("sqlite:////abs/a.db") == "/abs/a.db"
    assert sqlite_path("sqlite://") == ":memory:"
    with AlertStore.open(":memory:") as store:
        assert store.max_alert_number() == 0 and store.get_alert("a-1") is None
        store.append(event("a-000003"))
        assert store.writable() and store.max_alert_number() == 3


def test_threads_append_concurrently(store: AlertStore) -> None:
    def work(n: int) -> None:
        for i in range(50):
            store.append(event(f"a-{n}{i:04d}", t_s=float(i)))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.list_alerts(limit=1000)[0]) == 200


def _writer(path: str, count: int) -> None:
    with AlertStore.open(path) as store:
        for i in range(count):
            store.append(event(f"a-{i:06d}", t_s=float(i)))


def test_two_processes_share_one_database(db_url: str) -> None:
    path = db_url
    reader = AlertStore.open(path)
    proc = multiprocessing.get_context("spawn").Process(target=_writer, args=(path, 300))
    proc.start()
    acked = 0
    while proc.is_alive() or acked == 0:
        for record in reader.list_alerts(limit=20)[0]:
            reader.ack(record.alert_id, "op", 1.0)
            acked += 1
        if not proc.is_alive() and acked:
            break
    proc.join(30)
    assert proc.exitcode == 0
    assert reader.last_seq() == 300 and reader.max_alert_number() == 299
    reader.close()


def test_thresholds_audit_keeps_changes_newest_first(db_url: str) -> None:
    with AlertStore.open(db_url) as store:
        store.thresholds_audit.record({"thermal.min_snr_db": 9.0}, "alice", 10.0,
                                      {"thermal.min_snr_db": 9.0, "track.confirm_m": 3}, 7.5)
        store.thresholds_audit.record({"track.confirm_m": 4}, "bob", 20.0,
                                      {"thermal.min_snr_db": 9.0, "track.confirm_m": 4})
    with AlertStore.open(db_url) as reopened:
        history = reopened.thresholds_audit.history()
    assert [(c.by, c.changes) for c in history] == [
        ("bob", {"track.confirm_m": 4}), ("alice", {"thermal.min_snr_db": 9.0})]
    assert history[0].result["track.confirm_m"] == 4 and history[0].id > history[1].id
    assert (history[1].at_wall_s, history[1].at_t_s) == (10.0, 7.5)
    assert (history[0].at_wall_s, history[0].at_t_s) == (20.0, None)


def test_sqlite_file_gets_its_folder(tmp_path: Path) -> None:
    with AlertStore.open(str(tmp_path / "new" / "folder" / "alerts.db")) as store:
        store.append(event("a-000001"))
    assert (tmp_path / "new" / "folder" / "alerts.db").is_file()


def test_version_moves_on_any_commit(db_url: str) -> None:
    with AlertStore.open(db_url) as reader, AlertStore.open(db_url) as writer:
        before = reader.version()
        if db_url.startswith("postgresql"):
            assert before is None  # no cheap counter: callers never cache
            return
        assert reader.version() == before
        writer.append(event("a-000001"))
        after_other = reader.version()
        assert after_other != before
        reader.ack("a-000001", "alice", 1.0)
        assert reader.version() != after_other


def test_latest_event_keeps_the_extras_the_record_drops() -> None:
    with AlertStore.open(":memory:") as store:
        fault = AlertEvent.model_validate({
            "event": "new", "alert_id": "a-000007", "t_s": 5.0, "class": "tower_fault",
            "confidence": 1.0, "severity": "high", "towers": ["T03"], "fault": "silent",
            "beyond": 1})
        store.append(fault)
        latest = store.latest_event("a-000007")
        assert latest is not None and latest.model_extra == {"beyond": 1}
        assert store.latest_event("a-000008") is None


def test_fault_reason_and_run_are_fields_of_the_record(store: AlertStore) -> None:
    store.append(AlertEvent.model_validate({
        "event": "new", "alert_id": "a-000007", "t_s": 5.0, "class": "tower_fault",
        "confidence": 1.0, "severity": "high", "towers": ["T03"], "fault": "silent",
        "run_id": "r-1"}))
    store.append(event("a-000008", run_id="r-2"))
    store.append(event("a-000008", "closed", 130.0, run_id="r-2", reason="track_lost"))
    fault, closed = store.get_alert("a-000007"), store.get_alert("a-000008")
    assert fault is not None
    assert (fault.fault, fault.run_id, fault.reason) == ("silent", "r-1", None)
    assert closed is not None and (closed.reason, closed.status) == ("track_lost", "closed")
    assert [r.alert_id for r in store.list_alerts(run_id="r-2")[0]] == ["a-000008"]
    assert store.list_alerts(run_id="r-3")[0] == []


_V1_SCHEMA = [  # the schema before versioning (wall-clock times in *_t_s columns)
    """CREATE TABLE alert_events (seq {serial} PRIMARY KEY, alert_id TEXT NOT NULL,
        event TEXT NOT NULL, t_s DOUBLE PRECISION NOT NULL, payload TEXT NOT NULL,
        UNIQUE (alert_id, event, t_s))""",
    """CREATE TABLE alerts (alert_id TEXT PRIMARY KEY, number BIGINT NOT NULL,
        track_number BIGINT NOT NULL, created_seq BIGINT NOT NULL UNIQUE, status TEXT NOT NULL,
        class TEXT NOT NULL, severity TEXT NOT NULL, first_t_s DOUBLE PRECISION NOT NULL,
        last_t_s DOUBLE PRECISION NOT NULL, last_seq BIGINT NOT NULL, updates BIGINT NOT NULL,
        latest TEXT NOT NULL, acked_by TEXT, acked_at_t_s DOUBLE PRECISION)""",
    "CREATE INDEX alerts_by_time ON alerts (first_t_s)",
    """CREATE TABLE threshold_changes (id {serial} PRIMARY KEY,
        at_t_s DOUBLE PRECISION NOT NULL, actor TEXT NOT NULL, changes TEXT NOT NULL,
        result TEXT NOT NULL)""",
    """INSERT INTO alert_events (alert_id, event, t_s, payload) VALUES ('a-000005', 'new',
        1768514460.0, '{"event":"new","alert_id":"a-000005","t_s":1768514460.0,"class":"person",
        "confidence":0.9,"severity":"high"}')""",
    """INSERT INTO alerts VALUES ('a-000005', 5, 0, 1, 'open', 'person', 'high', 1768514460.0,
        1768514460.0, 1, 1, '{"event":"new","alert_id":"a-000005","t_s":1768514460.0,
        "class":"person","confidence":0.9,"severity":"high"}', 'alice', 1796500000.0)""",
    """INSERT INTO threshold_changes (at_t_s, actor, changes, result) VALUES (1796500100.0,
        'bob', '{"track.confirm_m": 4}', '{"track.confirm_m": 4}')""",
]


def _make_v1(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(sqlite_path(db_url))
        for statement in _V1_SCHEMA:
            conn.execute(statement.replace("{serial}", "INTEGER"))
        conn.commit()
        conn.close()
        return
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        for statement in _V1_SCHEMA:
            conn.execute(statement.replace("{serial}", "BIGSERIAL"))  # type: ignore[arg-type]


def test_a_database_of_the_first_schema_opens_migrated(db_url: str) -> None:
    _make_v1(db_url)
    for _ in range(2):  # migrated once; opening again changes nothing
        with AlertStore.open(db_url) as store:
            record = store.get_alert("a-000005")
            assert record is not None and record.acked_by == "alice"
            assert (record.acked_at_wall_s, record.acked_at_t_s) == (1796500000.0, None)
            change = store.thresholds_audit.history()[0]
            assert (change.at_wall_s, change.at_t_s, change.by) == (1796500100.0, None, "bob")
            store.append(event("a-000006", run_id="r-9"))
            assert [r.alert_id for r in store.list_alerts(run_id="r-9")[0]] == ["a-000006"]
            assert store.max_alert_number() == 6
