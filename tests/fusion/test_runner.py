from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from perimeter import topics
from perimeter.bus import Message
from perimeter.contract import AlertEvent
from perimeter.fusion.alert import AlertConfig
from perimeter.fusion.engine_config import EngineConfig
from perimeter.fusion.replay import CollectingOutput
from perimeter.fusion.runner import FusionRunner
from perimeter.site import western_heights
from perimeter.thresholds import Thresholds
from tests.fusion.synth import EPOCH_S, crb_rms_m, generate, straight, wandering

SITE = western_heights()


def run(messages: list[Message], thresholds: Thresholds | None = None,
        **kw: object) -> tuple[FusionRunner, CollectingOutput]:
    out = CollectingOutput(keep_snapshots=True)
    runner = FusionRunner(SITE, thresholds or Thresholds(), out, **kw)  # type: ignore[arg-type]
    for message in messages:
        runner.feed(message)
    runner.finish()
    return runner, out


def track_alerts(events: list[AlertEvent], kind: str = "new") -> list[AlertEvent]:
    return [e for e in events if e.event == kind and e.class_ != "tower_fault"]


@pytest.fixture(scope="module")
def crossing() -> tuple[list[Message], tuple[float, float]]:
    start = (4000.0, -500.0)
    target = straight(start, (-1.3, 0.2), EPOCH_S + 10.0, EPOCH_S + 1000.0, size_m=0.75)
    return generate(SITE, [target], 150.0, np.random.default_rng(1)), start


def test_crossing_target_gives_one_alert_with_its_origin(
        crossing: tuple[list[Message], tuple[float, float]]) -> None:
    messages, start = crossing
    runner, out = run(messages)
    (new,) = track_alerts(out.alerts)
    assert new.confidence >= Thresholds().alert_min_confidence
    assert new.alert_id == "a-000001" and new.track_id is not None
    # without elevation angles a person-sized walker is told from a roe deer (0.65-0.86 m,
    # walking to 1.5 m/s: the published priors) only after three or four motion windows
    assert new.t_s - (EPOCH_S + 10.0) < 100.0
    assert new.origin is not None
    err_m = math.hypot(new.origin.x_m - start[0], new.origin.y_m - start[1])
    assert err_m < 3.0 * crb_rms_m(SITE, start, 0.2) + 2.0
    assert abs(new.origin.t_s - (EPOCH_S + 10.0)) < 1.0
    assert new.distance_to_perimeter_m == pytest.approx(new.position.x_m - 1000.0)  # type: ignore[union-attr]
    closed = track_alerts(out.alerts, "closed")
    assert [c.alert_id for c in closed] == [new.alert_id]  # finish closes it
    assert closed[0].class_ == "person" and closed[0].class_confidence > 0.8
    assert runner.counters["alerts_new"] == 1 and runner.counters["received"] == len(messages)
    updates = track_alerts(out.alerts, "update")
    assert 10 <= len(updates) <= 40  # every 5 s of data time, or on a class/severity change
    assert all(b.t_s - a.t_s >= 4.9 for a, b in itertools.pairwise(updates)
               if (a.class_, a.severity) == (b.class_, b.severity))
    assert out.snapshots and any(t.status == "confirmed" for t in out.snapshots[-1].tracks)


def test_replay_is_deterministic(crossing: tuple[list[Message], tuple[float, float]]) -> None:
    first = [e.to_payload() for e in run(crossing[0])[1].alerts]
    second = [e.to_payload() for e in run(crossing[0])[1].alerts]
    assert first == second


def test_first_numbers_are_honoured(crossing: tuple[list[Message], tuple[float, float]]) -> None:
    _, out = run(crossing[0], first_alert_number=40, first_track_number=900)
    new = track_alerts(out.alerts)[0]
    assert new.alert_id == "a-000040"
    assert new.track_id is not None and int(new.track_id[2:]) >= 900


