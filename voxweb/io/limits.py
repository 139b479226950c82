"""Checks every reader in ``voxweb.io`` makes before it trusts a file: sizes, inflation, paths.

A file states how much data it holds (NRRD ``sizes`` x ``type``, a NIfTI ``dim`` field, a PLY
element count) and may name other files (a detached NRRD header's ``data file``). A hostile
file states more than it carries, carries a few bytes of gzip or bzip2 that inflate a
thousandfold, or names ``/etc/passwd``. The helpers here check the declared size against a
limit before any buffer exists, decompress into a buffer of exactly the declared size (never
past it), and confine named files to the folder of the file that names them. Callers pass the
limit as a plain argument; this module reads no settings and knows nothing of HTTP.
"""

from __future__ import annotations

import bz2
import os
import zlib
from collections.abc import Callable
from typing import BinaryIO

from voxweb.io.errors import FileFormatError, VolumeFormatError

#: Bytes of voxel data one volume may declare unless the caller says otherwise. The same as
#: the default largest request body (``--max-body-size``): a raw upload can be that big anyway,
#: so compressed forms get the same ceiling. Fixed rather than derived from the machine's RAM
#: so the same file loads (or not) everywhere; ``voxweb serve --max-volume-size`` changes it.
DEFAULT_MAX_VOLUME_SIZE = 4 << 30

LIMIT_FLAG = "--max-volume-size"

_CHUNK = 1 << 20  # compressed bytes read, and decompressed bytes produced, per step


def format_size(n: int) -> str:
    """``1536`` -> ``"1536 bytes (1.5 KiB)"``: exact for people who compare, rounded to read."""
    value, unit = float(n), "bytes"
    for name in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024:
            break
        value, unit = value / 1024, name
    return f"{n} bytes" if unit == "bytes" else f"{n} bytes ({value:.1f} {unit})"


def check_declared_size(
    declared: int,
    limit: int | None,
    what: str,
    error: type[FileFormatError] = VolumeFormatError,
) -> None:
    """Refuse a file whose header declares more voxel data than ``limit`` (None: no limit)."""
    if limit is not None and declared > limit:
        raise error(
            f"{what} declares {format_size(declared)} of voxel data, more than the limit of "
            f"{format_size(limit)} (raise it with {LIMIT_FLAG})"
        )


# ----------------------------------------------------------------------------- decompression


class _Inflater:
    """One gzip/zlib or bzip2 stream behind one interface, producing at most ``n`` bytes a call."""

    def __init__(self, encoding: str) -> None:
        self.gzip = encoding in ("gzip", "gz")
        # 32 + MAX_WBITS: gzip or zlib framing, whichever the stream has
        self._d = zlib.decompressobj(32 + zlib.MAX_WBITS) if self.gzip else bz2.BZ2Decompressor()
        self._tail = b""

    def feed(self, data: bytes, n: int) -> bytes:
        if self.gzip:
            out = self._d.decompress(self._tail + data if self._tail else data, n)
            self._tail = self._d.unconsumed_tail
            return out
        return self._d.decompress(data, n)

    @property
    def pending(self) -> bool:
        """Input taken but not yet turned into output (call ``feed(b"", n)`` again)."""
        if self.gzip:
            return bool(self._tail)
        return not self._d.eof and not self._d.needs_input

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data


