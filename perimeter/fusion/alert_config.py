"""The alerter's settings: when a track alerts, how its alert is kept, and severity bands."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["REACH_M", "AlertConfig"]

REACH_M = 1500.0
"""The reach of the reach-sized wait when it is on (``AlertConfig.reacquire_reach_m``)."""


@dataclass(frozen=True, slots=True)
class AlertConfig:
    update_interval_s: float = 5.0
    min_motion_windows: int = 2
    """Completed motion windows (see :mod:`.classify`) before a track alerts, unless it is a
    vehicle with evidence no animal gives (``TrackEvidence.vehicle_corroborated``) or its
    first window already leaves the animal hypothesis at ``early_max_animal_probability``."""
    early_max_animal_probability: float = 0.02
    """A track alerts after one motion window, not ``min_motion_windows``, when its animal
    probability is at most this (a seventh of ``max_animal_probability``: the second
    window is waited for while one window leaves an animal possible, an animal's first
    straight stretch). 0: off (docs/fusion.md "Latency")."""
    own_window_s: float = 0.0
    """A track alerts only once none of its associations of the last ``own_window_s`` was
    ambiguous (:attr:`.TrackEvidence.ambiguous_t_s`: a bearing another track also gated, or
    one of several in its gate), so the motion and features it alerts on are its own. 0: off
    (docs/fusion.md "Track score and confirmation")."""
    corroborated_own_s: float = 25.0
    """A corroborated vehicle skips the motion windows only once none of its associations
    of the last ``corroborated_own_s`` was ambiguous (:attr:`.TrackEvidence.ambiguous_t_s`):
    a size, a sound or a speed read on a path that may be stitched from several objects
    (a herd, a field of wind clutter) corroborates no one vehicle, and the track waits for
    its motion windows like any other. 25 s (a motion window) by default since every
    report is scored; 0: off (docs/fusion.md "The late path's evidence", "Late reports and
    the reorder hold")."""
    own_window_labels: tuple[str, ...] = ("person", "group")
    """The labels ``own_window_s`` holds: people's (a vehicle heard by a dozen towers
    shares its wide acoustic gates with every track near it)."""
    max_height_m: float = 0.0
    """A track whose thermal centroid reads further than this above or below the ground
    (the median of its readings, :attr:`.Features.height_m`) is not where the track puts
    it: the elevation angles disagree with its range (a mislocated track, a ghost), and it
    does not alert. 0: off (docs/fusion.md "Track score and confirmation")."""
    max_animal_probability: float = 0.15
    """A track of another class does not raise an alert while it may still be an animal."""
    settled_continues: bool = True
    """Nor does it continue a waiting alert (:mod:`.reacquire`) while it may: its class must
    be as settled as it would have to be to raise one. On ``long-lens-night`` a far walker's
    lost alert went to a dog's track 165 m off the walker (person 0.72, animal 0.23: it
    could not have raised an alert of its own) and the walker's own track, confirmed 60 s
    later, raised a second alert. False: any track of a compatible class in the gate
    continues it (docs/fusion.md "Alerts")."""
    close_confidence_ratio: float = 0.2
    """An open alert closes as reclassified only below this share of ``alert.min_confidence``
    (hysteresis: a slow mover judged near the animal boundary must not open and close
    alerts window after window)."""
    reclassify_hold_s: float = 180.0
    """An alert whose track falls below the close threshold is held (no events) this long
    before it closes as reclassified; if the track meets every condition to alert again
    meanwhile, the alert goes on (one alert, not two, for an object judged an animal for a
    while). 0: closes at once. 180 s: on long-lens-night the far group's track was judged an
    animal and alerted again 175 s later (docs/fusion.md "Alerts")."""
    doubt_waits: bool = True
    """An alert still in doubt when the hold is over waits, where it last showed its object,
    for a track of an alerting class to continue it (``reacquire`` rules) and closes
    ``reclassified`` only when that wait is over, instead of closing at once: a crawler judged
    an animal for minutes and tracked again as a person is one alert (docs/fusion.md "Alerts").
    False: closes at the end of the hold."""
    join_live: bool = True
    """Two live tracks that the same-object test (:mod:`.alert_join`) says are one object
    share one alert: the one raised first. The later one closes (``reason: duplicate``,
    ``duplicate_of`` the first) or is not raised; its track continues the first alert if
    that one's track is lost."""
    join_scans: int = 6
    """Samples of the same-object test summed (one per ``join_interval_s``: 30 s)."""
    join_interval_s: float = 5.0
    join_probability: float = 0.99
    """The sum's chi-square quantile (4 dof per sample)."""
    require_motion: bool = True
    """A track alerts only once it has moved (:func:`.clutter.moved`), on every path
    (imaged or fixed): a hot spot two imagers triangulate, a blast or a ghost stays put."""
    motion_min_age_s: float = 10.0
    motion_probability: float = 0.99
    reacquire_s: float = 300.0
    """The shortest wait (:func:`.reacquire.wait_s` sizes it by the object's reach; with
    ``reacquire_reach_m`` 0, the wait). A lost track's alert stays open at least this long
    for a new track to continue it (was 60 s: a far group at night is lost for 2-10 minutes
    between stretches of track, and each new track raised a duplicate alert)."""
    reacquire_reach_m: float = 0.0
    """A lost alert waits until the reacquire gate (:func:`.reacquire.wait_s`), grown with the
    gap by its class family's speed spread, would reach this far: a track further off than
    that is no longer evidence of the same object (1.5 km, :data:`REACH_M`: about a tower's
    spacing, where another tower's view, and another object, begin). 0 (default): the fixed
    ``reacquire_s``. Off: on line-abreast it let another person's track, 200 m to the side
    560 s later, continue a lost person's alert, so that person raised none (docs/fusion.md
    "Alerts", "A lost alert's wait by its reach")."""
    reacquire_max_s: float = 570.0
    """The longest wait: the live service's idle clock runs at most 600 s past the last report
    (``services/idle_clock.py``) and a lost track is deleted up to ``track.max_coast_s`` (30 s)
    after it, so an alert of a stream that stopped still closes."""
    settle_probability: float = 0.0
    """A confirmed track that a waiting alert of another class family could be the object of
    (within the reacquire gate, class aside), whose own family's probability is below this,
    opens no alert of its own while that alert waits: its class is not settled yet, and once
    it agrees with the waiting alert's it continues that alert (:func:`.alert_waiting.held`).
    0 (default): off. Measured with the revisit-spanning initiator (docs/fusion.md): a heavy
    vehicle's next track, labelled ``group`` at 0.5 when confirmed and ``vehicle`` 44 s later,
    raised a second alert beside its first, waiting one."""
    ride_host: bool = True
    """A lost track's alert whose last position lies in the reacquire gate of a live track
    holding another open alert waits on that track while it holds its alert, and a track
    splitting off it continues the waiting alert (:mod:`.alert_ride`: coalescence, two
    objects walking together tracked as one; ``groups-meeting``'s duplicate). False: it
    waits where it was lost (docs/fusion.md "Alerts")."""
    reacquire_gate_d2: float = 9.21  # chi-square 2 dof, 99 %
    reacquire_horizon_s: float = 60.0
    reacquire_floor_m: float = 100.0
    reacquire_speed_sigma_mps: tuple[tuple[str, float], ...] = (
        ("people", 0.7), ("vehicle", 4.0), ("other", 1.5))
    """Nominal spread of an object's average speed change over a gap, by class family:
    walkers and groups 1-1.5 m/s, not above ~2 m/s sustained (0.7 m/s x 3.03 at the 99 %
    gate); vehicles off road 5-15 m/s. Nominal values, not fitted to any run."""
    triangulation_window_s: float = 10.0
    origin_refresh_s: float = 120.0
    critical_distance_m: float = 250.0
    high_distance_m: float = 1000.0
    medium_distance_m: float = 3000.0
    critical_time_s: float = 180.0
    high_time_s: float = 1200.0