def test_clutter_alone_raises_no_alert() -> None:
    messages = generate(SITE, [], 200.0, np.random.default_rng(2), clutter_per_report=1.0)
    runner, out = run(messages)
    assert track_alerts(out.alerts) == []
    assert runner.counters["detections"] > 4000


def test_a_wandering_animal_does_not_alert() -> None:
    rng = np.random.default_rng(4)
    animal = wandering((2500.0, 800.0), 0.5, EPOCH_S, EPOCH_S + 400.0, rng, size_m=0.6)
    _, out = run(generate(SITE, [animal], 240.0, rng))
    assert track_alerts(out.alerts) == []
    last = out.snapshots[-1].tracks
    assert last and all(t.class_ in ("animal", "unknown") for t in last if t.status == "confirmed")


def test_a_target_only_one_tower_sees_stays_tentative() -> None:
    target = straight((3000.0, 0.0), (-1.4, 0.0), EPOCH_S + 5.0, EPOCH_S + 500.0,
                      only_towers=("T06",))
    _, out = run(generate(SITE, [target], 90.0, np.random.default_rng(6)))
    assert track_alerts(out.alerts) == []
    seen = [t for s in out.snapshots for t in s.tracks]
    assert seen and all(t.status == "tentative" for t in seen)


def bad_messages() -> list[tuple[Message, str]]:
    good = {"tower_id": "T01", "sensor": "thermal", "seq": 1, "t_s": EPOCH_S, "detections": []}
    thermal = topics.sensor("T01", "thermal")
    return [
        (Message(thermal, b"{not json"), "rejected:bad_payload"),
        (Message(thermal, b"\xff\xfe"), "rejected:bad_payload"),
        (Message(thermal, json.dumps({**good, "seq": -1}).encode()), "rejected:bad_payload"),
        (Message(thermal, json.dumps({**good, "detections": [{"bearing_deg": 400,
                 "bearing_sigma_deg": 1, "snr_db": 10}]}).encode()), "rejected:bad_payload"),
        (Message(thermal, json.dumps({**good, "tower_id": "T02"}).encode()),
         "rejected:tower_mismatch"),
        (Message(topics.sensor("T01", "acoustic"), json.dumps(good).encode()),
         "rejected:sensor_mismatch"),
        (Message(topics.sensor("T99", "thermal"), json.dumps(good).encode()),
         "rejected:unknown_tower"),
        (Message("perimeter/v1/nowhere", b"{}"), "rejected:unknown_topic"),
        (Message(topics.tower_status("T01"), b'{"tower_id": "T01", "state": "dancing"}'),
         "rejected:bad_payload"),
        (Message(topics.THRESHOLDS, b'{"track.confirm_m": 99}'), "rejected:bad_thresholds"),
        (Message(topics.THRESHOLDS, b"[1, 2]"), "rejected:bad_payload"),
        (Message(thermal, b"{" + b" " * 300_000 + b"}"), "rejected:bad_payload"),
    ]


def test_malformed_input_is_counted_and_dead_lettered_never_raised(
        crossing: tuple[list[Message], tuple[float, float]]) -> None:
    bad = bad_messages()
    messages = list(crossing[0])
    for i, (message, _) in enumerate(bad):
        messages.insert(100 + 50 * i, message)
    runner, out = run(messages)
    for _, counter in bad:
        assert runner.counters[counter] >= 1, counter
    rejected = sum(v for k, v in runner.counters.items() if k.startswith("rejected:"))
    assert rejected == len(bad) == len(out.dead_letters)
    assert all(len(d.first_bytes) <= 200 for d in out.dead_letters)
    assert "bearing_deg" in next(d.reason for d in out.dead_letters
                                  if '"bearing_deg": 400' in d.first_bytes)
    assert len(track_alerts(out.alerts)) == 1  # fusion carried on


