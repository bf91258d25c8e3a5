"""Render evaluation reports: rich tables for people, JSON for scripts."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.table import Table

from perimeter.evaluation.report import AggregateReport, RunReport, Summary, aggregate

_HEAD = ("scenario", "seed", "duration_s", "perimeter_length_m")
_PAIR = re.compile(r"\[\s+(-?[\d.eE+-]+),\s+(-?[\d.eE+-]+)\s+\]")


def _ordered(run: dict[str, Any]) -> dict[str, Any]:
    return {**{k: run[k] for k in _HEAD if k in run}, **run}


HEADLINE = ("pd", "pd_lower_95", "pd_covered", "pd_covered_lower_95", "intrusions", "detected",
            "covered_intrusions", "covered_detected", "misclassified_alerts", "matched_alerts",
            "duplicate_alerts", "false_alerts", "nuisance_alerts",
            "false_nuisance_alerts_per_km_day", "time_to_alert_after_covered_s",
            "time_to_alert_s", "origins_with_ellipse", "origins_in_95_ellipse",
            "origin_in_95_ellipse_rate", "origin_normalised_error", "origin_error_to_crb",
            "origin_unobservable", "matched_alert_distance_m")


def headline(pooled: AggregateReport) -> dict[str, Any]:
    """The honest headline of a pooled report: Pd over all intrusions first, then the rest."""
    doc = pooled.model_dump(mode="json")
    out = {k: doc[k] for k in HEADLINE}
    for name in ("gospa_intruders", "gospa_animals"):
        pool = getattr(pooled, name)
        out[f"{name}_mean_m"] = pool.mean_m if pool is not None else None
    return out


def report_json(reports: Sequence[RunReport], *, include_aggregate: bool = False) -> str:
    """The contract's ``--json`` output: a list with one object per run.

    With ``include_aggregate`` it is ``{"runs": [...], "aggregate": {...}}`` instead, the
    aggregate opening with its ``headline``.
    """
    runs = [_ordered(r.model_dump(mode="json", by_alias=True)) for r in reports]
    doc: object = runs
    if include_aggregate:
        pooled = aggregate(reports)
        pooled_doc: dict[str, Any] = {"headline": headline(pooled),
                                      **pooled.model_dump(mode="json")}
        doc = {"runs": runs, "aggregate": pooled_doc}
    # One [elapsed_s, gospa_m] pair per line rather than three.
    return _PAIR.sub(r"[\1, \2]", json.dumps(doc, indent=2))


def _num(value: float | None, fmt: str = "{:.0f}") -> str:
    return "–" if value is None else fmt.format(value)


def _pd(pd: float | None, lower: float | None) -> str:
    return "–" if pd is None else f"{pd:.3f} ≥{_num(lower, '{:.3f}')}"


def _table(title: str, columns: Sequence[str]) -> Table:
    table = Table(title=title)
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i == 0 else "right")
    return table


_DETECTION = ["intr.", "det.", "Pd ≥95% low", "covered", "Pd covered ≥95% low", "miscl.",
              "dup.", "TTA med s", "TTA cov. med s", "TTA cov. p90 s", "to perim. med m",
              "origin err med m", "in 95% ell.", "err/PCRB med", "unobs.", "alert–truth med m"]


def _detection_row(s: Summary) -> list[str]:
    return [str(s.intrusions), str(s.detected), _pd(s.pd, s.pd_lower_95),
            str(s.covered_intrusions), _pd(s.pd_covered, s.pd_covered_lower_95),
            f"{s.misclassified_alerts}/{s.matched_alerts}", str(s.duplicate_alerts),
            _num(s.time_to_alert_s.median), _num(s.time_to_alert_after_covered_s.median),
            _num(s.time_to_alert_after_covered_s.p90),
            _num(s.first_alert_distance_to_perimeter_m.median),
            _num(s.origin_error_m.median),
            f"{s.origins_in_95_ellipse}/{s.origins_with_ellipse}",
            _num(s.origin_error_to_crb.median, "{:.2f}"), str(s.origin_unobservable),
            _num(s.matched_alert_distance_m.median)]


def detection_table(reports: Sequence[RunReport], pooled: AggregateReport) -> Table:
    """Detection and origin figures: one row per run and a pooled row."""
    table = _table("Detection", ["scenario", "seed", *_DETECTION])
    for r in reports:
        table.add_row(r.scenario, str(r.seed), *_detection_row(r))
    table.add_section()
    table.add_row(f"all ({pooled.runs})", "", *_detection_row(pooled))
    return table


def alerts_table(reports: Sequence[RunReport], pooled: AggregateReport) -> Table:
    """False alerts, tower faults, GOSPA and fragmentation."""
    table = _table("Alerts and tracks", ["scenario", "seed", "alerts", "false", "nuisance",
                                         "dup.", "false+nuis.+dup. /km·day", "faults",
                                         "GOSPA intr. m", "GOSPA anim. m",
                                         "alerts /intr.", "tracks /intr."])
    for r in reports:
        table.add_row(r.scenario, str(r.seed), str(r.alerts), str(r.false_alerts),
                      str(r.nuisance_alerts), str(r.duplicate_alerts),
                      f"{r.false_nuisance_alerts_per_km_day:.2f}", str(r.tower_fault_alerts),
                      _num(r.gospa_intruders.mean_m if r.gospa_intruders else None),
                      _num(r.gospa_animals.mean_m if r.gospa_animals else None),
                      _num(r.fragmentation.alerts_per_alerted_intrusion_mean, "{:.2f}"),
                      _num(r.fragmentation.tracks_per_tracked_intrusion_mean, "{:.2f}"))
    table.add_section()
    table.add_row(f"all ({pooled.runs})", "", str(sum(r.alerts for r in reports)),
                  str(pooled.false_alerts), str(pooled.nuisance_alerts),
                  str(pooled.duplicate_alerts), f"{pooled.false_nuisance_alerts_per_km_day:.2f}",
                  str(pooled.tower_fault_alerts),
                  _num(pooled.gospa_intruders.mean_m if pooled.gospa_intruders else None),
                  _num(pooled.gospa_animals.mean_m if pooled.gospa_animals else None),
                  _num(pooled.fragmentation.alerts_per_alerted_intrusion_mean, "{:.2f}"),
                  _num(pooled.fragmentation.tracks_per_tracked_intrusion_mean, "{:.2f}"))
    return table


def classes_table(pooled: AggregateReport) -> Table:
    """Pooled detection figures per target class."""
    table = _table("By class, all runs", ["class", *_DETECTION])
    for name, summary in pooled.classes.items():
        table.add_row(name, *_detection_row(summary))
    return table


def confusion_table(pooled: AggregateReport) -> Table:
    """True kind against the class each matched alert showed, pooled over all runs."""
    shown = sorted({c for row in pooled.confusion_matrix.values() for c in row})
    table = _table("Matched alerts: true kind x class shown, all runs", ["kind", *shown])
    for kind, row in pooled.confusion_matrix.items():
        table.add_row(kind, *(str(row.get(c, 0)) for c in shown))
    return table


def report_table(reports: Sequence[RunReport]) -> Group:
    """The human-readable report: detection, alerts and tracks, the per-class breakdown and
    the confusion matrix."""
    pooled = aggregate(reports)
    return Group(detection_table(reports, pooled), alerts_table(reports, pooled),
                 classes_table(pooled), confusion_table(pooled))
