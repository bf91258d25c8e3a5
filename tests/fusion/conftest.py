"""Fixtures of the alert tests (test_alert, test_alert_join)."""

from __future__ import annotations

import pytest

from perimeter.fusion.alert import TrackAlerter
from perimeter.thresholds import Thresholds
from tests.fusion.helpers import PERIMETER


@pytest.fixture
def th() -> Thresholds:
    return Thresholds()


@pytest.fixture
def alerter() -> TrackAlerter:
    """The default alerter of a two-tower site, the perimeter 2 km west of the tracks."""
    return TrackAlerter(PERIMETER, ["T01", "T02"])