def test_thresholds_message_applies_live(
        crossing: tuple[list[Message], tuple[float, float]]) -> None:
    deaf = Message(topics.THRESHOLDS, json.dumps({"thermal.min_snr_db": 40.0}).encode(),
                   retain=True)
    runner, out = run([deaf, *crossing[0]])
    assert runner.thresholds.thermal_min_snr_db == 40.0
    assert runner.counters["detections_kept"] == 0 and track_alerts(out.alerts) == []
    no_people = Thresholds().patched({"alert.classes": ["vehicle"]})
    assert track_alerts(run(crossing[0], no_people)[1].alerts) == []


def test_duplicates_are_dropped_and_late_reports_are_fused(
        crossing: tuple[list[Message], tuple[float, float]]) -> None:
    messages = list(crossing[0])
    # T03's link is down from 30 s to 60 s; its reports arrive in a burst afterwards.
    held = [m for m in messages if "/T03/" in m.topic
            and 30.0 <= json.loads(m.payload)["t_s"] - EPOCH_S < 60.0]
    kept = [m for m in messages if m not in held]
    cut = next(i for i, m in enumerate(kept) if json.loads(m.payload)["t_s"] - EPOCH_S >= 61.0)
    replayed = kept[:cut] + held + held[:20] + kept[cut:]
    runner, out = run(replayed)
    assert runner.counters["duplicates"] == 20
    assert len(held) - 5 <= runner.counters["late_reports"] <= len(held)  # minus the lag
    assert runner.engine.late_unassigned < runner.counters["detections"]
    assert len(track_alerts(out.alerts)) == 1


