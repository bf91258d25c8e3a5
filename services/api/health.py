"""``/healthz``, ``/readyz`` and ``/metrics`` (Prometheus text)."""

from __future__ import annotations

import threading

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.api.deps import StateDep
from services.api.schemas import Health, Readiness

router = APIRouter(tags=["health"])


def bus_connected(bus: object) -> bool:
    """A bus's ``connected`` (an Event, a flag or a method); a bus without one is in-process."""
    connected = getattr(bus, "connected", None)
    if connected is None:
        return True
    if isinstance(connected, threading.Event):
        return connected.is_set()
    return bool(connected() if callable(connected) else connected)


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process answers."""
    return Health()


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(state: StateDep) -> JSONResponse:
    """Ready when the store takes a write and (with a bus) the broker is connected."""
    checks = {"store_writable": await run_in_threadpool(state.store.writable)}
    if state.bus is not None:
        checks["broker_connected"] = bus_connected(state.bus)
    ready = all(checks.values())
    return JSONResponse(Readiness(ready=ready, checks=checks).model_dump(),
                        status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(state: StateDep) -> Response:
    """Prometheus text exposition."""
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
