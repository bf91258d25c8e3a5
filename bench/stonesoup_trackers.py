"""Stone Soup trackers for ``bench_stonesoup.py``: GNN, JPDA and multi-frame assignment, each
with an EKF, on the same bearings, with a two-tower triangulating initiator (Stone Soup has none
for bearings) and one confirmation and deletion rule for all three.

- ``gnn``: ``GNNWith2DAssignment`` over a Mahalanobis ``DistanceHypothesiser`` (3 sigma) and
  ``ExtendedKalmanUpdater``;
- ``jpda``: ``JPDAwithEHM`` (joint probabilistic data association, efficient hypothesis
  management) over a ``PDAHypothesiser`` and ``PDAUpdater`` (each hypothesis updated, the
  mixture moment-matched);
- ``mfa``: ``MFADataAssociator`` (multi-frame assignment over a sliding window of
  ``slide_window`` scans with N-scan pruning; Xia et al. 2019) over an ``MFAHypothesiser``,
  tracks carried as Gaussian mixtures of their surviving hypotheses.

Each report is one batch (one tower sensor's bearings at one time). A track is *hit* by a batch
when its detection hypotheses carry more than half its weight (GNN: a detection is assigned); it
is confirmed after ``confirm_updates`` hits and deleted 10 s after its last hit. Detections that
some track gates with probability above 0.1 (GNN: assigned ones) are not offered to the
initiator.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from stonesoup.dataassociator.mfa import MFADataAssociator
from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
from stonesoup.dataassociator.probability import JPDAwithEHM
from stonesoup.hypothesiser.distance import DistanceHypothesiser
from stonesoup.hypothesiser.mfa import MFAHypothesiser
from stonesoup.hypothesiser.probability import PDAHypothesiser
from stonesoup.measures import Mahalanobis
from stonesoup.models.measurement.nonlinear import Cartesian2DToBearing
from stonesoup.models.transition.linear import (
    CombinedLinearGaussianTransitionModel,
    ConstantVelocity,
)
from stonesoup.predictor.kalman import ExtendedKalmanPredictor
from stonesoup.types.angle import Bearing
from stonesoup.types.array import StateVector
from stonesoup.types.detection import Detection
from stonesoup.types.mixture import GaussianMixture
from stonesoup.types.numeric import Probability
from stonesoup.types.state import GaussianState, TaggedWeightedGaussianState
from stonesoup.types.track import Track
from stonesoup.types.update import GaussianMixtureUpdate
from stonesoup.updater.kalman import ExtendedKalmanUpdater
from stonesoup.updater.probability import PDAUpdater

from perimeter import geometry, topics
from perimeter.bus import Message
from perimeter.contract import SensorReport, parse_payload
from perimeter.site import Site
from perimeter.thresholds import Thresholds

KINDS = ("gnn", "jpda", "mfa")
DELETE_AFTER_S = 10.0


Batch = tuple[float, set[Detection]]


@dataclass(slots=True)
class Pooled:
    t_s: float
    tower_xy: np.ndarray
    bearing_rad: float  # compass
    sigma_rad: float


class TwoTowerInitiator:
    """Starts a Stone Soup track where two towers' thermal bearings cross (bench-only)."""

    def __init__(self, window_s: float = 1.0, velocity_sigma_mps: float = 5.0, *,
                 mixture: bool = False) -> None:
        self.mixture = mixture
        """Start tracks as one-component Gaussian mixtures (what MFA carries)."""
        self.window_s = window_s
        self.velocity_sigma_mps = velocity_sigma_mps
        self.pool: list[Pooled] = []

    def initiate(self, detections: set[Detection], timestamp: datetime) -> set[Track]:
        t_s = timestamp.timestamp()
        self.pool = [p for p in self.pool if t_s - p.t_s <= self.window_s]
        tracks: set[Track] = set()
        for det in detections:
            meta = det.metadata
            if meta["sensor"] != "thermal":
                continue
            new = Pooled(t_s, np.asarray(meta["tower_xy"]), meta["bearing_rad"],
                         meta["sigma_rad"])
            start = self._cross(new)
            if start is None:
                self.pool.append(new)
                continue
            xy, cov = start
            p = np.zeros((4, 4))
            p[np.ix_([0, 2], [0, 2])] = cov
            p[1, 1] = p[3, 3] = self.velocity_sigma_mps**2
            sv = StateVector([xy[0], 0.0, xy[1], 0.0])
            prior = (TaggedWeightedGaussianState(sv, p, timestamp=timestamp,
                                                 weight=Probability(1.0), tag=[])
                     if self.mixture else GaussianState(sv, p, timestamp=timestamp))
            tracks.add(Track([GaussianMixture([prior])] if self.mixture else [prior]))
        return tracks

    def _cross(self, new: Pooled) -> tuple[np.ndarray, np.ndarray] | None:
        best: tuple[int, np.ndarray, np.ndarray, int] | None = None
        for k, old in enumerate(self.pool):
            if np.array_equal(old.tower_xy, new.tower_xy):
                continue
            if geometry.crossing_angle_rad(new.bearing_rad, old.bearing_rad) < math.radians(5):
                continue
            xy, r0, r1 = geometry.intersect_pairs(new.tower_xy, np.array(new.bearing_rad),
                                                  old.tower_xy, np.array(old.bearing_rad))
            if not (100.0 < float(r0) < 8000.0 and 100.0 < float(r1) < 8000.0):
                continue
            xy, cov = geometry.triangulate(np.vstack([new.tower_xy, old.tower_xy]),
                                           np.array([new.bearing_rad, old.bearing_rad]),
                                           np.array([new.sigma_rad, old.sigma_rad]), xy)
            support = sum(
                1 for o in self.pool if not np.array_equal(o.tower_xy, new.tower_xy)
                and not np.array_equal(o.tower_xy, old.tower_xy)
                and abs(float(geometry.wrap_pi(o.bearing_rad - geometry.bearing_rad(
                    o.tower_xy, xy)))) <= 3.0 * o.sigma_rad)
            if best is None or support > best[0]:
                best = (support, xy, cov, k)
        if best is None:
            return None
        del self.pool[best[3]]
        return best[1], best[2]


