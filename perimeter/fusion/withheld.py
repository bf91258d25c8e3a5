"""Late detections withheld from the clutter map while their track may be a slow walker.

With ``ManageConfig.late_clutter`` every late report teaches the clutter map, but a walker
that has not yet left its first place, beyond its errors, is not among the moving confirmed
tracks whose detections the map skips: its own bearings, six late for one in order, raise
the density along its path before its track can confirm. With
``ManageConfig.late_clutter_withheld`` a late detection a live track took, while that track
is not a moving confirmed one, is held here instead: dropped once the track is known to move
(:func:`.clutter.moved`), taught to the map, faded to that time, once the track is gone
without having moved (clutter, a ghost, a tentative track that died). See docs/fusion.md
"The late path's evidence".

A track that never moves and lives long (a hot spot's, in a service that runs for days) would
hold its detections without bound: each track holds at most ``cap`` (``ManageConfig.
withheld_cap``), the oldest dropped beyond it. Those would have been taught faded by their
age, the least of what is held; ``dropped`` counts them.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt

from perimeter.fusion.associate import Assignment
from perimeter.fusion.clutter import ClutterMap
from perimeter.fusion.scan import Scan
from perimeter.fusion.track import Track

BoolArray = npt.NDArray[np.bool_]

Held = tuple[tuple[int, str], float, float]
"""A held detection: its tower sensor, bearing (rad) and time (s)."""


class WithheldClutter:
    """Per track number, the late detections held from the clutter map."""

    def __init__(self, cap: int = 4096) -> None:
        self.cap = cap
        """The most detections held per track (the oldest dropped beyond)."""
        self.held: dict[int, deque[Held]] = {}
        self.dropped = 0
        """Detections dropped by the cap, never taught."""

    def hold(self, scan: Scan, tracks: list[Track], found: Assignment, movers: set[int],
             sensors: tuple[str, ...]) -> BoolArray:
        """The detections of ``scan`` to teach now: all but those taken by a track that is
        not a moving confirmed one (``movers``), which are dropped when taken by a mover
        and otherwise held. Sensors the map does not keep are not held."""
        teach = np.ones(scan.size, dtype=bool)
        if not found.tracks.size:
            return teach
        mapped = scan.sensor in sensors
        key = (scan.tower_index, scan.sensor)
        bearings = scan.bearing_rad.tolist()
        for t_idx, d_idx in zip(found.tracks.tolist(), found.detections.tolist(), strict=True):
            teach[d_idx] = False
            number = tracks[t_idx].number
            if mapped and number not in movers:
                held = self.held.get(number)
                if held is None:
                    held = self.held[number] = deque(maxlen=self.cap)
                elif len(held) == self.cap:
                    self.dropped += 1
                held.append((key, bearings[d_idx], scan.t_s))
        return teach

    def settle(self, live: set[int], movers: set[int], clutter_map: ClutterMap,
               t_s: float) -> int:
        """Drop the detections of tracks now known to move; teach ``clutter_map`` those of
        tracks no longer live (at ``t_s``, each faded by its age). The number taught."""
        taught = 0
        for number in [n for n in self.held if n in movers or n not in live]:
            held = self.held.pop(number)
            if number in live:
                continue
            for key, bearing_rad, held_t_s in held:
                clutter_map.learn_past(key, bearing_rad, held_t_s, t_s)
            taught += len(held)
        return taught
