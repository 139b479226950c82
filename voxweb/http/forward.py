"""Both ends of the hop that carries scene requests from a worker to the scene process.

With ``voxweb serve --workers N`` one process holds the scene and the others pass it every
request they cannot answer alone (``/slicer``, ``/api``; see ``voxweb/scaleout``).
``SceneForwarder`` is the worker's end: an ASGI app that sends the request, as received, over
the scene process's private Unix socket and streams the answer back as it arrives, so
uploads, downloads and server-sent-event streams pass through without being held whole.
``ForwardedRequests`` is the scene process's end: it takes only requests that carry the
run's secret, and restores the scheme and client the worker saw. The scene process then
applies its usual Host, Origin and token checks to the request, so the hop skips none.

This module knows HTTP/1.1 framing and nothing of the scene.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time

import httptools
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxweb.http.responses import error_response

logger = logging.getLogger(__name__)

SECRET_HEADER = b"x-voxweb-forward-secret"
SCHEME_HEADER = b"x-voxweb-forward-scheme"
CLIENT_HEADER = b"x-voxweb-forward-client"
FORWARD_PREFIX = b"x-voxweb-forward-"
FORWARDED_SCOPE_KEY = "voxweb.forwarded"  # set on a worker's scope when the scene answered

# Per-connection headers (RFC 9110 §7.6.1) are not passed on; neither is a Date or Server
# the other hop's own server adds. Expect: the worker already answered "100 Continue".
_REQUEST_DROP = {
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"transfer-encoding",
    b"te",
    b"trailer",
    b"upgrade",
    b"expect",
    b"content-length",
}
_RESPONSE_DROP = {
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"transfer-encoding",
    b"trailer",
    b"upgrade",
    b"date",
    b"server",
}
_READ_SIZE = 256 << 10
_POOL_SIZE = 32


class _UpstreamClosed(Exception):
    """The scene process closed the connection before the answer was complete."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = time.monotonic()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class _ResponseParser:
    """httptools callbacks that collect one response's head and body pieces."""

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.complete = False
        self.body: list[bytes] = []
        self.parser = httptools.HttpResponseParser(self)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.head_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True

    def take_body(self) -> list[bytes]:
        pieces, self.body = self.body, []
        return pieces


