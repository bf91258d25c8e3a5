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
    """Distinct towers with a kept detection of it (at or above the SNR threshold in force)
    before its last waypoint."""
    observable: bool = True
    covered: bool | None = None
    """Within the coverage the model reports (:mod:`.covered`); None when not assessed."""
    start_s: float | None = None
    """When it started to move, seconds after the scenario's start."""
    first_covered_s: float | None = None
    """When the coverage model first gave it Pd >= 0.9, seconds after the scenario's start."""
    time_to_alert_s: float | None = None
    time_to_alert_after_covered_s: float | None = None
    class_correct: bool | None = None
    """Every matched alert showed the target's class family; None when none matched."""
    misclassified_alerts: int = 0
    duplicate_alerts: int = 0
    origin_error_m: float | None = None
    origin_crb_m: float | None = None
    """Posterior CRB of the origin (:mod:`.pcrb`)."""
    origin_single_look_crb_m: float | None = None
    origin_observable: bool | None = None
    """Covered within ``crb_window_s`` of its start; None when coverage was not assessed."""
    origin_error_to_crb: float | None = None
    origin_normalised_error: float | None = None
    origin_in_95_ellipse: bool | None = None
    origin_track_lag_s: float | None = None
    """The first alert's origin time less the target's first kept detection: how late
    the alerting track began (its origin is carried back no further)."""
    origin_track_error_m: float | None = None
    """The first alert's origin to the truth at the origin's own time."""
    origin_track_crb_m: float | None = None
    """Posterior CRB of the state at the origin's own time from the looks of ``crb_window_s``
    after it: the bound for the data the alerting track began with."""
    origin_track_error_to_crb: float | None = None
    matched_alert_distance_m: float | None = None
    """Median distance of its matched alerts' positions to the truth at each event."""
    first_alert_distance_to_perimeter_m: float | None = None
    alert_ids: list[str] = []
    alert_classes: list[str] = []
    """The class each matched alert showed for most of its events, in ``alert_ids`` order."""
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
    matched_alerts: int = 0
    misclassified_alerts: int = 0
    class_correct_intrusions: int = 0
    duplicate_alerts: int = 0
    confusion_matrix: dict[str, dict[str, int]] = {}
    """True kind -> class shown by each matched alert (``no_alert``: intrusions without one)."""
    time_to_alert_s: Spread
    time_to_alert_after_covered_s: Spread = Spread()
    origin_error_m: Spread
    origin_crb_m: Spread
    origin_single_look_crb_m: Spread = Spread()
    origin_error_to_crb: Spread
    origin_unobservable: int = 0
    origins_with_ellipse: int = 0
    origins_in_95_ellipse: int = 0
    origin_in_95_ellipse_rate: float | None = None
    origin_normalised_error: Spread = Spread()
    origin_track_lag_s: Spread = Spread()
    origin_track_error_m: Spread = Spread()
    origin_track_crb_m: Spread = Spread()
    origin_track_error_to_crb: Spread = Spread()
    matched_alert_distance_m: Spread = Spread()
    first_alert_distance_to_perimeter_m: Median


def confusion(targets: Sequence[TargetReport]) -> dict[str, dict[str, int]]:
    """True kind x alerted class: one count per matched alert, ``no_alert`` per unalerted
    intrusion."""
    matrix: dict[str, dict[str, int]] = {}
    for t in targets:
        row = matrix.setdefault(t.kind, {})
        for shown in t.alert_classes or ["no_alert"]:
            row[shown] = row.get(shown, 0) + 1
    return {kind: dict(sorted(row.items())) for kind, row in sorted(matrix.items())}


def summarise(targets: Sequence[TargetReport]) -> Summary:
    hits = [t for t in targets if t.detected]
    seen = [t for t in targets if t.observable]
    seen_hits = sum(t.detected for t in seen)
    covered = [t for t in targets if t.covered]
    covered_hits = sum(t.detected for t in covered)
    ellipses = [t for t in hits if t.origin_in_95_ellipse is not None]
    inside = sum(bool(t.origin_in_95_ellipse) for t in ellipses)

    def values(name: str, among: Sequence[TargetReport] = hits) -> list[float]:
        return [v for t in among if (v := getattr(t, name)) is not None]

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
        matched_alerts=sum(len(t.alert_ids) for t in targets),
        misclassified_alerts=sum(t.misclassified_alerts for t in targets),
        class_correct_intrusions=sum(t.class_correct is True for t in targets),
        duplicate_alerts=sum(t.duplicate_alerts for t in targets),
        confusion_matrix=confusion(targets),
        time_to_alert_s=Spread.of(values("time_to_alert_s")),
        time_to_alert_after_covered_s=Spread.of(values("time_to_alert_after_covered_s")),
        origin_error_m=Spread.of(values("origin_error_m")),
        origin_crb_m=Spread.of(values("origin_crb_m")),
        origin_single_look_crb_m=Spread.of(values("origin_single_look_crb_m")),
        origin_error_to_crb=Spread.of(values("origin_error_to_crb")),
        origin_unobservable=sum(t.origin_observable is False for t in targets),
        origins_with_ellipse=len(ellipses), origins_in_95_ellipse=inside,
        origin_in_95_ellipse_rate=stats.ratio(inside, len(ellipses)),
        origin_normalised_error=Spread.of(values("origin_normalised_error")),
        origin_track_lag_s=Spread.of(values("origin_track_lag_s")),
        origin_track_error_m=Spread.of(values("origin_track_error_m")),
        origin_track_crb_m=Spread.of(values("origin_track_crb_m")),
        origin_track_error_to_crb=Spread.of(values("origin_track_error_to_crb")),
        matched_alert_distance_m=Spread.of(values("matched_alert_distance_m", targets)),
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


