"""Fuse one stream at several points with one tracker: points that differ only after tracking.

``alert.min_confidence`` and ``alert.classes`` act only in the alert stage
(:class:`~perimeter.fusion.alert.TrackAlerter`): every other threshold is read by the tracker.
The alert stage feeds back into tracking at one place: duplicate removal keeps, of two
duplicate tracks, the one with an alert (``duplicates.weaker``). So points whose thresholds
agree but for those two share one :class:`SharedRunner`: one tracker and one alert stage per
point beside it (its own alerter, alert ids, fault ids, outputs), each stage seeing the tracks'
``alert_id`` as its own run would have set it. At every duplicate removal the stages' alerted
tracks are compared; where they differ, the removal is worked out under each stage's alerts,
and stages whose removals differ from the tracker's leave the group and are fused again from
the start with the stages that agree with them (:func:`fuse_points`). The SNR floors only drop
detections below them at intake: points whose floors drop the same detections of the stream
at hand (none of its detections lies between them) share a tracker too (:class:`StreamSnr`).
Each point's outputs are hence those of its own :func:`~perimeter.evaluation.run.fuse` run
(``tests/tuning`` compares them), however often the alert stages meet a removal they disagree
on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

from perimeter import topics
from perimeter.bus import Message
from perimeter.contract import (
    AlertEvent,
    ContractError,
    DeadLetter,
    Origin,
    SensorReport,
    TowerStatus,
    TracksSnapshot,
    parse_payload,
)
from perimeter.evaluation.run import Collector, fuse
from perimeter.fusion.alert import TrackAlerter
from perimeter.fusion.runner import FusionRunner, tracks_snapshot
from perimeter.fusion.runner_stage import Emit
from perimeter.fusion.track import Track
from perimeter.geometry import Point, Polyline
from perimeter.site import Site
from perimeter.thresholds import Thresholds

__all__ = ["ALERT_STAGE", "SNR_FLOORS", "Decoded", "SharedRunner", "StreamSnr", "fuse_points",
           "stream_key", "tracker_key"]

M = TypeVar("M", SensorReport, TowerStatus)

ALERT_STAGE = ("alert_min_confidence", "alert_classes")
"""The thresholds only the alert stage reads (attribute names)."""


SNR_FLOORS = ("thermal_min_snr_db", "acoustic_min_snr_db")
"""The thresholds that only drop detections below them, at intake (attribute names)."""


@dataclass(frozen=True, slots=True)
class StreamSnr:
    """The SNRs of every detection a stream's thermal and acoustic reports carry, sorted:
    two SNR floors drop the same detections of that stream when equally many lie below
    each (none lies between them), and the floors are read nowhere else in fusion."""

    thermal: npt.NDArray[np.float64]
    acoustic: npt.NDArray[np.float64]

    @classmethod
    def of(cls, stream: Iterable[Message]) -> StreamSnr:
        """Every decodable report's detections, by its topic's sensor (a report fusion
        rejects adds SNRs it never sees: equal floors only become fewer)."""
        snrs: dict[str, list[float]] = {"thermal": [], "acoustic": []}
        for message in stream:
            parsed = topics.parse_tower_topic(message.topic)
            if parsed is None or parsed.channel.value not in snrs:
                continue
            try:
                report = parse_payload(SensorReport, message.payload)
            except ContractError:
                continue
            snrs[parsed.channel.value] += [d.snr_db for d in report.detections]
        return cls(np.sort(np.array(snrs["thermal"], dtype=float)),
                   np.sort(np.array(snrs["acoustic"], dtype=float)))

    def dropped(self, thresholds: Thresholds) -> tuple[int, int]:
        """How many thermal and acoustic detections the floors drop (below them)."""
        return (int(np.searchsorted(self.thermal, thresholds.thermal_min_snr_db)),
                int(np.searchsorted(self.acoustic, thresholds.acoustic_min_snr_db)))


def stream_key(thresholds: Thresholds, snr: StreamSnr | None) -> object:
    """What decides a tracker's run on a stream: :func:`tracker_key`, with ``snr`` (that
    stream's SNRs) the SNR floors replaced by the detections they drop of it."""
    if snr is None:
        return tracker_key(thresholds)
    default = Thresholds()
    rest = tracker_key(thresholds).model_copy(
        update={name: getattr(default, name) for name in SNR_FLOORS})
    return rest, snr.dropped(thresholds)


