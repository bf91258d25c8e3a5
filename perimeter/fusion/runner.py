"""FusionRunner: the one entry point the fusion service, replay and evaluation drive.

``feed(message)`` decodes a bus message by topic (sensor report, tower status, thresholds),
rejects bad input (counted by reason, handed to ``output.reject`` as a dead letter), gates it
and fuses it on data time (the newest ``t_s`` seen), never the wall clock. It never raises.
A live service whose reports stop tells it how far data time has gone on meanwhile
(:meth:`FusionRunner.idle`), so tracks are lost, their alerts close and silent towers are found.
Every alert event carries the runner's ``run_id`` (its session), when it has one.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Iterable
from typing import TypeVar

import numpy as np

from perimeter import topics
from perimeter.bus import Message
from perimeter.contract import (
    ContractError,
    DeadLetter,
    SensorReport,
    TowerStatus,
    parse_payload,
)
from perimeter.fusion.alert import AlertConfig, OpenAlert, TrackAlerter
from perimeter.fusion.engine import FusionEngine
from perimeter.fusion.engine_config import EngineConfig, thermal_ifov_rad
from perimeter.fusion.gate import (
    DuplicateFilter,
    GateConfig,
    GateRejectedError,
    ReorderBuffer,
    SameTimeHold,
)
from perimeter.fusion.health import TowerHealth
from perimeter.fusion.origin import honest_origin
from perimeter.fusion.ranging import Ranger
from perimeter.fusion.reach import Reach
from perimeter.fusion.registration import Registration, RegistrationConfig
from perimeter.fusion.retrodict import ReportHistory, RetrodictConfig, Retrodicted, retrodict
from perimeter.fusion.retrodict_joint import retrodict_joint
from perimeter.fusion.runner_stage import AlertStage
from perimeter.fusion.runner_stage import FusionOutput as FusionOutput
from perimeter.fusion.runner_stage import tracks_snapshot as tracks_snapshot
from perimeter.fusion.scan import FloatArray, Scan, scan_from_report
from perimeter.site import Site
from perimeter.thresholds import ThresholdError, Thresholds

log = logging.getLogger(__name__)
M = TypeVar("M", SensorReport, TowerStatus)

CLOCK_JUMP_S = 10.0
"""A report further ahead of data time than this moves it only once another tower agrees
(a single tower with a wrong clock must not make every other report stale)."""

HOUSEKEEPING_S = 0.5
"""Data-time interval of track confirmation and deletion, duplicate removal, classification,
alert decisions and health checks (the per-report work is only the tracker step)."""


class _RejectedError(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class FusionRunner(AlertStage):
    """Decode, gate and fuse a message stream; publish alerts, track snapshots, dead letters."""

    def __init__(self, site: Site, thresholds: Thresholds, output: FusionOutput, *,
                 tracks_interval_s: float = 1.0, first_alert_number: int = 1,
                 first_track_number: int = 1, engine_config: EngineConfig | None = None,
                 gate_config: GateConfig | None = None, alert_config: AlertConfig | None = None,
                 heartbeat_timeout_s: float = 15.0,
                 registration_config: RegistrationConfig | None = None,
                 run_id: str | None = None,
                 one_tower_ranging: bool = True,
                 retrodict_config: RetrodictConfig | None = None) -> None:
        self.site = site
        self.run_id = run_id
        self.thresholds = thresholds
        self.output = output
        self.tracks_interval_s = tracks_interval_s
        self.counters: Counter[str] = Counter()
        self._index = {t.id: i for i, t in enumerate(site.towers)}
        self._towers_xy = np.array([t.xy for t in site.towers], dtype=np.float64)
        gate = self.gate_config = gate_config or GateConfig()
        self._hold = SameTimeHold()
        self._buffer = ReorderBuffer(gate)
        self._dupes = DuplicateFilter(gate.seq_memory, gate.max_late_s)
        ifov = np.array([thermal_ifov_rad(t.thermal) for t in site.towers])
        heights = np.array([t.height_m for t in site.towers])
        self.engine = FusionEngine(self._towers_xy, thresholds, engine_config,
                                   first_track_number=first_track_number, thermal_ifov_rad=ifov,
                                   tower_height_m=heights, dem=site.elevation)
        self.alerter = TrackAlerter(site.perimeter, [t.id for t in site.towers], alert_config,
                                    first_alert_number)
        fault_ids = self._fault_ids()
        self.health = TowerHealth(site, fault_ids, heartbeat_timeout_s)
        if one_tower_ranging and site.elevation is not None:  # one-tower ranging on the DEM
            self.engine.initiator.ranger = Ranger(site.elevation, self._towers_xy, heights, ifov)
        self.reach = Reach(site)
        retro = retrodict_config or RetrodictConfig()
        self.history = (ReportHistory(len(site.towers), retro) if retro.enabled else None)
        """Recent kept detections, for origins reaching back before a track began."""
        self.alerter.origin_of = lambda track: honest_origin(
            track, self.reach, retro=None if self.history is None else self._retrodict)
        self.registration = Registration(self._towers_xy, [t.id for t in site.towers],
                                         registration_config, fault_ids,
                                         clutter_config=self.engine.config.clutter)
        self.engine.bias_sigma_rad = self.registration.unapplied_sigma_rad
        self.engine.initiator.bias_sigma_rad = self.registration.unapplied_sigma_rad
        self.engine.consider_sigma_rad = self._consider_sigma_rad
        self._processed_s: float | None = None
        self._jumps: dict[str, float] = {}
        self._next_housekeeping_s = -np.inf
        self._next_snapshot_s = -np.inf
        self._idle_s: float | None = None
        self._topics: dict[str, tuple[str, str]] = {}
        """Tower topics already parsed (bounded: only known towers' channels)."""

    @property
    def clock_s(self) -> float | None:
        """Data time: the newest report time seen."""
        return self._buffer.clock_s

    def resume_alerts(self, alerts: Iterable[OpenAlert]) -> int:
        """Continue alerts an earlier run left open (see :meth:`TrackAlerter.resume`);
        returns how many were taken over."""
        resumed = sum(self.alerter.resume(alert) for alert in alerts)
        self.counters["alerts_resumed"] += resumed
        return resumed

    def idle(self, t_s: float) -> None:
        """Data time ``t_s`` has come with no report (a live service's estimate): run the
        housekeeping due by then (coasting tracks are deleted, lost alerts close, silent
        towers are faulted) without moving the gate's clock, so the next real report is
        fused as usual. Nothing happens before the first report or at a time already passed."""
        try:
            if self.clock_s is None:
                return
            self._push(self._hold.release(before_s=t_s))  # no more of their time is coming
            self._process(self._buffer.release())
            done_s = max(self._processed_s or -np.inf, self._idle_s or -np.inf)
            if t_s <= done_s:
                return
            self._idle_s = t_s
            self._housekeeping(t_s)
        except Exception:  # pragma: no cover - defensive, like feed
            log.exception("fusion idle step failed")
            self.counters["errors:idle"] += 1

    def set_thresholds(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self.engine.thresholds = thresholds

    def feed(self, message: Message) -> None:
        """Take one bus message; bad input is counted and dead-lettered, never raised."""
        self.counters["received"] += 1
        try:
            self._feed(message)
        except _RejectedError as rej:
            self._reject(message, rej.reason, rej.detail)
        except Exception as exc:  # never crash the service on one message
            log.exception("fusion failed on a message of %s", message.topic)
            self._reject(message, "internal_error", f"{type(exc).__name__}: {exc}")

    def finish(self) -> None:
        """End of stream: fuse everything buffered and close every open alert."""
        try:
            self._push(self._hold.release())
            self._process(self._buffer.release(flush=True))
            t_s = self._processed_s if self._processed_s is not None else 0.0
            self._housekeeping(t_s, force=True)
            for track in list(self.engine.tracks):
                self._track_deleted(track, t_s, final=True)
            self._expire(t_s, final=True)
            for event in self.health.close_all(self.clock_s or t_s):
                self._fault(event)
            for event in self.registration.close_all(self.clock_s or t_s):
                self._fault(event)
        except Exception:  # pragma: no cover - defensive, finish must not crash a service
            log.exception("fusion finish failed")
            self.counters["errors:finish"] += 1

    # -- decoding -----------------------------------------------------------------------
    def _consider_sigma_rad(self, k: int) -> tuple[float, float]:
        """Tower ``k``'s residual bias sigma for the consider update, and the part
        :meth:`.Registration.correct` already put in its bearings' sigmas."""
        reg = self.registration
        if reg.applied_bias_rad[k] != 0.0:
            rel = float(reg.relative_sigma_rad[k])
            return rel, rel
        if self.engine.config.consider_posterior:
            posterior = math.sqrt(max(float(reg.cov[k, k]) * reg.variance_factor, 0.0))
            return math.hypot(float(reg.theta[k]), posterior), 0.0
        return reg.unapplied_sigma_rad(k), 0.0

    def _feed(self, message: Message) -> None:
        known = self._topics.get(message.topic)
        if known is not None:
            tower_id, channel = known
            if channel == "status":
                self._status_message(tower_id, message)
            else:
                self._report_message(tower_id, channel, message)
            return
        if message.topic == topics.THRESHOLDS:
            self._thresholds_message(message)
            return
        parsed = topics.parse_tower_topic(message.topic)
        if parsed is None:
            raise _RejectedError("unknown_topic")
        if parsed.tower_id not in self._index:
            raise _RejectedError("unknown_tower", f"tower {parsed.tower_id!r} is not in the site")
        self._topics[message.topic] = (parsed.tower_id, parsed.channel.value)
        if parsed.channel is topics.TowerChannel.STATUS:
            self._status_message(parsed.tower_id, message)
        else:
            self._report_message(parsed.tower_id, parsed.channel.value, message)

    def _thresholds_message(self, message: Message) -> None:
        try:
            values = json.loads(message.payload)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _RejectedError("bad_payload", f"not valid JSON: {exc}") from None
        if not isinstance(values, dict):
            raise _RejectedError("bad_payload", "thresholds must be a JSON object")
        try:
            self.set_thresholds(self.thresholds.patched(values))
        except ThresholdError as exc:
            raise _RejectedError("bad_thresholds", str(exc)) from None
        self.counters["thresholds_applied"] += 1

    def _status_message(self, tower_id: str, message: Message) -> None:
        status = self._parse(TowerStatus, message)
        if status.tower_id != tower_id:
            raise _RejectedError("tower_mismatch", f"tower_id: {status.tower_id!r} on {tower_id!r}")
        # a status never moves data time: retained ones come on every (re)subscribe with the
        # time they were published (a restart would otherwise start data time in the past,
        # and reject the first live report, and later statuses, as too far ahead of it)
        clock = self.clock_s
        t_s = status.t_s if status.t_s is not None else clock
        if t_s is not None and clock is not None:
            t_s = min(t_s, clock)
        self.health.status(status, t_s if t_s is not None else 0.0)
        self.counters["status"] += 1
        self._after_input()

    def _report_message(self, tower_id: str, sensor: str, message: Message) -> None:
        report = self._parse(SensorReport, message)
        if report.tower_id != tower_id:
            raise _RejectedError("tower_mismatch", f"tower_id: {report.tower_id!r} on {tower_id!r}")
        if report.sensor != sensor:
            raise _RejectedError("sensor_mismatch", f"sensor: {report.sensor!r} on {sensor!r}")
        self._admit(report.t_s, tower_id)
        if not self._new_report(tower_id, sensor, report):
            self.counters["duplicates"] += 1
            return
        self.health.heard(tower_id, self.clock_s or report.t_s, stamped_t_s=report.t_s)
        index = self._index[tower_id]
        scan = self.registration.correct(scan_from_report(
            report, index, self._towers_xy[index], self.thresholds.min_snr_db(sensor)))
        self.counters["reports"] += 1
        self.counters["detections"] += len(report.detections)
        self.counters["detections_kept"] += scan.size
        self._push(self._hold.push(scan))
        self._after_input()

    def _push(self, scans: list[Scan]) -> None:
        """Into the reorder buffer; a late scan is fused at once (out of sequence)."""
        for scan in scans:
            late = self._buffer.push(scan)
            if late is not None:
                self.counters["late_reports"] += 1
                self._process([late])

    def _new_report(self, tower_id: str, sensor: str, report: SensorReport) -> bool:
        """False for a duplicate of a report already taken (:class:`.gate.DuplicateFilter`)."""
        return self._dupes.check(tower_id, sensor, report.seq, report.t_s)

    def _parse(self, model: type[M], message: Message) -> M:
        try:
            return parse_payload(model, message.payload)
        except ContractError as exc:
            raise _RejectedError("bad_payload", str(exc)) from None

    def _admit(self, t_s: float, tower_id: str) -> None:
        """Check a report time; data time jumps ahead only when two towers agree on it."""
        try:
            self._buffer.admit(t_s)
        except GateRejectedError as rej:
            if rej.reason == "stale":
                self.counters["late_dropped"] += 1
            detail = f"t_s: {t_s} against data time {self.clock_s}"
            raise _RejectedError(rej.reason, detail) from None
        clock = self.clock_s
        if clock is not None and t_s > clock + CLOCK_JUMP_S:
            self._jumps[tower_id] = t_s
            agree = any(other != tower_id and abs(seen - t_s) <= CLOCK_JUMP_S
                        for other, seen in self._jumps.items())
            if not agree:
                detail = (f"t_s: {t_s} is {t_s - clock:.1f} s ahead of data time {clock} and "
                          "no other tower agrees yet")
                raise _RejectedError("future_t_s", detail)
            self._jumps.clear()
        if self.clock_s is None:
            self.health.start(t_s)
        self._buffer.advance(t_s)

    def _reject(self, message: Message, reason: str, detail: str) -> None:
        self.counters[f"rejected:{reason}"] += 1
        first = message.payload[:200].decode("utf-8", errors="replace")
        text = f"{reason}: {detail}" if detail else reason
        try:
            self.output.reject(DeadLetter(topic=message.topic[:512], reason=text[:500],
                                          first_bytes=first, t_s=self.clock_s))
        except Exception:  # pragma: no cover - a failing output must not break fusion
            log.exception("dead-letter output failed")

    # -- fusion -------------------------------------------------------------------------
    def _after_input(self) -> None:
        self._process(self._buffer.release())
        if self.clock_s is not None:
            t_s = self._processed_s if self._processed_s is not None else self.clock_s
            self._housekeeping(t_s)

    def _retrodict(self, t_s: float, x: FloatArray, p: FloatArray, q: float,
                   group: str) -> Retrodicted | None:
        """A track's start extended back through the reports before it (:mod:`.retrodict`)."""
        assert self.history is not None
        c = self.history.config
        bias = np.array([self.registration.unapplied_sigma_rad(k)
                         for k in range(len(self._towers_xy))])
        fastest = c.vehicle_max_mps if group == "vehicle" else c.small_max_mps
        if c.joint:
            return retrodict_joint(self.history, self._towers_xy, t_s, x, p, q, fastest, bias)
        return retrodict(self.history, self._towers_xy, t_s, x, p, q, fastest, bias)

    def _process(self, scans: list[Scan]) -> None:
        history = self.history
        for scan in scans:
            self.engine.step(scan)
            self.registration.observe(scan)
            if history is not None and scan.sensor in history.config.sensors:
                history.add(scan.tower_index, scan.t_s, scan.bearing_rad,
                            scan.sigma_rad)  # late ones too: most of a long-lens stream is
            if scan.late:
                continue
            self.counters["scans"] += 1
            self._processed_s = scan.t_s
            if self._idle_s is not None:  # reports again after an idle spell: back on them
                self._idle_s = None
                self._next_housekeeping_s = self._next_snapshot_s = -np.inf
            if scan.t_s >= self._next_housekeeping_s:
                self._housekeeping(scan.t_s)

    def _housekeeping(self, t_s: float, *, force: bool = False) -> None:
        if not force and t_s < self._next_housekeeping_s:
            return
        self._next_housekeeping_s = t_s + HOUSEKEEPING_S
        result = self.engine.maintain(t_s)
        self.counters["tracks_confirmed"] += len(result.confirmed)
        for track in result.deleted:
            self.counters["tracks_deleted"] += 1
            self._track_deleted(track, t_s)
        for track in self._merge(t_s):
            self.counters["tracks_merged"] += 1
            self._track_deleted(track, t_s)
        self.engine.reclassify(t_s)
        self.reach.learn(self.engine.tracks, t_s)
        for event in self.registration.maintain(t_s, self.engine.tracks):
            self._fault(event)
        self._track_alerts(t_s)
        self._expire(t_s)
        if self.clock_s is not None:
            for event in self.health.check(max(self.clock_s, t_s)):
                self._fault(event)
        if t_s >= self._next_snapshot_s or force:
            self._next_snapshot_s = t_s + self.tracks_interval_s
            self._publish_tracks(t_s)
