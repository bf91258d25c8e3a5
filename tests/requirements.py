"""What a test needs from the machine: a skip on a developer's machine, a failure under CI.

CI installs everything the suite needs (`.ci/run`), so a missing server there is a broken
install step, never a reason to skip silently.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def under_ci() -> bool:
    """True when CI runs the suite (CI=true, as CI services set it)."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> NoReturn:
    """Skip the test here; fail it under CI, where `.ci/run` must have provided the thing."""
    if under_ci():
        pytest.fail(f"required under CI: {reason}", pytrace=False)
    pytest.skip(reason)
