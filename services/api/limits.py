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
