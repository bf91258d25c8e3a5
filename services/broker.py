"""The embedded broker of ``perimeter up``: mosquitto when its binary is found, else amqtt.

Both listen on loopback only. Given the run's :class:`~perimeter.access.Logins` they are locked
down (:mod:`services.broker_auth`): each service and tower logs in and writes only its own
topics, anonymous clients only read; without, anonymous clients may do anything (tests).
``python -m services.broker --port N [--logins FILE]`` runs amqtt 0.12.1 (pure Python,
MQTT 3.1.1) in the foreground.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal, TypeVar

from perimeter.access import Logins

if TYPE_CHECKING:
    from _collections_abc import dict_items, dict_keys, dict_values

BrokerImpl = Literal["auto", "amqtt", "mosquitto"]
MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


class BrokerError(RuntimeError):
    """The embedded broker could not be started."""


def find_mosquitto() -> str | None:
    """The mosquitto binary on PATH (or in the usual sbin folders), else None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((p for p in MOSQUITTO_PATHS if os.access(p, os.X_OK)), None)


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port`` (TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def usual_or_free_port(host: str, usual: int) -> int:
    """``usual`` when nothing listens there, else a port the system picks as free."""
    if port_is_free(host, usual):
        return usual
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_listening(host: str, port: int, timeout_s: float, proc: subprocess.Popen[bytes]) -> None:
    """Wait until ``host:port`` accepts TCP connections; raise if ``proc`` dies first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BrokerError(f"broker exited with code {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise BrokerError(f"broker not listening on {host}:{port} after {timeout_s:.0f} s")


def mosquitto_config(port: int, data_dir: Path, host: str = "127.0.0.1",
                     max_queued: int = 100_000, auth: tuple[Path, Path] | None = None) -> str:
    """A minimal mosquitto.conf: one loopback listener, deep per-client queues, sessions
    persisted in ``data_dir`` on shutdown and every 5 s (mosquitto's default of 1800 s would
    lose the sessions of a crash). ``auth`` (password file, ACL file) locks it down; without,
    anonymous clients may do anything."""
    return "\n".join([
        f"listener {port} {host}",
        "allow_anonymous true",
        *([f"password_file {auth[0]}", f"acl_file {auth[1]}"] if auth else []),
        f"user {getpass.getuser()}",
        f"max_queued_messages {max_queued}",
        "persistence true",
        f"persistence_location {data_dir}/",
        "autosave_interval 5",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "",
    ])


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for ``python -m ...`` children: this checkout importable even when
    the project is not installed."""
    env = dict(os.environ, **(extra or {}))
    root = str(Path(__file__).resolve().parent.parent)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([root, *[p for p in paths if p != root]])
    return env


QUIET_LINES = (b"Mosquitto should not be run as root",)
"""Broker messages ``perimeter up`` does not pass on: mosquitto's warning about root, which
says nothing here (the broker drops to no other user: the config names the current one)."""


def relay_lines(source: IO[bytes], sink: IO[bytes]) -> None:
    """Copy the broker's output line by line to ``sink``, leaving out :data:`QUIET_LINES`."""
    for line in iter(source.readline, b""):
        if not any(quiet in line for quiet in QUIET_LINES):
            sink.write(line)
            sink.flush()
    source.close()


class EmbeddedBroker:
    """A broker child process; ``start()`` returns once it listens, ``stop()`` ends it."""

    def __init__(self, port: int, impl: BrokerImpl = "auto", host: str = "127.0.0.1",
                 data_dir: Path | None = None, own_session: bool = False,
                 logins: Logins | None = None) -> None:
        self.host, self.port, self.data_dir, self.logins = host, port, data_dir, logins
        self.own_session = own_session  # out of the terminal's Ctrl-C: stopped last, by us
        mosquitto = find_mosquitto()
        if impl == "mosquitto" and mosquitto is None:
            raise BrokerError("--broker-impl mosquitto: no mosquitto binary on PATH")
        self.impl: Literal["amqtt", "mosquitto"] = (
            "mosquitto" if impl != "amqtt" and mosquitto is not None else "amqtt")
        self._mosquitto = mosquitto
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def command(self) -> list[str]:
        from services.broker_auth import amqtt_logins_file, mosquitto_auth_files

        self._tmp = tempfile.TemporaryDirectory(prefix=f"perimeter-{self.impl}-")
        folder = Path(self._tmp.name)
        if self.impl == "mosquitto":
            assert self._mosquitto is not None
            data_dir = self.data_dir or folder
            auth = mosquitto_auth_files(self.logins, folder) if self.logins else None
            conf = folder / "mosquitto.conf"
            conf.write_text(mosquitto_config(self.port, data_dir, self.host, auth=auth),
                            encoding="utf-8")
            return [self._mosquitto, "-c", str(conf)]
        logins = (["--logins", str(amqtt_logins_file(self.logins, folder))]
                  if self.logins else [])
        return [sys.executable, "-m", "services.broker", "--host", self.host,
                "--port", str(self.port), *logins]

    def start(self, timeout_s: float = 15.0) -> EmbeddedBroker:
        if not port_is_free(self.host, self.port):
            raise BrokerError(f"port {self.port} on {self.host} is in use "
                              "(choose another with --mqtt-port, or use --broker URL)")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, env=child_env(),
                                     stderr=subprocess.PIPE, start_new_session=self.own_session)
        assert self.proc.stderr is not None
        threading.Thread(target=relay_lines, args=(self.proc.stderr, sys.stderr.buffer),
                         name="broker-stderr", daemon=True).start()
        try:
            wait_listening(self.host, self.port, timeout_s, self.proc)
        except BrokerError:
            self.stop()
            raise
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


