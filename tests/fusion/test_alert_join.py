"""Two live tracks of one object share one alert (:mod:`perimeter.fusion.alert_join`)."""

from __future__ import annotations

import numpy as np
import pytest

from perimeter.contract import AlertEvent
from perimeter.fusion.alert import AlertConfig, TrackAlerter
from perimeter.fusion.alert_join import LiveJoin, pair_d2
from perimeter.fusion.track import Track
from perimeter.fusion.track_state import HISTORY_CAP, LATER_SPACING_S
from perimeter.store import AlertRecord
from perimeter.thresholds import Thresholds
from tests.fusion.helpers import PERIMETER
from tests.fusion.test_alert import alertable, seen_at


def walk(track: Track, t_s: float, y_m: float, sigma_m: float = 5.0) -> Track:
    """``track`` filtered at ``t_s`` on a walker heading west at 1.4 m/s along ``y_m``."""
    track.state.x = np.array([3000.0 - 1.4 * (t_s - 100.0), y_m, -1.4, 0.0])
    track.state.p = np.diag([sigma_m**2, sigma_m**2, 0.04, 0.04])
    track.state.t_s = t_s
    return seen_at(track, t_s)


def test_the_same_object_test_sums_several_scans() -> None:
    a, b = walk(alertable(1), 100.0, 0.0), walk(alertable(2), 100.0, 3.0)
    assert pair_d2(a, b) == pytest.approx(9.0 / 50.0)
    assert pair_d2(a, b) == pytest.approx(pair_d2(b, a))
    join = LiveJoin(AlertConfig())
    for t_s in range(100, 125, 5):  # five samples: not yet decided
        assert not join.observe(walk(a, t_s, 0.0), walk(b, t_s, 3.0), float(t_s))
    assert join.observe(walk(a, 125.0, 0.0), walk(b, 125.0, 3.0), 125.0)  # the sixth
    assert join.observe(a, b, 126.0)  # within join_interval_s: no new sample, still one
    join.ended(2)
    assert not join.same(1, 2)


def test_the_same_object_test_predicts_with_a_long_tracks_latest_process_noise() -> None:
    # a track past its first HISTORY_CAP states keeps later ones apart: its process noise
    # now is the last kept state's, not the one it had when its first states filled up
    a, b = walk(alertable(1), 100.0, 0.0), walk(alertable(2), 100.0, 3.0)
    for i in range(HISTORY_CAP):
        a.state.history.append(i * 0.5, a.state.x, a.state.p, 0.05)
    a.state.history.append(HISTORY_CAP * 0.5 + LATER_SPACING_S, a.state.x, a.state.p, 5.0)
    a.state.t_s = 90.0  # predicted 10 s to b's time: the process noise shows
    small = walk(alertable(3), 100.0, 0.0)
    small.state.t_s = 90.0
    for i in range(3):
        small.state.history.append(i * 0.5, small.state.x, small.state.p, 0.05)
    assert pair_d2(a, b) < 0.5 * pair_d2(small, b)


def test_two_live_tracks_of_one_object_share_the_alert_raised_first(
        th: Thresholds, alerter: TrackAlerter) -> None:
    # long-lens-night, groups-meeting: a second live track on an alerted object raised a
    # second alert, and no rule joined two live alerts
    a, b = walk(alertable(1), 100.0, 0.0), walk(alertable(2), 100.0, 4.0)
    first = alerter.on_track(a, 100.0, th)
    second = alerter.on_track(b, 100.0, th)  # one scan says nothing yet: it alerts at once
    assert first is not None and second is not None and first.alert_id != second.alert_id
    events = []
    for t_s in np.arange(101.0, 141.0, 1.0):
        events += [alerter.on_track(walk(a, t_s, 0.0), t_s, th),
                   alerter.on_track(walk(b, t_s, 4.0 + np.sin(t_s)), t_s, th)]
    closed = [e for e in events if e is not None and e.event == "closed"]
    assert [(e.alert_id, e.reason, e.duplicate_of) for e in closed] == [
        (second.alert_id, "duplicate", first.alert_id)]
    assert closed[0].t_s == 125.0  # six samples, 5 s apart
    after = events[events.index(closed[0]) + 1:]
    assert any(e is not None for e in after)
    assert all(e.alert_id == first.alert_id for e in after if e is not None)
    # the first one's track is lost: the other continues its alert at once, gate or not
    assert alerter.on_deleted(a, 141.0, th) is None
    b.state.x[1] = 400.0
    go_on = alerter.on_track(b, 142.0, th)
    assert go_on is not None and (go_on.event, go_on.alert_id) == ("update", first.alert_id)
    assert go_on.track_id == "k-000002"


