"""The ``X-Voxweb-Worker`` response header: which process of a multi-worker server answered.

The value is the worker's index (0 is the scene process), not a pid, so it tells a client or
a test which process took the connection and nothing about the machine.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-voxweb-worker"


class WorkerTag:
    def __init__(self, app: ASGIApp, index: int) -> None:
        self.app = app
        self.value = str(index).encode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(n, v) for n, v in message.get("headers", []) if n.lower() != HEADER]
                headers.append((HEADER, self.value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, tagged)
