"""Alert policy: which tracks may open or keep an alert in this fusion (sharded fusion's sector
ownership, :mod:`perimeter.shard`), as :class:`.alert.TrackAlerter` asks it."""

from __future__ import annotations

from typing import Protocol

from perimeter.fusion.alert_waiting import AlertState
from perimeter.fusion.track import Track


class AlertPolicy(Protocol):
    """Which tracks may open or keep an alert here (sharded fusion's sector ownership,
    :mod:`perimeter.shard`); without one every track may."""

    def admits(self, track: Track, t_s: float) -> bool:
        """May this track take an alert here (a new one, or one waiting to be reacquired)?"""
        ...

    def opens(self, track: Track, t_s: float) -> bool:
        """May this track, about to raise a new alert, raise it now?"""
        ...

    def keeps(self, track: Track, t_s: float) -> bool:
        """May this track keep its open alert here?"""
        ...

    def released(self, track: Track, t_s: float, state: AlertState) -> None:
        """The track's alert left this fusion without closing (:meth:`keeps` said no)."""
        ...