def test_a_track_judged_the_same_object_before_it_alerts_raises_nothing(
        th: Thresholds, alerter: TrackAlerter) -> None:
    a, b = walk(alertable(1), 100.0, 0.0), walk(alertable(2), 100.0, 2.0)
    b.evidence.class_windows = 0  # its motion not judged yet: it may not alert
    assert alerter.on_track(a, 100.0, th) is not None
    for t_s in np.arange(100.0, 131.0, 1.0):
        alerter.on_track(walk(a, t_s, 0.0), t_s, th)
        assert alerter.on_track(walk(b, t_s, 2.0), t_s, th) is None
    b.evidence.class_windows = 2  # it could alert now, but its object's alert is open
    assert alerter.on_track(walk(b, 131.0, 2.0), 131.0, th) is None
    assert b.alert_id is None


def test_people_close_together_keep_their_own_alerts(th: Thresholds,
                                                     alerter: TrackAlerter) -> None:
    # groups-meeting: two groups 10-30 m apart after they meet, each tracked to 1-2 m (d² in
    # the hundreds every scan); line-abreast and single-file: people 20-40 m apart
    a, b = walk(alertable(1), 100.0, 0.0, 2.0), walk(alertable(2), 100.0, 20.0, 2.0)
    ids = {e.alert_id for e in (alerter.on_track(a, 100.0, th), alerter.on_track(b, 100.0, th))
           if e is not None}
    assert len(ids) == 2
    for t_s in np.arange(101.0, 200.0, 1.0):
        for track, y_m in ((a, 0.0), (b, 20.0)):
            event = alerter.on_track(walk(track, t_s, y_m, 2.0), t_s, th)
            assert event is None or (event.event == "update" and event.alert_id in ids)
    # crossing paths: one scan at one spot, but their velocities disagree every scan
    c = walk(alertable(3), 200.0, 60.0)
    c.state.x[2:] = (0.0, 1.4)
    assert not LiveJoin(AlertConfig()).observe(a, c, 200.0)
    assert pair_d2(a, c) > 13.28
    off = TrackAlerter(PERIMETER, ["T01", "T02"], AlertConfig(join_live=False))
    x, y = walk(alertable(1), 100.0, 0.0), walk(alertable(2), 100.0, 1.0)
    for t_s in np.arange(100.0, 160.0, 1.0):
        for track, y_m in ((x, 0.0), (y, 1.0)):
            event = off.on_track(walk(track, t_s, y_m), t_s, th)
            assert event is None or event.event != "closed"


def test_a_duplicate_close_names_the_alert_that_goes_on() -> None:
    event = AlertEvent.model_validate({
        "event": "closed", "alert_id": "a-000003", "t_s": 5.0, "class": "person",
        "confidence": 0.9, "severity": "low", "reason": "duplicate",
        "duplicate_of": "a-000002"})
    assert event.to_payload()["duplicate_of"] == "a-000002"
    record = AlertRecord.from_latest(event, status="closed", first_t_s=1.0, last_t_s=5.0,
                                     updates=2, last_seq=9)
    assert record.duplicate_of == "a-000002"
    assert record.to_payload()["duplicate_of"] == "a-000002"
