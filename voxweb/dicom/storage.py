"""What the DICOM database needs from the place instance files live: the ``Storage`` protocol.

Objects are named by *keys*: relative POSIX paths made by ``content_key`` from the UIDs and
a digest of the bytes, so two hosts storing the same instance name the same object and the
second write is a harmless overwrite with identical bytes (idempotent). Keys never come
from a client: ``check_key`` refuses anything that could leave the storage root. A *linked*
file (``voxweb dicom import --link``) is named by its absolute path instead and is never
written or removed through the storage.

``voxweb.dicom.store.Store`` (a folder, possibly a shared mount such as NFS) is the one
implementation. A second backend (an S3-compatible object store) implements the same
methods; ``local_path`` then answers None and readers use ``open``/``read_ranges``.
This module has no I/O of its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol, runtime_checkable


class StorageKeyError(ValueError):
    """A key that is not a plain relative path inside the storage root."""


def _h(uid: str, n: int = 16) -> str:
    return hashlib.sha1(uid.encode("ascii", "replace")).hexdigest()[:n]


def content_key(study_uid: str, series_uid: str, sop_uid: str, digest: str) -> str:
    """``ab/<study>/<series>/<sop>-<digest8>.dcm``: hashed UIDs (no client text becomes a path
    component) plus the start of the content digest (two versions never share an object)."""
    s = _h(study_uid)
    return f"{s[:2]}/{s}/{_h(series_uid)}/{_h(sop_uid, 24)}-{digest[:8]}.dcm"


def is_linked(key: str) -> bool:
    """True for a linked file's absolute path (referenced in place, never ours to change)."""
    return Path(key).is_absolute() or PurePosixPath(key).is_absolute()


def check_key(key: str) -> str:
    """``key`` when it is a relative path below the root (no ``..``, no empty or dot parts).

    Raises ``StorageKeyError`` otherwise: an index row pointing outside the root (a damaged
    or hostile database) must not make the server read, write or delete elsewhere.
    """
    parts = key.split("/")
    if (
        not key
        or is_linked(key)
        or "\\" in key
        or "\x00" in key
        or any(p in ("", ".", "..") for p in parts)
    ):
        raise StorageKeyError(f"not a storage key: {key!r}")
    return key


@runtime_checkable
class Storage(Protocol):
    """Instance objects of a DICOM database (see the module docstring)."""

    fsync: bool

    def content_key(self, study_uid: str, series_uid: str, sop_uid: str, digest: str) -> str:
        """The key an instance with these UIDs and this content digest is stored under."""
        ...

    def write(self, key: str, data: bytes | memoryview, *, sync: bool = True) -> str:
        """Store ``data`` under ``key`` atomically (readers see all of it or nothing).

        ``sync=False`` may defer durability to ``sync_all``. Returns a location for logs.
        """
        ...

    def sync_all(self, keys: Sequence[str]) -> None:
        """Make objects written with ``sync=False`` durable."""
        ...

    def exists(self, key: str) -> bool:
        """True when the object (or linked file) exists."""
        ...

    def size(self, key: str) -> int | None:
        """Size in bytes, or None when missing."""
        ...

    def has_file(self, key: str, size: int) -> bool:
        """True when the object exists with this size."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A readable, seekable binary stream of the object."""
        ...

    def read_ranges(self, key: str, ranges: Iterable[tuple[int, int]]) -> bytes:
        """The bytes of ``(offset, length)`` ranges, concatenated."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A file-system path readers may open or send directly; None for remote backends."""
        ...

    def remove(self, key: str) -> None:
        """Delete the object (missing is fine; linked files are never deleted)."""
        ...

    def reachable(self) -> bool:
        """True when the storage answers (for readiness probes)."""
        ...

    def iter_files(self) -> Iterator[str]:
        """Every key in the storage (temporary objects excluded)."""
        ...
