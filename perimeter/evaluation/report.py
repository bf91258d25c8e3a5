"""The evaluation report: per-run and pooled figures, with units in every key.

Headline and per-class figures are computed from the per-target rows, so pooling over runs
(:func:`aggregate`) uses exactly the same arithmetic as one run.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from perimeter.evaluation import stats

SECONDS_PER_DAY = 86_400.0
CLASS_ORDER = ("person", "group", "vehicle", "animal")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class Spread(_Model):
    median: float | None = None
    p90: float | None = None

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(median=stats.median(values), p90=stats.quantile(values, 0.9))


class Median(_Model):
    median: float | None = None


class TargetReport(_Model):
    """One scripted intrusion: whether, when and how well it was alerted on."""

    target_id: str
    kind: str
    class_: str = Field(alias="class")
    detected: bool
    late: bool = False
    towers_seen: int = 0
    observable: bool = True
    covered: bool | None = None
    """Within the coverage the model reports (:mod:`.covered`); None when not assessed."""
    time_to_alert_s: float | None = None
    origin_error_m: float | None = None
    origin_crb_m: float | None = None
    origin_error_to_crb: float | None = None
    first_alert_distance_to_perimeter_m: float | None = None
    alert_ids: list[str] = []
    alert_track_ids: list[str] = []
    confirmed_track_ids: list[str] = []


class Summary(_Model):
    """Detection figures over a set of intrusions."""

    intrusions: int
    detected: int
    pd: float | None
    pd_lower_95: float | None
    observable_intrusions: int
    observable_detected: int
    pd_observable: float | None
    pd_observable_lower_95: float | None
    covered_intrusions: int = 0
    covered_detected: int = 0
    pd_covered: float | None = None
    pd_covered_lower_95: float | None = None
    time_to_alert_s: Spread
    origin_error_m: Spread
    origin_crb_m: Spread
    origin_error_to_crb: Spread
    first_alert_distance_to_perimeter_m: Median


def summarise(targets: Sequence[TargetReport]) -> Summary:
    hits = [t for t in targets if t.detected]
    seen = [t for t in targets if t.observable]
    seen_hits = sum(t.detected for t in seen)
    covered = [t for t in targets if t.covered]
    covered_hits = sum(t.detected for t in covered)

    def values(name: str) -> list[float]:
        return [v for t in hits if (v := getattr(t, name)) is not None]

    return Summary(
        intrusions=len(targets), detected=len(hits),
        pd=stats.ratio(len(hits), len(targets)),
        pd_lower_95=stats.pd_lower_bound(len(hits), len(targets)),
        observable_intrusions=len(seen), observable_detected=seen_hits,
        pd_observable=stats.ratio(seen_hits, len(seen)),
        pd_observable_lower_95=stats.pd_lower_bound(seen_hits, len(seen)),
        covered_intrusions=len(covered), covered_detected=covered_hits,
        pd_covered=stats.ratio(covered_hits, len(covered)),
        pd_covered_lower_95=stats.pd_lower_bound(covered_hits, len(covered)),
        time_to_alert_s=Spread.of(values("time_to_alert_s")),
        origin_error_m=Spread.of(values("origin_error_m")),
        origin_crb_m=Spread.of(values("origin_crb_m")),
        origin_error_to_crb=Spread.of(values("origin_error_to_crb")),
        first_alert_distance_to_perimeter_m=Median(
            median=stats.median(values("first_alert_distance_to_perimeter_m"))),
    )


class GospaReport(_Model):
    """GOSPA (alpha = 2) of confirmed tracks against the moving targets, per snapshot."""

    cutoff_m: float
    order_p: float
    snapshots: int
    mean_m: float | None
    median_m: float | None
    p90_m: float | None
    localisation_mean_m: float | None
    missed_mean: float | None
    false_tracks_mean: float | None
    series_elapsed_s_gospa_m: list[tuple[float, float]] = []


class Fragmentation(_Model):
    """How many alerts and confirmed tracks each intrusion was split into."""

    alerts_per_alerted_intrusion_mean: float | None
    alerts_per_alerted_intrusion_max: int
    tracks_per_tracked_intrusion_mean: float | None
    tracks_per_tracked_intrusion_max: int

    @classmethod
    def of(cls, targets: Sequence[TargetReport]) -> Fragmentation:
        alerts = [len(t.alert_ids) for t in targets if t.alert_ids]
        tracks = [len(t.confirmed_track_ids) for t in targets if t.confirmed_track_ids]
        return cls(alerts_per_alerted_intrusion_mean=stats.mean(alerts),
                   alerts_per_alerted_intrusion_max=max(alerts, default=0),
                   tracks_per_tracked_intrusion_mean=stats.mean(tracks),
                   tracks_per_tracked_intrusion_max=max(tracks, default=0))


class AlertCounts(_Model):
    """Alert verdict counts (false includes nuisance; tower faults are never false)."""

    alerts: int
    false_alerts: int
    nuisance_alerts: int
    tower_fault_alerts: int
    false_alerts_by_class: dict[str, int] = {}


class RunReport(Summary):
    """One scenario run, scored (the contract's ``perimeter eval --json`` object)."""

    scenario: str
    seed: int
    duration_s: float
    perimeter_length_m: float
    alerts: int
    false_alerts: int
    nuisance_alerts: int
    false_alerts_per_km_day: float
    nuisance_alerts_per_km_day: float
    tower_fault_alerts: int
    false_alerts_by_class: dict[str, int] = {}
    late_intrusions: int
    rejected_messages: int = 0
    fragmentation: Fragmentation
    gospa: GospaReport | None = None
    classes: dict[str, Summary]
    targets: list[TargetReport]
    run_time_s: float = 0.0


def per_km_day(count: int, perimeter_length_m: float, duration_s: float) -> float:
    """``count`` per km of perimeter per day (0 when there is no exposure)."""
    exposure = perimeter_length_m / 1000.0 * duration_s / SECONDS_PER_DAY
    return count / exposure if exposure > 0 else 0.0


def by_class(targets: Sequence[TargetReport]) -> dict[str, Summary]:
    present = sorted({t.class_ for t in targets},
                     key=lambda c: (CLASS_ORDER.index(c) if c in CLASS_ORDER else 99, c))
    return {c: summarise([t for t in targets if t.class_ == c]) for c in present}


def build_run_report(*, scenario: str, seed: int, duration_s: float, perimeter_length_m: float,
                     targets: list[TargetReport], counts: AlertCounts,
                     gospa: GospaReport | None, rejected_messages: int = 0,
                     run_time_s: float = 0.0) -> RunReport:
    """Assemble a :class:`RunReport` from scored targets and alert counts."""
    return RunReport(
        **dict(summarise(targets)),
        scenario=scenario, seed=seed, duration_s=duration_s,
        perimeter_length_m=perimeter_length_m, alerts=counts.alerts,
        false_alerts=counts.false_alerts, nuisance_alerts=counts.nuisance_alerts,
        false_alerts_per_km_day=per_km_day(counts.false_alerts, perimeter_length_m, duration_s),
        nuisance_alerts_per_km_day=per_km_day(counts.nuisance_alerts, perimeter_length_m,
                                              duration_s),
        tower_fault_alerts=counts.tower_fault_alerts,
        false_alerts_by_class=counts.false_alerts_by_class,
        late_intrusions=sum(t.late for t in targets), rejected_messages=rejected_messages,
        fragmentation=Fragmentation.of(targets), gospa=gospa, classes=by_class(targets),
        targets=targets, run_time_s=run_time_s,
    )


class AggregateReport(Summary):
    """All runs pooled: Pd over every intrusion, false alerts over the total exposure."""

    runs: int
    duration_s: float
    false_alerts: int
    nuisance_alerts: int
    false_alerts_per_km_day: float
    nuisance_alerts_per_km_day: float
    tower_fault_alerts: int
    gospa_mean_m: float | None
    fragmentation: Fragmentation
    classes: dict[str, Summary]


def aggregate(reports: Sequence[RunReport]) -> AggregateReport:
    """Pool runs: every intrusion counts once; rates use the summed km-days."""
    targets = [t for r in reports for t in r.targets]
    km_days = sum(r.perimeter_length_m / 1000.0 * r.duration_s / SECONDS_PER_DAY
                  for r in reports)
    false, nuisance = sum(r.false_alerts for r in reports), sum(r.nuisance_alerts for r in reports)
    gospa_total = sum((r.gospa.mean_m or 0.0) * r.gospa.snapshots for r in reports if r.gospa)
    gospa_n = sum(r.gospa.snapshots for r in reports if r.gospa and r.gospa.mean_m is not None)
    return AggregateReport(
        **dict(summarise(targets)),
        runs=len(reports), duration_s=sum(r.duration_s for r in reports),
        false_alerts=false, nuisance_alerts=nuisance,
        false_alerts_per_km_day=false / km_days if km_days else 0.0,
        nuisance_alerts_per_km_day=nuisance / km_days if km_days else 0.0,
        tower_fault_alerts=sum(r.tower_fault_alerts for r in reports),
        gospa_mean_m=gospa_total / gospa_n if gospa_n else None,
        fragmentation=Fragmentation.of(targets), classes=by_class(targets),
    )