K = TypeVar("K")
V = TypeVar("V")


class SnapshotDict(dict[K, V]):
    """A dict whose iteration runs over a copy taken when it starts.

    amqtt 0.12.1 keeps its subscriptions in a dict and loops over it with ``await`` inside
    (a connecting client's retained messages; each broadcast). A SUBSCRIBE from another client
    meanwhile added a key and raised ``dictionary changed size during iteration`` in the
    connecting client's handler, which dropped that client: with a dozen towers each
    subscribing to its own status topic as they connect, some towers reconnected at once and
    their persistent sessions sent reports twice or out of order. Served over a copy, the
    loop sees the subscriptions as they were when it began (a subscription added meanwhile
    gets its retained messages on its own SUBSCRIBE)."""

    def snapshot(self) -> dict[K, V]:
        """A plain copy (the base class's items: the overrides below would recurse)."""
        return dict(super().items())

    def __iter__(self) -> Iterator[K]:
        return iter(self.snapshot())

    def keys(self) -> dict_keys[K, V]:
        return self.snapshot().keys()

    def values(self) -> dict_values[K, V]:
        return self.snapshot().values()

    def items(self) -> dict_items[K, V]:
        return self.snapshot().items()


def iteration_safe(broker: object) -> None:
    """Give an amqtt broker a subscription map that is safe to change while it is iterated
    (:class:`SnapshotDict`); an amqtt without that private map is left as it is."""
    subscriptions = getattr(broker, "_subscriptions", None)
    if isinstance(subscriptions, dict):
        broker._subscriptions = SnapshotDict(subscriptions)  # type: ignore[attr-defined]


def amqtt_config(host: str, port: int, logins_file: Path | None = None) -> dict[str, object]:
    """amqtt 0.12 configuration: one TCP listener; locked down by the logins in
    ``logins_file`` (see :mod:`services.broker_auth`), else anonymous clients allowed."""
    from services.broker_auth import amqtt_plugins

    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": amqtt_plugins(logins_file),
    }


async def serve_amqtt(host: str, port: int, stop: asyncio.Event,
                      logins_file: Path | None = None) -> None:
    """Run an amqtt broker until ``stop`` is set."""
    from amqtt.broker import Broker

    def quiet(_loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
        # amqtt leaves an unhandled error when it refuses a client (e.g. an MQTT 5 CONNECT)
        logging.getLogger("amqtt").info("amqtt: %s", context.get("message"))

    asyncio.get_running_loop().set_exception_handler(quiet)
    broker = Broker(amqtt_config(host, port, logins_file))
    iteration_safe(broker)
    await broker.start()
    try:
        await stop.wait()
    finally:
        await broker.shutdown()


def main(argv: list[str] | None = None) -> None:
    """``python -m services.broker``: amqtt in the foreground until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(description="embedded amqtt broker (MQTT 3.1.1)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--logins", type=Path, default=None,
                        help="hashed logins (services.broker_auth): lock the broker down")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="broker: %(levelname)s %(message)s")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve_amqtt(args.host, args.port, stop, args.logins)

    asyncio.run(run())


if __name__ == "__main__":
    main()
