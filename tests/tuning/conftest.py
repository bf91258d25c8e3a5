"""Tiny scenarios (two minutes of simulated time) shared by the tuning tests."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

SCENARIO = """\
name: tune-tiny
seed: 5
duration_s: 120
site: western-heights
environment: {start_time: "2026-01-15T22:00:00Z", weather: clear, wind_mps: 2.0}
targets:
  - {id: v1, kind: light_vehicle, start_s: 10, speed_mps: 5.0,
     path: [[1600, -250], [1100, -250]]}
nuisance: {animals: 2}
"""


@pytest.fixture(scope="session")
def tiny_scenario() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SCENARIO)
    return data