def stonesoup_batches(messages: list[Message], site: Site, thresholds: Thresholds) -> list[Batch]:
    """One batch of Stone Soup detections per sensor report, SNR-thresholded like ours."""
    xy = {t.id: np.array(t.xy, dtype=float) for t in site.towers}
    batches: list[Batch] = []
    for message in messages:
        parsed = topics.parse_tower_topic(message.topic)
        if parsed is None or parsed.channel is topics.TowerChannel.STATUS:
            continue
        report = parse_payload(SensorReport, message.payload)
        floor = thresholds.min_snr_db(report.sensor)
        when = datetime.fromtimestamp(report.t_s, UTC)
        tower = xy[report.tower_id]
        dets = set()
        for d in report.detections:
            if d.snr_db < floor:
                continue
            b, s = math.radians(d.bearing_deg), math.radians(d.bearing_sigma_deg)
            model = Cartesian2DToBearing(ndim_state=4, mapping=(0, 2),
                                         noise_covar=np.array([[s * s]]),
                                         translation_offset=StateVector(tower))
            dets.add(Detection(StateVector([Bearing(math.pi / 2 - b)]), timestamp=when,
                               measurement_model=model,
                               metadata={"sensor": report.sensor, "tower_xy": tower.tolist(),
                                         "bearing_rad": b, "sigma_rad": s}))
        batches.append((report.t_s, dets))
    return batches

@dataclass(slots=True)
class Tracker:
    """One Stone Soup configuration and the tracks it keeps."""

    kind: str
    step: Callable[[set[Track], set[Detection], datetime], tuple[dict[Track, float], set[Any]]]
    """Associates and updates; each track's hit weight, the detections tracks claim."""
    initiator: TwoTowerInitiator


def clutter_per_rad(batches: list[Batch]) -> float:
    """Mean detections per report over a half circle (the towers' field of view), per radian."""
    return max(sum(len(d) for _, d in batches) / max(len(batches), 1), 0.05) / math.pi


