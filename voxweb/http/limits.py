"""Request-body limits: a size cap (413) and a stall timeout (408).

A declared ``Content-Length`` over the cap is refused before a byte of the body is read; a
chunked body is counted as it arrives and refused as soon as it passes the cap. A body that
stops arriving for ``body_timeout`` seconds is cut off. Once the body is complete, ``receive``
is passed through untouched, so long-lived responses (server-sent events) are not timed out.
"""

from __future__ import annotations

import asyncio
import sys

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxweb.http.responses import error_response

if sys.version_info >= (3, 11):

    async def _within(awaitable, seconds: float):
        # asyncio.timeout costs far less than wait_for (no task per call): it runs per chunk.
        async with asyncio.timeout(seconds):
            return await awaitable

else:  # pragma: no cover - Python 3.10

    async def _within(awaitable, seconds: float):
        return await asyncio.wait_for(awaitable, seconds)


class BodyLimits:
    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                await error_response(400, f"Content-Length {declared!r} is not a number")(
                    scope, receive, send
                )
                return
            if too_big:
                await self._refuse(scope, receive, send, 413, self._too_big_message())
                return

        received = 0
        body_done = False
        started = False
        refused = False

        async def refuse(status: int, message: str) -> Message:
            # Answer now (frameworks turn receive() errors into their own 400s), then tell
            # the app the client is gone and drop whatever it still tries to send.
            nonlocal refused
            if not started:
                refused = True
                await self._refuse(scope, receive, send, status, message)
            return {"type": "http.disconnect"}

        async def limited_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                return await receive()
            try:
                message = await _within(receive(), self.timeout)
            except asyncio.TimeoutError:
                return await refuse(408, f"the request body stalled for {self.timeout:g} s")
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    return await refuse(413, self._too_big_message())
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise

    def _too_big_message(self) -> str:
        return (
            f"the request body is larger than the limit of {self.max_bytes} bytes (max_body_size)"
        )

    @staticmethod
    async def _refuse(
        scope: Scope, receive: Receive, send: Send, status: int, message: str
    ) -> None:
        # The unread rest of the body makes the connection unusable: close it.
        await error_response(status, message, headers={"Connection": "close"})(scope, receive, send)
