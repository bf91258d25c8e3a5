from __future__ import annotations

import numpy as np

from perimeter.fusion.alert import AlertConfig, TrackAlerter, confidence, severity
from perimeter.fusion.alert_config import REACH_M
from perimeter.fusion.reacquire import wait_s
from perimeter.fusion.track import Track
from perimeter.store import AlertRecord
from perimeter.thresholds import Thresholds
from tests.fusion.helpers import PERIMETER, track_at


def seen_at(track: Track, t_s: float) -> Track:
    """``track`` triangulated just before ``t_s``: both imagers saw it in the last 2 s."""
    track.evidence.previous_seen_by = {(0, "thermal"): t_s - 2.0, (1, "thermal"): t_s - 1.0}
    return track


def waits_s(label: str = "person") -> float:
    """How long a lost alert last shown as ``label`` waits (the default reach rule)."""
    track = alertable()
    track.evidence.label = label
    return wait_s(track, AlertConfig())


def test_severity_rises_with_nearness_and_closing_speed() -> None:
    assert severity("person", 4000.0, 0.0) == "low"
    assert severity("person", 2500.0, 0.5) == "medium"
    assert severity("person", 2500.0, 2.5) == "high"  # 1000 s to the line
    assert severity("person", 200.0, 0.0) == "critical"
    assert severity("vehicle", 4000.0, 0.0) == "medium"  # vehicles one step up


def alertable(number: int = 1) -> Track:
    track = track_at(3000.0, 0.0, -1.4, 0.0, number=number)
    track.score.status = "confirmed"
    track.evidence.label, track.evidence.label_probability = "person", 0.9
    track.evidence.probabilities = {"person": 0.9, "animal": 0.1}
    track.score.llr = 30.0  # existence ~1
    track.evidence.class_windows = 2  # motion judged over two windows
    track.evidence.towers = {0, 1}
    track.evidence.sensors = {"thermal"}
    track.evidence.previous_seen_by = {(0, "thermal"): 98.0, (1, "thermal"): 98.5}  # triangulated
    for t_s in range(60, 100, 2):  # walked here at 1.4 m/s: it has moved
        x = np.array([3000.0 + 1.4 * (100 - t_s), 0.0, -1.4, 0.0])
        track.state.history.append(float(t_s), x, track.state.p, 0.05)
    return track


def test_a_track_that_has_not_moved_does_not_alert(th: Thresholds) -> None:
    standing = alertable()
    standing.state.history.reset()
    for t_s in range(60, 100, 2):  # a hot spot two imagers triangulate: it stays put
        standing.state.history.append(float(t_s), standing.state.x, standing.state.p, 0.05)
    assert TrackAlerter(PERIMETER, ["T01", "T02"]).on_track(standing, 100.0, th) is None
    relaxed = TrackAlerter(PERIMETER, ["T01", "T02"], AlertConfig(require_motion=False))
    assert relaxed.on_track(standing, 100.0, th) is not None
    assert TrackAlerter(PERIMETER, ["T01", "T02"]).on_track(alertable(), 100.0, th) is not None


def test_confidence_is_existence_times_alerting_class_probability() -> None:
    track = alertable()
    assert abs(confidence(track, Thresholds()) - 0.9) < 1e-3
    only_animals = Thresholds().patched({"alert.classes": ["animal"]})
    assert abs(confidence(track, only_animals) - 0.1) < 1e-3


def test_new_then_rate_limited_updates_then_closed(th: Thresholds) -> None:
    alerter = TrackAlerter(PERIMETER, ["T01", "T02"], first_number=7)
    track = alertable()
    new = alerter.on_track(track, 100.0, th)
    assert new is not None and new.event == "new" and new.alert_id == "a-000007"
    assert new.track_id == "k-000001" and new.towers == ["T01", "T02"]
    assert new.distance_to_perimeter_m == 2000.0
    assert alerter.on_track(track, 102.0, th) is None
    update = alerter.on_track(track, 105.0, th)
    assert update is not None and update.event == "update"
    track.evidence.label = "vehicle"
    assert alerter.on_track(track, 106.0, th) is not None
    assert alerter.on_deleted(track, 130.0, th) is None  # lost: waits to be reacquired
    wait_s = AlertConfig().reacquire_s
    assert alerter.expire(130.0 + wait_s - 1.0, th) == []
    (closed,) = alerter.expire(130.0 + wait_s + 1.0, th)  # not reacquired in time
    assert (closed.event, closed.alert_id, closed.reason) == ("closed", "a-000007", "track_lost")
    assert alerter.on_deleted(track, 192.0, th, final=True) is None