def tracker_key(thresholds: Thresholds) -> Thresholds:
    """The thresholds the tracker reads: the alert stage's set to their defaults, so two
    points with equal keys differ only after tracking."""
    default = Thresholds()
    return thresholds.model_copy(update={name: getattr(default, name) for name in ALERT_STAGE})


@dataclass(slots=True)
class _Stage:
    """One point's alert stage beside the shared tracker."""

    point: int
    thresholds: Thresholds
    alerter: TrackAlerter
    output: Collector
    emit: Emit
    """Into :attr:`output`, as the runner's own stage emits (:meth:`AlertStage._send`)."""
    ids: dict[int, str] = field(default_factory=dict)
    """Live track number -> the alert id this stage's run gave it."""
    faults: dict[str, str] = field(default_factory=dict)
    """Shared tower-fault token -> this stage's alert id."""


class _Rejects:
    """The runner's output: only dead letters reach it (alerts and tracks go per stage)."""

    def __init__(self, stages: list[_Stage]) -> None:
        self.stages = stages

    def alert(self, event: AlertEvent) -> None:  # pragma: no cover - never called
        raise AssertionError("alerts go to a stage")

    def tracks(self, snapshot: TracksSnapshot) -> None:  # pragma: no cover - never called
        raise AssertionError("tracks go to every stage")

    def reject(self, letter: DeadLetter) -> None:
        for stage in self.stages:
            stage.output.reject(letter)


