"""Score one run's outputs (alerts, track snapshots, the sensor stream) against its truth."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from perimeter.bus import Message
from perimeter.contract import AlertEvent, TracksSnapshot
from perimeter.evaluation import crb, ellipse, gospa, pcrb, stats
from perimeter.evaluation.covered import TargetCoverage
from perimeter.evaluation.report import (
    AlertCounts,
    GospaReport,
    RunReport,
    TargetReport,
    build_run_report,
)
from perimeter.evaluation.scoring import (
    MATCH_RADIUS_M,
    Scoring,
    TargetScore,
    match_distances_m,
    score_alerts,
)
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
              covered: Mapping[str, bool | TargetCoverage] | None = None,
              sightings: Mapping[str, list[crb.Sighting]] | None = None,
              gospa_memo: gospa.GospaMemo | None = None) -> RunReport:
    """The full report of one run; ``covered`` gives the intrusions' coverage by the model
    (:func:`perimeter.evaluation.covered.target_coverage`; a bare bool: covered, first
    coverage unknown); ``sightings`` the run's :func:`.crb.sightings_by_target`, when the
    caller scores several points of one run (computed here otherwise); ``gospa_memo`` the GOSPA
    series of the tracker that made ``snapshots``, when several points share it."""
    opts = options or EvalOptions()
    scoring = score_alerts(truth, events, thresholds.alert_classes, site.perimeter,
                           opts.match_radius_m)
    intruder_ids = {s.target.id for s in scoring.intrusions}
    if gospa_memo is None:
        series = gospa.gospa_series(snapshots, truth.targets, opts.gospa_cutoff_m,
                                    opts.gospa_order_p, intruder_ids)
    else:
        series = gospa_memo.of(snapshots, truth.targets, opts.gospa_cutoff_m, opts.gospa_order_p,
                              intruder_ids)
    if sightings is None:
        sightings = crb.sightings_by_target(truth, messages)
    towers_xy = {t.id: t.xy for t in site.towers}
    targets = []
    for score in scoring.intrusions:
        tid = score.target.id
        coverage = None if covered is None else covered.get(tid, False)
        if isinstance(coverage, bool):
            coverage = TargetCoverage(covered=coverage, covered_s=0.0, first_covered_t_s=None)
        kept = crb.usable(sightings.get(tid, []), thresholds)
        seen = {s.tower_id for s in kept if s.t_s < score.target.end_t_s}
        targets.append(_target_report(
            score, truth.epoch_s, _Origin.of(score, coverage, kept, towers_xy,
                                             opts.crb_window_s),
            _TrackStart.of(score, kept, towers_xy, opts.crb_window_s),
            series.tracks_by_target.get(tid), len(seen), len(seen) >= opts.observable_min_towers,
            coverage))
    return build_run_report(
        scenario=truth.scenario, seed=truth.seed, duration_s=truth.duration_s,
        perimeter_length_m=site.perimeter_length_m, targets=targets,
        counts=_alert_counts(scoring),
        gospa=_gospa_report(series.t_s, series.terms, truth.epoch_s, opts),
        gospa_intruders=_gospa_report([], series.intruders, truth.epoch_s, opts),
        gospa_animals=_gospa_report([], series.animals, truth.epoch_s, opts),
        rejected_messages=rejected_messages, run_time_s=run_time_s,
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class _Origin:
    """The origin's bounds and whether it was observable at all."""

    crb_m: float | None
    single_look_crb_m: float | None
    observable: bool | None

    @classmethod
    def of(cls, score: TargetScore, coverage: TargetCoverage | None,
           sightings: Sequence[crb.Sighting], towers_xy: Mapping[str, tuple[float, float]],
           window_s: float) -> _Origin:
        target = score.target
        single = crb.origin_crb_m(target.origin_xy_m, target.start_t_s, sightings, towers_xy,
                                  window_s)
        first = coverage.first_covered_t_s if coverage is not None else None
        bound = math.inf
        if first is not None:
            bound = pcrb.origin_pcrb_m(target.start_t_s, first, window_s, sightings,
                                       target.position, towers_xy, pcrb.class_q(score.class_))
        observable = (None if coverage is None or (coverage.covered and first is None)
                      else first is not None and first - target.start_t_s <= window_s)
        return cls(_finite(bound), _finite(single), observable)


