"""``/api/v1/alerts``: pages, one alert with its history, acknowledgement, the live SSE feed."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, ServerSentEvent

from perimeter.contract import AlertEvent, Severity, TargetClass
from perimeter.geojson import GeoError, alerts_geojson
from perimeter.store import AlertRecord, AlertStatus, Disposition
from services.api.deps import OperatorCaller, StateDep, StoreDep
from services.api.errors import ApiError, error_responses
from services.api.schemas import AckRequest, AlertPage
from services.api.sse import follow
from services.api.state import ApiState

router = APIRouter(prefix="/alerts", tags=["alerts"])

MAX_LIMIT = 200
AlertId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", examples=["a-000017"])]


GEOJSON_RESPONSE: dict[int | str, dict[str, object]] = {200: {"content": {
    "application/geo+json": {"schema": {"type": "object", "description": "FeatureCollection"}}}}}


@router.get("", response_model=AlertPage,
            responses={**error_responses(422), **GEOJSON_RESPONSE})
async def list_alerts(
    state: StateDep,
    status: AlertStatus | None = None,
    severity: Severity | None = None,
    class_: Annotated[TargetClass | None, Query(alias="class")] = None,
    disposition: Annotated[Disposition | None, Query(
        description="resolved with this disposition")] = None,
    acked: Annotated[bool | None, Query(description="acknowledged (true) or not")] = None,
    since: Annotated[float | None, Query(description="raised at or after (t_s, Unix s)",
                                         allow_inf_nan=False)] = None,
    until: Annotated[float | None, Query(description="raised at or before (t_s, Unix s)",
                                         allow_inf_nan=False)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    run_id: Annotated[str | None, Query(
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        description="only the alerts of this fusion session (each alert's `run_id`)")] = None,
    output: Annotated[Literal["json", "geojson"], Query(alias="format", description=(
        "geojson: a FeatureCollection of the page (positions and origins in lon/lat from "
        "the site's geographic origin), next_cursor as a member"))] = "json",
) -> Response:
    """Alerts newest first (by when they were raised); pages are stable while alerts arrive."""
    key = (status, severity, class_, disposition, acked, since, until, limit, cursor, run_id,
           output)
    version = state.store.version()
    body = state.pages.get(key, version)
    if body is None:
        items, next_cursor = await run_in_threadpool(
            state.store.list_alerts, status=status, severity=severity, class_=class_,
            since_t_s=since, until_t_s=until, limit=limit, cursor=cursor, run_id=run_id,
            disposition=disposition, acked=acked)
        body = (_geojson_page(state, items, next_cursor) if output == "geojson" else
                AlertPage(items=items, next_cursor=next_cursor).model_dump_json(by_alias=True)
                ).encode()
        state.pages.put(key, version, body)
    return Response(body, media_type="application/geo+json" if output == "geojson"
                    else "application/json")


def _geojson_page(state: ApiState, items: list[AlertRecord], next_cursor: str | None) -> str:
    """A page of alerts as a GeoJSON FeatureCollection with ``next_cursor`` as a member."""
    try:
        document = alerts_geojson(state.site, items)
    except GeoError as exc:
        raise ApiError(422, str(exc), field="format") from None
    document["next_cursor"] = next_cursor
    return json.dumps(document)


MAX_EVENT_ID = 2**63 - 1
"""Event ids are SQLite integers: a larger ``after`` / ``Last-Event-ID`` is refused (400)."""


def stream_cursor(
    last_event_id: Annotated[int | None, Header(description="resume after this id")] = None,
    after: Annotated[int | None, Query(description="start after this event id")] = None,
) -> int | None:
    """The event id to start after (``Last-Event-ID`` first); 400 outside 0..2^63-1."""
    for field, value in (("last-event-id", last_event_id), ("after", after)):
        if value is not None and not 0 <= value <= MAX_EVENT_ID:
            raise ApiError(400, f"{field}: an event id is from 0 to {MAX_EVENT_ID}, got "
                                f"{value}", field=field)
    return last_event_id if last_event_id is not None else after


@router.get("/stream", response_class=EventSourceResponse,
            responses=error_responses(400, 422, 503))
async def stream_alerts(
    state: StateDep,
    request: Request,
    start_after: Annotated[int | None, Depends(stream_cursor)],
) -> AsyncIterator[ServerSentEvent]:
    """Every alert event as it is stored, one SSE event each, ``id`` = the event's sequence
    number. A client reconnecting with ``Last-Event-ID`` misses nothing; a new client gets
    events from now on (or after ``?after=ID``). The stream ends when the server shuts down.
    At most ``PERIMETER_SSE_MAX_CLIENTS`` streams are open at once (503 beyond; see
    :class:`services.api.limits.StreamCap`)."""
    cursor = start_after
    if cursor is None:
        cursor = await run_in_threadpool(state.store.last_seq)

    def send(item: tuple[int, AlertEvent]) -> tuple[int, ServerSentEvent]:
        seq, event = item
        return seq, ServerSentEvent(id=str(seq), data=event.to_payload())

    async for message in follow(state, request, cursor, "alert events",
                                state.store.events_after, send):
        yield message


@router.get("/{alert_id}", response_model=AlertRecord,
            responses=error_responses(404, 422))
def get_alert(alert_id: AlertId, store: StoreDep) -> AlertRecord:
    """One alert's current state with its event history (oldest first)."""
    record = store.get_alert(alert_id)
    if record is None:
        raise ApiError(404, f"no alert with id {alert_id!r}; list alerts at /api/v1/alerts",
                       field="alert_id")
    return record


@router.post("/{alert_id}/ack", response_model=AlertRecord,
             responses=error_responses(401, 403, 404, 422))
def ack_alert(alert_id: AlertId, state: StateDep, caller: OperatorCaller,
              _body: Annotated[AckRequest | None, Body()] = None) -> AlertRecord:
    """Acknowledge an alert as the caller (the token names who; a ``by`` in the body is
    ignored): when on the server's clock (``acked_at_wall_s``) and in data time
    (``acked_at_t_s``: the newest report time seen). Idempotent: the first acknowledgement
    stands."""
    record = state.store.ack(alert_id, caller.name, time.time(),
                             state.live.towers.newest_report_t_s())
    state.live.waker.wake()
    return record
