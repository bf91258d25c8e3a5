"""Where the time to alert goes: each intrusion's first coverage, first detections, tracks,
confirmation and alert, and what held its confirmed tracks back from alerting.

    python bench/latency_breakdown.py SCENARIO... [--kinds vehicle,person,group] [--json]
        [--variant as-is,revisit]  (several: each scenario simulated once, fused by each)

Simulates each scenario at its own seed, feeds the stream to the live ``FusionRunner`` and
probes its tracks at every housekeeping step (0.5 s of data time). Times are seconds after the
target's first coverage as scored (``perimeter.evaluation.covered``):

- ``det1`` / ``det2``: first detection of the target by any tower, and by a second tower (the
  truth's detection tags joined with the published reports);
- ``trk``: first track (any status, one-tower tracks included) within ``R`` (150 m, the
  scoring's match radius) of the target's true position; ``multi``: first multi-tower track;
- ``conf``: first confirmed track within ``R``; ``alert``: the first matched alert (scoring);
- ``tracks``: distinct confirmed tracks within ``R`` before the alert;
- ``held``: seconds (probe steps x 0.5 s) from the first confirmed track to the alert during
  which no confirmed track within ``R`` could alert, by the first of the alerter's conditions
  that failed (``none``: no confirmed track near the target at all).

A diagnostic, not a benchmark: it reads private state of the runner's engine and alerter.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from perimeter.evaluation import crb
from perimeter.evaluation.covered import target_coverage
from perimeter.evaluation.run import Collector
from perimeter.evaluation.scoring import MATCH_RADIUS_M, score_alerts, target_class
from perimeter.fusion.alert import AlertConfig
from perimeter.fusion.clutter import ClutterMapConfig
from perimeter.fusion.engine import EngineConfig
from perimeter.fusion.gate import GateConfig
from perimeter.fusion.revisit_seed import RevisitConfig
from perimeter.fusion.runner import FusionRunner
from perimeter.fusion.track import Track
from perimeter.fusion.triangulate import InitiatorConfig
from perimeter.site import Site
from perimeter.thresholds import Thresholds
from sim.scenario import load_scenario
from sim.truth import TargetTruth, Truth
from sim.uplink import MemoryUplink
from sim.world import World

RADIUS_M = MATCH_RADIUS_M


@dataclass(slots=True)
class Timeline:
    """One intrusion's milestones (absolute data time) and its held-back seconds."""

    scenario: str
    target_id: str
    kind: str
    start_s: float
    end_s: float
    covered_s: float | None = None
    det1_s: float | None = None
    det2_s: float | None = None
    img2_s: float | None = None
    trk_s: float | None = None
    multi_s: float | None = None
    trk500_s: float | None = None
    tentative_tracks: set[int] = field(default_factory=set)
    pre: list[tuple[float, str]] = field(default_factory=list)
    """Probe steps before the first confirmation: what kept the tracks near from confirming."""
    conf_s: float | None = None
    alert_s: float | None = None
    confirmed_tracks: dict[int, float] = field(default_factory=dict)
    """Confirmed tracks seen within ``R``: number -> first time."""
    steps: list[tuple[float, str]] = field(default_factory=list)
    """Probe steps after the first confirmation when no confirmed track near could alert."""

    @property
    def tracks_before_alert(self) -> int:
        end = self.alert_s if self.alert_s is not None else math.inf
        return sum(1 for t in self.confirmed_tracks.values() if t <= end)

    @property
    def before_conf(self) -> Counter[str]:
        """Probe steps from the second tower's first detection to the first confirmation,
        by the condition that held the tentative tracks near (``no_track``: none near)."""
        start = self.det2_s if self.det2_s is not None else math.inf
        end = self.conf_s if self.conf_s is not None else math.inf
        return Counter(r for t, r in self.pre if start <= t < end)

    @property
    def held(self) -> Counter[str]:
        """Probe steps between the first confirmation and the alert, by blocking condition."""
        end = self.alert_s if self.alert_s is not None else math.inf
        return Counter(r for t, r in self.steps if t < end)


def blocking(runner: FusionRunner, track: Track, t_s: float) -> str | None:
    """The first of the alerter's conditions a confirmed track fails now
    (:meth:`TrackAlerter.blocker`, triangulation first), None when it could alert."""
    if not track.triangulated(t_s, runner.alerter.config.triangulation_window_s):
        return "untriangulated"
    reason = runner.alerter.blocker(track, t_s, runner.thresholds)
    return f"label:{track.evidence.label}" if reason == "label" else reason


TENTATIVE = ["home", "llr", "m_of_n", "not_imaged", "velocity", "unlocated"]
"""The confirmation's conditions (``TrackManager.blocker``), furthest last."""