def test_the_end_of_a_stream_closes_every_alert_saying_so(
        th: Thresholds, alerter: TrackAlerter) -> None:
    live, lost = alertable(1), alertable(2)
    lost.state.x[1] = 1500.0
    assert alerter.on_track(live, 100.0, th) is not None
    assert alerter.on_track(lost, 100.0, th) is not None
    assert alerter.on_deleted(lost, 110.0, th) is None
    closed = alerter.on_deleted(live, 120.0, th, final=True)
    assert closed is not None and (closed.event, closed.reason) == ("closed", "stream_end")
    (dormant,) = alerter.expire(120.0, th, final=True)
    assert (dormant.track_id, dormant.reason) == ("k-000002", "stream_end")


def test_a_lost_track_picked_up_again_keeps_its_alert(
        th: Thresholds, alerter: TrackAlerter) -> None:
    first = alertable(1)
    new = alerter.on_track(first, 100.0, th)
    assert new is not None and new.event == "new"
    alerter.on_deleted(first, 110.0, th)
    again = alertable(2)
    again.state.x[0] = 3000.0 - 1.4 * 30.0  # where the first one was heading, 30 s later
    again.evidence.label = "group"
    seen_at(again, 130.0)
    resumed = alerter.on_track(again, 130.0, th)
    assert resumed is not None and resumed.event == "update"
    assert resumed.alert_id == new.alert_id and resumed.track_id == "k-000002"
    assert resumed.origin == new.origin
    assert alerter.expire(500.0, th) == []
    elsewhere = alertable(3)
    elsewhere.state.x[:2] = (5000.0, 2000.0)
    elsewhere.evidence.previous_seen_by = again.evidence.previous_seen_by
    assert alerter.on_track(elsewhere, 131.0, th).alert_id != new.alert_id  # type: ignore[union-attr]


def test_no_alert_for_tentative_low_confidence_or_non_alerting_class(
        th: Thresholds, alerter: TrackAlerter) -> None:
    tentative = alertable()
    tentative.score.status = "tentative"
    assert alerter.on_track(tentative, 1.0, th) is None
    animal = alertable(2)
    animal.evidence.label = "animal"
    animal.evidence.probabilities = {"animal": 0.9, "person": 0.1}
    assert alerter.on_track(animal, 1.0, th) is None
    doubtful = alertable(3)
    doubtful.score.llr = -1.0
    assert alerter.on_track(doubtful, 1.0, th) is None


def test_an_alert_reclassified_as_an_animal_is_closed_once(
        th: Thresholds, alerter: TrackAlerter) -> None:
    track = alertable()
    new = alerter.on_track(track, 100.0, th)
    assert new is not None and new.event == "new"
    track.evidence.label, track.evidence.label_probability = "animal", 0.6
    # confidence 0.4: inside the hysteresis
    track.evidence.probabilities = {"animal": 0.6, "person": 0.4}
    held = alerter.on_track(track, 105.0, th)
    assert held is not None and held.event == "update"
    # a crawler judged 75 % animal for a window keeps its alert too (no open/close flapping):
    # only below a fifth of min_confidence does it close
    track.evidence.probabilities = {"animal": 0.75, "person": 0.25}
    held = alerter.on_track(track, 110.0, th)
    assert held is not None and held.event == "update" and held.alert_id == new.alert_id
    track.evidence.probabilities = {"animal": 0.95, "person": 0.05}
    hold_s = AlertConfig().reclassify_hold_s  # held that long first, in case it comes back
    assert alerter.on_track(track, 115.0, th) is None
    # in doubt past the hold: it waits, where it last showed the object, for a track of an
    # alerting class to continue it, and closes once that wait is over
    assert alerter.on_track(track, 115.0 + hold_s, th) is None
    assert track.alert_id is None
    assert alerter.on_track(track, 120.0 + hold_s, th) is None  # an animal raises nothing more
    end_s = 115.0 + hold_s + waits_s("animal")  # the class its last event showed
    assert alerter.expire(end_s - 1.0, th) == []
    (closed,) = alerter.expire(end_s + 1.0, th)
    assert (closed.event, closed.alert_id) == ("closed", new.alert_id)
    assert closed.to_payload()["reason"] == "reclassified"
    assert alerter.on_deleted(track, end_s + 5.0, th, final=True) is None


