"""A track's score, owned by the manager and the score updates: status, log-likelihood
ratio and per tower sensor detection counts, M-of-N hit bins."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

TrackStatus = Literal["tentative", "confirmed"]

EXISTENCE_PRIOR_LOG_ODDS = -5.0
"""Prior log-odds that a new track is a real object (most seeds in clutter are not)."""


def _detection_rate(counts: list[int]) -> float:
    """A tower sensor's detection rate of a track from ``[hits, looks]`` (Laplace estimate)."""
    return (counts[0] + 1.0) / (counts[1] + 2.0)


@dataclass(slots=True)
class TrackScore:
    """How sure the tracker is that the track is a real object, and its status."""

    status: TrackStatus = "tentative"
    llr: float = 0.0
    looks: dict[tuple[int, str], list[int]] = field(default_factory=dict)  # [hits, scans]
    hit_bins: deque[int] = field(default_factory=lambda: deque(maxlen=64))
    """One-second bins with a counted detection (the M-of-N test)."""
    confirmed_t_s: float | None = None
    updates: int = 0
    last_update_t_s: float = 0.0

    @property
    def existence(self) -> float:
        """Probability the track is a real object, from its log-likelihood ratio and prior."""
        odds = min(max(self.llr + EXISTENCE_PRIOR_LOG_ODDS, -50.0), 50.0)
        return 1.0 / (1.0 + math.exp(-odds))

    def add_llr(self, gain: float, cap: float) -> None:
        """Add an update's log-likelihood ``gain`` to :attr:`llr`, kept at most ``cap``."""
        self.llr = min(self.llr + gain, cap)

    def look_hit(self, key: tuple[int, str]) -> float:
        """Count a detection by tower sensor ``key``; the log of its detection rate of this
        track before this look."""
        counts = self.looks.setdefault(key, [0, 0])
        log_pd = math.log(_detection_rate(counts))
        counts[0] += 1
        counts[1] += 1
        return log_pd

    def look_missed(self, key: tuple[int, str]) -> None:
        """Count a look by ``key`` that did not detect the track: its score pays
        ``log(1 - Pd)`` with the detection rate before this look."""
        counts = self.looks.setdefault(key, [0, 0])
        self.llr += math.log(1.0 - _detection_rate(counts))
        counts[1] += 1

    def record_hit(self, t_s: float, *, counts: bool = True) -> None:
        """An associated detection at ``t_s``; ``counts`` toward M-of-N (seeds' do not)."""
        b = math.floor(t_s)
        if counts and (not self.hit_bins or self.hit_bins[-1] != b):
            self.hit_bins.append(b)
        self.last_update_t_s = max(self.last_update_t_s, t_s)
        self.updates += 1
