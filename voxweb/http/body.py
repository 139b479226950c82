"""Reading a request body: the one reader every area uses.

The size limit and the stall timeout are enforced below, in ``http/limits.py``; this reader
only gathers the bytes. With a declared ``Content-Length`` and ``writable=True`` the body is
filled into one ``np.empty`` buffer as it arrives (no join, no zero-fill pass over a 30 MB
upload): volumes parsed from it are writable numpy views of it, like Slicer's arrays.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from starlette.types import Receive

from voxweb.http.errors import HttpError


def _declared_length(headers: Mapping[str, str]) -> int | None:
    value = headers.get("content-length")
    return int(value) if value and value.isdigit() else None


async def _chunks(receive: Receive):  # noqa: ANN202 - an async generator of bytes
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HttpError(400, "the client disconnected before the request body ended")
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def read_body(
    receive: Receive, headers: Mapping[str, str], *, writable: bool = False
) -> bytes | memoryview:
    """The whole body: ``bytes``, or a writable ``memoryview`` with ``writable=True``.

    ``headers``: the request's, with lower-case names (Starlette's ``Headers`` or a dict).
    """
    if not writable:
        return b"".join([chunk async for chunk in _chunks(receive)])
    size = _declared_length(headers)
    if size is None:  # chunked: grow one buffer (no join, then no second copy)
        buffer = bytearray()
        async for chunk in _chunks(receive):
            buffer += chunk
        return memoryview(buffer)
    view, filled = memoryview(np.empty(size, dtype=np.uint8)), 0
    async for chunk in _chunks(receive):
        if filled + len(chunk) > size:
            raise HttpError(400, f"the body is longer than its Content-Length of {size} bytes")
        view[filled : filled + len(chunk)] = chunk
        filled += len(chunk)
    if filled != size:
        raise HttpError(400, f"the body ended after {filled} of {size} bytes")
    return view
