"""The operators' alarm workflow over HTTP: the queue, resolutions, comments, who am I, and a
live SSE feed of every step (``/api/v1/alerts/actions/stream``)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict, Field

from perimeter.store import AlertAction, AlertRecord, Disposition
from perimeter.store.workflow import MAX_COMMENT_CHARS
from services.api.alerts import AlertId, stream_cursor
from services.api.deps import CallerDep, OperatorCaller, StateDep
from services.api.errors import error_responses
from services.api.sse import follow

router = APIRouter(tags=["workflow"])



class Counts(BaseModel):
    unacknowledged: int = Field(description="alerts neither acknowledged nor resolved")
    unresolved: int = Field(description="alerts not yet resolved (open or closed)")


class Queue(Counts):
    items: list[AlertRecord] = Field(description="unresolved alerts, most severe first, then "
                                                 "oldest first")
    last_seq: int = Field(description="the newest alert event stored before the queue was "
                                      "read: follow /alerts/stream?after= this")
    last_action_id: int = Field(description="the newest operator step stored before the queue "
                                            "was read: follow /alerts/actions/stream?after= this")


class ResolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    disposition: Disposition
    comment: Annotated[str | None, Field(max_length=MAX_COMMENT_CHARS)] = None


class CommentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, Field(min_length=1, max_length=MAX_COMMENT_CHARS)]


class Me(BaseModel):
    name: str
    role: str


@router.get("/whoami", response_model=Me, responses=error_responses(401, 403))
def whoami(caller: CallerDep) -> Me:
    """Who the bearer token names, and the role (the console's login checks it here)."""
    return Me(name=caller.name, role=caller.role)


@router.get("/alerts/queue", response_model=Queue, responses=error_responses(422))
def alert_queue(state: StateDep,
                limit: Annotated[int, Query(ge=1, le=200)] = 100) -> Queue:
    """The operators' queue: unresolved alerts by severity then age, with the counts and where
    the live feeds stand (read first, so following them from there misses nothing)."""
    last_seq, last_action_id = state.store.last_seq(), state.store.workflow.last_action_id()
    counts = state.store.workflow.counts()
    return Queue(items=state.store.queue(limit), last_seq=last_seq,
                 last_action_id=last_action_id, **counts)


@router.get("/alerts/counts", response_model=Counts)
def alert_counts(state: StateDep) -> Counts:
    """How many alerts wait for an acknowledgement, and for a resolution."""
    return Counts(**state.store.workflow.counts())


@router.get("/alerts/actions/stream", response_class=EventSourceResponse,
            responses=error_responses(400, 422, 503))
async def stream_actions(
    state: StateDep,
    request: Request,
    start_after: Annotated[int | None, Depends(stream_cursor)],
) -> AsyncIterator[ServerSentEvent]:
    """Every operator step (acknowledged, comment, resolved) as it is stored, ``event:
    action``, ``id`` = the step's id; ``Last-Event-ID`` or ``?after=ID`` resumes, else from
    now on. Capped like the alert stream (``PERIMETER_SSE_MAX_CLIENTS``, 503 beyond)."""
    cursor = start_after
    if cursor is None:
        cursor = await run_in_threadpool(state.store.workflow.last_action_id)

    def send(action: AlertAction) -> tuple[int, ServerSentEvent]:
        return action.id, ServerSentEvent(id=str(action.id), event="action",
                                          data=action.model_dump(mode="json"))

    async for message in follow(state, request, cursor, "alert actions",
                                state.store.workflow.actions_after, send):
        yield message


@router.post("/alerts/{alert_id}/resolve", response_model=AlertRecord,
             responses=error_responses(401, 403, 404, 409, 422))
def resolve_alert(alert_id: AlertId, body: ResolveRequest, state: StateDep,
                  caller: OperatorCaller) -> AlertRecord:
    """Resolve with a disposition (intrusion, nuisance, false_alarm, test) and an optional
    comment, as the caller; acknowledges too if nobody had. Once: a second answers 409."""
    record = state.store.resolve(alert_id, caller.name, time.time(), body.disposition,
                                 body.comment, state.live.towers.newest_report_t_s())
    state.live.waker.wake()
    return record


@router.post("/alerts/{alert_id}/comments", response_model=AlertAction, status_code=201,
             responses=error_responses(401, 403, 404, 422))
def comment_alert(alert_id: AlertId, body: CommentRequest, state: StateDep,
                  caller: OperatorCaller) -> AlertAction:
    """Add a comment to an alert, as the caller."""
    action = state.store.comment(alert_id, caller.name, time.time(), body.text,
                                 state.live.towers.newest_report_t_s())
    state.live.waker.wake()
    return action
