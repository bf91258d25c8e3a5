"""Shard mode of the fusion service: ``perimeter fusion --shard ID --plan FILE [--standby]``.

One :class:`~perimeter.shard.ShardRunner` on the bus, driven by the fusion service's worker
thread (:class:`ShardService`). It subscribes to the handovers, the alerts (the other shards'),
the shards' statuses and the towers' reports: given a :class:`~services.split_bus.SplitBus`
(as ``run_shard`` builds it), a QoS 0 subscription per tower it is fed, on a session of its
own, and the towers a takeover adds; given another bus, the towers' wildcard (the runner drops
the reports of towers it is not fed before parsing them). Its retained status
(``perimeter/v1/fusion/shards/{id}/status``) is refreshed every ``status_interval_s`` and
sent again by the bus as soon as it reconnects (:meth:`services.mqtt.MqttBus.announce`: a
dying broker node's neighbours may have fired its will while it lived), and its last will
replaces it with ``offline``.

It takes over a dead shard's sectors, towers and open alerts when :mod:`services.shard_watch`
finds it dead and names this shard its successor; it watches the broker with a
:class:`~services.broker_probe.BrokerProbe` (a stalled cluster is no shard's death, nor the
towers' silence).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from perimeter import topics
from perimeter.bus import Bus, Message
from perimeter.config import FusionSettings
from perimeter.contract import Handover, ShardStatus, dump_payload, parse_payload
from perimeter.fusion.health import SITE_FAULT
from services.broker_probe import BrokerProbe
from services.fusion_service import AlertSink, BusOutput, FusionService, supersede_earlier_runs
from services.shard_watch import ShardWatch, shard_will, take_over_dead

if TYPE_CHECKING:
    from perimeter.fusion.runner import FusionOutput
    from perimeter.shard import ShardRunner
    from perimeter.store import AlertRecord, AlertStore

log = logging.getLogger(__name__)


class ShardBusOutput(BusOutput):
    """The shard's output: alerts (stored and published), tracks, dead letters, handovers."""

    def handover(self, message: Handover) -> None:
        self.bus.publish(Message(topics.HANDOVER, dump_payload(message), qos=1))


def shard_status_message(status: ShardStatus) -> Message:
    """The retained status of a shard (its last will has ``state: offline``)."""
    return Message(topics.shard_status(status.shard_id), dump_payload(status), retain=True,
                   qos=1)


class ShardService(FusionService):
    """A fusion shard on the bus; :meth:`start` / :meth:`stop` as :class:`FusionService`."""

    def __init__(self, bus: Bus, shard_factory: Callable[[ShardBusOutput], ShardRunner],
                 sink: AlertSink | None = None, *, status_interval_s: float = 2.0,
                 stale_after_s: float = 12.0, will_grace_s: float | None = None,
                 probe: BrokerProbe | None = None) -> None:
        output = ShardBusOutput(bus, sink)
        self.shard = shard_factory(output)
        super().__init__(bus, lambda _out: self.shard.fusion, sink,
                         status_interval_s=status_interval_s, probe=probe, output=output)
        self.feed = self.shard.feed
        grace_s = 3.0 * status_interval_s if will_grace_s is None else will_grace_s
        if grace_s <= status_interval_s:
            raise ValueError(
                f"will_grace_s ({grace_s:g} s) must exceed status_interval_s "
                f"({status_interval_s:g} s): a clustered broker may deliver a live shard's will "
                "after its status (docs/scale.md), and only its next status takes it back")
        self.watch = ShardWatch(self.shard.shard_id, stale_after_s,
                                deaf_after_s=3.0 * status_interval_s, will_grace_s=grace_s,
                                run_id=self.shard.fusion.run_id)
        self._towers_subscribed: frozenset[str] = frozenset()
        self._taken_over: list[str] = []  # as last published
        self._wildcard = False

    def start(self) -> None:
        self._subscribe_towers()
        for topic_filter in (topics.HANDOVER, topics.ALERTS, topics.SHARD_STATUS_WILDCARD,
                             topics.THRESHOLDS):
            self.bus.subscribe(topic_filter, self._enqueue)
        self._start_worker()

    def _subscribe_towers(self) -> None:
        """The towers' wildcard, or (a :class:`~services.split_bus.SplitBus` at QoS 0) each
        tower fed, again after a takeover adds some."""
        by_tower = getattr(self.bus, "subscribe_towers", None)
        if by_tower is not None:
            by_tower(frozenset(self.shard.towers), self._enqueue)
        elif not self._wildcard:  # once: it has every tower
            self.bus.subscribe(topics.TOWER_WILDCARD, self._enqueue)
            self._wildcard = True
        self._towers_subscribed = frozenset(self.shard.towers)

    def _fed(self, message: Message) -> None:
        """On the worker thread: shard statuses go to the watch as well."""
        if topics.parse_shard_status_topic(message.topic) is not None:
            try:
                status = parse_payload(ShardStatus, message.payload)
            except ValueError:
                status = None
            if status is not None:
                self.watch.heard(status, time.monotonic(), retained=message.retain)

    def _after_step(self) -> None:
        now_s = time.monotonic()
        if self.shard.towers - self._towers_subscribed:  # a takeover: its towers too
            self._subscribe_towers()
        if self.shard.taken_over != self._taken_over:  # handed back: say so at once
            self.publish_status()
        if not self._listening:
            self.watch.not_listening(now_s)
            return
        for dead, adopted in take_over_dead(self.watch, self.shard, now_s):
            log.warning("shard %s took over %s (%d open alerts continued with a track)",
                        self.shard.shard_id, dead, adopted)
            self.publish_status()

    def publish_status(self, state: str = "online") -> None:
        status = self.shard.status()
        self._taken_over = list(status.taken_over)
        if state == "offline":
            status = status.model_copy(update={"state": "offline"})
        self._announce(shard_status_message(status), online=state != "offline")
        self._warn_late_drops()


