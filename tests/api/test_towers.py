"""/api/v1/towers: state from retained status, per-sensor feeds from seq; the monitor's counting."""

from __future__ import annotations

import json

import pytest
from conftest import Live

from perimeter import topics
from perimeter.bus import Message
from perimeter.contract import FusionStatus, TowerRegistration, dump_payload
from perimeter.seq_feed import MAX_GAP, SensorFeed


def report(tower_id: str, sensor: str, seq: int, t_s: float) -> Message:
    payload = {"tower_id": tower_id, "sensor": sensor, "seq": seq, "t_s": t_s, "detections": []}
    return Message(topics.sensor(tower_id, sensor), json.dumps(payload).encode())


def status(tower_id: str, state: str) -> Message:
    payload = {"tower_id": tower_id, "state": state, "t_s": 900.0,
               "sensors": {"thermal": {"state": "ok"}, "acoustic": {"state": "failed"}}}
    return Message(topics.tower_status(tower_id), json.dumps(payload).encode(), retain=True)


@pytest.mark.integration
def test_towers_show_status_feeds_and_unknown(live: Live) -> None:
    live.bus.publish(status("T03", "degraded"))
    for seq, t_s in ((0, 1000.0), (1, 1000.5), (3, 1001.5), (4, 1002.0)):  # seq 2 lost
        live.bus.publish(report("T03", "thermal", seq, t_s))
    live.bus.publish(report("T03", "thermal", 4, 1002.0))  # a duplicate
    live.bus.publish(Message(topics.sensor("T03", "thermal"), b"{not json"))  # refused, counted
    live.bus.publish(Message(topics.FUSION_STATUS, dump_payload(FusionStatus(
        state="online", t_s=1002.0, counters={"received": 9, "rejected_bad_payload": 2,
                                              "rejected_unknown_tower": 1},
        registration={"T03": TowerRegistration(azimuth_bias_deg=0.41,
                                               azimuth_bias_sigma_deg=0.02, snapshots=80)})),
        retain=True))
    with live.client() as http:
        towers = {t["tower_id"]: t for t in http.get("/api/v1/towers").json()["items"]}
        metrics = http.get("/metrics").text
    assert list(towers) == [f"T{i:02d}" for i in range(1, 13)]
    t03 = towers["T03"]
    assert t03["state"] == "degraded" and t03["sensors"]["acoustic"]["state"] == "failed"
    assert t03["position"] == {"x_m": 0.0, "y_m": -1750.0}
    feed = t03["feeds"]["thermal"]
    assert (feed["last_seq"], feed["lost"], feed["duplicates"], feed["reports"]) == (4, 1, 1, 5)
    assert feed["last_report_t_s"] == 1002.0 and feed["rate_hz"] == pytest.approx(1.5)
    assert towers["T01"]["state"] == "unknown" and towers["T01"]["feeds"] == {}
    assert t03["registration"]["azimuth_bias_deg"] == 0.41
    assert t03["registration"]["azimuth_bias_sigma_deg"] == 0.02
    assert towers["T01"]["registration"] is None  # fusion said nothing of it
    assert 'perimeter_messages_rejected_total{reason="bad_payload",service="api"} 1.0' in metrics
    assert ('perimeter_messages_rejected_total{reason="bad_payload",service="fusion"} 2.0'
            in metrics)
    assert ('perimeter_messages_rejected_total{reason="unknown_tower",service="fusion"} 1.0'
            in metrics)
    assert 'perimeter_reports_received_total{sensor="thermal"} 5.0' in metrics


def test_feed_counts_late_reports_and_restarts() -> None:
    feed = SensorFeed()
    for seq in (10, 11, 14):
        feed.add(seq, float(seq), 0.0)
    assert feed.lost == 2
    feed.add(12, 12.0, 0.0)  # late, not lost after all
    assert (feed.lost, feed.late, feed.duplicates) == (1, 1, 0)
    feed.add(12, 12.0, 0.0)  # now a duplicate
    assert feed.duplicates == 1
    feed.add(14 + MAX_GAP, 900.0, 0.0)  # the largest gap still counted as loss
    assert feed.lost == 1 + MAX_GAP - 1 and feed.jumps == 0
    feed.add(0, 6000.0, 0.0)  # the tower restarted its counter
    assert feed.restarts == 1 and feed.highest_seq == 0 and feed.lost == MAX_GAP
    assert feed.view()["loss_ratio"] == pytest.approx(feed.lost / (feed.lost + 6))


