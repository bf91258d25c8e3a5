"""The fusion service: tower topics in, alerts, track snapshots and dead letters out.

paho delivers on its network thread; :class:`FusionService` hands each message to one worker
thread (a bounded queue), which alone drives the :class:`FusionRunner` and the alert store.
A retained :class:`FusionStatus` (``online`` with counters and the run id, refreshed
periodically) sits on ``topics.FUSION_STATUS``; the client's last will replaces it with
``offline``. While reports stop and fusion is listening (its broker link up, see
:class:`~perimeter.link_watch.LinkWatch`), an :class:`IdleClock` carries data time on (tracks
are lost, alerts close, silent towers are found). Reports dropped as too late to fuse are
logged as a warning whenever their count grows.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from types import FrameType
from typing import TYPE_CHECKING

from perimeter import topics
from perimeter.alert_resume import resume_alerts
from perimeter.bus import Bus, Message, Publisher
from perimeter.config import FusionSettings
from perimeter.contract import (
    AlertEvent,
    DeadLetter,
    FusionStatus,
    TowerRegistration,
    TracksSnapshot,
    dump_payload,
    status_counter_name,
)
from perimeter.fusion.runner import FusionOutput, FusionRunner
from perimeter.link_watch import LinkWatch
from services.broker_probe import BrokerProbe
from services.idle_clock import IdleClock
from services.session import new_run_id, superseded

if TYPE_CHECKING:
    from perimeter.store import AlertRecord, AlertStore
    from services.mqtt import MqttBus
    from services.split_bus import SplitBus

log = logging.getLogger(__name__)

AlertSink = Callable[[AlertEvent], object]
RunnerFactory = Callable[["BusOutput"], FusionRunner]


IDLE_STEP_S = 0.5
"""Wall time between idle-clock steps while no report arrives."""


def status_message(state: str, t_s: float | None, counters: dict[str, int],
                   registration: dict[str, TowerRegistration] | None = None,
                   run_id: str | None = None) -> Message:
    """The retained fusion status (``online`` / ``offline``) with its counters, each
    tower's registration (azimuth bias and clock offset estimates) and the run id."""
    status = FusionStatus.model_validate({"state": state, "t_s": t_s, "counters": counters,
                                          "registration": registration or {},
                                          "run_id": run_id})
    return Message(topics.FUSION_STATUS, dump_payload(status), retain=True, qos=1)


def supersede_earlier_runs(output: FusionOutput, store: AlertStore,
                           left_open: Sequence[AlertRecord], run_id: str) -> int:
    """Close (``reason: superseded``, stored and published) the alerts that runs other than
    ``run_id`` left open; returns how many."""
    closed = 0
    for record in left_open:
        if record.run_id == run_id:
            continue
        latest = store.latest_event(record.alert_id)
        if latest is not None:
            output.alert(superseded(latest, run_id))
            closed += 1
    return closed


class BusOutput:
    """The runner's :class:`~perimeter.fusion.runner.FusionOutput`: publish, and store alerts."""

    def __init__(self, bus: Publisher, sink: AlertSink | None = None) -> None:
        self.bus, self.sink = bus, sink
        self.sink_errors = 0

    def alert(self, event: AlertEvent) -> None:
        if self.sink is not None:
            try:
                self.sink(event)
            except Exception:  # the store failing must not stop the alert going out
                self.sink_errors += 1
                log.exception("alert store failed on %s", event.alert_id)
        self.bus.publish(Message(topics.ALERTS, dump_payload(event), qos=1))

    def tracks(self, snapshot: TracksSnapshot) -> None:
        self.bus.publish(Message(topics.TRACKS, dump_payload(snapshot), qos=0))

    def reject(self, dead_letter: DeadLetter) -> None:
        self.bus.publish(Message(topics.DEADLETTER, dump_payload(dead_letter), qos=1))


