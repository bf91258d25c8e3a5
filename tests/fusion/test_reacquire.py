"""How long a lost alert waits for its object (:func:`perimeter.fusion.reacquire.wait_s`)."""

from __future__ import annotations

import numpy as np

from perimeter.fusion.alert_config import REACH_M, AlertConfig
from perimeter.fusion.reacquire import wait_s
from tests.fusion.test_alert import alertable


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
