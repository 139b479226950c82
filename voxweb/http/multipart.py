"""``multipart/related`` for the HTTP edge: the writer, beside the reader it mirrors.

The reader (``split_multipart``) lives in ``voxweb/dicom/multipart.py`` because the DICOM
layer reads WADO-RS answers too; it is re-exported here. The writer builds DICOMweb answers:
``part_head`` / ``closing`` for a body streamed part by part, ``encode_multipart`` for one
built in memory. Bytes only: no HTTP framework types and no DICOMweb decisions here.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from voxweb.dicom.multipart import MultipartError, split_multipart

__all__ = [
    "MultipartError",
    "boundary",
    "closing",
    "encode_multipart",
    "part_head",
    "split_multipart",
]


def boundary() -> str:
    """A fresh random boundary."""
    return "voxweb-" + secrets.token_hex(12)


def part_head(content_type: str, length: int, bound: str) -> bytes:
    """The delimiter and headers that open one part of ``length`` bytes."""
    return (
        b"--"
        + bound.encode()
        + b"\r\nContent-Type: "
        + content_type.encode()
        + b"\r\nContent-Length: "
        + str(length).encode()
        + b"\r\n\r\n"
    )


def closing(bound: str) -> bytes:
    """The final delimiter."""
    return b"--" + bound.encode() + b"--\r\n"


def encode_multipart(parts: Iterable[tuple[str, bytes]], bound: str) -> bytes:
    """A whole message from ``(content type, content)`` pairs."""
    out = []
    for ctype, data in parts:
        out.append(part_head(ctype, len(data), bound))
        out.append(data)
        out.append(b"\r\n")
    out.append(closing(bound))
    return b"".join(out)