def inflate_into(
    read: Callable[[int], bytes],
    encoding: str,
    out: memoryview,
    what: str,
    skip: int = 0,
    error: type[FileFormatError] = VolumeFormatError,
) -> None:
    """Decompress a gzip or bzip2 stream from ``read`` into ``out``, filling it exactly.

    The first ``skip`` decompressed bytes are dropped (NRRD's ``byte skip``). Output is produced
    in steps of at most 1 MiB, so memory never exceeds ``out`` plus one step however well the
    data compresses. Raises ``error`` when the stream is corrupt, ends before ``out`` is full,
    or holds more than fits in ``out``. Concatenated streams (``cat a.gz b.gz``) are read as one.
    """
    name = "gzip" if encoding in ("gzip", "gz") else "bzip2"
    need = len(out)
    filled = 0
    inflater = _Inflater(encoding)
    carry = b""
    ended = False
    while True:
        if inflater.pending or carry:
            data, carry = carry, b""
        elif not ended:
            data = read(_CHUNK)
            ended = not data
        else:
            data = b""
        # ask for one byte more than fits: producing it proves the stream is too long
        want = skip if skip else max(need - filled, 1)
        try:
            chunk = inflater.feed(data, min(want, _CHUNK))
        except (zlib.error, OSError, EOFError, ValueError) as exc:
            raise error(f"{what}: the {name} data is corrupt: {exc}") from exc
        if skip:
            skip -= len(chunk)
        elif chunk:
            if filled + len(chunk) > need:
                raise error(
                    f"{what}: the {name} data decompresses to more than the "
                    f"{format_size(need)} the header declares"
                )
            out[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
        if inflater.eof:
            if filled == need and not skip:
                break  # whatever trails the stream is not voxel data
            rest = inflater.unused_data
            if not rest and not ended:
                rest = read(_CHUNK)
                ended = not rest
            if not rest:
                break
            inflater, carry = _Inflater(encoding), rest  # another stream follows
            continue
        if ended and not chunk and not inflater.pending:
            break
    if skip or filled < need:
        raise error(
            f"{what}: the {name} data decompresses to {format_size(filled)}, "
            f"the header declares {format_size(need)}"
        )


def read_exactly(fh: BinaryIO, out: memoryview) -> int:
    """Fill ``out`` from ``fh``; returns how many bytes arrived (less than ``len(out)`` at EOF)."""
    filled = 0
    while filled < len(out):
        n = fh.readinto(out[filled:])  # type: ignore[attr-defined]
        if not n:
            break
        filled += n
    return filled


def remaining_bytes(fh: BinaryIO) -> int:
    """Bytes between the current position of a seekable file and its end."""
    here = fh.tell()
    end = fh.seek(0, os.SEEK_END)
    fh.seek(here)
    return end - here


# ----------------------------------------------------------------------------- named files


def confined_path(
    folder: str | os.PathLike,
    name: str,
    what: str,
    error: type[FileFormatError] = VolumeFormatError,
) -> str:
    """The real path of a file ``name``d by a header in ``folder``, which must stay inside it.

    Absolute names and names that leave the folder (``..``, or a symbolic link pointing out) are
    refused. The message says why and nothing about the target: not whether it exists, not its
    size. A name that stays inside but is not a regular file is refused too (devices, FIFOs).
    """
    if not name or "\0" in name:
        raise error(f"{what}: a data file name is empty or holds a NUL character")
    if os.path.isabs(name) or name.startswith("~"):
        raise error(
            f"{what}: data file {name!r} is an absolute path; a header may only name files "
            "in its own folder or below it, by relative path"
        )
    base = os.path.realpath(folder)
    target = os.path.realpath(os.path.join(base, name))
    if os.path.commonpath([base, target]) != base or target == base:
        raise error(
            f"{what}: data file {name!r} lies outside the header's folder (after following "
            "'..' and links); a header may only name files in its own folder or below it"
        )
    if not os.path.isfile(target):
        raise error(f"{what}: data file {name!r} does not exist next to the header")
    # Opened under the folder as the caller named it: a caller that names the folder by a
    # descriptor (/proc/self/fd/N) keeps the open on the folder it checked.
    return os.path.join(folder, os.path.relpath(target, base))


__all__ = [
    "DEFAULT_MAX_VOLUME_SIZE",
    "LIMIT_FLAG",
    "check_declared_size",
    "confined_path",
    "format_size",
    "inflate_into",
    "read_exactly",
    "remaining_bytes",
]
