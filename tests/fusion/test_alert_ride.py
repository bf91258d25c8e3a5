"""An alert lost beside another alerted track rides it (:mod:`perimeter.fusion.alert_ride`)."""

from __future__ import annotations

from perimeter.fusion.alert import AlertConfig, TrackAlerter
from perimeter.thresholds import Thresholds
from tests.fusion.helpers import PERIMETER
from tests.fusion.test_alert import alertable, seen_at


def test_an_alert_lost_beside_another_alerted_track_waits_on_it_and_goes_to_a_split(
        th: Thresholds) -> None:
    for ride_host in (True, False):
        alerter = TrackAlerter(PERIMETER, ["T01", "T02"], AlertConfig(ride_host=ride_host))
        g1, g2 = alertable(1), alertable(2)
        g2.state.x[1] = 40.0  # a second group 40 m beside the first
        first = alerter.on_track(g1, 100.0, th)
        second = alerter.on_track(g2, 100.0, th)
        assert first is not None and second is not None and first.alert_id != second.alert_id
        alerter.on_deleted(g1, 110.0, th)  # the groups meet: g2's track holds both
        closed = alerter.expire(500.0, th)  # past the 300 s wait
        if not ride_host:
            assert [e.alert_id for e in closed] == [first.alert_id]
            continue
        assert closed == []  # it rides g2's track, which still holds its alert
        split = seen_at(alertable(3), 600.0)  # a track splits off g2's
        split.state.t_s = 600.0
        split.state.x[:2] = (float(g2.state.x[0]), float(g2.state.x[1]) + 20.0)
        event = alerter.on_track(split, 600.0, th)
        assert event is not None and event.event == "update"
        assert event.alert_id == first.alert_id and event.track_id == "k-000003"


def test_a_riding_alert_waits_as_a_lost_one_once_its_host_is_lost(th: Thresholds) -> None:
    alerter = TrackAlerter(PERIMETER, ["T01", "T02"], AlertConfig(ride_host=True))
    g1, g2 = alertable(1), alertable(2)
    g2.state.x[1] = 40.0
    first = alerter.on_track(g1, 100.0, th)
    second = alerter.on_track(g2, 100.0, th)
    assert first is not None and second is not None
    alerter.on_deleted(g1, 110.0, th)
    assert alerter.expire(500.0, th) == []
    alerter.on_deleted(g2, 600.0, th)
    assert alerter.expire(610.0, th) == []  # both wait from the host's loss
    closed = alerter.expire(911.0, th)  # 300 s after it
    assert sorted(e.alert_id for e in closed) == sorted([first.alert_id, second.alert_id])
    assert all(e.reason == "track_lost" for e in closed)
    rider = next(e for e in closed if e.alert_id == first.alert_id)
    assert rider.track_id == "k-000001"  # the rider's own track, at the host's last place
    assert rider.position is not None and rider.position.y_m == 40.0
