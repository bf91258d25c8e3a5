"""``perimeter api``: the FastAPI app (``services.api.app.create_app``) on uvicorn, following the
broker through an :class:`~services.mqtt.MqttBus`.

The API serves the store from the start; the bus connects in the background (retrying until
the broker is there), so a missing broker never keeps the alert feed down.
"""

from __future__ import annotations

import logging
import threading

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


def run_api(settings: ApiSettings) -> None:
    """Serve the API on ``settings.api_host:api_port`` until SIGINT / SIGTERM (uvicorn's)."""
    from services.api.app import create_app

    bus = MqttBus(MqttOptions.from_settings(settings, "perimeter-api", session_expiry_s=0))
    app = create_app(settings, bus=bus)
    stop = threading.Event()
    connect_in_background(bus, stop)
    config = uvicorn.Config(app, host=settings.api_host, port=settings.api_port,
                            log_level="info", access_log=False, timeout_graceful_shutdown=2)
    try:
        uvicorn.Server(config).run()
    finally:
        stop.set()
        if bus.connected.is_set():
            bus.close()
