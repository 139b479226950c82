"""Managed storage of DICOM Part-10 instance files in a folder: the file-system ``Storage``.

The folder is ``<data_dir>/dicom/store`` by default, or any root given (a shared mount such
as NFS when several hosts serve one database). Paths are content keys (``storage.content_key``:
hashed UIDs plus a short content digest), so two different versions of one SOP instance never
share a file and two hosts writing the same instance write the same file with the same bytes.
Writes are atomic: temp file in the target directory (named for this host and process, so
hosts sharing the folder never collide), fsync, ``os.replace``, fsync of the directory. Files
can also be *linked* (referenced in place, never copied, never deleted by us). Folders are
0700 and files 0600: only the user running voxweb reads them. Keys are confined to the root
(``storage.check_key``). This module knows nothing about the index or HTTP.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import os
import socket
import sys
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from voxweb.datadir import DIR_MODE, FILE_MODE, make_private_dirs
from voxweb.dicom.storage import check_key, content_key, is_linked

log = logging.getLogger(__name__)

TMP_SUFFIX = ".tmp"
_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_counter = itertools.count()
_DIR_RACE_TRIES = 5  # another host may remove an emptied folder while we create a file in it


@functools.lru_cache(maxsize=4)
def _writer_tag(pid: int) -> str:
    """This host and process in temp names: hosts sharing a folder may have equal pids (one
    container image, pid 1), and O_EXCL on a shared name would fail a write."""
    host = "".join(c for c in socket.gethostname() if c.isalnum() or c in "-_")[:32]
    return f"{host}-{pid}-{uuid.uuid4().hex[:8]}"


class Store:
    """Files of a DICOM database: the file-system ``voxweb.dicom.storage.Storage``.

    Stored paths (keys) are relative to ``root`` unless linked (absolute).
    """

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root)
        self._root = str(self.root)
        self.fsync = fsync
        make_private_dirs(self.root)

    # -- paths ---------------------------------------------------------------------------
    relative_path = staticmethod(content_key)  # the name the ingest and tests know

    @staticmethod
    def content_key(study_uid: str, series_uid: str, sop_uid: str, digest: str) -> str:
        """Content path ``ab/<study>/<series>/<sop>-<digest8>.dcm`` (POSIX separators)."""
        return content_key(study_uid, series_uid, sop_uid, digest)

    def resolve(self, stored_path: str) -> Path:
        """Absolute path of a stored (relative, confined to the root) or linked (absolute) path."""
        if is_linked(stored_path):
            return Path(stored_path)
        return self.root / check_key(stored_path)

    local_path = resolve  # a folder: every object has a path readers may open or send

    def reachable(self) -> bool:
        """True when the root folder is there (a shared mount may be gone)."""
        return os.path.isdir(self._root)

    def size(self, stored_path: str) -> int | None:
        """Size of the file, or None when it is missing."""
        try:
            return self.resolve(stored_path).stat().st_size
        except OSError:
            return None

    def exists(self, stored_path: str) -> bool:
        """True when the (regular) file exists."""
        return self.resolve(stored_path).is_file()

    def has_file(self, stored_path: str, size: int) -> bool:
        """True when the file exists with this size."""
        return self.size(stored_path) == size

    def open(self, stored_path: str) -> BinaryIO:
        """The file opened for reading (binary)."""
        return open(self.resolve(stored_path), "rb")  # noqa: SIM115 - the caller closes it

    def read_ranges(self, stored_path: str, ranges: Iterable[tuple[int, int]]) -> bytes:
        """The bytes of ``(offset, length)`` ranges of the file, concatenated."""
        out = bytearray()
        with self.open(stored_path) as f:
            for off, length in ranges:
                f.seek(off)
                out += f.read(length)
        return bytes(out)

    # -- writing -------------------------------------------------------------------------
    def write(self, rel_path: str, data: bytes | memoryview, *, sync: bool = True) -> str:
        """Atomically write ``data`` at ``rel_path`` (temp + fsync + replace + dir fsync).

        ``sync=False`` skips both fsyncs: the caller makes the file durable with ``sync_all``
        before anything refers to it.
        """
        target = os.path.join(self._root, check_key(rel_path))  # str: Path costs more here
        parent = os.path.dirname(target)
        # a name unique to this host, process and thread: no random names per file
        tag = _writer_tag(os.getpid())
        tmp = os.path.join(parent, f".{tag}-{threading.get_ident()}-{next(_counter)}{TMP_SUFFIX}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY
        for attempt in range(_DIR_RACE_TRIES):
            try:
                fd = os.open(tmp, flags, FILE_MODE)
                break
            except FileNotFoundError:  # first file of this series (or its folder was pruned)
                if attempt == _DIR_RACE_TRIES - 1:
                    raise
                os.makedirs(parent, DIR_MODE, exist_ok=True)  # under the private root
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if self.fsync and sync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if self.fsync and sync:
            self._fsync_dir(Path(parent))
        return target  # the absolute path as text: a Path per instance was a cost of ingest

    def sync_all(self, rel_paths: Sequence[str]) -> None:
        """Make files written with ``sync=False`` (and their directory entries) durable.

        One ``syncfs`` of the store's file system on Linux; elsewhere an fsync per file and
        per directory.
        """
        if not self.fsync:
            return
        if _syncfs(self.root):
            return
        for rel in rel_paths:
            target = self.root / rel
            try:
                fd = os.open(target, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        for parent in {(self.root / rel).parent for rel in rel_paths}:
            self._fsync_dir(parent)

    @staticmethod
    def _fsync_dir(path: Path) -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:  # e.g. Windows cannot open directories
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def remove(self, stored_path: str) -> None:
        """Delete a managed file (linked absolute paths are never deleted) and empty dirs."""
        if is_linked(stored_path):
            return
        target = self.root / check_key(stored_path)
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        parent = target.parent
        while parent != self.root and self.root in parent.parents:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    # -- walking -------------------------------------------------------------------------
    def iter_files(self) -> Iterator[str]:
        """Relative POSIX paths of every managed instance file (temp files excluded)."""
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.endswith(".dcm") and not name.startswith("."):
                    yield Path(dirpath, name).relative_to(self.root).as_posix()

    def iter_temp_files(self) -> Iterator[Path]:
        """Leftover temp files of interrupted writes."""
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith(".") and name.endswith(TMP_SUFFIX):
                    yield Path(dirpath, name)


@functools.lru_cache(maxsize=1)
def _libc() -> Any:
    """glibc through ctypes (loaded once: loading it costs more than the call), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None


def _syncfs(path: Path) -> bool:
    """``syncfs(2)`` on the file system holding ``path`` (Linux/glibc); False if unavailable."""
    libc = _libc()
    if libc is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        return libc.syncfs(fd) == 0
    finally:
        os.close(fd)
