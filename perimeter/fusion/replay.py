"""Replay: fuse a recording (JSON lines ``{"topic", "payload", "retain"?}``) as fast as possible.

Bad lines are counted (``rejected:bad_line``) and skipped, never fatal. A ``payload`` that is a
JSON string is passed on as raw bytes, so recordings can carry malformed payloads on purpose.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator

from perimeter.bus import Message
from perimeter.contract import AlertEvent, DeadLetter, TracksSnapshot
from perimeter.fusion.runner import FusionRunner
from perimeter.site import Site
from perimeter.thresholds import Thresholds


def parse_line(line: str) -> Message | None:
    """A message from one recording line, or None when the line is not a valid record."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("topic"), str) or "payload" not in obj:
        return None
    payload = obj["payload"]
    raw = (payload.encode() if isinstance(payload, str)
           else json.dumps(payload, separators=(",", ":")).encode())
    return Message(obj["topic"], raw, retain=bool(obj.get("retain", False)))


class CollectingOutput:
    """A :class:`~perimeter.fusion.runner.FusionOutput` that keeps what fusion publishes."""

    def __init__(self, keep_snapshots: bool = False) -> None:
        self.alerts: list[AlertEvent] = []
        self.snapshots: list[TracksSnapshot] = []
        self.dead_letters: list[DeadLetter] = []
        self._keep_snapshots = keep_snapshots

    def alert(self, event: AlertEvent) -> None:
        self.alerts.append(event)

    def tracks(self, snapshot: TracksSnapshot) -> None:
        if self._keep_snapshots:
            self.snapshots.append(snapshot)

    def reject(self, dead_letter: DeadLetter) -> None:
        if len(self.dead_letters) < 1000:
            self.dead_letters.append(dead_letter)

    def drain_alerts(self) -> list[AlertEvent]:
        out, self.alerts = self.alerts, []
        return out


class Replay:
    """Iterate over the alert events of a recording; ``counters`` holds the runner's counts."""

    def __init__(self, lines: Iterable[str], site: Site, thresholds: Thresholds,
                 *, keep_snapshots: bool = False) -> None:
        self.output = CollectingOutput(keep_snapshots)
        self.runner = FusionRunner(site, thresholds, self.output)
        self._lines = lines

    @property
    def counters(self) -> Counter[str]:
        return self.runner.counters

    def __iter__(self) -> Iterator[AlertEvent]:
        for line in self._lines:
            if not line.strip():
                continue
            message = parse_line(line)
            if message is None:
                self.runner.counters["rejected:bad_line"] += 1
                continue
            self.runner.feed(message)
            yield from self.output.drain_alerts()
        self.runner.finish()
        yield from self.output.drain_alerts()


def replay(lines: Iterable[str], site: Site, thresholds: Thresholds) -> Iterator[AlertEvent]:
    """The alert events of a recording, in order (``perimeter fusion --replay``)."""
    return iter(Replay(lines, site, thresholds))
