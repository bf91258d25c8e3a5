"""MqttBus's acknowledgement bookkeeping stays bounded by what is in flight: QoS 0 messages
(fusion's track snapshots, one a second for as long as it runs) leave nothing behind."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from perimeter.bus import Message
from services.mqtt import MqttBus, MqttOptions
from tests.services.mqtt_helpers import wait_until

if TYPE_CHECKING:
    from tests.conftest import BrokerHandle

pytestmark = pytest.mark.integration


def test_qos0_and_qos1_publishes_leave_no_acknowledgement_state(
        mosquitto_broker: BrokerHandle) -> None:
    bus = MqttBus(MqttOptions(host=mosquitto_broker.host, port=mosquitto_broker.port,
                              client_id="bounded-1"))
    bus.start(timeout_s=10)
    try:
        for k in range(3000):  # an hour of data's snapshots at a few a second, and reports
            bus.publish(Message("perimeter/v1/tracks", b'{"k":%d}' % k, qos=k % 2))
        assert bus.flush(20.0)
        assert wait_until(lambda: bus.counters["acked"] >= 3000, 10.0)
        assert bus.outstanding == 0
        assert bus.ack_state_size() == 0
    finally:
        bus.close(timeout_s=2)
