"""Continuing the alerts a fusion run left open, one implementation for every caller.

A restarted fusion service (its store's open alerts of the same run), a restarted shard (those
it held) and a shard taking over a dead one (those the dead one held) all take an alert over
the same way: a track alert waits, like a lost track's, for its object's new track
(:meth:`FusionRunner.resume_alerts`); a ``tower_fault`` continues while the tower is still
faulty and closes when it recovers (:meth:`TowerHealth.resume`, :meth:`TowerHealth.resume_site`
for the site-wide fault). Counted as ``alerts_resumed`` and ``faults_resumed``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from perimeter.fusion.alert import OpenAlert
from perimeter.fusion.health import SITE_FAULT
from perimeter.fusion.runner import FusionRunner


class LeftOpen(OpenAlert, Protocol):
    """An open alert to continue (a stored alert record, another shard's alert as heard)."""

    @property
    def fault(self) -> str | None: ...


def resume_alert(runner: FusionRunner, alert: LeftOpen) -> bool:
    """Continue ``alert`` in ``runner``; False if it cannot be (no position, a fault without
    its kind, an unknown tower, a fault already held)."""
    if alert.class_ != "tower_fault":
        return runner.resume_alerts([alert]) == 1
    if alert.fault is None:
        return False
    health = runner.health
    if alert.fault == SITE_FAULT:
        resumed = health.resume_site(alert.alert_id)
    else:
        resumed = len(alert.towers) == 1 and health.resume(
            alert.towers[0], alert.alert_id, alert.fault, alert.last_t_s)
    runner.counters["faults_resumed"] += int(resumed)
    return resumed


def resume_alerts(runner: FusionRunner, alerts: Iterable[LeftOpen]) -> int:
    """Continue each of ``alerts`` (:func:`resume_alert`); how many were taken over."""
    return sum(resume_alert(runner, alert) for alert in alerts)