class FusionService:
    """Subscribe on ``bus``, fuse on one worker thread; ``start()`` / ``stop()``."""

    def __init__(self, bus: Bus, runner_factory: RunnerFactory, sink: AlertSink | None = None,
                 *, status_interval_s: float = 5.0, queue_size: int = 100_000,
                 silence_grace_s: float = 15.0, idle_clock: IdleClock | None = None,
                 probe: BrokerProbe | None = None, output: BusOutput | None = None) -> None:
        self.bus = bus
        self.output = output or BusOutput(bus, sink)
        self.runner = runner_factory(self.output)
        self.feed: Callable[[Message], None] = self.runner.feed
        """What each message is handed to (a shard's runner in shard mode)."""
        self.status_interval_s = status_interval_s
        self.idle_clock = idle_clock or IdleClock()
        self._next_idle_s = 0.0
        self._late_warned = 0
        self._queue: queue.Queue[Message | None] = queue.Queue(queue_size)
        self._ack: Callable[[Message], None] | None = getattr(bus, "ack", None)
        self._worker = threading.Thread(target=self._work, name="fusion-worker", daemon=True)
        self._link = LinkWatch(silence_grace_s)
        self._listening = True
        self.probe = probe
        """With a clustered broker: its stalls count as the link being down (see
        :mod:`services.broker_probe`)."""

    def start(self) -> None:
        self.bus.subscribe(topics.TOWER_WILDCARD, self._enqueue)
        self.bus.subscribe(topics.THRESHOLDS, self._enqueue)
        self._start_worker()

    def _start_worker(self) -> None:
        self._worker.start()
        if self.probe is not None:
            self.probe.start()

    def _enqueue(self, message: Message) -> None:
        self._queue.put(message)  # blocks paho's thread when full: back-pressure, no loss

    def counters(self) -> dict[str, int]:
        out = {status_counter_name(k): int(v) for k, v in self.runner.counters.items()}
        out["queue_depth"] = self._queue.qsize()
        out["store_errors"] = self.output.sink_errors
        return out

    def publish_status(self, state: str = "online") -> None:
        self._announce(status_message(state, self.runner.clock_s, self.counters(),
                                      self.runner.registration.status(), self.runner.run_id),
                       online=state != "offline")
        self._warn_late_drops()

    def _announce(self, status: Message, *, online: bool) -> None:
        """Publish a retained status; an online one on an MQTT bus is announced (sent again
        by the bus after every reconnect: its will may have fired meanwhile)."""
        announce = getattr(self.bus, "announce", None)
        if announce is not None and online:
            announce(status)
        else:
            self.bus.publish(status)

    def _warn_late_drops(self) -> None:
        """A warning whenever reports were dropped as too late since the last one."""
        dropped = self.runner.counters["late_dropped"]
        if dropped > self._late_warned:
            log.warning("%d reports dropped as too late to fuse since the last warning (%d in "
                        "all): older than %.0f s of data time behind the newest; fusion or the "
                        "broker is falling behind the towers", dropped - self._late_warned,
                        dropped, self.runner.gate_config.max_late_s)
            self._late_warned = dropped

    def _idle_step(self) -> None:
        """Carry data time on while no report arrives and fusion is listening."""
        now_s = time.monotonic()
        clock_s = self.runner.clock_s
        if clock_s is not None:
            self.idle_clock.seen(clock_s, now_s)
        if not self._listening:  # cut off from the broker, or just back: not the towers' silence
            self.idle_clock.hold(now_s)
            return
        if now_s < self._next_idle_s:
            return
        self._next_idle_s = now_s + IDLE_STEP_S
        idle_t_s = self.idle_clock.now(now_s)
        if idle_t_s is not None:
            self.runner.idle(idle_t_s)

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued message has been fused (for tests and clean shutdown)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.02)
        return False

    def _work(self) -> None:
        self.publish_status()
        next_status = time.monotonic() + self.status_interval_s
        while True:
            try:
                message = self._queue.get(timeout=0.5)
            except queue.Empty:
                self._watch_link()
            else:
                try:
                    self._watch_link()  # before fusing the first report after an outage
                    if message is None:
                        return
                    self.feed(message)  # never raises: bad input is dead-lettered
                    self._fed(message)
                    if self._ack is not None:
                        self._ack(message)  # only now: a crash before leaves it with the broker
                finally:
                    self._queue.task_done()
            self._idle_step()
            self._after_step()
            if time.monotonic() >= next_status:
                next_status = time.monotonic() + self.status_interval_s
                self.publish_status()

    def _fed(self, message: Message) -> None:
        """After ``message`` was fused, on the worker thread (shard mode watches statuses)."""

    def _after_step(self) -> None:
        """After each step of the worker loop (shard mode: takeovers)."""

    def _watch_link(self) -> None:
        """Hold silence faults while the broker link is down and for a grace period after it
        returns (:class:`~perimeter.link_watch.LinkWatch`): an outage is not the towers'."""
        connected = getattr(self.bus, "connected", None)
        counters = getattr(self.bus, "counters", {})
        if not isinstance(connected, threading.Event) or not isinstance(counters, dict):
            return  # an in-process bus: never cut off
        up, connects, now_s = connected.is_set(), int(counters.get("connects", 0)), time.monotonic()
        if self.probe is not None:
            if up:  # probes sent before the first connection would read as a stall
                self.probe.tick(now_s)
            up = up and not self.probe.stalled(now_s)
            connects += self.probe.stalls  # a stall that ended: the grace, as after a reconnect
        listening = self._link.listening(up, connects, now_s)
        if listening == self._listening:
            return
        self._listening = listening
        if listening:
            self.runner.health.resume_silence(self.runner.clock_s or 0.0)
            log.info("broker link back for %g s: tower silence counts again",
                     self._link.grace_s)
        else:
            self.runner.health.hold_silence()
            log.info("broker link down or just back: tower silence not counted")

    def halt(self, timeout_s: float = 10.0) -> None:
        """Fuse what is queued and stop the worker, publishing nothing more (as a crash
        would: tests of takeover and restart)."""
        if self._worker.is_alive():
            self._queue.put(None)
            self._worker.join(timeout_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Fuse what is queued, stop the worker, publish the ``offline`` status.

        Open alerts stay open (no ``finish``): a restart with the same run id continues them,
        a new run closes them as superseded."""
        self.halt(timeout_s)
        self.publish_status("offline")


def run_fusion(settings: FusionSettings, stop: threading.Event | None = None) -> None:
    """``perimeter fusion``: the live service until SIGINT / SIGTERM or ``stop``."""
    from perimeter.site import load_site
    from perimeter.store import AlertStore
    from services.mqtt import MqttBus, MqttOptions

    site = load_site(settings.site)
    thresholds = settings.load_thresholds()
    store = AlertStore.open(settings.db_url)
    first_alert, first_track = store.max_alert_number() + 1, store.max_track_number() + 1
    left_open = store.open_alerts()
    run_id = settings.run_id or new_run_id()
    will = status_message("offline", None, {}, run_id=run_id)
    options = replace(MqttOptions.from_settings(settings, "perimeter-fusion"), manual_ack=True)
    bus = MqttBus(options, will=will)

    def make_runner(out: BusOutput) -> FusionRunner:
        runner = FusionRunner(site, thresholds, out, first_alert_number=first_alert,
                              first_track_number=first_track, run_id=run_id)
        runner.counters["alerts_superseded"] += supersede_earlier_runs(out, store, left_open,
                                                                       run_id)
        resume_alerts(runner, [r for r in left_open if r.run_id == run_id])
        return runner

    probe = BrokerProbe(bus, options.client_id) if len(settings.addresses) > 1 else None
    service = FusionService(bus, make_runner, store.append, probe=probe)
    serve(service, bus, store, stop, lambda: log.info(
        "fusion run %s on %s, site %s, store %s (%d alerts of earlier runs closed as "
        "superseded)", run_id, settings.broker_url, site.name, settings.db_url,
        service.runner.counters["alerts_superseded"]))


def serve(service: FusionService, bus: MqttBus | SplitBus, store: AlertStore,
          stop: threading.Event | None, started: Callable[[], None]) -> None:
    """Start ``service`` and ``bus``, call ``started``, run until SIGINT / SIGTERM or ``stop``,
    then stop the service and close the bus and the store."""
    stop = stop or threading.Event()
    stop_on_signals(stop)
    service.start()
    bus.start()
    started()
    try:
        stop.wait()
    finally:
        service.stop()
        bus.close()
        store.close()
    log.info("fusion stopped: %s", service.counters())


def stop_on_signals(stop: threading.Event) -> None:
    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, on_signal)
