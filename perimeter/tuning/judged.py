"""How each sweep point's thresholds would have done on the alerts operators judged.

The store keeps every resolved alert with its disposition (intrusion, nuisance, false_alarm,
test) and its event history. A point's ``alert.min_confidence`` and ``alert.classes`` decide
alone whether an alert that was raised would still be raised: it needs an event of a class in
``alert.classes`` whose confidence reaches ``alert.min_confidence``. The other thresholds act on
the reports before any alert exists, so stored alerts cannot say what they would change, and
an alert the thresholds then in force never raised is not in the store: the figures bound what
a stricter point loses and saves, not what a looser one would add.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.table import Table

from perimeter.store import DISPOSITIONS, AlertStore, Disposition
from perimeter.tuning.runner import PointResult

JUDGED_BY = ("alert.min_confidence", "alert.classes")


@dataclass(frozen=True, slots=True)
class JudgedAlert:
    """A resolved alert as a threshold sees it: its disposition and every (class, confidence)
    its events had."""

    alert_id: str
    disposition: Disposition
    evidence: tuple[tuple[str, float], ...]

    def raised_under(self, min_confidence: float, classes: Sequence[str]) -> bool:
        return any(c in classes and conf >= min_confidence for c, conf in self.evidence)


@dataclass(frozen=True, slots=True)
class JudgedRow:
    """One point: of the judged alerts of each disposition, how many it would still raise."""

    index: int
    values: dict[str, float]
    kept: dict[str, int] = field(default_factory=dict)


def judged_alerts(store: AlertStore, page: int = 200) -> list[JudgedAlert]:
    """Every resolved alert of the store with its disposition and evidence."""
    found: list[JudgedAlert] = []
    cursor: str | None = None
    while True:
        items, cursor = store.list_alerts(status="resolved", limit=page, cursor=cursor)
        for item in items:
            record = store.get_alert(item.alert_id)
            if record is None or record.disposition is None:
                continue
            events = [e.event for e in record.history or []]
            found.append(JudgedAlert(record.alert_id, record.disposition,
                                     tuple((e.class_, e.confidence) for e in events)))
        if cursor is None:
            return found


def judged_rows(points: Sequence[PointResult], judged: Sequence[JudgedAlert]) -> list[JudgedRow]:
    """Per point, the judged alerts of each disposition its thresholds would still raise."""
    rows = []
    for p in points:
        min_confidence = float(p.thresholds.get("alert.min_confidence", 0.0))
        classes = list(p.thresholds.get("alert.classes", []))
        kept: dict[str, int] = dict.fromkeys(DISPOSITIONS, 0)
        for alert in judged:
            if alert.raised_under(min_confidence, classes):
                kept[alert.disposition] += 1
        rows.append(JudgedRow(p.index, dict(p.values), kept))
    return rows


def judged_table(rows: Sequence[JudgedRow], judged: Sequence[JudgedAlert],
                 names: Sequence[str]) -> Table:
    """Kept / judged per disposition for every point."""
    totals = dict.fromkeys(DISPOSITIONS, 0)
    for alert in judged:
        totals[alert.disposition] += 1
    table = Table(title=f"On {len(judged)} alert(s) operators judged (only "
                        f"{' and '.join(JUDGED_BY)} can be replayed on stored alerts)")
    table.add_column("#", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    for disposition in DISPOSITIONS:
        table.add_column(f"{disposition} kept", justify="right")
    for row in rows:
        table.add_row(str(row.index), *(f"{row.values.get(n, '-'):g}" for n in names),
                      *(f"{row.kept[d]}/{totals[d]}" for d in DISPOSITIONS))
    return table