def test_an_alert_left_open_by_a_crashed_run_is_continued_or_closed(th: Thresholds) -> None:
    first = TrackAlerter(PERIMETER, ["T01", "T02"])
    track = alertable()
    new = first.on_track(track, 100.0, th)
    assert new is not None and new.event == "new"
    # fusion restarts: a new alerter takes over what the store holds as open
    restarted = TrackAlerter(PERIMETER, ["T01", "T02"], first_number=2)
    stored = AlertRecord.from_latest(new, status="open", first_t_s=new.t_s, last_t_s=new.t_s,
                                     updates=1, last_seq=1)
    assert restarted.resume(stored)
    again = alertable(5)
    again.state.x[0] = 3000.0 - 1.4 * 20.0  # the object 20 s later, tracked afresh
    again.first_t_s = again.state.t_s = 115.0  # by the restarted run
    again.evidence.previous_seen_by = {(0, "thermal"): 119.0, (1, "thermal"): 119.5}
    continued = restarted.on_track(again, 120.0, th)
    assert continued is not None and continued.event == "update"
    assert continued.alert_id == new.alert_id and continued.origin == new.origin
    # one left open and never seen again closes once reacquire_s has passed
    other = TrackAlerter(PERIMETER, ["T01", "T02"], first_number=2)
    assert other.resume(stored)
    assert other.expire(100.0 + waits_s() - 1.0, th) == []
    (closed,) = other.expire(100.0 + waits_s() + 1.0, th)
    assert closed.event == "closed" and closed.alert_id == new.alert_id
    assert closed.reason == "track_lost"
    assert closed.towers == ["T01", "T02"]


def test_a_vehicle_alerts_at_once_only_with_evidence_an_animal_cannot_give(
        th: Thresholds, alerter: TrackAlerter) -> None:
    track = alertable()
    track.evidence.label, track.evidence.probabilities = "vehicle", {"vehicle": 0.9, "animal": 0.05}
    track.evidence.class_windows = 0  # no motion judged yet
    assert alerter.on_track(track, 100.0, th) is None  # fast on the filter alone: waits
    track.evidence.vehicle_corroborated = True  # a vehicle-sized image, engine sound or a fast path
    new = alerter.on_track(track, 101.0, th)
    assert new is not None and new.event == "new" and new.class_ == "vehicle"


def test_a_corroborated_vehicle_on_an_ambiguous_path_waits_for_its_motion_windows(
        th: Thresholds) -> None:
    """A vehicle-sized image moving fast, read on a path stitched from a herd or a field of
    wind clutter (an ambiguous association in its last motion window), corroborates no one
    vehicle: with ``corroborated_own_s`` (25 s by default) the track waits for its motion
    windows."""
    config = AlertConfig()
    off = AlertConfig(corroborated_own_s=0.0)
    ghost = alertable()
    ghost.evidence.label, ghost.evidence.probabilities = "vehicle", {"vehicle": 0.95,
                                                                    "animal": 0.01}
    ghost.evidence.class_windows = 0
    ghost.evidence.vehicle_corroborated = True
    ghost.evidence.ambiguous_t_s = 90.0  # 10 s ago
    assert TrackAlerter(PERIMETER, ["T01", "T02"], config).blocker(ghost, 100.0, th) == "windows"
    assert TrackAlerter(PERIMETER, ["T01", "T02"], off).blocker(ghost, 100.0, th) is None
    ghost.evidence.ambiguous_t_s = 74.0  # 26 s ago: its last window is its own
    assert TrackAlerter(PERIMETER, ["T01", "T02"], config).blocker(ghost, 100.0, th) is None
    ghost.evidence.ambiguous_t_s = 90.0
    ghost.evidence.class_windows = 2  # two windows judged: it alerts as any track does
    assert TrackAlerter(PERIMETER, ["T01", "T02"], config).blocker(ghost, 100.0, th) is None


