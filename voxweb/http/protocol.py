"""uvicorn's HTTP protocol with a header-read timeout, a head size cap and HTTP/1.0 keep-alive.

uvicorn times out idle keep-alive connections but waits forever for a request whose header
trickles in, or for a first byte that never comes. This subclass closes such a connection
after ``header_timeout`` seconds, answering 408 if part of a request had arrived.

Neither uvicorn nor httptools limits the size of a request head: httptools keeps appending to
a header value until it ends, so one 64 MB header was buffered before anything looked at it.
This protocol counts the bytes that arrive while a request head is being read and answers
431 past ``max_header_bytes``.

This subclasses uvicorn's ``HttpToolsProtocol`` and uses its private attributes (``parser``,
``cycle``, ``scope``, ``transport``, ``send_400_response``), so pyproject.toml pins uvicorn to
the minor version it was tested with; ``tests/http/test_protocol_contract.py`` names them.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeadTooLargeError(Exception):
    """Raised from a parser callback to stop reading a request head over the limit."""


class TimedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout: float = 10.0
    max_header_bytes: int = 64 << 10

    def data_received(self, data: bytes) -> None:
        self._head_began_here = False
        was_in_head = self._in_head
        super().data_received(data)
        # A header value still arriving is buffered whole by httptools, so the callbacks
        # below never see it: count the chunks that lie wholly inside one request head too.
        # (A chunk in which a request began may hold the previous request's body, so the
        # count skips it and never refuses a pipelining client by mistake.)
        if self._in_head and was_in_head and not self._head_began_here:
            self._head_chunks += len(data)
            if self._head_chunks > self.max_header_bytes and not self.transport.is_closing():
                self._head_too_large = True
                self.send_400_response("")

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count_head(self, size: int) -> None:
        self._head_seen += size
        if self._head_seen > self.max_header_bytes:
            self._head_too_large = True
            raise HeadTooLargeError  # httptools stops; uvicorn calls send_400_response

    def send_400_response(self, msg: str) -> None:
        if not self._head_too_large:
            super().send_400_response(msg)
            return
        body = f"request header fields over {self.max_header_bytes} bytes".encode()
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
        )
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._in_head = False
        self._head_seen = 0  # URL and header bytes the parser has handed over
        self._head_chunks = 0  # bytes of chunks that lay wholly inside the head
        self._head_began_here = False
        self._head_too_large = False
        self._arm_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_seen = 0
        self._head_chunks = 0
        self._head_began_here = True
        if self._header_timer is None:
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm_header_timer()
        super().on_headers_complete()
        # uvicorn closes every HTTP/1.0 connection; honour "Connection: keep-alive" instead
        # (ApacheBench and other 1.0 clients ask for it). http10_keepalive() in http/app.py
        # answers with the matching header, or closes when the length is not known upfront.
        cycle = self.cycle
        if (
            cycle is not None
            and self.scope.get("http_version") == "1.0"
            and self.parser.should_keep_alive()
            and not cycle.response_started
        ):
            cycle.keep_alive = True

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._on_header_timeout)

    def _disarm_header_timer(self) -> None:
        if getattr(self, "_header_timer", None) is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _on_header_timeout(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered; its own limits apply
        body = b"request header timeout"
        self.transport.write(
            b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
        )
        self.transport.close()


def protocol_with_timeout(header_timeout: float) -> type[TimedHttpToolsProtocol]:
    """A protocol class bound to one server's header timeout."""
    return type("VoxwebHttpProtocol", (TimedHttpToolsProtocol,), {"header_timeout": header_timeout})
