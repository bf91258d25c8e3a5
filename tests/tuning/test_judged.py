"""Replaying the sweep points' alert thresholds on the alerts operators resolved."""

from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console

from perimeter.contract import AlertEvent
from perimeter.store import AlertStore
from perimeter.tuning.judged import judged_alerts, judged_rows, judged_table
from tests.tuning.synth import point


def _event(alert_id: str, kind: str, t_s: float, confidence: float, cls: str) -> AlertEvent:
    fields: dict[str, Any] = {"event": kind, "alert_id": alert_id, "t_s": t_s, "class": cls,
                              "confidence": confidence, "severity": "high"}
    return AlertEvent.model_validate(fields)


def test_stricter_points_drop_the_judged_alerts_below_their_confidence(tmp_path: Path) -> None:
    with AlertStore.open(str(tmp_path / "judged.db")) as store:
        # an intrusion that reached 0.95 once, a nuisance at 0.7, a false alarm at 0.65, a
        # test alert of an animal, and an alert nobody judged
        for alert_id, steps, disposition in (
                ("a-1", [("new", 0.7, "person"), ("update", 0.95, "person")], "intrusion"),
                ("a-2", [("new", 0.7, "person")], "nuisance"),
                ("a-3", [("new", 0.65, "vehicle")], "false_alarm"),
                ("a-4", [("new", 0.9, "animal")], "test"),
                ("a-5", [("new", 0.99, "person")], None)):
            for i, (kind, confidence, cls) in enumerate(steps):
                store.append(_event(alert_id, kind, 100.0 + i, confidence, cls))
            if disposition is not None:
                store.resolve(alert_id, "olga", 1.0, disposition)
        judged = judged_alerts(store)
    assert sorted((j.alert_id, j.disposition) for j in judged) == [
        ("a-1", "intrusion"), ("a-2", "nuisance"), ("a-3", "false_alarm"), ("a-4", "test")]
    classes = ["person", "group", "vehicle"]
    points = [replace(point(i, 1, 1, 0.0, current=i == 0),
                      values={"alert.min_confidence": level},
                      thresholds={"alert.min_confidence": level, "alert.classes": classes})
              for i, level in enumerate((0.6, 0.68, 0.9, 0.99))]
    rows = judged_rows(points, judged)
    assert [r.kept for r in rows] == [
        {"intrusion": 1, "nuisance": 1, "false_alarm": 1, "test": 0},
        {"intrusion": 1, "nuisance": 1, "false_alarm": 0, "test": 0},
        {"intrusion": 1, "nuisance": 0, "false_alarm": 0, "test": 0},
        {"intrusion": 0, "nuisance": 0, "false_alarm": 0, "test": 0}]
    text = Console(width=200, record=True)
    text.print(judged_table(rows, judged, ["alert.min_confidence"]))
    out = text.export_text()
    assert "On 4 alert(s) operators judged" in out and "0/1" in out