def test_own_window_holds_an_alert_while_associations_are_ambiguous(th: Thresholds) -> None:
    config = AlertConfig(own_window_s=25.0)
    shared = alertable()
    shared.evidence.ambiguous_t_s = 90.0  # a bearing another track gated, 10 s ago
    assert TrackAlerter(PERIMETER, ["T01", "T02"], config).blocker(shared, 100.0, th) == "ambiguous"
    assert TrackAlerter(PERIMETER, ["T01", "T02"], config).on_track(shared, 100.0, th) is None
    assert TrackAlerter(PERIMETER, ["T01", "T02"]).on_track(shared, 100.0, th) is not None
    car = alertable()
    car.evidence.label, car.evidence.probabilities = "vehicle", {"vehicle": 0.9, "animal": 0.1}
    car.evidence.ambiguous_t_s = 90.0  # people's labels only: a car shares acoustic gates
    assert TrackAlerter(PERIMETER, ["T01", "T02"], config).blocker(car, 100.0, th) is None
    shared.evidence.ambiguous_t_s = 74.0  # 26 s ago: the last window is its own
    assert TrackAlerter(PERIMETER, ["T01", "T02"], config).on_track(shared, 100.0, th) is not None


def test_an_object_lost_for_minutes_and_found_where_it_could_be_keeps_its_alert(
        th: Thresholds, alerter: TrackAlerter) -> None:
    first = alertable(1)
    new = alerter.on_track(first, 100.0, th)
    assert new is not None and new.event == "new"
    alerter.on_deleted(first, 130.0, th)
    # four minutes out of sight; it turned and walked 350 m north instead of on west
    assert alerter.expire(370.0, th) == []
    again = alertable(2)
    again.state.t_s = 370.0
    again.state.x[:2] = (3000.0, 350.0)
    seen_at(again, 370.0)
    resumed = alerter.on_track(again, 370.0, th)
    assert resumed is not None and resumed.event == "update"
    assert resumed.alert_id == new.alert_id and resumed.track_id == "k-000002"


def test_a_lost_alert_is_not_continued_by_what_could_not_be_the_object(th: Thresholds) -> None:
    seen = {(0, "thermal"): 158.0, (1, "thermal"): 159.0}
    # a walker cannot cover 1.5 km in a minute; an animal or a car does not continue a person
    for x_m, y_m, label in ((3000.0, 1500.0, "person"), (2920.0, 0.0, "animal"),
                            (2920.0, 0.0, "vehicle")):
        alerter = TrackAlerter(PERIMETER, ["T01", "T02"], AlertConfig(require_motion=False))
        first = alertable(1)
        new = alerter.on_track(first, 100.0, th)
        assert new is not None
        alerter.on_deleted(first, 130.0, th)
        other = alertable(2)
        other.state.t_s = 160.0
        other.state.x[:2] = (x_m, y_m)
        other.evidence.label = label
        other.evidence.probabilities = {label: 0.9, "animal": 0.1 if label != "animal" else 0.9}
        other.evidence.vehicle_corroborated = True
        other.evidence.previous_seen_by = seen
        event = alerter.on_track(other, 160.0, th)
        assert event is None or (event.event == "new" and event.alert_id != new.alert_id)


def test_a_track_whose_centroid_reads_far_off_the_ground_does_not_alert(th: Thresholds) -> None:
    config = AlertConfig(max_height_m=5.0)
    ghost = alertable()
    feats = ghost.evidence.features
    for _ in range(6):  # elevation angles that put its centroid 50 m up: not at that range
        feats.heights_m.append(50.0)
        feats.height_sigmas_m.append(0.5)
    assert TrackAlerter(PERIMETER, ["T01", "T02"], config).blocker(ghost, 100.0, th) == "mislocated"
    assert TrackAlerter(PERIMETER, ["T01", "T02"]).blocker(ghost, 100.0, th) is None
    walker = alertable()
    for _ in range(6):
        walker.evidence.features.heights_m.append(0.9)
        walker.evidence.features.height_sigmas_m.append(0.5)
    assert TrackAlerter(PERIMETER, ["T01", "T02"], config).blocker(walker, 100.0, th) is None
    assert TrackAlerter(PERIMETER, ["T01", "T02"], config).blocker(alertable(), 100.0, th) is None


