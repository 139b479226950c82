"""Keep the data dir private: what voxweb writes there (DICOM store, index, uploads, caches,
token) is for the user who runs it, so new folders are 0700 and new files 0600.

The ``voxweb`` command sets the process umask to 0o077 (inherited by the ingest worker
processes); code that creates folders or files in the data dir also passes those modes, so an
embedding program that keeps its own umask still gets private folders. An existing folder the
operator made is never chmod-ed behind their back: ``exposed_dirs`` finds the ones others can
enter, and the server warns with the command that fixes them. Nothing here knows about HTTP.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600

#: Folders under the data dir that hold patient data or secrets, checked at start.
SENSITIVE_SUBDIRS = ("dicom", "dicom/store", "uploads", "cache")


def use_private_umask() -> int:
    """Make files this process (and its children) creates private; returns the old umask."""
    return os.umask(PRIVATE_UMASK)


def make_private_dirs(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` and any missing parents with mode 0700 (``os.makedirs`` gives the
    parents the umask's mode, not the one asked for)."""
    target = Path(path)
    missing = []
    for folder in (target, *target.parents):
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:  # made meanwhile by another thread or process
            if not folder.is_dir():
                raise
    return target


def create_private_file(path: str | os.PathLike[str]) -> int:
    """A new file (truncated if it exists, never followed through a symlink) open for writing,
    mode 0600; returns the descriptor."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    return os.open(path, flags | getattr(os, "O_BINARY", 0), FILE_MODE)


def exposed_dirs(data_dir: str | os.PathLike[str]) -> list[tuple[Path, int]]:
    """Existing folders of the data dir that other users can enter or read: (path, mode)."""
    if os.name == "nt":  # POSIX modes say nothing there
        return []
    root = Path(data_dir)
    found = []
    for folder in (root, *(root / sub for sub in SENSITIVE_SUBDIRS)):
        try:
            mode = stat.S_IMODE(folder.stat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            found.append((folder, mode))
    return found


def exposure_warning(folder: Path, mode: int) -> str:
    return (
        f"{folder} is open to other users (mode {mode:o}), so the DICOM data, uploads "
        f"and caches voxweb keeps there may be readable by them; voxweb leaves folders it did "
        f"not create as they are. Fix: chmod 700 {folder}"
    )


__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "PRIVATE_UMASK",
    "create_private_file",
    "exposed_dirs",
    "exposure_warning",
    "make_private_dirs",
    "use_private_umask",
]
