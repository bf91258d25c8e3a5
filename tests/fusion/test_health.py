from __future__ import annotations

from perimeter.contract import TowerStatus
from perimeter.fusion.health import TowerHealth
from perimeter.site import western_heights


def health(timeout_s: float = 15.0) -> TowerHealth:
    counter = iter(range(1, 100))
    return TowerHealth(western_heights(), lambda: f"a-{next(counter):06d}", timeout_s)


def heard_all(h: TowerHealth, t_s: float) -> None:
    for tower in western_heights().towers:
        h.heard(tower.id, t_s)


def test_offline_status_raises_a_fault_and_online_closes_it() -> None:
    h = health()
    h.start(0.0)
    heard_all(h, 1.0)
    assert h.check(1.0) == []
    h.status(TowerStatus(tower_id="T05", state="offline"), 2.0)
    assert h.check(2.0) == []  # not yet told from the whole site going down
    heard_all(h, 2.5)  # the others are heard after it went: the fault is T05's
    (new,) = h.check(2.5)
    assert (new.event, new.class_, new.towers) == ("new", "tower_fault", ["T05"])
    assert new.fault == "offline" and new.reason is None
    assert h.check(3.0) == []  # one alert per episode
    heard_all(h, 4.0)
    h.status(TowerStatus(tower_id="T05", state="online", t_s=4.0), 4.0)
    (closed,) = h.check(4.0)
    assert (closed.event, closed.alert_id, closed.reason) == ("closed", new.alert_id, "recovered")


def test_a_site_going_offline_tower_by_tower_is_one_site_fault() -> None:
    h = health(timeout_s=10.0)
    h.start(0.0)
    heard_all(h, 1.0)
    ids = [t.id for t in western_heights().towers]
    events = []
    for i, tower_id in enumerate(ids):  # the towers' last wills, checks in between
        h.status(TowerStatus(tower_id=tower_id, state="offline"), 1.0)
        events += h.check(1.0 + 0.5 * i)
    for t in range(8, 40):  # data time goes on (fusion's idle clock), nothing is heard
        events += h.check(float(t))
    (site,) = events
    assert (site.event, site.class_, site.fault, site.towers) == (
        "new", "tower_fault", "site_silent", ids)
    assert site.severity == "critical" and site.position is not None
    heard_all(h, 41.0)
    for tower_id in ids:
        h.status(TowerStatus(tower_id=tower_id, state="online", t_s=41.0), 41.0)
    (back,) = h.check(41.0)
    assert (back.event, back.alert_id, back.reason) == ("closed", site.alert_id, "recovered")


def test_a_site_gone_silent_is_one_site_fault_not_a_fault_per_tower() -> None:
    h = health(timeout_s=10.0)
    h.start(0.0)
    events = []
    for t in range(0, 60):
        if t < 20:  # every tower reports, one after the other, then nothing more
            for k, tower in enumerate(western_heights().towers):
                h.heard(tower.id, t + 0.05 * k)
        events += h.check(float(t))
    assert [(e.event, e.fault, len(e.towers)) for e in events] == [("new", "site_silent", 12)]
    assert [(e.event, e.reason) for e in h.close_all(60.0)] == [("closed", "stream_end")]


def test_silence_past_the_heartbeat_timeout_is_a_fault() -> None:
    h = health(timeout_s=10.0)
    h.start(0.0)
    for t in range(0, 30):
        for tower in western_heights().towers:
            if tower.id != "T09" or t < 5:
                h.heard(tower.id, float(t))
        events = h.check(float(t))
        if t < 15:
            assert events == []
        elif t == 15:  # last heard at 4 s, silent for more than 10 s
            assert [(e.event, e.towers) for e in events] == [("new", ["T09"])]
    h.heard("T09", 30.0)
    heard_all(h, 30.0)
    assert [e.event for e in h.check(30.0)] == ["closed"]


def test_failed_sensor_is_a_fault_naming_the_sensor() -> None:
    h = health()
    h.start(0.0)
    status = TowerStatus.model_validate({"tower_id": "T02", "state": "degraded", "t_s": 1.0,
                                         "sensors": {"thermal": {"state": "failed"}}})
    h.status(status, 1.0)
    heard_all(h, 1.0)
    (new,) = h.check(1.0)
    assert new.sensors == ["thermal"] and new.severity == "medium"
    assert [e.event for e in h.close_all(2.0)] == ["closed"]


def test_a_jump_in_data_time_does_not_make_every_tower_silent() -> None:
    h = health(timeout_s=10.0)
    h.start(0.0)
    heard_all(h, 0.0)  # retained statuses, with old times
    assert h.check(0.0) == []
    h.heard("T01", 100.0)  # the first live report, long after
    assert h.check(100.0) == []  # nobody was listening in between
    for t in range(101, 112):
        h.heard("T01", float(t))
        events = h.check(float(t))
    assert sorted(e.towers[0] for e in events) == [t.id for t in western_heights().towers
                                                   if t.id != "T01"]  # now they are silent


def test_a_resumed_silent_fault_holds_until_the_tower_is_heard_after_it() -> None:
    h = health(timeout_s=10.0)
    assert h.resume("T04", "a-000042", "silent", 50.0)
    assert not h.resume("T04", "a-000043", "silent", 50.0)  # taken over once
    assert not h.resume("T99", "a-000044", "offline", 50.0)
    h.start(10.0)
    heard_all(h, 10.0)  # T04's retained status is older than its alert: still silent
    assert h.check(60.0) == []
    heard_all(h, 61.0)
    (closed,) = h.check(61.0)
    assert (closed.event, closed.alert_id, closed.fault) == ("closed", "a-000042", "silent")


def test_a_will_delivered_after_the_towers_birth_is_refuted_by_its_later_reports() -> None:
    """A clustered broker may deliver a tower's will after the status the tower sent on
    reconnecting; the tower never says online again, but its reports show it is back."""
    h = health()
    h.start(0.0)
    heard_all(h, 1.0)
    h.status(TowerStatus(tower_id="T05", state="online", t_s=9.0), 9.0)  # the birth, first
    h.status(TowerStatus(tower_id="T05", state="offline"), 10.0)  # then the will
    heard_all(h, 10.5)
    (new,) = h.check(10.5)
    assert (new.event, new.towers, new.fault) == ("new", ["T05"], "offline")
    h.heard("T05", 11.0, stamped_t_s=9.8)  # sent before it went: in flight, no proof
    assert h.check(11.0) == []
    h.heard("T05", 13.0, stamped_t_s=12.5)  # stamped after the will arrived
    (closed,) = h.check(13.0)
    assert (closed.event, closed.alert_id, closed.reason) == ("closed", new.alert_id, "recovered")


def test_an_offline_tower_stays_offline_while_only_late_reports_come() -> None:
    h = health()
    h.start(0.0)
    heard_all(h, 1.0)
    h.status(TowerStatus(tower_id="T05", state="offline"), 10.0)
    heard_all(h, 10.5)
    (new,) = h.check(10.5)
    for t_s in (11.0, 20.0, 40.0):  # forwarded after a link outage: stamped before it went
        h.heard("T05", t_s, stamped_t_s=9.0)
        heard_all(h, t_s)
        assert all(e.alert_id != new.alert_id or e.event != "closed" for e in h.check(t_s))