def test_with_a_hold_an_object_judged_an_animal_for_a_while_keeps_its_one_alert(
        th: Thresholds) -> None:
    config = AlertConfig(reclassify_hold_s=180.0)
    alerter = TrackAlerter(PERIMETER, ["T01", "T02"], config)
    track = alertable()
    new = alerter.on_track(track, 100.0, th)
    assert new is not None
    person = (track.evidence.label, dict(track.evidence.probabilities))
    track.evidence.label, track.evidence.probabilities = "animal", {"animal": 0.95, "person": 0.05}
    assert alerter.on_track(track, 110.0, th) is None  # held, not closed
    assert alerter.on_track(track, 200.0, th) is None
    track.evidence.label, track.evidence.probabilities = person
    back = alerter.on_track(track, 250.0, th)
    assert back is not None and (back.event, back.alert_id) == ("update", new.alert_id)
    # judged an animal for longer than the hold: it waits, then closes as reclassified
    track.evidence.label, track.evidence.probabilities = "animal", {"animal": 0.95, "person": 0.05}
    assert alerter.on_track(track, 260.0, th) is None
    assert alerter.on_track(track, 441.0, th) is None
    assert alerter.on_track(track, 450.0, th) is None
    (closed,) = alerter.expire(441.0 + waits_s() + 1.0, th)
    assert (closed.event, closed.alert_id, closed.reason) == ("closed", new.alert_id,
                                                              "reclassified")


def test_an_alert_back_above_the_close_threshold_is_not_closed_by_the_hold(th: Thresholds) -> None:
    """The hold is for doubt: once the class is back above the close threshold (hysteresis),
    the alert goes on even while another condition still keeps a new alert from opening."""
    alerter = TrackAlerter(PERIMETER, ["T01", "T02"], AlertConfig(reclassify_hold_s=180.0))
    track = alertable()
    new = alerter.on_track(track, 100.0, th)
    assert new is not None
    track.evidence.label, track.evidence.probabilities = "animal", {"animal": 0.95, "person": 0.05}
    assert alerter.on_track(track, 110.0, th) is None  # in doubt: held
    # a person again, but with an animal probability that would keep a new alert from opening
    track.evidence.label, track.evidence.probabilities = "person", {"person": 0.8, "animal": 0.2}
    assert alerter.blocker(track, 150.0, th) is not None
    events = [alerter.on_track(track, t_s, th) for t_s in (150.0, 300.0, 400.0)]
    kinds = [(e.event, e.alert_id) for e in events if e is not None]
    assert kinds and all(k == ("update", new.alert_id) for k in kinds)


def test_a_track_that_slid_off_its_object_leaves_its_alert_where_it_last_showed_it(
        th: Thresholds, alerter: TrackAlerter) -> None:
    # default: a car's track, followed by one tower, slid a kilometre along its line of sight
    # (impossible heat-centre heights); the car's next track continued nothing and alerted again
    first = alertable(1)
    new = alerter.on_track(first, 100.0, th)
    assert new is not None
    first.evidence.mislocated_t_s = 104.0  # a reading 20 m below the ground at its range
    first.state.x[:2] = (3900.0, 0.0)
    assert alerter.on_track(first, 106.0, th) is None  # no event at a position not believed
    assert alerter.on_track(first, 111.0, th) is None
    again = alertable(2)  # the object's next track, near where the alert last put it
    again.state.x[0] = 3000.0 - 1.4 * 40.0
    seen_at(again, 140.0)
    resumed = alerter.on_track(again, 140.0, th)
    assert resumed is not None and resumed.event == "update" and resumed.alert_id == new.alert_id
    assert alerter.on_deleted(first, 150.0, th) is None  # its alert went on with the new track


