"""Read a ``multipart/related`` message (DICOMweb's STOW-RS requests and WADO-RS answers).

Parts are found by position, so each part's content is the only copy made (none with
``copy=False``): a STOW body can be tens of megabytes. No HTTP types here; callers turn
``MultipartError`` into their errors.
"""

from __future__ import annotations


class MultipartError(ValueError):
    """The body is not a well-formed multipart message with the given boundary."""


def split_multipart(
    body: bytes, boundary: str, *, copy: bool = True
) -> list[tuple[dict[str, str], bytes | memoryview]]:
    """Parts of the message: ``(headers with lower-case names, content)``.

    ``copy=False``: the contents are views into ``body``, for a caller that only passes them on.
    """
    view = memoryview(body) if not copy else None
    delim = b"--" + boundary.encode("latin-1")
    next_delim = b"\r\n" + delim
    if body.startswith(delim):
        pos = 0
    else:
        pos = body.find(next_delim)
        if pos < 0:
            raise MultipartError("the multipart body has no part with the declared boundary")
        pos += 2  # the CRLF that ends the preamble belongs to the delimiter
    parts: list[tuple[dict[str, str], bytes | memoryview]] = []
    while True:
        pos += len(delim)
        if body.startswith(b"--", pos):
            return parts
        end = body.find(next_delim, pos)
        if end < 0:
            raise MultipartError("the multipart body is not closed by its final boundary")
        eol = body.find(b"\r\n", pos, end)
        if eol < 0:
            raise MultipartError("a multipart boundary line is not terminated")
        start = eol + 2
        if start + 2 <= end and body.startswith(b"\r\n", start):
            head, content_start = b"", start + 2
        else:
            sep = body.find(b"\r\n\r\n", start, end)
            if sep < 0:
                raise MultipartError("a multipart part has no header/body separator")
            head, content_start = body[start:sep], sep + 4
        headers: dict[str, str] = {}
        for line in head.split(b"\r\n"):
            if b":" in line:
                k, v = line.split(b":", 1)
                headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
        parts.append(
            (headers, body[content_start:end] if view is None else view[content_start:end])
        )
        pos = end + 2
