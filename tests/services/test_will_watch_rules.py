"""The rules of ``services/will_watch.py`` on an unconnected bus with a test clock: which
messages on its status topic a tower corrects, and how many within the window."""

from __future__ import annotations

from perimeter import topics
from perimeter.bus import Message
from perimeter.contract import TowerStatus, dump_payload
from services.mqtt import MqttBus, MqttOptions
from services.will_watch import WillWatch

TOPIC = topics.tower_status("T03")
WILL = Message(TOPIC, dump_payload(TowerStatus(tower_id="T03", state="offline")), retain=True,
               qos=1)
LIVE_WILL = Message(TOPIC, WILL.payload)  # as delivered live: retain flag clear
ONLINE = Message(TOPIC, dump_payload(TowerStatus(tower_id="T03", state="online", t_s=1.0)),
                 retain=True, qos=1)


def watched(now_s: list[float]) -> tuple[MqttBus, WillWatch]:
    bus = MqttBus(MqttOptions(client_id="T03"), will=WILL)  # never started: sends buffer
    bus.announce(ONLINE)
    bus.connected.set()
    return bus, WillWatch(bus, max_corrections=2, window_s=60.0, clock=lambda: now_s[0])


def test_corrections_are_bounded_within_the_window() -> None:
    now_s = [0.0]
    bus, watch = watched(now_s)
    for t_s in (0.0, 1.0, 2.0, 59.0):
        now_s[0] = t_s
        watch.on_status(LIVE_WILL)
    assert (bus.counters["will_corrected"], bus.counters["will_held"]) == (2, 2)
    now_s[0] = 60.5  # the first correction is out of the window, the second is not
    watch.on_status(LIVE_WILL)
    watch.on_status(LIVE_WILL)
    assert (bus.counters["will_corrected"], bus.counters["will_held"]) == (3, 3)


def test_only_a_live_copy_of_its_own_will_while_up_is_corrected() -> None:
    bus, watch = watched([0.0])
    watch.on_status(Message(TOPIC, WILL.payload, retain=True))  # on subscribing: predates
    watch.on_status(Message(TOPIC, dump_payload(
        TowerStatus(tower_id="T03", state="offline", t_s=9.0))))  # not its will
    watch.on_status(Message(TOPIC, ONLINE.payload))  # its own status, heard back
    bus.connected.clear()
    watch.on_status(LIVE_WILL)  # not connected: the reconnect re-sends
    bus.connected.set()
    bus.publish(WILL)  # the tower says offline itself (it stops)
    watch.on_status(LIVE_WILL)
    assert (bus.counters["will_corrected"], bus.counters["will_held"]) == (0, 0)
    bus.announce(ONLINE)
    watch.on_status(LIVE_WILL)
    assert bus.counters["will_corrected"] == 1