def unconfirmed(runner: FusionRunner, track: Track, t_s: float) -> str:
    """The first confirmation condition a tentative track fails now (``unlocated``: meets
    them all, housekeeping not yet run)."""
    return runner.engine.manager.blocker(track, t_s, runner.thresholds) or "unlocated"


class ProbedRunner(FusionRunner):
    """The live runner, probed after every housekeeping step."""

    def __init__(self, site: Site, thresholds: Thresholds, output: Collector,
                 lines: dict[str, Timeline], targets: dict[str, TargetTruth],
                 **options: Any) -> None:
        super().__init__(site, thresholds, output, **options)
        self.lines = lines
        self.targets = targets

    def _housekeeping(self, t_s: float, *, force: bool = False) -> None:
        due = force or t_s >= self._next_housekeeping_s
        super()._housekeeping(t_s, force=force)
        if due:
            self.probe(t_s)

    def probe(self, t_s: float) -> None:
        tracks = self.engine.tracks
        xy = np.zeros((0, 2)) if not tracks else np.array([t.state.x[:2] for t in tracks])
        for tid, line in self.lines.items():
            target = self.targets[tid]
            if not target.start_t_s - 60.0 <= t_s <= target.end_t_s:
                continue
            dist = np.hypot(*(xy - np.array(target.position(t_s))).T)
            near = [tracks[i] for i in np.flatnonzero(dist <= RADIUS_M)]
            if line.trk500_s is None and np.any(dist <= 500.0):
                line.trk500_s = t_s
            if near and line.trk_s is None:
                line.trk_s = t_s
            if line.conf_s is None:
                tentative = [t for t in near if t.score.status == "tentative"]
                for t in tentative:
                    line.tentative_tracks.add(t.number)
                line.pre.append((t_s, max((unconfirmed(self, t, t_s) for t in tentative),
                                          key=TENTATIVE.index) if tentative else "no_track"))
            if line.multi_s is None and any(t.home_tower is None for t in near):
                line.multi_s = t_s
            confirmed = [t for t in near if t.score.status == "confirmed"]
            if confirmed and line.conf_s is None:
                line.conf_s = t_s
            for t in confirmed:
                line.confirmed_tracks.setdefault(t.number, t_s)
            if line.conf_s is None:
                continue
            reasons = [blocking(self, t, t_s) for t in confirmed]
            if not reasons:
                line.steps.append((t_s, "none"))
            elif None not in reasons:
                line.steps.append((t_s, max((r for r in reasons if r is not None),
                                            key=_stage)))


STAGES = ["untriangulated", "label", "confidence", "windows", "animal", "not_moved"]
"""The alerter's conditions in its order: of several confirmed tracks, the one furthest
along is counted."""


def _stage(reason: str) -> int:
    return STAGES.index(reason.split(":")[0])


VARIANTS: dict[str, dict[str, Any]] = {
    "as-is": {},
    "hold": {"gate_config": GateConfig(reorder_lag_s=0.05)},
    "no-map": {"engine_config": EngineConfig(clutter=ClutterMapConfig(enabled=False))},
    "pool-6s": {"engine_config": EngineConfig(initiator=replace(InitiatorConfig(),
                                                                window_s=6.0))},
    "hold+pool-6s": {"gate_config": GateConfig(reorder_lag_s=0.05),
                     "engine_config": EngineConfig(initiator=replace(InitiatorConfig(),
                                                                     window_s=6.0))},
    "one-window": {"alert_config": AlertConfig(min_motion_windows=1)},
    "revisit": {"engine_config": EngineConfig(initiator=replace(
        InitiatorConfig(), revisit=RevisitConfig(enabled=True)))},
}
"""Diagnostic variants (configuration only): what each suspected cause costs."""


def run(scenario_ref: str, kinds: set[str], variant: str = "as-is") -> list[Timeline]:
    return run_variants(scenario_ref, kinds, [variant])


