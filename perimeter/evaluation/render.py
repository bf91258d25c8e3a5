"""Render evaluation reports: a rich table for people, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Group
from rich.table import Table

from perimeter.evaluation.report import AggregateReport, RunReport, Summary, aggregate


def report_json(reports: Sequence[RunReport], *, include_aggregate: bool = False) -> str:
    """The contract's ``--json`` output: a list with one object per run.

    With ``include_aggregate`` it is ``{"runs": [...], "aggregate": {...}}`` instead.
    """
    runs = [r.model_dump(mode="json", by_alias=True) for r in reports]
    if not include_aggregate:
        return json.dumps(runs, indent=2)
    pooled = aggregate(reports).model_dump(mode="json", by_alias=True)
    return json.dumps({"runs": runs, "aggregate": pooled}, indent=2)


def _num(value: float | None, fmt: str = "{:.0f}") -> str:
    return "–" if value is None else fmt.format(value)


def _pd(summary: Summary) -> str:
    if summary.pd is None:
        return "–"
    return f"{summary.pd:.3f} (≥{_num(summary.pd_lower_95, '{:.3f}')})"


def _row(summary: Summary) -> list[str]:
    return [
        str(summary.intrusions), str(summary.detected), _pd(summary),
        _num(summary.time_to_alert_s.median), _num(summary.time_to_alert_s.p90),
        _num(summary.origin_error_m.median), _num(summary.origin_error_to_crb.median, "{:.2f}"),
        _num(summary.first_alert_distance_to_perimeter_m.median),
    ]


_SUMMARY_COLUMNS = ["intrusions", "detected", "Pd (95% lower)", "TTA med s", "TTA p90 s",
                    "origin err med m", "err/CRB med", "1st alert to perim. med m"]


def runs_table(reports: Sequence[RunReport], pooled: AggregateReport) -> Table:
    """One row per run and a pooled row."""
    table = Table(title="Evaluation runs")
    for name in ["scenario", "seed", *_SUMMARY_COLUMNS, "false", "nuisance", "false /km·day",
                 "faults", "GOSPA mean m", "alerts/intrusion"]:
        table.add_column(name, justify="left" if name == "scenario" else "right")
    for r in reports:
        table.add_row(r.scenario, str(r.seed), *_row(r), str(r.false_alerts),
                      str(r.nuisance_alerts), f"{r.false_alerts_per_km_day:.2f}",
                      str(r.tower_fault_alerts), _num(r.gospa.mean_m if r.gospa else None),
                      _num(r.fragmentation.alerts_per_alerted_intrusion_mean, "{:.2f}"))
    table.add_section()
    table.add_row(f"all ({pooled.runs} runs)", "", *_row(pooled), str(pooled.false_alerts),
                  str(pooled.nuisance_alerts), f"{pooled.false_alerts_per_km_day:.2f}",
                  str(pooled.tower_fault_alerts), _num(pooled.gospa_mean_m),
                  _num(pooled.fragmentation.alerts_per_alerted_intrusion_mean, "{:.2f}"))
    return table


def classes_table(pooled: AggregateReport) -> Table:
    """Pooled figures per target class."""
    table = Table(title="By class, all runs")
    for name in ["class", *_SUMMARY_COLUMNS]:
        table.add_column(name, justify="left" if name == "class" else "right")
    for name, summary in pooled.classes.items():
        table.add_row(name, *_row(summary))
    return table


def report_table(reports: Sequence[RunReport]) -> Group:
    """The human-readable report: runs with a pooled row, then the per-class breakdown."""
    pooled = aggregate(reports)
    return Group(runs_table(reports, pooled), classes_table(pooled))