def test_a_track_no_longer_held_by_its_detections_frees_its_alert(
        th: Thresholds, alerter: TrackAlerter) -> None:
    # day-vehicles-flanks: a car's track ran off at 24 m/s with its existence near 0 and kept
    # reporting until the stream ended, while the car's next track raised another alert
    first = alertable(1)
    new = alerter.on_track(first, 100.0, th)
    assert new is not None
    first.score.llr = 0.0  # existence 0.007: far below the close threshold
    assert alerter.on_track(first, 106.0, th) is None
    first.score.llr = 30.0  # held again where the alert left it: the same track goes on
    seen_at(first, 112.0)
    back = alerter.on_track(first, 112.0, th)
    assert back is not None and back.event == "update" and back.alert_id == new.alert_id
    first.score.llr = 0.0
    assert alerter.on_track(first, 118.0, th) is None
    (closed,) = alerter.expire(118.0 + waits_s() + 1.0, th)
    assert closed.reason == "track_lost" and closed.position is not None
    assert closed.position.x_m == 3000.0  # where it was last shown, not where it ran off to


def test_an_alert_in_doubt_whose_track_ends_waits_for_the_object_in_an_alerting_class(
        th: Thresholds) -> None:
    # haze-slow-movers, long-lens-night: a person's alert held in doubt (its track judged an
    # animal for a while) was closed the moment that track ended, and the person's next
    # track, a person again 100 s later and 150 m on, raised a second alert
    alerter = TrackAlerter(PERIMETER, ["T01", "T02"], AlertConfig(reclassify_hold_s=180.0))
    first = alertable(1)
    new = alerter.on_track(first, 100.0, th)
    assert new is not None
    first.evidence.label, first.evidence.probabilities = "animal", {"animal": 0.6, "person": 0.4}
    shown = alerter.on_track(first, 105.0, th)  # the alert now shows an animal
    assert shown is not None and shown.class_ == "animal"
    first.evidence.probabilities = {"animal": 0.95, "person": 0.05}
    assert alerter.on_track(first, 110.0, th) is None  # in doubt: held
    assert alerter.on_deleted(first, 120.0, th) is None  # lost in doubt: it waits
    doubtful = alertable(2)  # a track there still in doubt does not continue it
    doubtful.state.x[0] = 3000.0 - 1.4 * 60.0
    seen_at(doubtful, 160.0)
    doubtful.evidence.label = "unknown"
    doubtful.evidence.probabilities = {"unknown": 0.9, "person": 0.05}
    assert alerter.on_track(doubtful, 160.0, th) is None
    # the object's next track, a person, where it could have got to: it settles the doubt
    again = alertable(3)
    again.state.x[0] = 3000.0 - 1.4 * 100.0
    seen_at(again, 200.0)
    resumed = alerter.on_track(again, 200.0, th)
    assert resumed is not None and (resumed.event, resumed.alert_id) == ("update", new.alert_id)
    # had no track come back, it closes as reclassified once the wait is over
    alerter2 = TrackAlerter(PERIMETER, ["T01", "T02"], AlertConfig(reclassify_hold_s=180.0))
    lone = alertable(1)
    assert alerter2.on_track(lone, 100.0, th) is not None
    lone.evidence.label, lone.evidence.probabilities = "animal", {"animal": 0.95, "person": 0.05}
    assert alerter2.on_track(lone, 110.0, th) is None
    assert alerter2.on_deleted(lone, 120.0, th) is None
    assert alerter2.expire(121.0, th) == []
    (closed,) = alerter2.expire(120.0 + waits_s() + 1.0, th)
    assert (closed.event, closed.reason) == ("closed", "reclassified")


