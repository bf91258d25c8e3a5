"""On the 3-node NATS cluster (docs/scale.md, "A broker node killed", (c)): a tower's will
delivered through another node after the tower's birth is set right by the tower itself
(``services/will_watch.py``, its status watched at QoS 0: no JetStream consumer), so a
client subscribing later on a third node is told ``online``."""

from __future__ import annotations

import pytest

from perimeter import topics
from perimeter.bus import Message
from perimeter.config import SimSettings
from perimeter.contract import TowerStatus, dump_payload
from services.nats_cluster import NatsCluster
from services.tower_publisher import MqttUplink
from tests.scale.test_nats_cluster import node_bus
from tests.services.mqtt_helpers import Inbox, subscriptions_active, wait_until

pytestmark = pytest.mark.integration

STATUS = topics.tower_status("T01")
WILL = dump_payload(TowerStatus(tower_id="T01", state="offline"))
ONLINE = dump_payload(TowerStatus(tower_id="T01", state="online", t_s=3.0))


def retained_on(cluster: NatsCluster, node: int, client_id: str) -> list[bytes]:
    bus, inbox = node_bus(cluster, node, client_id), Inbox()
    bus.subscribe(STATUS, inbox)
    bus.start(10)
    got = [m.payload for m in inbox.wait_for(1, 15)]
    bus.close()
    return got


def test_a_late_will_through_another_node_is_set_right(nats_cluster: NatsCluster) -> None:
    watcher, inbox = node_bus(nats_cluster, 2, "status-watcher"), Inbox()
    watcher.subscribe(STATUS, inbox)
    watcher.start(10)
    assert subscriptions_active(watcher)
    uplink = MqttUplink(SimSettings(broker_url=",".join(nats_cluster.urls)))  # T01: node 0
    uplink.attach("T01", Message(STATUS, WILL, retain=True, qos=1))
    uplink.publish(Message(STATUS, ONLINE, retain=True, qos=1))
    assert wait_until(lambda: [m.payload for m in inbox.on(STATUS)] == [ONLINE], 15.0)
    late = node_bus(nats_cluster, 1, "old-session-node")
    late.start(10)
    late.publish(Message(STATUS, WILL, retain=True, qos=1))  # the will, fired on node 1
    assert late.flush(10.0)
    assert wait_until(lambda: [m.payload for m in inbox.on(STATUS)] == [ONLINE, WILL, ONLINE],
                      15.0), [m.payload for m in inbox.on(STATUS)]
    assert retained_on(nats_cluster, 2, "later-subscriber") == [ONLINE]
    assert uplink.counters["will_corrected"] == 1
    uplink.close(announce_offline=False)
    for bus in (watcher, late):
        bus.close()
