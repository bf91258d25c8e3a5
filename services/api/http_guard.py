"""uvicorn's HTTP protocol with the two timeouts it lacks: a request's line and headers must
arrive within ``header_timeout_s`` of the connection (or of the request's first byte), and a
request body that stalls for ``idle_timeout_s`` closes the connection. uvicorn itself only
closes idle keep-alive connections (``timeout_keep_alive``), so without these a client that
sends half a request holds its connection (and file descriptor) forever."""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

Phase = Literal["headers", "body", "done"]


class GuardedHttpProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` that closes connections whose request stalls."""

    header_timeout_s = 10.0
    idle_timeout_s = 30.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        now = time.monotonic()
        self._phase: Phase = "headers"
        self._phase_since = self._last_data = now
        self._guard: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        tick_s = min(self.header_timeout_s, self.idle_timeout_s) / 4
        self._guard = self.loop.call_later(tick_s, self._watch)

    def data_received(self, data: bytes) -> None:
        self._last_data = time.monotonic()
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase, self._phase_since = "headers", time.monotonic()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._phase = "body"

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._phase = "done"

    def connection_lost(self, exc: Exception | None) -> None:
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None
        super().connection_lost(exc)

    def _watch(self) -> None:
        self._guard = None
        if self.transport.is_closing():
            return
        now = time.monotonic()
        stalled = ((self._phase == "headers" and now - self._phase_since > self.header_timeout_s)
                   or (self._phase == "body" and now - self._last_data > self.idle_timeout_s))
        if stalled:
            self.logger.info("closing a connection whose request stalled (%s)", self._phase)
            self.transport.close()
            return
        self._arm()


def guarded_protocol(header_timeout_s: float, idle_timeout_s: float) -> type[HttpToolsProtocol]:
    """A :class:`GuardedHttpProtocol` with these timeouts, for ``uvicorn.Config(http=...)``."""
    return type("GuardedHttp", (GuardedHttpProtocol,),
                {"header_timeout_s": header_timeout_s, "idle_timeout_s": idle_timeout_s})
