"""The alarm workflow and the operators in the store, on SQLite and a real PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from perimeter.contract import AlertEvent
from perimeter.store import AlertStore, ResolutionConflictError, StoreError, UnknownAlertError


def event(alert_id: str, kind: str = "new", t_s: float = 100.0, **extra: Any) -> AlertEvent:
    fields: dict[str, Any] = {"event": kind, "alert_id": alert_id, "track_id": "k-000007",
                              "t_s": t_s, "class": "person", "confidence": 0.9,
                              "severity": "high"}
    fields.update(extra)
    return AlertEvent.model_validate(fields)


def test_new_acknowledged_resolved_with_actions(store: AlertStore) -> None:
    store.append(event("a-000001"))
    assert store.get_alert("a-000001").workflow == "new"  # type: ignore[union-attr]
    acked = store.ack("a-000001", "alice", 5.0)
    assert (acked.workflow, acked.acked_by, acked.status) == ("acknowledged", "alice", "open")
    store.comment("a-000001", "bob", 6.0, "  deer near the fence  ")
    resolved = store.resolve("a-000001", "bob", 7.0, "nuisance", "it was a deer", at_t_s=107.0)
    assert (resolved.status, resolved.workflow, resolved.disposition) == (
        "resolved", "resolved", "nuisance")
    assert (resolved.resolved_by, resolved.resolved_at_wall_s, resolved.resolved_at_t_s) == (
        "bob", 7.0, 107.0)
    assert resolved.acked_by == "alice"  # the first acknowledgement stands
    assert resolved.actions is not None
    assert [(a.action, a.by, a.text) for a in resolved.actions] == [
        ("acknowledged", "alice", None), ("comment", "bob", "deer near the fence"),
        ("resolved", "bob", "it was a deer")]
    with pytest.raises(ResolutionConflictError, match="resolved already"):
        store.resolve("a-000001", "carol", 8.0, "intrusion")


def test_resolution_survives_later_fusion_events(store: AlertStore) -> None:
    store.append(event("a-000001", t_s=10.0))
    store.resolve("a-000001", "alice", 1.0, "false_alarm")  # resolving acknowledges too
    store.append(event("a-000001", "update", 20.0, severity="critical"))
    store.append(event("a-000001", "update", 15.0))  # late
    store.append(event("a-000001", "closed", 30.0, severity="critical"))
    record = store.get_alert("a-000001")
    assert record is not None
    assert (record.status, record.severity, record.updates) == ("resolved", "critical", 4)
    assert record.acked_by == "alice"


def test_filters_queue_and_counts(store: AlertStore) -> None:
    store.append(event("a-000001", t_s=10.0, severity="medium"))
    store.append(event("a-000002", t_s=20.0, severity="critical"))
    store.append(event("a-000003", t_s=30.0, severity="critical"))
    store.append(event("a-000004", t_s=5.0, severity="low"))
    store.append(event("a-000005", t_s=1.0, severity="high"))
    store.append(event("a-000005", "closed", 2.0, severity="high"))
    store.resolve("a-000004", "alice", 1.0, "test")
    store.ack("a-000003", "alice", 1.0)
    assert [a.alert_id for a in store.queue()] == ["a-000002", "a-000003", "a-000005",
                                                   "a-000001"]
    assert store.workflow.counts() == {"unacknowledged": 3, "unresolved": 4}

    def ids(**filters: Any) -> list[str]:
        return [a.alert_id for a in store.list_alerts(**filters)[0]]

    assert ids(status="resolved") == ["a-000004"]
    assert ids(disposition="test") == ["a-000004"]
    assert ids(disposition="intrusion") == []
    assert ids(acked=True) == ["a-000004", "a-000003"]
    assert ids(status="open", acked=False) == ["a-000002", "a-000001"]


def test_bad_steps_name_the_field(store: AlertStore) -> None:
    store.append(event("a-000001"))
    with pytest.raises(StoreError, match="disposition: must be one of"):
        store.resolve("a-000001", "alice", 1.0, "burglar")
    with pytest.raises(StoreError, match=r"^text: must not be empty"):
        store.comment("a-000001", "alice", 1.0, "   ")
    with pytest.raises(StoreError, match=r"^comment: at most 2000"):
        store.resolve("a-000001", "alice", 1.0, "test", "x" * 2001)
    with pytest.raises(UnknownAlertError):
        store.resolve("a-404", "alice", 1.0, "test")
    with pytest.raises(UnknownAlertError):
        store.comment("a-404", "alice", 1.0, "hello")
    assert store.get_alert("a-000001").workflow == "new"  # type: ignore[union-attr]


def test_actions_after_resume_in_order(store: AlertStore) -> None:
    store.append(event("a-000001"))
    store.append(event("a-000002"))
    start = store.workflow.last_action_id()
    store.ack("a-000002", "alice", 1.0)
    store.comment("a-000001", "bob", 2.0, "looking")
    store.resolve("a-000001", "bob", 3.0, "intrusion")
    steps = store.workflow.actions_after(start)
    assert [(a.alert_id, a.action) for a in steps] == [
        ("a-000002", "acknowledged"), ("a-000001", "comment"), ("a-000001", "acknowledged"),
        ("a-000001", "resolved")]
    assert store.workflow.actions_after(steps[1].id)[0].id == steps[2].id


def test_operators_keep_only_a_hash_and_authenticate(store: AlertStore, db_url: str) -> None:
    registry = store.operators
    alice, token = registry.add("alice", "operator", 1.0)
    assert alice.role == "operator" and token.startswith("wh_")
    with AlertStore.open(db_url) as other:  # another process's view: hashes only
        assert other.operators.authenticate(token) == alice
        assert other.operators.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")
                                            ) is None
        assert other.operators.authenticate("nonsense") is None
    stored = [str(v) for row in store._db.read("SELECT * FROM operators") for v in row]
    assert not any(token.split("_", 2)[2] in v for v in stored)
    assert registry.authenticate(token) == alice  # twice: the second from the cache
    assert registry.authenticate(token) == alice
    with pytest.raises(StoreError, match=r"^name: an operator named 'alice' exists"):
        registry.add("alice", "admin", 2.0)
    with pytest.raises(StoreError, match=r"^role: must be one of viewer, operator, admin"):
        registry.add("bob", "root", 2.0)
    with pytest.raises(StoreError, match=r"^name:"):
        registry.add("bad name!", "viewer", 2.0)
    with pytest.raises(StoreError, match=r"^name: 'bootstrap-admin' is the holder"):
        registry.add("bootstrap-admin", "admin", 2.0)
    registry.add("bob", "viewer", 2.0)
    assert [(o.name, o.role) for o in registry.list()] == [("alice", "operator"),
                                                           ("bob", "viewer")]
    assert registry.remove("alice") and not registry.remove("alice")
    assert registry.authenticate(token) is None
