"""Fusion sessions: each run of ``perimeter up`` or of the fusion service has a run id; alerts
an earlier run left open are closed (``reason: superseded``) when a new run starts.

A restart that should continue its run's alerts (fusion restarted under ``perimeter up``, or a
service given the same ``--run-id``) takes them over instead (see
:mod:`perimeter.alert_resume`).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from perimeter.contract import AlertEvent


def new_run_id() -> str:
    """A new run id: the UTC start time (wall clock, for people) and 24 random bits."""
    return f"r-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def superseded(latest: AlertEvent, run_id: str) -> AlertEvent:
    """The ``closed`` event of an alert an earlier run left open, from its latest event: at
    that event's data time (the new run's data time may be unrelated: a simulation starts at
    its scenario's epoch every time), naming the run that closed it."""
    return latest.model_copy(update={"event": "closed", "reason": "superseded",
                                     "superseded_by": run_id})