def held_alerts(store: AlertStore, shard_id: str) -> tuple[list[AlertRecord], list[AlertRecord]]:
    """The open alerts in ``store`` whose latest event ``shard_id`` sent (it held them when
    it stopped; a track alert another shard took over since is that shard's, and comes back
    by handover), and the other shards' open tower faults (those of this shard's own towers
    are its again: the shard that took them over stops watching them when it hands back)."""
    held, faults = [], []
    for record in store.open_alerts():
        latest = store.latest_event(record.alert_id)
        if latest is not None and latest.shard_id == shard_id:
            held.append(record)
        elif record.class_ == "tower_fault" and record.fault != SITE_FAULT:
            faults.append(record)
    return held, faults


def continue_held_alerts(shard: ShardRunner, output: FusionOutput, store: AlertStore) -> int:
    """A (re)started active shard, as the single fusion service: the alerts it held that its
    run left open continue (:meth:`ShardRunner.resume_alerts`), and the faults of its own
    towers that a shard which took it over raised; those it held of earlier runs close as
    superseded. Returns how many continued."""
    held, faults = held_alerts(store, shard.shard_id)
    run_id = shard.fusion.run_id
    if run_id is not None:
        superseded = supersede_earlier_runs(output, store, held, run_id)
        shard.counters["alerts_superseded"] += superseded
    resumed = shard.resume_alerts([r for r in [*held, *faults] if r.run_id == run_id])
    if held:
        log.info("shard %s: %d of its %d open alerts continued", shard.shard_id, resumed,
                 len(held))
    return resumed


def run_shard(settings: FusionSettings, shard_id: str, plan_file: str, *, standby: bool = False,
              stop: threading.Event | None = None) -> None:
    """``perimeter fusion --shard ID --plan FILE [--standby]``: until SIGINT / SIGTERM."""
    from perimeter.sectors import load_plan
    from perimeter.shard import ShardRunner
    from perimeter.site import load_site
    from perimeter.store import AlertStore
    from services.fusion_service import serve
    from services.mqtt import MqttOptions
    from services.session import new_run_id
    from services.split_bus import SplitBus

    site = load_site(settings.site)
    plan = load_plan(plan_file)
    thresholds = settings.load_thresholds()
    store = AlertStore.open(settings.db_url)
    first_alert, first_track = store.max_alert_number() + 1, store.max_track_number() + 1
    run_id = settings.run_id or new_run_id()
    will = shard_status_message(shard_will(shard_id, run_id))
    client_id = settings.client_id or f"perimeter-fusion-{shard_id}"
    options = replace(MqttOptions.from_settings(settings, client_id), client_id=client_id,
                      manual_ack=True)
    bus = SplitBus(options, will=will)  # the towers' reports at QoS 0, one subscription each

    def make_shard(output: ShardBusOutput) -> ShardRunner:
        shard = ShardRunner(site, plan, shard_id, thresholds, output, active=not standby,
                            run_id=run_id, first_alert_number=first_alert,
                            first_track_number=first_track)
        if not standby:
            continue_held_alerts(shard, output, store)
        return shard

    service = ShardService(bus, make_shard, store.append, probe=BrokerProbe(bus, client_id))
    serve(service, bus, store, stop, lambda: log.info(
        "fusion shard %s (%s) of run %s on %s: %d towers, sectors %s", shard_id,
        "standby" if standby else "active", run_id, settings.broker_url,
        len(service.shard.towers), list(plan.owned(shard_id))))
