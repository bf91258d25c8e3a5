"""How ``perimeter up`` watches its children: the simulation ending normally leaves the rest
serving; a service given a restart function (fusion, a fusion shard) is started again with
back-off and a line in the output; a survivable one (a fusion shard, which another shard takes
over meanwhile) is reported, and left down once its restarts are exhausted; any other child
exiting stops the stack."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Collection, Mapping

from rich.console import Console

Restart = Callable[[], "subprocess.Popen[bytes]"]

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 30.0
STABLE_S = 60.0
"""A restarted service that stays up this long has its back-off reset."""
MAX_QUICK_RESTARTS = 8
"""Restarts in a row, each dying within :data:`STABLE_S`, before ``up`` gives up."""


class Backoff:
    """The wait before each restart: 1, 2, 4 ... up to 30 s, back to 1 s once a run lasts
    :data:`STABLE_S`; :meth:`exhausted` after :data:`MAX_QUICK_RESTARTS` quick deaths."""

    def __init__(self) -> None:
        self.quick = 0

    def next_delay_s(self, ran_s: float) -> float:
        self.quick = 0 if ran_s >= STABLE_S else self.quick + 1
        return float(min(MAX_DELAY_S, FIRST_DELAY_S * 2.0 ** max(0, self.quick - 1)))

    def exhausted(self) -> bool:
        return self.quick > MAX_QUICK_RESTARTS


def supervise(procs: dict[str, subprocess.Popen[bytes]], stop: threading.Event,
              console: Console, restarts: Mapping[str, Restart],
              survivable: Collection[str] = ()) -> int:
    """Watch ``procs`` until ``stop`` is set (0) or a child fails for good (1)."""
    finished: set[str] = set()
    started_at = {name: time.monotonic() for name in procs}
    backoffs = {name: Backoff() for name in restarts}
    due: dict[str, float] = {}  # name -> when to start it again
    while not stop.wait(0.2):
        now = time.monotonic()
        for name, at in list(due.items()):
            if now >= at:
                del due[name]
                procs[name] = restarts[name]()
                started_at[name] = now
                console.print(f"{name} restarted (pid {procs[name].pid})")
        for name, proc in procs.items():
            code = proc.poll()
            if code is None or name in finished or name in due:
                continue
            if name == "sim" and code == 0:
                finished.add(name)
                console.print("simulation finished; fusion and API keep serving (Ctrl-C stops)")
                continue
            taken_over = ("; its standby or a neighbour takes over its sectors"
                          if name in survivable else "")
            if name in restarts:
                backoff = backoffs[name]
                delay_s = backoff.next_delay_s(now - started_at[name])
                if not backoff.exhausted():
                    console.print(f"[yellow]{name} exited with code {code}{taken_over}; "
                                  f"restarting in {delay_s:g} s (restart {backoff.quick or 1})[/]")
                    due[name] = now + delay_s
                    continue
                if name not in survivable:
                    console.print(f"[red]{name} exited with code {code} after "
                                  f"{MAX_QUICK_RESTARTS} quick restarts; stopping[/]")
                    return 1
                console.print(f"[red]{name} exited with code {code} after "
                              f"{MAX_QUICK_RESTARTS} quick restarts; not restarted again "
                              "(its sectors stay taken over)[/]")
                finished.add(name)
                continue
            if name in survivable:
                finished.add(name)
                console.print(f"[yellow]{name} exited with code {code}{taken_over}[/]")
                continue
            console.print(f"[red]{name} exited with code {code}; stopping[/]")
            return 1
    return 0
