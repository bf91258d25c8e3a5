"""Store and forward on a tower's link."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from perimeter.bus import Message
from sim.link import StoreForwardLink
from sim.uplink import MemoryUplink


def test_link_buffers_while_down_and_forwards_in_order() -> None:
    env = simpy.Environment()
    uplink = MemoryUplink()
    link = StoreForwardLink(env, uplink)
    published_at: list[float] = []

    def sender() -> Generator[simpy.Event, Any, None]:
        for i in range(10):
            link.send(Message("t", str(i).encode()))
            published_at.append(env.now)
            yield env.timeout(1.0)

    def fault() -> Generator[simpy.Event, Any, None]:
        yield env.timeout(2.5)
        link.go_down()
        yield env.timeout(4.0)
        assert [m.payload for m in uplink.messages] == [b"0", b"1", b"2"]
        link.come_up()

    env.process(sender())
    env.process(fault())
    env.run(until=20)
    assert [int(m.payload) for m in uplink.messages] == list(range(10))
    assert link.forwarded_late == 4  # 3, 4, 5, 6 waited for the link
    assert link.queued == 0


def test_clear_loses_the_queue() -> None:
    env = simpy.Environment()
    uplink = MemoryUplink()
    link = StoreForwardLink(env, uplink)
    link.go_down()
    for i in range(3):
        link.send(Message("t", str(i).encode()))
    env.run(until=1)
    link.clear()
    link.come_up()
    link.send(Message("t", b"x"))
    env.run(until=2)
    assert [m.payload for m in uplink.messages] == [b"x"]
    assert link.dropped == 3
