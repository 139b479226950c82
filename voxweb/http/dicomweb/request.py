"""What every DICOMweb handler shares: the parsed request, the reply, the error, threads.

``DicomRequest`` is built once per request from the ASGI scope (root, path segments, query
decoded as UTF-8, headers, the base URL answers point at); ``Reply`` is a complete answer;
``HttpError`` is any answer other than 200 raised from a handler. No routing and no
DICOMweb semantics here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from anyio import to_thread
from starlette.types import Receive, Scope, Send

from voxweb.http.body import read_body
from voxweb.http.dicomweb.negotiation import JSON, MediaRange, parse_accept
from voxweb.http.errors import HttpError
from voxweb.http.responses import error_body

__all__ = ["ALLOW", "ROOTS", "DicomRequest", "HttpError", "Reply", "build_request", "run"]

T = TypeVar("T")

ROOTS = ("/dicom-web", "/dicom")
ALLOW = "GET, HEAD, POST, DELETE, OPTIONS"


@dataclass
class DicomRequest:
    """What a handler needs from the ASGI scope."""

    scope: Scope
    receive: Receive
    method: str
    root: str
    segments: list[str]
    query: list[tuple[str, str]]
    headers: dict[str, str]
    base: str

    @property
    def accept(self) -> list[MediaRange]:
        return parse_accept(self.headers.get("accept"))

    @property
    def path(self) -> str:
        """The path below the root, without empty segments: ``/studies/1.2/series``."""
        return "/" + "/".join(self.segments)

    def param(self, name: str, default: str | None = None) -> str | None:
        for k, v in self.query:
            if k == name:
                return v
        return default

    async def body(self) -> bytes:
        return await read_body(self.receive, self.headers)  # type: ignore[return-value]


def build_request(
    scope: Scope, receive: Receive, bound_host: str | None, base_url: str
) -> DicomRequest:
    """The request as handlers see it; ``bound_host`` / ``base_url`` are the server's own."""
    path: str = scope["path"]
    root = next((r for r in ROOTS if path == r or path.startswith(r + "/")), "")
    rest = path[len(root) :] if root else path
    segments = [s for s in rest.split("/") if s]
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    host = headers.get("host")
    server = scope.get("server")
    # dicomweb-client sends "Host: 127.0.0.1" without the port; on a local name the
    # socket's port is the right one (a proxy's public name is left alone).
    if (
        host
        and server
        and ":" not in host.rsplit("]", 1)[-1]
        and host in ("localhost", "127.0.0.1", "[::1]", bound_host)
        and server[1] not in (80, 443)
    ):
        host = f"{host}:{server[1]}"
    if host:
        base = f"{scope.get('scheme', 'http')}://{host}{root or '/dicom'}"
    else:
        base = base_url + (root or "/dicom")
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    # parse_qsl decodes %XX as latin-1 when given str; re-decode values as UTF-8
    query = [(_utf8(k), _utf8(v)) for k, v in query]
    method = scope["method"]
    return DicomRequest(scope, receive, method, root, segments, query, headers, base)


def _utf8(text: str) -> str:
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


@dataclass
class Reply:
    """A complete answer: status, content type, body, extra headers."""

    body: bytes
    content_type: str | None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


async def send_reply(send: Send, reply: Reply, head: bool = False) -> None:
    headers = [(b"content-length", str(len(reply.body)).encode())]
    if reply.content_type:
        headers.append((b"content-type", reply.content_type.encode("latin-1")))
    headers += [(k.lower().encode(), v.encode("latin-1")) for k, v in reply.headers.items()]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else reply.body})


def error_reply(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    """The error shape of every DICOMweb answer other than 2xx."""
    return Reply(error_body(message), JSON, status, headers or {})


async def run(func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` on a worker thread (every database call blocks)."""
    return await to_thread.run_sync(func, *args)
