"""Data time while no report arrives, for the live fusion service.

Fusion runs on data time, which only reports move. When they stop (a simulation ended, a site
lost its network) data time would stand still: tracks never coast out, their alerts never close,
silent towers are never found. :class:`IdleClock` estimates how far data time has gone on: the
last data time plus the wall time since, at the rate data time was seen to run against the wall
clock (``--speed`` of a simulation), bounded by :attr:`IdleClock.max_ahead_s`. It is
deliberately late: it starts only after :attr:`IdleClock.idle_after_s` of wall time without a
report and counts only the wall time after that, so a stall of the pipeline (a loaded machine,
a slow broker) shorter than that moves nothing, and a longer one less than it lasted. The service
passes it to :meth:`perimeter.fusion.runner.FusionRunner.idle` only while it is listening
(its broker link up and past the grace after a reconnect, see
:class:`~perimeter.link_watch.LinkWatch`), and wall time counts only from the last moment it
was not (:meth:`IdleClock.hold`, plus :attr:`IdleClock.reconnect_grace_s`): cut off from the
broker, fusion must not find the towers silent.
"""

from __future__ import annotations

from collections import deque


class IdleClock:
    """Extrapolates data time from ``(wall, data)`` samples; all times in seconds."""

    def __init__(self, *, idle_after_s: float = 3.0, window_s: float = 30.0,
                 max_ahead_s: float = 600.0, rate_bounds: tuple[float, float] = (0.1, 1e4),
                 min_span_s: float = 0.5, reconnect_grace_s: float = 0.0) -> None:
        self.idle_after_s = idle_after_s
        """Wall time without data time moving before the clock runs on its own (not counted)."""
        self.window_s = window_s
        """Wall time over which the rate of data time is measured."""
        self.max_ahead_s = max_ahead_s
        """Furthest the estimate goes past the last data time (enough for every track to
        coast out and its alert to close, and every tower to be found silent)."""
        self.rate_bounds = rate_bounds
        self.min_span_s = min_span_s
        """Least wall time of samples that gives a rate (before it, 1: real time)."""
        self.reconnect_grace_s = reconnect_grace_s
        self._samples: deque[tuple[float, float]] = deque()
        self._held_wall_s = -float("inf")

    def hold(self, wall_s: float) -> None:
        """Fusion is not listening at ``wall_s`` (cut off from the broker): the wall time
        until ``reconnect_grace_s`` after the last hold does not count."""
        self._held_wall_s = wall_s

    def seen(self, data_s: float, wall_s: float) -> None:
        """Data time is ``data_s`` at wall time ``wall_s`` (only forward moves count)."""
        if self._samples and data_s <= self._samples[-1][1]:
            return
        if len(self._samples) > 1 and wall_s - self._samples[-2][0] < 0.1:
            self._samples[-1] = (wall_s, data_s)  # at most ~10 samples per wall second
        else:
            self._samples.append((wall_s, data_s))
        while len(self._samples) > 2 and wall_s - self._samples[1][0] >= self.window_s:
            self._samples.popleft()

    def __len__(self) -> int:
        """Samples kept (bounded by the window, about ten a wall second)."""
        return len(self._samples)

    def rate(self) -> float:
        """Data seconds per wall second over the window (1 before ``min_span_s`` was seen)."""
        if len(self._samples) < 2:
            return 1.0
        (w0, d0), (w1, d1) = self._samples[0], self._samples[-1]
        if w1 - w0 < self.min_span_s:
            return 1.0
        low, high = self.rate_bounds
        return min(max((d1 - d0) / (w1 - w0), low), high)

    def now(self, wall_s: float) -> float | None:
        """The estimated data time at ``wall_s``, or None while reports still come (or before
        the first)."""
        if not self._samples:
            return None
        last_wall_s, last_data_s = self._samples[-1]
        idle_s = wall_s - max(last_wall_s, self._held_wall_s + self.reconnect_grace_s)
        if idle_s < self.idle_after_s:
            return None
        return last_data_s + min(self.rate() * (idle_s - self.idle_after_s), self.max_ahead_s)
