"""Managed storage of DICOM Part-10 instance files under ``<data_dir>/dicom/store``.

Paths are derived from the UIDs (hashed study/series/instance directories, so no client UID
ever becomes a raw path component) plus a short content digest, so two different versions of
one SOP instance never share a file. Writes are atomic: temp file in the target directory,
fsync, ``os.replace``, fsync of the directory. Files can also be *linked* (referenced in place,
never copied, never deleted by us). Folders are 0700 and files 0600: only the user running
voxweb reads them. This module knows nothing about the index or HTTP.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import logging
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from voxweb.datadir import DIR_MODE, FILE_MODE, make_private_dirs

log = logging.getLogger(__name__)

TMP_SUFFIX = ".tmp"
_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_counter = itertools.count()


def _h(uid: str, n: int = 16) -> str:
    return hashlib.sha1(uid.encode("ascii", "replace")).hexdigest()[:n]


class Store:
    """Files of a DICOM database. Stored paths are relative to ``root`` unless linked (absolute)."""

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root)
        self._root = str(self.root)
        self.fsync = fsync
        make_private_dirs(self.root)

    # -- paths ---------------------------------------------------------------------------
    @staticmethod
    def relative_path(study_uid: str, series_uid: str, sop_uid: str, digest: str) -> str:
        """Content path ``ab/<study>/<series>/<sop>-<digest8>.dcm`` (POSIX separators)."""
        s = _h(study_uid)
        return f"{s[:2]}/{s}/{_h(series_uid)}/{_h(sop_uid, 24)}-{digest[:8]}.dcm"

    def resolve(self, stored_path: str) -> Path:
        """Absolute path of a stored (relative) or linked (absolute) path."""
        p = Path(stored_path)
        return p if p.is_absolute() else self.root / p

    def has_file(self, stored_path: str, size: int) -> bool:
        """True when the file exists with this size."""
        try:
            return self.resolve(stored_path).stat().st_size == size
        except OSError:
            return False

    # -- writing -------------------------------------------------------------------------
    def write(self, rel_path: str, data: bytes | memoryview, *, sync: bool = True) -> str:
        """Atomically write ``data`` at ``rel_path`` (temp + fsync + replace + dir fsync).

        ``sync=False`` skips both fsyncs: the caller makes the file durable with ``sync_all``
        before anything refers to it.
        """
        target = os.path.join(self._root, rel_path)  # str paths: Path objects cost more here
        parent = os.path.dirname(target)
        # a name unique to this process and thread: no random names, no retry loop
        tmp = os.path.join(
            parent, f".{os.getpid()}-{threading.get_ident()}-{next(_counter)}{TMP_SUFFIX}"
        )
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, FILE_MODE)
        except FileNotFoundError:  # first file of this series (or its folder was pruned)
            os.makedirs(parent, DIR_MODE, exist_ok=True)  # under the private root
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, FILE_MODE)
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

    def sync_all(self, rel_paths: list[str]) -> None:
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
        if Path(stored_path).is_absolute():
            return
        target = self.root / stored_path
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