class GospaPool(_Model):
    """GOSPA pooled over runs: means weighted by each run's snapshots."""

    snapshots: int
    mean_m: float | None
    localisation_mean_m: float | None
    missed_mean: float | None
    false_tracks_mean: float | None

    @classmethod
    def of(cls, reports: Sequence[GospaReport | None]) -> GospaPool:
        runs = [r for r in reports if r is not None and r.snapshots and r.mean_m is not None]
        n = sum(r.snapshots for r in runs)

        def pooled(name: str) -> float | None:
            values = [(getattr(r, name), r.snapshots) for r in runs]
            return sum(v * w for v, w in values) / n if n else None

        return cls(snapshots=n, mean_m=pooled("mean_m"),
                   localisation_mean_m=pooled("localisation_mean_m"),
                   missed_mean=pooled("missed_mean"), false_tracks_mean=pooled("false_tracks_mean"))


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
    """Alert verdict counts (false includes nuisance; tower faults are never false;
    duplicates are counted from the targets)."""

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
    duplicate_alerts_per_km_day: float = 0.0
    false_nuisance_alerts: int = 0
    """False and nuisance alerts plus duplicates: every alert an operator handles in vain."""
    false_nuisance_alerts_per_km_day: float = 0.0
    late_intrusions: int
    rejected_messages: int = 0
    fragmentation: Fragmentation
    gospa: GospaReport | None = None
    gospa_intruders: GospaReport | None = None
    gospa_animals: GospaReport | None = None
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
                     run_time_s: float = 0.0, gospa_intruders: GospaReport | None = None,
                     gospa_animals: GospaReport | None = None) -> RunReport:
    """Assemble a :class:`RunReport` from scored targets and alert counts."""
    summary = summarise(targets)
    unwanted = counts.false_alerts + summary.duplicate_alerts
    return RunReport(
        **dict(summary),
        scenario=scenario, seed=seed, duration_s=duration_s,
        perimeter_length_m=perimeter_length_m, alerts=counts.alerts,
        false_alerts=counts.false_alerts, nuisance_alerts=counts.nuisance_alerts,
        false_alerts_per_km_day=per_km_day(counts.false_alerts, perimeter_length_m, duration_s),
        nuisance_alerts_per_km_day=per_km_day(counts.nuisance_alerts, perimeter_length_m,
                                              duration_s),
        tower_fault_alerts=counts.tower_fault_alerts,
        false_alerts_by_class=counts.false_alerts_by_class,
        duplicate_alerts_per_km_day=per_km_day(summary.duplicate_alerts, perimeter_length_m,
                                               duration_s),
        false_nuisance_alerts=unwanted,
        false_nuisance_alerts_per_km_day=per_km_day(unwanted, perimeter_length_m, duration_s),
        late_intrusions=sum(t.late for t in targets), rejected_messages=rejected_messages,
        fragmentation=Fragmentation.of(targets), gospa=gospa, gospa_intruders=gospa_intruders,
        gospa_animals=gospa_animals, classes=by_class(targets), targets=targets,
        run_time_s=run_time_s,
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
    duplicate_alerts_per_km_day: float = 0.0
    false_nuisance_alerts: int = 0
    false_nuisance_alerts_per_km_day: float = 0.0
    gospa_mean_m: float | None
    gospa_intruders: GospaPool | None = None
    gospa_animals: GospaPool | None = None
    fragmentation: Fragmentation
    classes: dict[str, Summary]


def aggregate(reports: Sequence[RunReport]) -> AggregateReport:
    """Pool runs: every intrusion counts once; rates use the summed km-days."""
    targets = [t for r in reports for t in r.targets]
    summary = summarise(targets)
    km_days = sum(r.perimeter_length_m / 1000.0 * r.duration_s / SECONDS_PER_DAY
                  for r in reports)
    false, nuisance = sum(r.false_alerts for r in reports), sum(r.nuisance_alerts for r in reports)
    unwanted = false + summary.duplicate_alerts

    def rate(count: int) -> float:
        return count / km_days if km_days else 0.0

    return AggregateReport(
        **dict(summary),
        runs=len(reports), duration_s=sum(r.duration_s for r in reports),
        false_alerts=false, nuisance_alerts=nuisance,
        false_alerts_per_km_day=rate(false), nuisance_alerts_per_km_day=rate(nuisance),
        tower_fault_alerts=sum(r.tower_fault_alerts for r in reports),
        duplicate_alerts_per_km_day=rate(summary.duplicate_alerts),
        false_nuisance_alerts=unwanted, false_nuisance_alerts_per_km_day=rate(unwanted),
        gospa_mean_m=GospaPool.of([r.gospa for r in reports]).mean_m,
        gospa_intruders=GospaPool.of([r.gospa_intruders for r in reports]),
        gospa_animals=GospaPool.of([r.gospa_animals for r in reports]),
        fragmentation=Fragmentation.of(targets), classes=by_class(targets),
    )