@dataclass(frozen=True, slots=True)
class _TrackStart:
    """The first alert's origin against the data its track began with: how late the track
    began, its error at its own first detection and the bound for that moment."""

    lag_s: float | None = None
    error_m: float | None = None
    crb_m: float | None = None

    @classmethod
    def of(cls, score: TargetScore, sightings: Sequence[crb.Sighting],
           towers_xy: Mapping[str, tuple[float, float]], window_s: float) -> _TrackStart:
        first, target = score.first_alert, score.target
        if not score.detected or first is None or first.origin is None:
            return cls()
        o = first.origin
        if not target.start_t_s <= o.t_s <= target.end_t_s:
            return cls()
        x, y = target.position(o.t_s)
        seen = [s.t_s for s in sightings if s.t_s >= target.start_t_s]
        bound = pcrb.origin_pcrb_m(o.t_s, o.t_s, window_s, sightings, target.position,
                                   towers_xy, pcrb.class_q(score.class_))
        return cls(lag_s=o.t_s - min(seen) if seen else None,
                   error_m=math.hypot(o.x_m - x, o.y_m - y), crb_m=_finite(bound))


def _target_report(score: TargetScore, epoch_s: float, origin: _Origin, start: _TrackStart,
                   tracks: set[str] | None, towers_seen: int, observable: bool,
                   coverage: TargetCoverage | None) -> TargetReport:
    target, first = score.target, score.first_alert
    ratio = (score.origin_error_m / origin.crb_m
             if origin.observable and score.origin_error_m is not None and origin.crb_m
             else None)
    first_covered = coverage.first_covered_t_s if coverage is not None else None
    after_covered = (first.first_t_s - first_covered
                     if score.detected and first is not None and first_covered is not None
                     else None)
    normalised = None
    if score.detected and first is not None and first.origin is not None \
            and ellipse.has_ellipse(first.origin):
        normalised = ellipse.normalised_error(first.origin, target.origin_xy_m)
    distances = [d for a in score.alerts for d in match_distances_m(a, target)]
    return TargetReport(
        target_id=target.id, kind=target.kind, class_=score.class_,
        detected=score.detected, late=score.late, towers_seen=towers_seen,
        observable=observable, covered=None if coverage is None else coverage.covered,
        start_s=target.start_t_s - epoch_s,
        first_covered_s=None if first_covered is None else first_covered - epoch_s,
        time_to_alert_s=score.time_to_alert_s, time_to_alert_after_covered_s=after_covered,
        class_correct=score.class_correct, misclassified_alerts=score.misclassified_alerts,
        duplicate_alerts=score.duplicate_alerts,
        origin_error_m=score.origin_error_m, origin_crb_m=origin.crb_m,
        origin_single_look_crb_m=origin.single_look_crb_m,
        origin_observable=origin.observable, origin_error_to_crb=ratio,
        origin_normalised_error=_finite(normalised) if normalised is not None else None,
        origin_in_95_ellipse=None if normalised is None else ellipse.inside_95(normalised),
        origin_track_lag_s=start.lag_s, origin_track_error_m=start.error_m,
        origin_track_crb_m=start.crb_m,
        origin_track_error_to_crb=(start.error_m / start.crb_m
                                   if start.error_m is not None and start.crb_m else None),
        matched_alert_distance_m=stats.median(distances),
        first_alert_distance_to_perimeter_m=score.first_alert_distance_to_perimeter_m,
        alert_ids=[a.alert_id for a in score.alerts],
        alert_classes=[a.shown_class for a in score.alerts],
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


def _gospa_report(t_s: Sequence[float], terms: Sequence[gospa.GospaTerms], epoch_s: float,
                  opts: EvalOptions) -> GospaReport:
    """Summary of a GOSPA series; with ``t_s`` (one per term) it carries the thinned series."""
    values = [t.gospa_m for t in terms]
    step = max(1, math.ceil(len(values) / MAX_SERIES_POINTS))
    return GospaReport(
        cutoff_m=opts.gospa_cutoff_m, order_p=opts.gospa_order_p, snapshots=len(values),
        mean_m=stats.mean(values), median_m=stats.median(values),
        p90_m=stats.quantile(values, 0.9),
        localisation_mean_m=stats.mean([t.localisation_m for t in terms]),
        missed_mean=stats.mean([t.missed for t in terms]),
        false_tracks_mean=stats.mean([t.false for t in terms]),
        series_elapsed_s_gospa_m=[(round(t - epoch_s, 3), round(g, 2))
                                  for t, g in zip(t_s[::step], values[::step], strict=False)],
    )
