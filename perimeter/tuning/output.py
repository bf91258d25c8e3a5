"""A sweep as a rich table, a JSON document and a CSV file."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from rich.table import Table

from perimeter.tuning.judged import JudgedRow
from perimeter.tuning.recommend import Recommendation
from perimeter.tuning.runner import SweepResult


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def sweep_table(result: SweepResult, recommendation: Recommendation) -> Table:
    """One row per point: swept values, Pd with its 95 % interval, false alerts per km-day."""
    chosen = recommendation.point.index if recommendation.point is not None else None
    table = Table(title=f"Sweep over {len(result.scenarios)} scenario(s) x {result.seeds} seed(s)")
    table.add_column("#", justify="right")
    for name in result.names:
        table.add_column(name, justify="right")
    for head in ("Pd", "95 % CI", "false /km/day", "TTA median s", ""):
        table.add_column(head, justify="right")
    for p in result.points:
        ci = (f"[{p.pd_low_95:.2f}, {p.pd_high_95:.2f}]"
              if p.pd_low_95 is not None and p.pd_high_95 is not None else "-")
        marks = " ".join(m for m, on in (("current", p.current), ("RECOMMENDED", p.index == chosen))
                         if on)
        table.add_row(str(p.index), *(_fmt(p.values.get(n)) for n in result.names),
                      _fmt(p.pd), ci, _fmt(p.false_alerts_per_km_day),
                      _fmt(p.pooled.time_to_alert_s.median), marks,
                      style="bold" if p.index == chosen else None)
    return table


def sweep_document(result: SweepResult, recommendation: Recommendation,
                   judged: list[JudgedRow] | None = None) -> dict[str, Any]:
    """The JSON document: inputs, every point's row, the recommendation (with its warning when
    the sample cannot separate it from the current point), refused points and, with
    ``--judged``, the points' figures on the alerts operators judged."""
    chosen = recommendation.point
    return {
        "scenarios": result.scenarios, "seeds": result.seeds, "params": result.names,
        "wall_time_s": result.wall_time_s,
        "max_false_alerts_per_km_day": recommendation.max_false_alerts_per_km_day,
        "recommendation": {"point": chosen.index if chosen else None,
                           "thresholds": recommendation.thresholds,
                           "reason": recommendation.reason,
                           "warning": recommendation.warning},
        "current": result.current.thresholds,
        "points": [{**p.row(), "thresholds": p.thresholds} for p in result.points],
        "refused": [{"values": values, "reason": reason} for values, reason in result.refused],
        "judged": None if judged is None else [
            {"point": row.index, "kept": row.kept} for row in judged],
    }


def write_json(path: str | Path, result: SweepResult, recommendation: Recommendation,
               judged: list[JudgedRow] | None = None) -> None:
    Path(path).write_text(
        json.dumps(sweep_document(result, recommendation, judged), indent=2) + "\n",
        encoding="utf-8")


def write_csv(path: str | Path, result: SweepResult) -> None:
    """One row per point, the columns of :meth:`PointResult.row`."""
    rows = [p.row() for p in result.points]
    with Path(path).open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
