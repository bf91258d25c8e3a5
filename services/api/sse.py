"""One loop for the API's live feeds: fetch what was stored after a cursor, send it, wait for a
wake-up (or the poll interval), until the server stops or the client leaves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import TypeVar

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import ServerSentEvent

from services.api.state import ApiState

T = TypeVar("T")
STREAM_BATCH = 500
POLL_S = 1.0
"""Longest wait before a stream looks at the store again without a bus wake-up."""


async def follow(state: ApiState, request: Request, cursor: int, what: str,
                 fetch: Callable[[int, int], Sequence[T]],
                 send: Callable[[T], tuple[int, ServerSentEvent]]
                 ) -> AsyncIterator[ServerSentEvent]:
    """SSE events of everything ``fetch(cursor, batch)`` finds, each turned by ``send`` into
    its id (the next cursor) and event; counted in ``perimeter_sse_clients``."""
    waker = state.live.waker
    state.metrics.sse_clients.inc()
    try:
        yield ServerSentEvent(comment=f"{what} after {cursor}", retry=2000)
        while not state.stopping.is_set():
            if await request.is_disconnected():
                return  # else a quiet stream would poll for a gone client forever
            token = waker.token()
            found = await run_in_threadpool(fetch, cursor, STREAM_BATCH)
            for item in found:
                cursor, event = send(item)
                yield event
            if len(found) < STREAM_BATCH:
                await waker.wait(token, POLL_S)
    finally:
        state.metrics.sse_clients.dec()
