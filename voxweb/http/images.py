"""Responses for rendered images and glTF: ETag, ``If-None-Match`` -> 304, no-cache revalidation.

Route handlers run on worker threads and see no request headers, so the conditional check
happens when the response is sent: :class:`ConditionalResponse` reads ``If-None-Match`` from
the ASGI scope and answers ``304 Not Modified`` (no body) when the ETag matches.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class ConditionalResponse(Response):
    """A 200 response with an ETag that turns into 304 when the client already has it."""

    def __init__(
        self, body: bytes, media_type: str, etag: str, headers: dict[str, str] | None = None
    ) -> None:
        merged = {"ETag": etag, "Cache-Control": "no-cache"}
        merged.update(headers or {})
        super().__init__(body, media_type=media_type, headers=merged)
        self.etag = etag

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._matches(scope):
            not_modified = Response(
                status_code=304, headers={"ETag": self.etag, "Cache-Control": "no-cache"}
            )
            await not_modified(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def _matches(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"if-none-match":
                tags = [t.strip() for t in value.decode("latin-1").split(",")]
                weak = [t[2:] if t.startswith("W/") else t for t in tags]
                return "*" in tags or self.etag in weak
        return False
