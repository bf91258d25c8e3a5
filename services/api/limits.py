"""Request bodies over the limit are refused (413) in the API's error shape: up front when the
``Content-Length`` says so, else as soon as the streamed body passes the limit."""

from __future__ import annotations

import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.errors import error_response


class _TooLargeError(Exception):
    pass


class BodyLimit:
    """Refuse request bodies over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refuse = error_response(413, f"request body over {self.max_bytes} bytes", field="body")
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit()
                                              or int(value) > self.max_bytes):
                await refuse(scope, receive, send)
                return
        received = 0
        started = too_large = False

        async def counted_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                too_large = True
                raise _TooLargeError
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if too_large:
                return  # whatever the app answers to the cut body is replaced by the 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(_TooLargeError):
            await self.app(scope, counted_receive, watched_send)
        if too_large and not started:
            await refuse(scope, receive, send)


class StreamCap:
    """At most ``limit`` requests to ``path`` (the SSE feed) in flight at once; one more is
    answered 503. Counted around the whole response, so a stream holds its slot until it
    ends, however it ends."""

    def __init__(self, app: ASGIApp, path: str, limit: int) -> None:
        self.app, self.path, self.limit = app, path, limit
        self.open = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        if self.open >= self.limit:
            refuse = error_response(
                503, f"{self.limit} alert streams are open, the most this server takes "
                     "(PERIMETER_SSE_MAX_CLIENTS); try again later",
                headers={"Retry-After": "5"})
            await refuse(scope, receive, send)
            return
        self.open += 1  # one event loop: no lock needed
        try:
            await self.app(scope, receive, send)
        finally:
            self.open -= 1


class _HeadDoneError(Exception):
    pass


class HeadAsGet:
    """Answer HEAD wherever GET is served: the GET's status and headers, no body. A stream
    (the SSE feed) is ended once its headers are out."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        done = False

        async def headers_only(message: Message) -> None:
            nonlocal done
            if message["type"] == "http.response.start":
                await send(message)
            elif message["type"] == "http.response.body" and not done:
                done = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                raise _HeadDoneError

        with contextlib.suppress(_HeadDoneError):
            await self.app(dict(scope, method="GET"), receive, headers_only)