def run_variants(scenario_ref: str, kinds: set[str], variants: list[str]) -> list[Timeline]:
    """The scenario simulated once and fused by each variant (side by side: the same stream);
    with several, each line's scenario is ``variant:scenario``."""
    scenario = load_scenario(scenario_ref)
    uplink = MemoryUplink()
    truth: Truth = World(scenario, uplink).run(speed=None)
    thresholds = Thresholds()
    coverage = target_coverage(scenario, truth, thresholds)
    targets = {t.id: t for t in truth.targets
               if t.id in coverage and target_class(t.kind) in kinds}
    out: list[Timeline] = []
    for variant in variants:
        name = scenario_ref if len(variants) == 1 else f"{variant}:{scenario_ref}"
        lines = {tid: Timeline(name, tid, t.kind, t.start_t_s, t.end_t_s,
                               covered_s=coverage[tid].first_covered_t_s)
                 for tid, t in targets.items()}
        output = Collector()
        runner = ProbedRunner(scenario.site_model, thresholds, output, lines, targets,
                              **VARIANTS[variant])
        for message in uplink.messages:
            runner.feed(message)
        runner.finish()
        c = runner.counters
        print(f"{name}: {c['late_reports']} of {c['reports']} reports on the "
              f"out-of-sequence path", file=sys.stderr)
        for tid, sightings in crb.sightings_by_target(truth, uplink.messages).items():
            if tid not in lines:
                continue
            first: dict[str, float] = {}
            for s in sorted(sightings, key=lambda s: s.t_s):
                first.setdefault(s.tower_id, s.t_s)
            times = sorted(first.values())
            lines[tid].det1_s = times[0] if times else None
            lines[tid].det2_s = times[1] if len(times) > 1 else None
            lines[tid].img2_s = imaged_s(sightings)
        scoring = score_alerts(truth, output.alerts, thresholds.alert_classes,
                               scenario.site_model.perimeter, RADIUS_M)
        for score in scoring.intrusions:
            line = lines.get(score.target.id)
            if line is not None and score.first_alert is not None:
                line.alert_s = score.first_alert.first_t_s
        out += lines.values()
    return out


IMAGED_WINDOW_S = 11.0
"""Two looks of a scanning head (5.5 s revisit) fit in this window."""


def imaged_s(sightings: list[crb.Sighting]) -> float | None:
    """First time two thermal imagers had each reported the target twice within the last
    ``IMAGED_WINDOW_S`` (what the tracker's ``imaged`` test needs, from the truth tags)."""
    by_tower: dict[str, list[float]] = {}
    for s in sorted(sightings, key=lambda s: s.t_s):
        if s.sensor != "thermal":
            continue
        mine = by_tower.setdefault(s.tower_id, [])
        mine.append(s.t_s)
        ready = sum(1 for ts in by_tower.values()
                    if len(ts) >= 2 and s.t_s - ts[-2] <= IMAGED_WINDOW_S)
        if ready >= 2:
            return s.t_s
    return None


def _rel(t: float | None, ref: float | None) -> str:
    if t is None or ref is None:
        return "–"
    return f"{t - ref:.0f}"


def table(lines: list[Timeline]) -> str:
    head = ("| scenario | target | kind | start | det1 | det2 | img2 | trk500 | trk | multi | conf "
            "| alert | tentative / confirmed tracks | det2 → conf held by (s) "
            "| conf → alert held by (s) |")
    rows = [head, "| " + " | ".join(["---"] * 15) + " |"]
    for line in lines:
        ref = line.covered_s
        held = ", ".join(f"{k} {v * 0.5:.0f}" for k, v in line.held.most_common())
        pre = ", ".join(f"{k} {v * 0.5:.0f}" for k, v in line.before_conf.most_common())
        rows.append(
            f"| {line.scenario} | {line.target_id} | {line.kind} | {_rel(line.start_s, ref)} "
            f"| {_rel(line.det1_s, ref)} | {_rel(line.det2_s, ref)} | {_rel(line.img2_s, ref)} "
            f"| {_rel(line.trk500_s, ref)} | {_rel(line.trk_s, ref)} "
            f"| {_rel(line.multi_s, ref)} | {_rel(line.conf_s, ref)} "
            f"| {_rel(line.alert_s, ref)} | {len(line.tentative_tracks)} / "
            f"{line.tracks_before_alert} | {pre} | {held} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="+")
    parser.add_argument("--kinds", default="vehicle,person,group")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--variant", default="as-is",
                        help=f"one of {sorted(VARIANTS)}, or several joined by commas (each "
                        "scenario simulated once, fused by each)")
    args = parser.parse_args(argv)
    kinds = set(args.kinds.split(","))
    variants = args.variant.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; known: {sorted(VARIANTS)}")
    lines = [line for ref in args.scenarios for line in run_variants(ref, kinds, variants)]
    if args.json:
        out = []
        for line in lines:
            d = asdict(line)
            d["confirmed_tracks"] = line.tracks_before_alert
            d["held"] = {k: v * 0.5 for k, v in line.held.items()}
            d["tentative_tracks"] = len(line.tentative_tracks)
            d["before_conf"] = {k: v * 0.5 for k, v in line.before_conf.items()}
            del d["steps"], d["pre"]
            out.append(d)
        print(json.dumps(out, indent=1, default=lambda v: None if v is None or (
            isinstance(v, float) and not math.isfinite(v)) else v))
    else:
        print(table(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
