"""Riding: an alert lost beside another alerted track waits on that track, not at a point.

Two objects walking together become one track (coalescence): on ``groups-meeting`` g1's track
was lost as the two groups met, g2's track held both from then on, and g1's alert, waiting
where its track was lost, closed ``track_lost`` 300 s later while g1 walked on inside g2's
track. When a track split off g2's track 460 s after that, it raised a third alert.

With ``AlertConfig.ride_host`` (in force) a lost track's alert whose last position lies inside the
reacquire gate of a live track holding another open alert (of a compatible class: the host)
waits on the host (:func:`host_of`): it does not expire while the host holds its alert, and
a new track continues it where it fits either the lost track's gate or the host's present
state (a track splitting off the host; :func:`.alert_waiting.reacquire`). Once the host's
alert leaves it (its track lost or no longer believed) the rider waits as any lost alert
does, from the host's last state and from then (:func:`.alert_waiting.dismount`).
"""

from __future__ import annotations

from collections.abc import Iterable

from perimeter.fusion.alert_config import AlertConfig
from perimeter.fusion.reacquire import compatible, reacquire_d2
from perimeter.fusion.track import Track

__all__ = ["host_of"]


def host_of(lost: Track, cls: str, hosts: Iterable[Track], config: AlertConfig
            ) -> Track | None:
    """The live alerted track (of ``hosts``) that the alert of ``lost`` (its class ``cls``)
    rides, if any: the nearest, by :func:`.reacquire.reacquire_d2` from ``lost``, inside
    the reacquire gate and of a compatible class."""
    best: tuple[float, Track] | None = None
    for host in hosts:
        if host.number == lost.number or not compatible(cls, host.evidence.label):
            continue
        d2 = reacquire_d2(lost, host, config)
        if d2 <= config.reacquire_gate_d2 and (best is None or d2 < best[0]):
            best = (d2, host)
    return None if best is None else best[1]

