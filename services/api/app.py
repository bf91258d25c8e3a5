"""The FastAPI application: ``create_app(settings, bus=..., store=...)``.

Routes are thin; the store is :class:`perimeter.store.AlertStore`, the live view follows the
injected :class:`perimeter.bus.Bus` (none: the API serves the store only). No MQTT import here.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypedDict

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from perimeter.bus import Bus
from perimeter.config import ApiSettings
from perimeter.site import load_site
from perimeter.store import AlertStore
from services.api import alerts, config, health, towers, tracks, workflow
from services.api import site as site_routes
from services.api.errors import install_error_handlers
from services.api.limits import BodyLimit, HeadAsGet, StreamCap
from services.api.live import LiveView
from services.api.metrics import ApiMetrics
from services.api.page_cache import PageCache
from services.api.state import ApiState
from services.api.tuning import ThresholdsKeeper

STATIC_DIR = Path(__file__).parent / "static"
MAX_BODY_BYTES = 64 * 1024
PREFIX = "/api/v1"


class LifespanState(TypedDict):
    api: ApiState


def create_app(settings: ApiSettings, *, bus: Bus | None = None,
               store: AlertStore | None = None,
               stopping: threading.Event | None = None) -> FastAPI:
    """The API over ``store`` (else opened from ``settings.db_url`` for the app's lifetime),
    following ``bus`` when given. The site is loaded now, so a bad one fails fast.

    ``stopping``, set when the server begins to shut down, ends the live alert streams (else an
    open stream holds the shutdown until uvicorn's graceful timeout cancels it)."""
    site = load_site(settings.site)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[LifespanState]:
        owns_store = store is None
        opened = AlertStore.open(settings.db_url) if store is None else store
        metrics = ApiMetrics()
        live = LiveView(metrics, [t.id for t in site.towers])
        metrics.follow_fusion(live.fusion_counters)
        live.waker.bind(asyncio.get_running_loop())
        keeper = ThresholdsKeeper(opened, live)
        if bus is not None:
            live.attach(bus)
        state = ApiState(settings=settings, site=site, store=opened, bus=bus, live=live,
                         metrics=metrics, thresholds=keeper, owns_store=owns_store,
                         pages=PageCache(), stopping=stopping or threading.Event())
        try:
            yield {"api": state}
        finally:
            live.closed = True
            if owns_store:
                opened.close()

    app = FastAPI(
        title="Perimeter monitor API", version="1.0.0", lifespan=lifespan,
        description="Alerts, towers, tracks and live thresholds of the perimeter monitor. "
                    "Writes need `Authorization: Bearer TOKEN`: an operator's token (viewer, "
                    "operator or admin) or `$PERIMETER_API_TOKEN` (bootstrap admin). Errors answer "
                    '`{"error": {"status", "code", "message", "field"}}`.')
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    for stream in ("stream", "actions/stream"):
        app.add_middleware(StreamCap, path=f"{PREFIX}/alerts/{stream}",
                           limit=settings.sse_max_clients)
    app.add_middleware(HeadAsGet)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID", "X-Operator"])
    for module in (workflow, alerts, towers, tracks, config, site_routes):  # workflow first:
        # its /alerts/queue and /alerts/counts would otherwise match /alerts/{alert_id}
        app.include_router(module.router, prefix=PREFIX)
    app.include_router(health.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def map_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    return app