def test_with_the_reach_wait_a_walker_lost_for_nine_minutes_keeps_its_alert(
        th: Thresholds) -> None:
    # single-file p2: its track lost for 560 s, the next 824 m on along its line at 1.47 m/s;
    # the fixed 300 s wait had closed the alert, and the next track raised a second one
    alerter = TrackAlerter(PERIMETER, ["T01", "T02"], AlertConfig(reacquire_reach_m=REACH_M))
    first = alertable(1)
    first.state.t_s = 100.0
    new = alerter.on_track(first, 100.0, th)
    assert new is not None
    assert alerter.on_deleted(first, 110.0, th) is None
    assert alerter.expire(665.0, th) == []  # 555 s on: still waiting
    fixed = TrackAlerter(PERIMETER, ["T01", "T02"])  # the default fixed wait: closed by then
    assert fixed.on_track(alertable(1), 100.0, th) is not None
    assert fixed.on_deleted(alertable(1), 110.0, th) is None
    assert [e.reason for e in fixed.expire(665.0, th)] == ["track_lost"]
    again = seen_at(alertable(2), 670.0)
    again.first_t_s = again.state.t_s = 670.0
    again.state.x[:2] = (3000.0 - 1.47 * 560.0, 30.0)
    resumed = alerter.on_track(again, 670.0, th)
    assert resumed is not None and (resumed.event, resumed.alert_id) == ("update", new.alert_id)
    # a car's alert waits no longer than before
    car = seen_at(alertable(3), 700.0)
    car.evidence.label, car.evidence.probabilities = "vehicle", {"vehicle": 0.9, "animal": 0.1}
    car.evidence.vehicle_corroborated = True
    raised = alerter.on_track(car, 700.0, th)
    assert raised is not None and raised.event == "new"
    assert alerter.on_deleted(car, 710.0, th) is None
    (closed,) = alerter.expire(710.0 + AlertConfig().reacquire_s + 1.0, th)
    assert (closed.alert_id, closed.reason) == (raised.alert_id, "track_lost")


def test_an_alert_in_doubt_past_the_hold_keeps_its_identity_for_the_objects_next_track(
        th: Thresholds) -> None:
    # haze-slow-movers crawl-1: its track judged an animal for the whole 180 s hold closed the
    # alert (reclassified); the crawler's next track, a person 211 s later and 200 m on,
    # raised a second alert
    hold_s = AlertConfig().reclassify_hold_s
    for waits in (True, False):
        alerter = TrackAlerter(PERIMETER, ["T01", "T02"], AlertConfig(doubt_waits=waits))
        crawler = alertable(1)
        crawler.state.x[2], crawler.state.t_s = -0.5, 100.0
        new = alerter.on_track(crawler, 100.0, th)
        assert new is not None
        crawler.evidence.label = "animal"
        crawler.evidence.probabilities = {"animal": 0.95, "person": 0.05}
        assert alerter.on_track(crawler, 105.0, th) is None  # in doubt: held
        end = alerter.on_track(crawler, 105.0 + hold_s, th)
        if not waits:  # as before: closed at the end of the hold
            assert end is not None and (end.event, end.reason) == ("closed", "reclassified")
            continue
        assert end is None and crawler.alert_id is None  # no close: it waits
        assert alerter.on_track(crawler, 400.0, th) is None  # still an animal: nothing
        again = seen_at(alertable(2), 500.0)  # the crawler's next track, a person
        again.first_t_s = again.state.t_s = 480.0
        again.state.x[:2] = (2800.0, 20.0)
        resumed = alerter.on_track(again, 500.0, th)
        assert resumed is not None
        assert (resumed.event, resumed.alert_id) == ("update", new.alert_id)


def test_one_motion_window_that_leaves_no_animal_doubt_is_enough_to_alert(
        th: Thresholds) -> None:
    track = alertable()
    track.evidence.class_windows = 1
    track.evidence.probabilities = {"person": 0.99, "animal": 0.01}
    # the rule before: a second window is waited for, whatever the first said
    waiting = TrackAlerter(PERIMETER, ["T01", "T02"],
                           AlertConfig(early_max_animal_probability=0.0))
    assert waiting.blocker(track, 100.0, th) == "windows"
    assert waiting.on_track(track, 100.0, th) is None
    track.evidence.probabilities = {"person": 1.0, "animal": 0.0}  # 0 is off, even at 0
    assert waiting.blocker(track, 100.0, th) == "windows"
    track.evidence.probabilities = {"person": 0.99, "animal": 0.01}
    alerter = TrackAlerter(PERIMETER, ["T01", "T02"])
    new = alerter.on_track(track, 100.0, th)
    assert new is not None and new.event == "new" and new.class_ == "person"