class SceneForwarder:
    """ASGI app (in a worker) that has the scene process answer each request.

    Connections to the scene process are kept open and reused; an idle one is dropped well
    before the scene process's keep-alive timeout (``idle_limit``), so a request never lands
    on a connection that is being closed.
    """

    def __init__(self, socket_path: str, secret: str, idle_limit: float = 20.0) -> None:
        self.socket_path = socket_path
        self.secret = secret.encode("ascii")
        self.idle_limit = idle_limit
        self._idle: list[_Connection] = []

    async def _connect(self) -> _Connection:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if now - conn.idle_since < self.idle_limit and not conn.reader.at_eof():
                return conn
            conn.close()
        reader, writer = await asyncio.open_unix_connection(self.socket_path, limit=_READ_SIZE)
        return _Connection(reader, writer)

    def _release(self, conn: _Connection) -> None:
        if len(self._idle) < _POOL_SIZE and not conn.writer.is_closing():
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()

    def _request_head(self, scope: Scope, body_length: int | None, has_body: bool) -> bytes:
        target = scope.get("raw_path") or scope["path"].encode("utf-8")
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        named_in_connection = set()
        for name, value in scope["headers"]:
            if name.lower() == b"connection":
                named_in_connection.update(t.strip().lower() for t in value.split(b","))
        lines = [scope["method"].encode("ascii") + b" " + target + b" HTTP/1.1"]
        for name, value in scope["headers"]:
            lname = name.lower()
            if (
                lname in _REQUEST_DROP
                or lname in named_in_connection
                or lname.startswith(FORWARD_PREFIX)
            ):
                continue
            lines.append(name + b": " + value)
        if body_length is not None:
            lines.append(b"content-length: " + str(body_length).encode())
        elif has_body:
            lines.append(b"transfer-encoding: chunked")
        client = scope.get("client")
        client_text = f"{client[0]}:{client[1]}" if client else ""
        lines.append(SECRET_HEADER + b": " + self.secret)
        lines.append(SCHEME_HEADER + b": " + scope.get("scheme", "http").encode("ascii"))
        lines.append(CLIENT_HEADER + b": " + client_text.encode("latin-1"))
        return b"\r\n".join(lines) + b"\r\n\r\n"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body_length, has_body = _request_framing(scope)
        try:
            conn = await self._connect()
        except OSError as exc:
            logger.error("cannot reach the scene process at %s: %s", self.socket_path, exc)
            await error_response(502, "Bad Gateway: the scene process is not answering")(
                scope, receive, send
            )
            return
        scope[FORWARDED_SCOPE_KEY] = True
        conn.writer.write(self._request_head(scope, body_length, has_body))
        body_state = {"sent": not has_body}
        pump = asyncio.create_task(
            self._pump_body(conn, receive, has_body, body_length, body_state)
        )
        relay = asyncio.create_task(self._relay_response(conn, scope, send))
        reusable = False
        try:
            await asyncio.wait({pump, relay}, return_when=asyncio.FIRST_COMPLETED)
            if pump.done() and pump.exception() is not None and not relay.done():
                # Writing failed: the scene process may have answered early (401, 413) and
                # closed; that answer, or the end of the connection, is still to be read.
                await relay
            if relay.done():
                reusable = relay.result() and body_state["sent"]
            # else the pump ended because the client went away: stop relaying
        except _UpstreamClosed as exc:
            logger.warning("the scene process dropped a forwarded request: %s", exc)
        finally:
            for task in (pump, relay):
                if not task.done():
                    task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            if reusable:
                self._release(conn)
            else:
                conn.close()

    async def _pump_body(
        self,
        conn: _Connection,
        receive: Receive,
        has_body: bool,
        body_length: int | None,
        state: dict,
    ) -> None:
        """Send the request body as it arrives, then wait for the client to go away."""
        chunked = has_body and body_length is None
        more = has_body
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            data = message.get("body", b"")
            more = message.get("more_body", False)
            if data:
                if chunked:
                    conn.writer.write(b"%x\r\n" % len(data) + data + b"\r\n")
                else:
                    conn.writer.write(data)
            if not more and chunked:
                conn.writer.write(b"0\r\n\r\n")
            await conn.writer.drain()
        state["sent"] = True
        while (await receive())["type"] != "http.disconnect":
            pass

    async def _relay_response(self, conn: _Connection, scope: Scope, send: Send) -> bool:
        """Stream the scene process's answer to the client; True if the connection can be reused."""
        parsed = _ResponseParser()
        head_only = scope["method"] == "HEAD"
        started = False
        while True:
            data = await conn.reader.read(_READ_SIZE)
            if not data:
                if started and not parsed.complete and not _has_length(parsed.headers):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return False  # a body that ended with the connection
                if not started:
                    await error_response(
                        502, "Bad Gateway: the scene process closed the connection"
                    )(scope, _no_receive, send)
                    return False
                raise _UpstreamClosed("connection closed mid-answer")
            try:
                parsed.parser.feed_data(data)
            except httptools.HttpParserError as exc:
                raise _UpstreamClosed(f"unreadable answer: {exc}") from None
            if parsed.head_done and not started:
                status = parsed.parser.get_status_code()  # never 1xx: Expect is not passed on
                headers = [(n, v) for n, v in parsed.headers if n not in _RESPONSE_DROP]
                await send({"type": "http.response.start", "status": status, "headers": headers})
                started = True
                if head_only:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return False  # the parser would wait for a body a HEAD answer never has
            for piece in parsed.take_body():
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            if parsed.complete:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return parsed.parser.should_keep_alive()


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _has_length(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(
        n == b"content-length" or (n == b"transfer-encoding" and b"chunked" in v.lower())
        for n, v in headers
    )


def _request_framing(scope: Scope) -> tuple[int | None, bool]:
    """(Content-Length or None, whether a body follows) of the request the client sent."""
    length = None
    chunked = False
    for name, value in scope["headers"]:
        lname = name.lower()
        if lname == b"content-length":
            with contextlib.suppress(ValueError):
                length = int(value)
        elif lname == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        return None, True
    if length is not None:
        return length, length > 0
    return None, False


class ForwardedRequests:
    """The scene process's private listener: requests from its own workers only.

    A request without the run's secret gets 403. One with it gets the scheme and client
    the worker saw, then goes through the whole app (Host, Origin and token checks too).
    """

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self.app = app
        self.secret = secret.encode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = {n: v for n, v in scope["headers"] if n.startswith(FORWARD_PREFIX)}
        if not hmac.compare_digest(given.get(SECRET_HEADER, b""), self.secret):
            await error_response(
                403, "Forbidden: this socket takes requests only from voxweb's own workers"
            )(scope, receive, send)
            return
        scope = dict(scope)
        scope["headers"] = [(n, v) for n, v in scope["headers"] if not n.startswith(FORWARD_PREFIX)]
        scheme = given.get(SCHEME_HEADER, b"http").decode("latin-1")
        scope["scheme"] = scheme if scheme in ("http", "https") else "http"
        host, _, port = given.get(CLIENT_HEADER, b"").decode("latin-1").rpartition(":")
        scope["client"] = (host, int(port)) if host and port.isdigit() else None
        await self.app(scope, receive, send)
