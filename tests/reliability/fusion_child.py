"""``python -m tests.reliability.fusion_child BROKER_URL DB_URL TAKEN_FILE``: the real fusion
service (``run_fusion``), writing ``topic seq`` of every report it fuses to TAKEN_FILE, so a
test that kills it with SIGKILL knows exactly what it had fused."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from perimeter.bus import Message
from perimeter.config import FusionSettings
from perimeter.fusion.runner import FusionRunner
from services.fusion_service import run_fusion


def main(broker_url: str, db_url: str, taken_path: str) -> None:
    logging.basicConfig(level=logging.WARNING)
    taken = Path(taken_path).open("a", buffering=1, encoding="utf-8")  # noqa: SIM115
    feed = FusionRunner.feed

    def feed_and_note(self: FusionRunner, message: Message) -> None:
        feed(self, message)
        if not message.topic.endswith("/status"):
            try:
                seq = json.loads(message.payload).get("seq")
            except ValueError:
                seq = None
            taken.write(f"{message.topic} {seq}\n")

    FusionRunner.feed = feed_and_note  # type: ignore[method-assign]
    # a restart of the same run (as under ``perimeter up``): it takes over the run's alerts
    run_fusion(FusionSettings(broker_url=broker_url, db_url=db_url, run_id="r-reliability"))


if __name__ == "__main__":
    main(*sys.argv[1:4])