def test_a_spoofed_seq_jump_does_not_poison_the_loss_count() -> None:
    feed = SensorFeed()
    for seq in range(100):
        feed.add(seq, seq * 0.5, 0.0)
    feed.add(10**18, 50.0, 0.0)  # one spoofed report far ahead
    assert (feed.lost, feed.jumps) == (0, 1)
    for seq in range(100, 110):  # the genuine stream carries on
        feed.add(seq, seq * 0.5, 0.0)
    view = feed.view()
    assert (view["lost"], view["seq_restarts"], view["seq_jumps"]) == (0, 1, 1)
    assert view["last_seq"] == 109 and view["loss_ratio"] == 0.0


@pytest.mark.integration
def test_a_seq_beyond_64_bits_is_refused(live: Live) -> None:
    for seq in (0, 1):
        live.bus.publish(report("T03", "thermal", seq, 1000.0 + seq))
    payload = json.dumps({"tower_id": "T03", "sensor": "thermal", "seq": 10**400,
                          "t_s": 1002.0, "detections": []}).encode()
    live.bus.publish(Message(topics.sensor("T03", "thermal"), payload))
    with live.client() as http:
        towers = {t["tower_id"]: t for t in http.get("/api/v1/towers").json()["items"]}
        metrics = http.get("/metrics").text
    feed = towers["T03"]["feeds"]["thermal"]
    assert (feed["last_seq"], feed["lost"], feed["reports"]) == (1, 0, 2)
    assert 'perimeter_messages_rejected_total{reason="bad_payload",service="api"} 1.0' in metrics


@pytest.mark.integration
def test_unknown_towers_are_counted_not_stored(live: Live) -> None:
    for i in range(2000):
        fake = f"X{i:05d}"
        live.bus.publish(Message(topics.tower_status(fake), json.dumps({
            "tower_id": fake, "state": "offline", "position": {"x_m": 1.0, "y_m": 2.0}}
        ).encode(), retain=True))
        live.bus.publish(report(fake, "thermal", 0, 1000.0))
    with live.client() as http:
        towers = [t["tower_id"] for t in http.get("/api/v1/towers").json()["items"]]
        metrics = http.get("/metrics").text
    assert towers == [f"T{i:02d}" for i in range(1, 13)]
    assert 'perimeter_messages_rejected_total{reason="unknown_tower",service="api"} 4000.0' in (
        metrics)


def test_the_monitor_keeps_only_site_towers() -> None:
    from perimeter.contract import SensorReport
    from services.api.towers_monitor import TowersMonitor

    monitor = TowersMonitor(["T01"])
    for i in range(500):
        assert not monitor.on_report(SensorReport(tower_id=f"Z{i}", sensor="thermal", seq=0,
                                                  t_s=1.0))
    assert monitor.on_report(SensorReport(tower_id="T01", sensor="thermal", seq=0, t_s=1.0))
    assert list(monitor.snapshot()) == ["T01"]


@pytest.mark.integration
def test_a_status_on_another_towers_topic_is_refused(live: Live) -> None:
    payload = json.dumps({"tower_id": "T02", "state": "offline"}).encode()
    live.bus.publish(Message(topics.tower_status("T01"), payload, retain=True))
    with live.client() as http:
        towers = {t["tower_id"]: t for t in http.get("/api/v1/towers").json()["items"]}
        metrics = http.get("/metrics").text
    assert towers["T02"]["state"] == "unknown" and towers["T01"]["state"] == "unknown"
    assert 'perimeter_messages_rejected_total{reason="bad_payload",service="api"} 1.0' in metrics
