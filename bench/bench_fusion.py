"""Fusion throughput on one core: detections and messages per second through ``FusionRunner``.

A scenario is recorded once (the default scenario on the 12-tower western-heights site, and
the same targets repeated per 6 km along a generated 200-tower site, as in ``bench_sim``); its
lines are parsed into bus messages outside the timing, then fed to a fresh ``FusionRunner``
(``feed`` for every message, then ``finish``) ``--repeats`` times. Reported: medians per CPU
second of the process (one core; steadier than wall time on a shared machine), with and without
the contract decoding (pydantic JSON validation of each payload, timed alone and subtracted),
and the ratio to the 50,000 detections/s target of issue 4. The last two columns are ceilings
of a per-report pipeline in Python on this stream: the intake alone (decoding, duplicate
check, conversion to a scan) with no tracking at all; and the tracking alone, were each report
with a detection to cost no more than one track's numpy EKF cycle (predict, innovation, gate
and assignment, update: :func:`one_track_cycle_s`) and everything else nothing. Run from the
repository root:

    python bench/bench_fusion.py [--repeats 3] [--duration-12 1200] [--duration-200 300]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_sim import scaled_scenario

from perimeter import topics
from perimeter.bus import Message
from perimeter.contract import SensorReport, TowerStatus, parse_payload
from perimeter.fusion import ekf
from perimeter.fusion.associate import assign, gate_d2
from perimeter.fusion.gate import DuplicateFilter, GateConfig
from perimeter.fusion.replay import CollectingOutput, parse_line
from perimeter.fusion.runner import FusionRunner
from perimeter.fusion.scan import scan_from_report
from perimeter.site import Site
from perimeter.thresholds import Thresholds
from sim.record import record
from sim.scenario import Scenario, load_scenario

TARGET_DETECTIONS_PER_S = 50_000.0


def recorded(scenario: Scenario, until_s: float) -> list[Message]:
    """The scenario's first ``until_s`` seconds of messages, parsed from a recording."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rec.jsonl"
        record(scenario, path, until_s=until_s)
        lines = path.read_text(encoding="utf-8").splitlines()
    return [m for m in (parse_line(line) for line in lines) if m is not None]


def fuse_cpu_s(site: Site, messages: list[Message]) -> tuple[float, int, int]:
    """CPU seconds to fuse the stream once, the detections and alerts it held."""
    runner = FusionRunner(site, Thresholds(), CollectingOutput())
    start = time.process_time()
    for message in messages:
        runner.feed(message)
    runner.finish()
    return time.process_time() - start, runner.counters["detections"], runner.counters["alerts_new"]


def decode_cpu_s(messages: list[Message]) -> float:
    """CPU seconds of the contract decoding alone (what ``feed`` does before fusing)."""
    start = time.process_time()
    for message in messages:
        parsed = topics.parse_tower_topic(message.topic)
        if parsed is None:
            continue
        model = TowerStatus if parsed.channel is topics.TowerChannel.STATUS else SensorReport
        parse_payload(model, message.payload)
    return time.process_time() - start


def intake_cpu_s(site: Site, messages: list[Message]) -> tuple[float, int]:
    """CPU seconds of a report's intake before any tracking: topic, contract decoding,
    duplicate check and the conversion to a :class:`Scan` (what ``feed`` does first); and how
    many scans kept a detection above the thresholds."""
    index = {t.id: i for i, t in enumerate(site.towers)}
    towers_xy = np.array([t.xy for t in site.towers], dtype=np.float64)
    dupes = DuplicateFilter(GateConfig().seq_memory)
    thresholds = Thresholds()
    seen = 0
    start = time.process_time()
    for message in messages:
        parsed = topics.parse_tower_topic(message.topic)
        if parsed is None or parsed.channel is topics.TowerChannel.STATUS:
            continue
        report = parse_payload(SensorReport, message.payload)
        if dupes.check(report.tower_id, report.sensor, report.seq, report.t_s):
            i = index[report.tower_id]
            floor = thresholds.min_snr_db(report.sensor)
            seen += scan_from_report(report, i, towers_xy[i], floor).size > 0
    return time.process_time() - start, seen


def one_track_cycle_s(cycles: int = 20_000) -> float:
    """CPU seconds of one track's cycle through the fusion's numpy kernels, the work a report
    with a detection needs at the least: predict, bearing innovation, gate and assignment, EKF
    update (median of 5 batches)."""
    x, p = np.array([[3000.0, 0.0, -1.0, 0.0]]), np.diag([100.0, 100.0, 1.0, 1.0])[None]
    tower, z, r2 = np.array([0.0, 0.0]), np.array([1.57]), np.array([1e-5])
    dt, q, gate = np.array([1.0]), np.array([0.05]), gate_d2(0.99)
    times = []
    for _ in range(5):
        start = time.process_time()
        for _ in range(cycles):
            xp, pp = ekf.predict(x, p, dt, q)
            nu, s, h = ekf.innovation(xp, pp, tower, z, r2)
            found = assign(nu, s, gate)
            ekf.update(xp[found.tracks], pp[found.tracks], h[found.tracks],
                       nu[found.tracks, found.detections], r2[found.detections])
        times.append((time.process_time() - start) / cycles)
    return statistics.median(times)


def measure(label: str, scenario: Scenario, until_s: float, repeats: int) -> None:
    messages = recorded(scenario, until_s)
    runs = [fuse_cpu_s(scenario.site_model, messages) for _ in range(repeats)]
    cpu = statistics.median(r[0] for r in runs)
    decode = statistics.median(decode_cpu_s(messages) for _ in range(repeats))
    intakes = [intake_cpu_s(scenario.site_model, messages) for _ in range(repeats)]
    intake, seen = statistics.median(i[0] for i in intakes), intakes[0][1]
    detections, alerts = runs[0][1], runs[0][2]
    floor = detections / (seen * one_track_cycle_s())
    core = detections / max(cpu - decode, 1e-9)
    target = TARGET_DETECTIONS_PER_S
    print(f"{label:32} {len(scenario.site_model.towers):6d} {until_s:7.0f} "
          f"{len(messages):9d} {detections:9d} {alerts:6d} {len(messages) / cpu:10.0f} "
          f"{detections / cpu:10.0f} {detections / cpu / target:7.2f} "
          f"{core:12.0f} {core / target:7.2f} {detections / intake:12.0f} {floor:12.0f}",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--duration-12", type=float, default=1200.0)
    parser.add_argument("--duration-200", type=float, default=300.0)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats: must be at least 1")
    print(f"medians of {args.repeats} runs per CPU second, one core; ratio to "
          f"{TARGET_DETECTIONS_PER_S:,.0f} detections/s")
    print(f"{'case':32} {'towers':>6} {'sim s':>7} {'messages':>9} {'dets':>9} {'alerts':>6} "
          f"{'msgs/s':>10} {'dets/s':>10} {'ratio':>7} {'dets/s core':>12} {'ratio':>7} "
          f"{'dets/s intake':>12} {'dets/s cycle':>12}")
    print(f"{'':32} {'':6} {'':7} {'':9} {'':9} {'':6} {'(with JSON decoding)':>29} "
          f"{'(fusion only)':>20} {'(no tracking)':>13} {'(one EKF)':>12}")
    measure("western-heights, default", load_scenario("default"), args.duration_12, args.repeats)
    measure("generated 200, targets per 6 km", scaled_scenario(200, 4200.0, True),
            args.duration_200, args.repeats)


if __name__ == "__main__":
    main()
