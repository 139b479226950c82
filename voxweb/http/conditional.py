"""ETags and ``If-None-Match``: the one check every area uses, and a response that applies it.

Route handlers run on worker threads and see no request headers, so for rendered images and
glTF the check happens when the response is sent: :class:`ConditionalResponse` reads
``If-None-Match`` from the ASGI scope and answers ``304 Not Modified`` (no body) when the ETag
matches. Static files and OHIF's patched bundles call :func:`etag_matches` directly.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Receive, Scope, Send


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether a client holding ``If-None-Match`` already has ``etag`` (weak comparison)."""
    if not if_none_match or not etag:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in (t.removeprefix("W/") for t in tags)


def if_none_match_of(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"if-none-match":
            return value.decode("latin-1")
    return None


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
        if etag_matches(if_none_match_of(scope), self.etag):
            not_modified = Response(
                status_code=304, headers={"ETag": self.etag, "Cache-Control": "no-cache"}
            )
            await not_modified(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
