"""Score one run's outputs (alerts, track snapshots, the sensor stream) against its truth."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from perimeter.bus import Message
from perimeter.contract import AlertEvent, TracksSnapshot
from perimeter.evaluation import crb, gospa, stats
from perimeter.evaluation.report import (
    AlertCounts,
    GospaReport,
    RunReport,
    TargetReport,
    build_run_report,
)
from perimeter.evaluation.scoring import MATCH_RADIUS_M, Scoring, TargetScore, score_alerts
from perimeter.site import Site
from perimeter.thresholds import Thresholds
from sim.truth import Truth

MAX_SERIES_POINTS = 600


@dataclass(frozen=True, slots=True)
class EvalOptions:
    """Knobs of the evaluation that the contract leaves open."""

    gospa_cutoff_m: float = 150.0
    gospa_order_p: float = 2.0
    crb_window_s: float = 30.0
    observable_min_towers: int = 2
    match_radius_m: float = MATCH_RADIUS_M

    def __post_init__(self) -> None:
        for name in ("gospa_cutoff_m", "crb_window_s", "match_radius_m"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be positive, got {getattr(self, name)}")
        if self.observable_min_towers < 1:
            raise ValueError(f"observable_min_towers: must be at least 1, "
                             f"got {self.observable_min_towers}")
        if not self.gospa_order_p >= 1:
            raise ValueError(f"gospa_order_p: must be at least 1, got {self.gospa_order_p}")


def score_run(truth: Truth, site: Site, events: Sequence[AlertEvent],
              snapshots: Sequence[TracksSnapshot], messages: Sequence[Message],
              thresholds: Thresholds, options: EvalOptions | None = None, *,
              rejected_messages: int = 0, run_time_s: float = 0.0,
              covered: Mapping[str, bool] | None = None) -> RunReport:
    """The full report of one run; ``covered`` flags the intrusions within the coverage the
    model reports (:func:`perimeter.evaluation.covered.covered_targets`)."""
    opts = options or EvalOptions()
    scoring = score_alerts(truth, events, thresholds.alert_classes, site.perimeter,
                           opts.match_radius_m)
    series = gospa.gospa_series(snapshots, truth.targets, opts.gospa_cutoff_m, opts.gospa_order_p)
    sightings = crb.sightings_by_target(truth, messages)
    towers_xy = {t.id: t.xy for t in site.towers}
    targets = []
    for score in scoring.intrusions:
        bound = crb.origin_crb_m(score.target.origin_xy_m, score.target.start_t_s,
                                 sightings.get(score.target.id, []), towers_xy, opts.crb_window_s)
        seen = {s.tower_id for s in sightings.get(score.target.id, [])
                if s.t_s < score.target.end_t_s}
        targets.append(_target_report(score, bound, series.tracks_by_target.get(score.target.id),
                                      len(seen), len(seen) >= opts.observable_min_towers,
                                      None if covered is None
                                      else covered.get(score.target.id, False)))
    return build_run_report(
        scenario=truth.scenario, seed=truth.seed, duration_s=truth.duration_s,
        perimeter_length_m=site.perimeter_length_m, targets=targets,
        counts=_alert_counts(scoring), gospa=_gospa_report(series, truth.epoch_s, opts),
        rejected_messages=rejected_messages, run_time_s=run_time_s,
    )


def _target_report(score: TargetScore, crb_m: float, tracks: set[str] | None,
                   towers_seen: int, observable: bool, covered: bool | None) -> TargetReport:
    finite_crb = crb_m if math.isfinite(crb_m) else None
    ratio = (score.origin_error_m / finite_crb
             if score.origin_error_m is not None and finite_crb else None)
    return TargetReport(
        target_id=score.target.id, kind=score.target.kind, class_=score.class_,
        detected=score.detected, late=score.late, towers_seen=towers_seen,
        observable=observable, covered=covered, time_to_alert_s=score.time_to_alert_s,
        origin_error_m=score.origin_error_m, origin_crb_m=finite_crb, origin_error_to_crb=ratio,
        first_alert_distance_to_perimeter_m=score.first_alert_distance_to_perimeter_m,
        alert_ids=[a.alert_id for a in score.alerts],
        alert_track_ids=sorted({k for a in score.alerts for k in a.track_ids}),
        confirmed_track_ids=sorted(tracks or ()),
    )


def _alert_counts(scoring: Scoring) -> AlertCounts:
    false_by_class = Counter(v.alert.class_ for v in scoring.verdicts
                             if v.verdict in ("false", "nuisance"))
    return AlertCounts(alerts=len(scoring.verdicts), false_alerts=scoring.false_alerts,
                       nuisance_alerts=scoring.count("nuisance"),
                       tower_fault_alerts=scoring.count("tower_fault"),
                       false_alerts_by_class=dict(sorted(false_by_class.items())))


def _gospa_report(series: gospa.GospaSeries, epoch_s: float, opts: EvalOptions) -> GospaReport:
    values = [t.gospa_m for t in series.terms]
    step = max(1, math.ceil(len(values) / MAX_SERIES_POINTS))
    return GospaReport(
        cutoff_m=opts.gospa_cutoff_m, order_p=opts.gospa_order_p, snapshots=len(values),
        mean_m=stats.mean(values), median_m=stats.median(values),
        p90_m=stats.quantile(values, 0.9),
        localisation_mean_m=stats.mean([t.localisation_m for t in series.terms]),
        missed_mean=stats.mean([t.missed for t in series.terms]),
        false_tracks_mean=stats.mean([t.false for t in series.terms]),
        series_elapsed_s_gospa_m=[(round(t - epoch_s, 3), round(g, 2))
                            for t, g in zip(series.t_s[::step], values[::step], strict=True)],
    )