def test_tower_will_raises_a_fault_alert(
        crossing: tuple[list[Message], tuple[float, float]]) -> None:
    messages = list(crossing[0])
    will = Message(topics.tower_status("T07"), b'{"tower_id":"T07","state":"offline"}',
                   retain=True)
    messages.insert(len(messages) // 2, will)
    runner, out = run([m for m in messages[: len(messages) // 2 + 1]]
                      + [m for m in messages[len(messages) // 2 + 1:] if "/T07/" not in m.topic])
    faults = [e for e in out.alerts if e.class_ == "tower_fault"]
    assert [(e.event, e.towers) for e in faults] == [("new", ["T07"]), ("closed", ["T07"])]
    assert runner.counters["faults_new"] == 1


def test_feed_never_raises_on_garbage() -> None:
    out = CollectingOutput()
    runner = FusionRunner(SITE, Thresholds(), out)
    for payload in (b"", b"null", b"1e999", b'{"tower_id": null}', bytes(range(256))):
        for topic in (topics.sensor("T01", "thermal"), topics.tower_status("T01"),
                      topics.THRESHOLDS, "", "#"):
            runner.feed(Message(topic, payload))
    runner.finish()
    assert runner.counters["received"] == 25
    assert sum(v for k, v in runner.counters.items() if k.startswith("rejected:")) == 25


def test_one_tower_with_a_clock_ahead_does_not_move_data_time(
        crossing: tuple[list[Message], tuple[float, float]]) -> None:
    messages = list(crossing[0])
    ahead = {"tower_id": "T04", "sensor": "thermal", "seq": 99_999,
             "t_s": EPOCH_S + 260.0, "detections": []}
    messages.insert(2000, Message(topics.sensor("T04", "thermal"), json.dumps(ahead).encode()))
    runner, out = run(messages)
    assert runner.counters["rejected:future_t_s"] == 1
    assert "rejected:stale" not in runner.counters
    assert [e for e in out.alerts if e.class_ == "tower_fault"] == []
    assert len(track_alerts(out.alerts)) == 1


def test_data_time_jumps_when_two_towers_agree() -> None:
    out = CollectingOutput()
    runner = FusionRunner(SITE, Thresholds(), out)

    def report(tower: str, seq: int, t_s: float) -> Message:
        body = {"tower_id": tower, "sensor": "thermal", "seq": seq, "t_s": t_s}
        return Message(topics.sensor(tower, "thermal"), json.dumps(body).encode())

    runner.feed(report("T01", 0, EPOCH_S))
    runner.feed(report("T01", 1, EPOCH_S + 100.0))  # alone: refused
    assert runner.clock_s == EPOCH_S
    runner.feed(report("T02", 0, EPOCH_S + 101.0))  # a second tower agrees: time moves on
    assert runner.clock_s == EPOCH_S + 101.0
    assert runner.counters["rejected:future_t_s"] == 1


def test_alert_is_raised_as_soon_as_a_report_past_the_reorder_hold_arrives(
        crossing: tuple[list[Message], tuple[float, float]]) -> None:
    out = CollectingOutput()
    runner = FusionRunner(SITE, Thresholds(), out)
    hold_s = runner.gate_config.reorder_lag_s
    assert hold_s == 0.1  # the default: a tenth of a second of data time
    times = [json.loads(m.payload)["t_s"] for m in crossing[0]]
    raised_at: list[tuple[float, int]] = []
    for k, message in enumerate(crossing[0]):
        runner.feed(message)
        raised_at += [(e.t_s, k) for e in track_alerts(out.drain_alerts())]
    (t_s, k), = raised_at
    # a report waits until one at least the hold newer arrives, and no longer
    assert times[k] >= t_s + hold_s and max(times[:k]) < t_s + hold_s


def test_reports_reordered_by_the_network_still_start_and_alert_a_track(
        crossing: tuple[list[Message], tuple[float, float]]) -> None:
    messages = list(crossing[0])
    # every T02 and T05 report arrives one frame late, after the other towers' next reports
    slow = [i for i, m in enumerate(messages) if "/T02/" in m.topic or "/T05/" in m.topic]
    reordered = [m for i, m in enumerate(messages) if i not in set(slow)]
    for i in slow:
        t_s = json.loads(messages[i].payload)["t_s"]
        at = next((k for k, m in enumerate(reordered) if not m.topic.endswith("/status")
                   and json.loads(m.payload)["t_s"] > t_s + 0.6), len(reordered))
        reordered.insert(at, messages[i])
    runner, out = run(reordered)
    assert runner.counters["late_reports"] >= len(slow) // 2
    assert runner.engine.late_unassigned == 0  # within the reordering window they may seed
    assert len(track_alerts(out.alerts)) == 1


def test_tracks_snapshot_holds_each_track_with_its_error_ellipse(
        crossing: tuple[list[Message], tuple[float, float]]) -> None:
    from perimeter.fusion.runner import tracks_snapshot
    from perimeter.geometry import ellipse

    out = CollectingOutput(keep_snapshots=True)
    runner = FusionRunner(SITE, Thresholds(), out)
    for message in crossing[0][: len(crossing[0]) // 2]:
        runner.feed(message)
    tracks = runner.engine.tracks
    assert tracks
    snap = tracks_snapshot(123.0, tracks, SITE)
    assert snap.t_s == 123.0 and [s.track_id for s in snap.tracks] == [t.track_id for t in tracks]
    for state, track in zip(snap.tracks, tracks, strict=True):
        assert state.sigma_major_m == ellipse(track.state.p[:2, :2])[0]  # exactly
        assert (state.position.x_m, state.velocity.vy_mps) == (track.state.x[0], track.state.x[3])
        assert state.towers == sorted(SITE.towers[i].id for i in track.evidence.towers)
    assert tracks_snapshot(5.0, [], SITE).tracks == []
    assert out.snapshots and out.snapshots[-1].tracks


def test_when_reports_stop_data_time_goes_on_alerts_end_and_the_site_is_one_fault(
        crossing: tuple[list[Message], tuple[float, float]]) -> None:
    messages = crossing[0][: 2 * len(crossing[0]) // 3]  # the stream stops mid-crossing
    out = CollectingOutput()
    runner = FusionRunner(SITE, Thresholds(), out, run_id="r-7")
    for message in messages:
        runner.feed(message)
    (new,) = track_alerts(out.alerts)
    assert track_alerts(out.alerts, "closed") == []
    clock_s = runner.clock_s
    assert clock_s is not None
    wait_s = AlertConfig().reacquire_s
    for k in range(1, int(2 * (wait_s + 140.0))):  # the live service's idle clock: nothing heard
        runner.idle(clock_s + 0.5 * k)
    (closed,) = track_alerts(out.alerts, "closed")
    assert (closed.alert_id, closed.reason) == (new.alert_id, "track_lost")
    # lost for the track's coast (30 s) plus the reacquire wait
    assert wait_s < closed.t_s - clock_s <= 30.0 + wait_s + 10.0
    faults = [e for e in out.alerts if e.class_ == "tower_fault"]
    assert [(e.event, e.fault, len(e.towers)) for e in faults] == [("new", "site_silent", 12)]
    assert {e.run_id for e in out.alerts} == {"r-7"}
    assert runner.clock_s == clock_s  # the gate's clock did not move: reports are welcome again
    runner.idle(clock_s)  # a time already passed changes nothing
    assert len(out.alerts) == len(faults) + len(track_alerts(out.alerts, "new")) + len(
        track_alerts(out.alerts, "update")) + 1


def test_reports_too_late_to_fuse_are_counted_as_late_drops(
        crossing: tuple[list[Message], tuple[float, float]]) -> None:
    messages = list(crossing[0])
    stale = {"tower_id": "T04", "sensor": "thermal", "seq": 99_999, "t_s": EPOCH_S + 1.0,
             "detections": []}
    messages.append(Message(topics.sensor("T04", "thermal"), json.dumps(stale).encode()))
    runner, _ = run(messages)
    assert runner.counters["late_dropped"] == runner.counters["rejected:stale"] == 1


def test_reports_sharing_a_time_give_the_same_alerts_in_any_arrival_order() -> None:
    rng = np.random.default_rng(1)
    targets = [straight((4000.0, -500.0), (-1.3, 0.2), EPOCH_S + 10.0, EPOCH_S + 1000.0,
                        size_m=0.75),
               straight((4200.0, -300.0), (-1.2, 0.1), EPOCH_S + 20.0, EPOCH_S + 1000.0,
                        size_m=0.75),
               wandering((3000.0, 1500.0), 0.3, EPOCH_S, EPOCH_S + 400.0, rng, size_m=1.2)]
    messages = generate(SITE, targets, 200.0, rng, sensors=("thermal", "acoustic"),
                        clutter_per_report=1.0)
    frames = [list(f) for _, f in itertools.groupby(
        messages, key=lambda m: json.loads(m.payload)["t_s"])]
    assert sum(len(f) > 1 for f in frames) > 300  # reports of one time, in two orders
    outputs = []
    for order in (messages, [m for f in frames for m in reversed(f)]):
        _, out = run(order)
        outputs.append(([e.model_dump() for e in out.alerts],
                        [s.model_dump() for s in out.snapshots]))
    assert len(track_alerts([AlertEvent.model_validate(e) for e in outputs[0][0]])) >= 2
    assert outputs[0] == outputs[1]


def test_consider_posterior_takes_registrations_estimate_not_its_prior() -> None:
    """An unapplied bias is considered with its posterior (estimate and sigma) when
    ``consider_posterior``: the relative sigma stays at the 1° prior until a tower has its
    snapshots, long after the estimate settled."""
    prior = FusionRunner(SITE, Thresholds(), CollectingOutput(),
                         engine_config=EngineConfig(consider_bias=True))
    posterior = FusionRunner(SITE, Thresholds(), CollectingOutput(),
                             engine_config=EngineConfig(consider_bias=True,
                                                        consider_posterior=True))
    for runner in (prior, posterior):  # registration has estimated tower 0's bias, not applied
        reg = runner.registration
        reg.theta[0] = math.radians(0.12)
        reg.cov[0, 0] = math.radians(0.03) ** 2
    sigma, in_bearings = posterior._consider_sigma_rad(0)
    assert in_bearings == 0.0
    assert math.degrees(sigma) == pytest.approx(math.hypot(0.12, 0.03), rel=1e-9)
    assert math.degrees(prior._consider_sigma_rad(0)[0]) > 1.0  # the prior's 1° and more
