"""ThresholdsKeeper: own changes stay in force through their echoes; others' changes take over;
a restart starts from the last audited change."""

from __future__ import annotations

import json

from perimeter import topics
from perimeter.bus import InMemoryBus, Message
from perimeter.store import AlertStore
from perimeter.thresholds import Thresholds
from services.api.live import LiveView
from services.api.metrics import ApiMetrics
from services.api.tuning import ThresholdsKeeper


def keeper_on(store: AlertStore, bus: InMemoryBus | None = None) -> ThresholdsKeeper:
    live = LiveView(ApiMetrics(), [])
    keeper = ThresholdsKeeper(store, live)
    if bus is not None:
        live.attach(bus)
    return keeper


def test_late_echo_does_not_undo_a_newer_change() -> None:
    with AlertStore.open(":memory:") as store:
        live = LiveView(ApiMetrics(), [])
        keeper = ThresholdsKeeper(store, live)
        sent: list[Message] = []

        class HoldingBus(InMemoryBus):  # delivers nothing until told: a slow broker
            def publish(self, message: Message) -> None:
                sent.append(message)

        live.attach(HoldingBus())
        keeper.patch({"thermal.min_snr_db": 10.0}, "a")
        keeper.patch({"acoustic.min_snr_db": 3.0}, "b")
        first_echo = Thresholds.from_public(json.loads(sent[0].payload))
        keeper.on_bus(first_echo, sent[0].payload)  # the older echo arrives late
        assert keeper.current().acoustic_min_snr_db == 3.0
        assert keeper.current().thermal_min_snr_db == 10.0


def test_foreign_change_takes_over_and_restart_uses_the_audit() -> None:
    with AlertStore.open(":memory:") as store:
        bus = InMemoryBus()
        keeper = keeper_on(store, bus)
        keeper.patch({"track.confirm_m": 4}, "a")
        assert bus.retained[topics.THRESHOLDS].retain
        foreign = {**Thresholds().to_public(), "alert.min_confidence": 0.8}
        bus.publish(Message(topics.THRESHOLDS, json.dumps(foreign).encode(), retain=True))
        assert keeper.current().alert_min_confidence == 0.8
        restarted = keeper_on(store)  # no bus: the last audited change is in force
        assert restarted.current().track_confirm_m == 4
