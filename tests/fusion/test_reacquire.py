"""How long a lost alert waits for its object (:func:`perimeter.fusion.reacquire.wait_s`), and
which track may continue it."""

from __future__ import annotations

import numpy as np

from perimeter.fusion.alert import TrackAlerter
from perimeter.fusion.alert_config import REACH_M, AlertConfig
from perimeter.fusion.reacquire import wait_s
from perimeter.fusion.track import Track
from perimeter.thresholds import Thresholds
from tests.fusion.helpers import PERIMETER
from tests.fusion.test_alert import alertable, seen_at


def test_a_lost_alerts_wait_grows_with_how_far_its_object_could_have_gone() -> None:
    cfg = AlertConfig(reacquire_reach_m=REACH_M)
    walker, car = alertable(1), alertable(2)
    car.evidence.label = "vehicle"
    # the gate of a walker (0.7 m/s spread) reaches 1.5 km after ~690 s: bounded at the longest
    assert wait_s(walker, cfg) == cfg.reacquire_max_s > cfg.reacquire_s
    # a car's (4 m/s) after ~120 s: held at the shortest, the fixed wait of before
    assert wait_s(car, cfg) == cfg.reacquire_s
    # within the bounds, a less certain position leaves less room to wait for
    near = AlertConfig(reacquire_reach_m=1000.0)
    sure = wait_s(walker, near)
    assert cfg.reacquire_s < sure < cfg.reacquire_max_s
    vague = alertable(3)
    vague.state.p[:2, :2] = np.diag([200.0**2, 50.0**2])
    assert cfg.reacquire_s < wait_s(vague, near) < sure
    assert wait_s(walker, AlertConfig()) == cfg.reacquire_s  # off (the default): fixed


def _next_track(number: int, animal: float, t_s: float) -> Track:
    """A confirmed person track 30 m from where the lost walker was heading by ``t_s``, with
    animal probability ``animal``."""
    track = seen_at(alertable(number), t_s)
    track.state.t_s = t_s
    track.state.x[:2] = (3000.0 - 1.4 * (t_s - 100.0), 30.0)
    track.evidence.probabilities = {"person": 1.0 - animal, "animal": animal}
    return track


def test_a_track_that_may_still_be_an_animal_does_not_continue_a_waiting_alert(
        th: Thresholds) -> None:
    for settled_continues in (True, False):
        alerter = TrackAlerter(PERIMETER, ["T01", "T02"],
                               AlertConfig(settled_continues=settled_continues))
        walker = alertable(1)
        first = alerter.on_track(walker, 100.0, th)
        assert first is not None and first.event == "new"
        alerter.on_deleted(walker, 110.0, th)
        # a dog's track labelled person, but with animal 0.23: it could not raise an alert
        dog = alerter.on_track(_next_track(2, 0.23, 130.0), 130.0, th)
        if not settled_continues:  # as before: it takes the walker's alert
            assert dog is not None and dog.alert_id == first.alert_id
            continue
        assert dog is None  # neither continues the alert nor raises one
        # the walker's own track, its class settled, continues the one alert
        own = alerter.on_track(_next_track(3, 0.05, 150.0), 150.0, th)
        assert own is not None and own.event == "update"
        assert own.alert_id == first.alert_id and own.track_id == "k-000003"
