"""What of each scan teaches the clutter map (:mod:`.clutter`).

Every detection but those a moving confirmed track took (:func:`.clutter.moved`; refreshed
every ``mover_refresh_s``). With ``ManageConfig.late_clutter_withheld`` a late detection an
unmoved live track took is held until the track moves or is gone (:mod:`.withheld`); with
``ManageConfig.late_clutter_dwell`` a late one no track took waits until its cell's run has
outlasted a walker's crossing (:mod:`.dwell`). See docs/fusion.md "The late path's
evidence".
"""

from __future__ import annotations

import math

import numpy as np

from perimeter.fusion.associate import Assignment
from perimeter.fusion.clutter import ClutterMap, moved
from perimeter.fusion.dwell import DwellGate, walker_dwell_s
from perimeter.fusion.engine_config import EngineConfig
from perimeter.fusion.scan import Scan
from perimeter.fusion.track import Track
from perimeter.fusion.withheld import WithheldClutter


class ClutterTeacher:
    """Teaches ``clutter_map`` each scan's detections but the tracks' they must not."""

    def __init__(self, clutter_map: ClutterMap, config: EngineConfig) -> None:
        self.clutter_map = clutter_map
        self.config = config.clutter
        manage = config.manage
        self.movers: set[int] = set()
        """Confirmed tracks that have moved: their detections do not teach the map."""
        self._movers_t_s = -math.inf
        self.withheld = WithheldClutter(manage.withheld_cap) if manage.late_clutter_withheld \
            else None
        self.dwell = DwellGate(clutter_map, walker_dwell_s(config.clutter, config.initiator),
                               config.clutter.window_cells
                               if manage.late_clutter_dwell_window else 0) \
            if manage.late_clutter_dwell else None

    def learn(self, scan: Scan, tracks: list[Track], found: Assignment) -> None:
        """Teach the map this scan but moving tracks' detections (a late scan: and unmoved
        tracks', held, with ``withheld``; one no track took once it has dwelt, with
        ``dwell``)."""
        key = (scan.tower_index, scan.sensor)
        if self.withheld is not None and scan.late:
            teach = self.withheld.hold(scan, tracks, found, self.movers, self.config.sensors)
        else:
            teach = np.ones(scan.size, dtype=bool)
            if found.tracks.size and self.movers:
                movers = self.movers
                for t_idx, d_idx in zip(found.tracks.tolist(), found.detections.tolist(),
                                        strict=True):
                    if tracks[t_idx].number in movers:
                        teach[d_idx] = False
        if self.dwell is not None and scan.late:  # no track's: only once it has dwelt
            free = np.ones(scan.size, dtype=bool)
            free[found.detections] = False
            teach = (teach & ~free) | self.dwell.admit(key, scan.bearing_rad, free, scan.t_s)
        self.clutter_map.learn(key, scan.bearing_rad, teach, scan.t_s)

    def refresh_movers(self, tracks: list[Track], t_s: float) -> None:
        """Which confirmed tracks have moved (every ``mover_refresh_s``); settle what
        ``withheld`` holds for them and for tracks gone."""
        cfg = self.config
        if t_s - self._movers_t_s < cfg.mover_refresh_s:
            return
        self._movers_t_s = t_s
        self.movers = {t.number for t in tracks if t.score.status == "confirmed"
                       and moved(t, t_s, cfg.min_age_s, cfg.motion_probability)}
        if self.withheld is not None:
            self.withheld.settle({t.number for t in tracks}, self.movers, self.clutter_map,
                                 t_s)