def test_one_motion_window_that_leaves_an_animal_possible_waits_for_the_second(
        th: Thresholds) -> None:
    track = alertable()
    track.evidence.class_windows = 1
    track.evidence.probabilities = {"person": 0.95, "animal": 0.05}  # below the 0.15 bar
    alerter = TrackAlerter(PERIMETER, ["T01", "T02"])
    assert alerter.blocker(track, 100.0, th) == "windows"
    track.evidence.class_windows = 0  # no window yet: nothing judged the motion
    track.evidence.probabilities = {"person": 0.999, "animal": 0.001}
    assert alerter.blocker(track, 100.0, th) == "windows"
    track.evidence.class_windows = 2
    track.evidence.probabilities = {"person": 0.95, "animal": 0.05}
    assert alerter.blocker(track, 100.0, th) is None


def test_a_track_whose_class_is_unsettled_continues_a_waiting_alert_of_another_class(
        th: Thresholds) -> None:
    # beyond-range (revisit initiator): a heavy vehicle's alerted track was lost; the vehicle's
    # next track was confirmed labelled ``group`` (people 0.55, vehicle 0.13), raised a second
    # alert beside the waiting one, and was labelled ``vehicle`` 44 s later
    def lost_car(alerter: TrackAlerter) -> str:
        car = alertable(1)
        car.state.x[2], car.state.t_s = -8.0, 100.0  # 8 m/s towards the line
        car.evidence.label, car.evidence.vehicle_corroborated = "vehicle", True
        car.evidence.probabilities = {"vehicle": 0.95, "animal": 0.05}
        new = alerter.on_track(car, 100.0, th)
        assert new is not None and new.class_ == "vehicle"
        alerter.on_deleted(car, 110.0, th)
        return new.alert_id

    def next_track(people: float) -> Track:
        again = seen_at(alertable(2), 200.0)
        again.state.x[0], again.state.t_s = 3000.0 - 8.0 * 100.0, 200.0  # where the car got to
        again.first_t_s = 150.0  # begun after the car's track was lost
        again.evidence.label = "group"
        again.evidence.probabilities = {"group": people - 0.05, "person": 0.05,
                                        "vehicle": 1.0 - people}
        return again

    cfg = AlertConfig(settle_probability=0.7)
    alerter = TrackAlerter(PERIMETER, ["T01", "T02"], cfg)
    first = lost_car(alerter)
    unsettled = next_track(0.55)
    assert alerter.on_track(unsettled, 200.0, th) is None  # held: no second alert
    unsettled.evidence.label = "vehicle"  # its class settles on the waiting alert's
    unsettled.evidence.probabilities = {"vehicle": 0.6, "group": 0.4}
    unsettled.evidence.vehicle_corroborated = True
    went_on = alerter.on_track(seen_at(unsettled, 240.0), 240.0, th)
    assert went_on is not None and went_on.event == "update" and went_on.alert_id == first
    # without the rule (the default) the unsettled track raises its own alert at once
    plain = TrackAlerter(PERIMETER, ["T01", "T02"])
    lost_car(plain)
    second = plain.on_track(next_track(0.55), 200.0, th)
    assert second is not None and second.event == "new"
    # a settled track of another class, or one out of the gate, opens its own as before
    settled = TrackAlerter(PERIMETER, ["T01", "T02"], cfg)
    lost_car(settled)
    own = settled.on_track(next_track(0.95), 200.0, th)
    assert own is not None and own.event == "new"
    far = TrackAlerter(PERIMETER, ["T01", "T02"], cfg)
    lost_car(far)
    away = next_track(0.55)
    away.state.x[:2] = (9000.0, 6000.0)
    assert (raised := far.on_track(away, 200.0, th)) is not None and raised.event == "new"
    # once the waiting alert has closed, the unsettled track opens its own
    late = TrackAlerter(PERIMETER, ["T01", "T02"], cfg)
    lost_car(late)
    assert late.expire(110.0 + waits_s("vehicle") + 1.0, th)
    after_s = 110.0 + waits_s("vehicle") + 2.0
    after = late.on_track(seen_at(next_track(0.55), after_s), after_s, th)
    assert after is not None and after.event == "new"