class _NoAlerter:
    """In a shared runner every alert decision goes through a stage: a runner step that asks
    the runner's own alerter (one added without a hook) fails loudly instead of deciding for
    all points at once."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a shared runner's alerts go through its stages (alerter.{name})")


class Decoded:
    """The message last decoded by any of the runners fed one stream in step, and its
    decoded form (the contract's models are frozen, so runners can share one); and whether
    the report last checked for duplicates was new, with the runner that checked it.

    Whether a report is a duplicate depends on the stream alone (the reports that reached
    the check before it: decoding, the topic and time checks read no threshold), so the
    first runner fed a message decides for the others (:meth:`SharedRunner._new_report`).
    One instance serves one set of runners fed in step from the stream's start."""

    def __init__(self) -> None:
        self.message: Message | None = None
        self.model: type[Any] | None = None
        self.value: Any = None
        self.checked: SensorReport | None = None
        self.checked_by: SharedRunner | None = None
        self.new = True


class SharedRunner(FusionRunner):
    """A :class:`FusionRunner` with one alert stage per point of ``points`` (thresholds that
    share :func:`tracker_key`; with ``snr``, :func:`stream_key` on the stream whose SNRs it
    holds, the one stream it may then be fed: the tracker runs at the first point's
    floors); ``left`` lists the points that left the group (their duplicate removal
    differed) and must be fused again."""

    def __init__(self, site: Site, points: Mapping[int, Thresholds],
                 options: Mapping[str, Any] | None = None, *,
                 decoded: Decoded | None = None, snr: StreamSnr | None = None) -> None:
        if len({stream_key(t, snr) for t in points.values()}) != 1:
            raise ValueError("points: a shared runner's points must differ only in "
                             f"{', '.join(ALERT_STAGE)}"
                             + (", or in SNR floors that drop the same detections of the "
                                "stream" if snr is not None else ""))
        self._decoded = decoded or Decoded()
        self._token = 0
        self.stages: list[_Stage] = []
        self.left: list[int] = []
        opts = dict(options or {})
        first = next(iter(points.values()))
        super().__init__(site, first, _Rejects(self.stages), **opts)
        self._origin_of = self.alerter.origin_of
        self.alerter = cast(TrackAlerter, _NoAlerter())
        self._origins: dict[int, Origin | None] = {}
        """Origins found in this housekeeping's alert decisions, by track (every stage asks
        the same tracks at the same time)."""
        self._perimeter_line = Polyline(site.perimeter)
        self._distances: dict[tuple[Point, Point], tuple[float, float]] = {}
        for point, thresholds in points.items():
            alerter = TrackAlerter(site.perimeter, [t.id for t in site.towers],
                                   opts.get("alert_config"), opts.get("first_alert_number", 1))
            alerter.origin_of = self._origin
            alerter.distance_and_closing = self._distance
            output = Collector()
            self.stages.append(_Stage(point, thresholds, alerter, output,
                                      partial(self._send, output)))

    def _parse(self, model: type[M], message: Message) -> M:
        """The contract decoding, once per message for all runners fed in step."""
        shared = self._decoded
        if shared.message is not message or shared.model is not model:
            value = super()._parse(model, message)  # bad input raises: not remembered
            shared.message, shared.model, shared.value = message, model, value
        return cast(M, shared.value)

    def _new_report(self, tower_id: str, sensor: str, report: SensorReport) -> bool:
        """The duplicate check, once per message for all runners fed in step: the runner
        fed it first decides (its filter has seen every report before it); a report met
        again by that runner (a repeated message) is checked again."""
        shared = self._decoded
        if shared.checked is report and shared.checked_by is not self:
            return shared.new
        new = super()._new_report(tower_id, sensor, report)
        shared.checked, shared.checked_by, shared.new = report, self, new
        return new

    def _distance(self, point: Point, velocity: Point) -> tuple[float, float]:
        """The perimeter's distance and closing speed, once per position and velocity for
        all stages (a pure function of them; the memo is emptied every housekeeping)."""
        key = (point, velocity)
        found = self._distances.get(key)
        if found is None:
            found = self._distances[key] = self._perimeter_line.distance_and_closing(
                point, velocity)
        return found

    def _origin(self, track: Track) -> Origin | None:
        if track.number not in self._origins:
            self._origins[track.number] = self._origin_of(track)
        return self._origins[track.number]

    def outputs(self) -> dict[int, Collector]:
        """Each remaining point's outputs, by point."""
        return {stage.point: stage.output for stage in self.stages}

    # -- the alert stages -------------------------------------------------------------
    def _fault_ids(self) -> Callable[[], str]:
        return self._new_fault

    def _new_fault(self) -> str:
        """A tower-fault alert: each stage numbers it from its own alert ids."""
        self._token += 1
        token = f"fault-{self._token}"
        for stage in self.stages:
            stage.faults[token] = stage.alerter.next_alert_id()
        return token

    def _fault(self, event: AlertEvent) -> None:
        for stage in self.stages:
            stage.emit(event.model_copy(update={"alert_id": stage.faults[event.alert_id]}))

    def _wear(self, stage: _Stage) -> None:
        """Give the live tracks the alert ids of ``stage``'s run."""
        for track in self.engine.tracks:
            track.alert_id = stage.ids.get(track.number)

    def _take_off(self, stage: _Stage) -> None:
        stage.ids = {t.number: t.alert_id for t in self.engine.tracks if t.alert_id is not None}

    def _track_deleted(self, track: Track, t_s: float, *, final: bool = False) -> None:
        for stage in self.stages:
            track.alert_id = stage.ids.pop(track.number, None)
            self._deleted_to(stage.alerter, stage.thresholds, stage.emit, track, t_s, final)

    def _track_alerts(self, t_s: float) -> None:
        self._origins.clear()
        self._distances.clear()
        for stage in self.stages:
            self._wear(stage)
            self._alerts_to(stage.alerter, stage.thresholds, stage.emit, t_s)
            self._take_off(stage)

    def _expire(self, t_s: float, *, final: bool = False) -> None:
        for stage in self.stages:
            self._expire_to(stage.alerter, stage.thresholds, stage.emit, t_s, final)

    def _merge(self, t_s: float) -> list[Track]:
        """Duplicate removal under the first stage's alerts; stages whose alerted tracks
        would have removed other tracks (or in another order) leave the group."""
        patterns: dict[frozenset[int], list[_Stage]] = {}
        for stage in self.stages:
            patterns.setdefault(frozenset(stage.ids), []).append(stage)
        if len(patterns) > 1:
            removals: dict[frozenset[int], list[int]] = {}
            for alerted, group in list(patterns.items())[1:]:
                self._wear(group[0])
                removals[alerted] = [t.number for t, _ in self.engine.manager.duplicate_pairs(
                    t_s, self.engine.towers_xy)]
        self._wear(self.stages[0])
        dropped = self.engine.merge(t_s)
        if len(patterns) > 1:
            numbers = [t.number for t in dropped]
            gone = {id(s) for a, g in patterns.items() if removals.get(a, numbers) != numbers
                    for s in g}
            self.left += [s.point for s in self.stages if id(s) in gone]
            self.stages[:] = [s for s in self.stages if id(s) not in gone]
        return dropped

    def _publish_tracks(self, t_s: float) -> None:
        tracks = self.engine.tracks
        self._wear(self.stages[0])
        first = tracks_snapshot(t_s, tracks, self.site)
        ids0 = [t.alert_id for t in tracks]
        for stage in self.stages:
            ids = [stage.ids.get(t.number) for t in tracks]
            if ids == ids0:
                stage.output.tracks(first)
                continue
            own = [row.model_copy(update={"alert_id": alert_id})
                   for row, alert_id in zip(first.tracks, ids, strict=True)]
            stage.output.tracks(first.model_copy(update={"tracks": own}))


def fuse_points(site: Site, points: Sequence[Thresholds], messages: Iterable[Message],
                options: Mapping[str, Any] | None = None, *,
                again: list[int] | None = None,
                trackers: dict[int, int] | None = None) -> list[Collector]:
    """Each point's :func:`~perimeter.evaluation.run.fuse` outputs, in order, with one tracker
    per group of points that differ only in the alert stage, or in SNR floors that drop the
    same detections of this stream (:class:`SharedRunner`, :func:`stream_key`), the
    trackers fed the stream in step (each message decoded once for all); points that left a
    group are appended to ``again`` each time they are fused again. ``trackers`` gets each
    point's tracker (points with one number share its tracks: their snapshots differ only in
    alert ids, and their SNR floors may differ). A stream that sets thresholds itself is fused
    once per point."""
    stream = list(messages)
    if any(m.topic == topics.THRESHOLDS for m in stream):
        if trackers is not None:
            trackers.update((i, i) for i in range(len(points)))
        return [fuse(site, t, stream, options) for t in points]
    snr = StreamSnr.of(stream)
    groups: dict[object, list[int]] = {}
    for i, thresholds in enumerate(points):
        groups.setdefault(stream_key(thresholds, snr), []).append(i)
    out: dict[int, Collector] = {}
    queue = list(groups.values())
    number = 0
    while queue:
        decoded = Decoded()  # one per set of runners fed in step from the start
        runners = [SharedRunner(site, {i: points[i] for i in group}, options, decoded=decoded,
                                snr=snr) for group in queue]
        queue = []
        for message in stream:
            for runner in runners:
                runner.feed(message)
        for runner in runners:
            runner.finish()
            out.update(runner.outputs())
            if trackers is not None:
                trackers.update((i, number) for i in runner.outputs())
            number += 1
            if runner.left:
                queue.append(runner.left)
                if again is not None:
                    again += runner.left
    return [out[i] for i in range(len(points))]
