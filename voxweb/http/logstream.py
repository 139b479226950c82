"""The log ring over HTTP: a JSON snapshot and a server-sent-events stream.

Events: ``log`` (one entry as JSON, ``id`` = its sequence number), ``clear`` (the ring was
emptied), and a comment line every ``HEARTBEAT_S`` seconds so proxies keep the stream open.
A reconnecting EventSource sends ``Last-Event-ID`` and resumes after it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import StreamingResponse

from voxweb.logring import LogRing

HEARTBEAT_S = 15.0


def _event(name: str, data: object, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data)}\n\n".encode()


async def follow(ring: LogRing, after: int) -> AsyncIterator[bytes]:
    # Runs until the client goes away (StreamingResponse cancels it) or the server stops.
    yield b"retry: 2000\n\n"
    last_seq = after
    cleared_at = ring.cleared_at
    if 0 < after <= cleared_at:
        yield _event("clear", {"seq": cleared_at})  # it was cleared while this client was away
    while not ring.closed:
        version = ring.version
        if ring.cleared_at != cleared_at:
            cleared_at = ring.cleared_at
            yield _event("clear", {"seq": cleared_at})
        for entry in ring.since(last_seq):
            last_seq = entry.seq
            yield _event("log", entry.as_dict(), entry.seq)
        await ring.wait(version, HEARTBEAT_S)
        if ring.version == version and not ring.closed:
            yield b": keep-alive\n\n"


def log_stream(ring: LogRing, request: Request) -> StreamingResponse:
    header = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
    try:
        after = int(header)
    except ValueError:
        after = 0
    return StreamingResponse(
        follow(ring, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
