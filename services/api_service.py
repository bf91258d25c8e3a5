"""``perimeter api``: the FastAPI app (``services.api.app.create_app``) on uvicorn, following the
broker through an :class:`~services.mqtt.MqttBus`.

The API serves the store from the start; the bus connects in the background (retrying until
the broker is there), so a missing broker never keeps the alert feed down.
"""

from __future__ import annotations

import logging
import threading
from types import FrameType

import uvicorn

from perimeter.config import ApiSettings
from services.mqtt import MqttBus, MqttConnectError, MqttOptions

log = logging.getLogger(__name__)


def connect_in_background(bus: MqttBus, stop: threading.Event,
                          attempt_s: float = 30.0) -> threading.Thread:
    """Start ``bus`` on a thread, retrying until it connects or ``stop`` is set."""

    def run() -> None:
        while not stop.is_set():
            try:
                bus.start(attempt_s)
                return
            except MqttConnectError as exc:
                log.warning("API not following the broker yet: %s", exc)
                stop.wait(2.0)

    thread = threading.Thread(target=run, name="api-mqtt-connect", daemon=True)
    thread.start()
    return thread


class ApiServer(uvicorn.Server):
    """uvicorn's server that sets ``stopping`` as soon as shutdown begins, so the app's live
    streams end (within the stream's poll, 1 s) instead of holding the graceful shutdown."""

    def __init__(self, config: uvicorn.Config, stopping: threading.Event) -> None:
        super().__init__(config)
        self.stopping = stopping

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.stopping.set()
        super().handle_exit(sig, frame)


def uvicorn_config(app: object, settings: ApiSettings, **extra: object) -> uvicorn.Config:
    """uvicorn's configuration for the API: keep-alive, header and body-idle timeouts from
    ``settings`` (see :mod:`services.api.http_guard`)."""
    from services.api.http_guard import guarded_protocol

    return uvicorn.Config(
        app, host=settings.api_host, port=settings.api_port,  # type: ignore[arg-type]
        http=guarded_protocol(settings.header_timeout_s, settings.idle_timeout_s),
        timeout_keep_alive=settings.keep_alive_s, **extra)  # type: ignore[arg-type]


def run_api(settings: ApiSettings) -> None:
    """Serve the API on ``settings.api_host:api_port`` until SIGINT / SIGTERM (uvicorn's)."""
    from services.api.app import create_app

    bus = MqttBus(MqttOptions.from_settings(settings, "perimeter-api", session_expiry_s=0))
    stopping = threading.Event()
    app = create_app(settings, bus=bus, stopping=stopping)
    stop = threading.Event()
    connect_in_background(bus, stop)
    config = uvicorn_config(app, settings, log_level="info", access_log=False,
                            timeout_graceful_shutdown=2)
    try:
        ApiServer(config, stopping).run()
    finally:
        stop.set()
        if bus.connected.is_set():
            bus.close()
