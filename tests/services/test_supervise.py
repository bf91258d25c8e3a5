"""The back-off of ``perimeter up``'s fusion restarts, a shard's death that stops nothing, and
the access rules both brokers get."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

import pytest
from rich.console import Console

from perimeter.access import check_password, hash_password, may_publish, write_filters
from services.supervise import MAX_QUICK_RESTARTS, STABLE_S, Backoff, supervise
from tests.services.mqtt_helpers import wait_until


def stop_once_printed(console: Console, text: str, stop: threading.Event,
                      deadline_s: float = 60.0) -> None:
    """Set ``stop`` once ``console`` shows ``text`` (or after a generous ``deadline_s``):
    ``supervise`` is stopped when what the test waits for has happened, not after a guess."""
    def watch() -> None:
        wait_until(lambda: stop.is_set() or text in console.export_text(clear=False),
                   deadline_s)
        stop.set()

    threading.Thread(target=watch, daemon=True).start()


def test_backoff_doubles_on_quick_deaths_and_resets_after_a_stable_run() -> None:
    backoff = Backoff()
    delays = [backoff.next_delay_s(ran_s=2.0) for _ in range(7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert not backoff.exhausted()
    assert backoff.next_delay_s(ran_s=STABLE_S) == 1.0  # a long run resets it
    for _ in range(MAX_QUICK_RESTARTS):
        backoff.next_delay_s(ran_s=0.5)
    assert not backoff.exhausted()
    backoff.next_delay_s(ran_s=0.5)
    assert backoff.exhausted()


def test_who_may_write_what() -> None:
    towers = frozenset({"T01", "T02"})
    assert may_publish("T01", "perimeter/v1/towers/T01/thermal", towers)
    assert not may_publish("T01", "perimeter/v1/towers/T02/status", towers)
    assert not may_publish("T01", "perimeter/v1/alerts", towers)
    assert may_publish("fusion", "perimeter/v1/alerts", towers)
    assert not may_publish("fusion", "perimeter/v1/config/thresholds", towers)
    assert may_publish("api", "perimeter/v1/config/thresholds", towers)
    assert not may_publish("api", "perimeter/v1/tracks", towers)
    assert write_filters(None, towers) == [] and write_filters("T99", towers) == []
    assert not may_publish(None, "perimeter/v1/config/thresholds", towers)


def test_password_hashes_check_only_their_password() -> None:
    hashed = hash_password("s3cret")
    assert hashed.startswith("$7$101$")
    assert check_password("s3cret", hashed)
    assert not check_password("s3cret!", hashed)
    assert not check_password("s3cret", "$6$abc$def") and not check_password("x", "garbage")


def test_a_survivable_child_that_dies_leaves_the_rest_running() -> None:
    shard = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    api = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    shard.wait()
    stop = threading.Event()
    console = Console(record=True, width=200)
    stop_once_printed(console, "fusion-s1 exited with code 3", stop)
    try:
        code = supervise({"fusion-s1": shard, "api": api}, stop, console, {},
                         survivable={"fusion-s1"})
        api_running = api.poll() is None
    finally:
        stop.set()
        api.kill()
        api.wait()
    assert code == 0, "stopped by the stop event, not by the shard's death"
    assert api_running
    assert "fusion-s1 exited with code 3" in console.export_text()


def test_a_killed_shard_is_restarted_and_left_down_once_its_restarts_are_spent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("services.supervise.FIRST_DELAY_S", 0.1)
    monkeypatch.setattr("services.supervise.MAX_QUICK_RESTARTS", 2)
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    started: list[subprocess.Popen[bytes]] = []

    def restart() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(sleeper)
        started.append(proc)
        proc.kill()  # each restart dies at once, killed (SIGKILL), until they are spent
        return proc

    shard = subprocess.Popen(sleeper)
    api = subprocess.Popen(sleeper)
    shard.send_signal(signal.SIGKILL)  # a real kill of the running shard
    stop = threading.Event()
    console = Console(record=True, width=200)
    stop_once_printed(console, "not restarted again", stop)
    try:
        code = supervise({"fusion-s1": shard, "api": api}, stop, console,
                         {"fusion-s1": restart}, survivable={"fusion-s1"})
    finally:
        stop.set()
        api.kill()
        api.wait()
        for proc in started:
            proc.wait()
    out = console.export_text()
    assert code == 0, "a shard whose restarts are spent stops nothing"
    assert f"fusion-s1 exited with code {-signal.SIGKILL}" in out
    assert "takes over its sectors; restarting in" in out
    assert len(started) == 2  # MAX_QUICK_RESTARTS restarts, each dying quickly
    assert "not restarted again (its sectors stay taken over)" in out