def make_tracker(kind: str, clutter_density: float, prob_detect: float = 0.8,
                 slide_window: int = 3) -> Tracker:
    """The ``kind`` configuration (see the module docstring), q = 0.3 m²/s³ per axis."""
    q = 0.3
    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(q), ConstantVelocity(q)])
    predictor = ExtendedKalmanPredictor(transition)
    if kind == "gnn":
        updater = ExtendedKalmanUpdater(measurement_model=None)
        gnn = GNNWith2DAssignment(DistanceHypothesiser(predictor, updater, measure=Mahalanobis(),
                                                       missed_distance=3.0))

        def step_gnn(tracks: set[Track], dets: set[Detection], when: datetime
                     ) -> tuple[dict[Track, float], set[Any]]:
            hypotheses = gnn.associate(tracks, dets, when)
            hits, used = {}, set()
            for track in tracks:
                hyp = hypotheses[track]
                if hyp.measurement:
                    track.append(updater.update(hyp))
                    used.add(hyp.measurement)
                    hits[track] = 1.0
                else:
                    track.append(hyp.prediction)
                    hits[track] = 0.0
            return hits, used

        return Tracker(kind, step_gnn, TwoTowerInitiator())
    pda_kw = {"clutter_spatial_density": clutter_density, "prob_detect": Probability(prob_detect),
              "prob_gate": Probability(0.99)}
    if kind == "jpda":
        pda_updater = PDAUpdater(measurement_model=None, gm_method=True)
        jpda = JPDAwithEHM(PDAHypothesiser(predictor, pda_updater, **pda_kw))

        def step_jpda(tracks: set[Track], dets: set[Detection], when: datetime
                      ) -> tuple[dict[Track, float], set[Any]]:
            hypotheses = jpda.associate(tracks, dets, when)
            hits, used = {}, set()
            for track, multi in hypotheses.items():
                track.append(pda_updater.update(multi))
                hits[track] = sum(float(h.probability) for h in multi if h)
                used |= {h.measurement for h in multi if h and float(h.probability) > 0.1}
            return hits, used

        return Tracker(kind, step_jpda, TwoTowerInitiator())
    if kind != "mfa":
        raise ValueError(f"kind: one of {KINDS}, got {kind!r}")
    updater = ExtendedKalmanUpdater(measurement_model=None)
    mfa = MFADataAssociator(MFAHypothesiser(PDAHypothesiser(predictor, updater, **pda_kw)),
                            slide_window=slide_window)

    def step_mfa(tracks: set[Track], dets: set[Detection], when: datetime
                 ) -> tuple[dict[Track, float], set[Any]]:
        hypotheses = mfa.associate(tracks, dets, when)
        hits, used = {}, set()
        for track, multi in hypotheses.items():
            components = [updater.update(h) if h else h.prediction for h in multi]
            if not components:
                continue
            track.append(GaussianMixtureUpdate(components=components, hypothesis=multi))
            total = sum(float(c.weight) for c in components)
            hit = sum(float(c.weight) for c, h in zip(components, multi, strict=True) if h)
            hits[track] = hit / total if total > 0 else 0.0
            used |= {h.measurement for h in multi if h}
        return hits, used

    return Tracker(kind, step_mfa, TwoTowerInitiator(mixture=True))


def position(track: Track) -> tuple[float, float]:
    """A track's position estimate (a mixture's mean)."""
    state = track.state
    mean = state.mean if isinstance(state, GaussianMixture) else state.state_vector
    return float(mean[0, 0]), float(mean[2, 0])


def run(tracker: Tracker, batches: list[Batch], confirm_updates: int,
        score: Callable[[float, list[tuple[float, float]]], None]) -> float:
    """CPU seconds of the tracker loop; ``score(t_s, confirmed positions)`` once a second."""
    tracks: set[Track] = set()
    hits: dict[Track, int] = {}
    last_hit: dict[Track, float] = {}
    next_score_s = batches[0][0] if batches else 0.0
    cpu = 0.0
    for t_s, dets in batches:
        start = time.process_time()
        when = datetime.fromtimestamp(t_s, UTC)
        weights, used = tracker.step(tracks, dets, when) if tracks else ({}, set())
        for track, weight in weights.items():
            if weight > 0.5:
                hits[track] = hits.get(track, 0) + 1
                last_hit[track] = t_s
        stale = {t for t in tracks if t_s - last_hit.get(t, t_s) > DELETE_AFTER_S}
        tracks -= stale
        for track in tracker.initiator.initiate(dets - used, when):
            tracks.add(track)
            last_hit[track] = t_s
        cpu += time.process_time() - start
        if t_s >= next_score_s:
            next_score_s = t_s + 1.0
            score(t_s, [position(t) for t in tracks if hits.get(t, 0) >= confirm_updates])
    return cpu
