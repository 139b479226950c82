"""Client-supplied file paths, confined to the roots the operator configured, and opened so
that the file checked is the file used.

Slicer reads and writes any path a client names (``/slicer/mrml/file?localfile=...``). voxweb
accepts a path only when, after resolving ``..`` and symlinks, it lies inside one of the
``--file-root`` folders; with none configured, client paths are refused altogether. Checking a
path and opening it later is a race another local user can win by swapping a folder for a
symlink in between, so ``open_for_reading`` and ``write_confined`` walk the checked path from
a descriptor of the root one component at a time without following symlinks (``O_NOFOLLOW``
relative to the parent's descriptor), hand path-taking readers ``/proc/self/fd/N`` (the very
file opened), and let writers write into a private folder before the result is moved into the
opened target folder by name. Nothing here knows about HTTP.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from voxweb.io.errors import FileFormatError

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | _CLOEXEC
# O_NONBLOCK: opening a FIFO planted in a root must not hang the worker thread.
_READ_FLAGS = os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0)
_PROC_FD = Path("/proc/self/fd")
# A detached NRRD header names the file that holds its voxels (pynrrd: one file).
_NRRD_DATA_FILE = re.compile(rb"^(data ?file):[ \t]*(.*?)[ \t]*$", re.MULTILINE)
_NRRD_HEADER_MAX = 1 << 20


class PathNotAllowedError(PermissionError):
    """A client asked for a file outside the configured roots."""


def confine(path: str | os.PathLike[str], roots: Sequence[Path], must_exist: bool = True) -> Path:
    """The resolved ``path`` if it lies inside one of ``roots``; else PathNotAllowedError.

    Relative paths are taken relative to the first root. ``must_exist=False`` allows a file
    that does not exist yet (for writing), but its folder must exist inside a root. The answer
    is a check, not a handle: open it with ``open_for_reading`` or ``write_confined``.
    """
    text = os.fspath(path)
    if not roots:
        raise PathNotAllowedError(
            "file paths from clients are disabled; start voxweb with --file-root DIR to allow a folder"
        )
    if "\x00" in text:
        raise PathNotAllowedError("file path contains a NUL byte")
    candidate = Path(text).expanduser()
    if not candidate.is_absolute():
        candidate = Path(roots[0]) / candidate
    real_roots = [Path(r).resolve() for r in roots]
    # Containment first, existence second: whether a file outside the roots exists is
    # none of the client's business.
    resolved = candidate.resolve(strict=False)
    inside = any(resolved == root or root in resolved.parents for root in real_roots)
    if inside:
        if must_exist and not resolved.exists():
            raise FileNotFoundError(f"no such file: {text}")
        if not must_exist and not resolved.parent.is_dir():
            raise FileNotFoundError(f"folder does not exist: {candidate.parent}")
        return resolved
    raise _outside(text, real_roots)


@dataclass(frozen=True)
class OpenedFile:
    """A confined file held open: ``path`` is where it is, ``reader`` a path that names the
    opened file itself (same base name, so readers still pick the format by extension)."""

    path: Path
    reader: Path


@contextlib.contextmanager
def open_for_reading(path: str | os.PathLike[str], roots: Sequence[Path]) -> Iterator[OpenedFile]:
    """Open a client's file inside ``roots`` for as long as the ``with`` block runs.

    Refuses what ``confine`` refuses, and also a path that stops being the checked one before
    it is open (a component swapped for a symlink). A detached NRRD header's data file is
    confined and opened the same way. Errors raised in the block name the client's path, not
    the private one handed to the reader.
    """
    text = os.fspath(path)
    resolved = confine(text, roots)
    real_roots = [Path(r).resolve() for r in roots]
    folder = Path(tempfile.mkdtemp(prefix="voxweb-read-"))
    fds: list[int] = []
    try:
        fd = _open_file(resolved, real_roots, text)
        fds.append(fd)
        reader = folder / resolved.name
        header = _detached_nrrd_header(fd)
        if header is None:
            _reader_link(fd, reader)
        else:
            # A detached NRRD header: its data file must lie inside the roots too, and the
            # reader reaches header and data through a descriptor of the header's folder
            # (/proc/self/fd/N/name), so a folder swapped after the check leads nowhere.
            # io.nrrd keeps every data file inside that folder, in all 'data file' forms.
            _, value, _, _ = header
            data_path = Path(value) if os.path.isabs(value) else resolved.parent / value
            if value.split()[:1] != ["LIST"] and "%" not in value:
                confine(data_path, roots)
            folder_fd = _open_folder(resolved, real_roots, text)
            fds.append(folder_fd)
            on_proc = _PROC_FD.is_dir()
            reader = _PROC_FD / str(folder_fd) / resolved.name if on_proc else resolved
        try:
            yield OpenedFile(resolved, reader)
        except Exception as exc:
            _retell(exc, str(reader), text)
            raise
    finally:
        for fd in fds:
            os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)


def write_confined(
    path: str | os.PathLike[str], roots: Sequence[Path], write: Callable[[Path], None]
) -> Path:
    """Let ``write(target)`` create a file, then place it at the client's ``path`` in a root.

    The target folder is opened (confined, no symlinks) before anything is written; ``write``
    writes into a private folder, and each file it made (a detached NRRD makes two) is copied
    into the opened folder under a temporary name and renamed over the final one, so a symlink
    swapped in at any moment is replaced, never followed. Returns the path written.
    """
    text = os.fspath(path)
    resolved = confine(text, roots, must_exist=False)
    real_roots = [Path(r).resolve() for r in roots]
    if not resolved.name or resolved in real_roots:
        raise IsADirectoryError(f"{text} is a folder, not a file")
    dir_fd = _open_folder(resolved, real_roots, text)
    folder = Path(tempfile.mkdtemp(prefix="voxweb-write-"))
    try:
        target = folder / resolved.name
        try:
            write(target)
        except Exception as exc:
            _retell(exc, str(target), text)
            raise
        made = sorted(p.name for p in folder.iterdir())
        # Companions (a detached header's data) first: the main name appears last, complete.
        for name in sorted(made, key=lambda n: n == resolved.name):
            _install(folder / name, name, dir_fd)
        with contextlib.suppress(OSError):
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
        shutil.rmtree(folder, ignore_errors=True)
    return resolved


# --- internals ------------------------------------------------------------------------------


def _outside(text: str, real_roots: Sequence[Path], how: str = "") -> PathNotAllowedError:
    allowed = ", ".join(str(r) for r in real_roots)
    return PathNotAllowedError(f"{text} is outside the allowed file roots ({allowed}){how}")


def _walk(resolved: Path, real_roots: Sequence[Path]) -> tuple[int, list[str]]:
    """A descriptor of the innermost root holding ``resolved`` and the names below it."""
    root = max((r for r in real_roots if resolved == r or r in resolved.parents), key=_depth)
    return os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC), list(
        resolved.relative_to(root).parts
    )


def _depth(path: Path) -> int:
    return len(path.parts)


def _descend(fd: int, names: Sequence[str], text: str, real_roots: Sequence[Path]) -> int:
    """Open each folder in ``names`` below ``fd`` without following symlinks; closes ``fd``."""
    for name in names:
        try:
            child = os.open(name, _DIR_FLAGS, dir_fd=fd)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise _swapped(text, real_roots) from None
            raise
        os.close(fd)
        fd = child
    return fd


def _swapped(text: str, real_roots: Sequence[Path]) -> PathNotAllowedError:
    return _outside(text, real_roots, "; a part of it became a symlink while it was opened")


def _open_folder(resolved: Path, real_roots: Sequence[Path], text: str) -> int:
    fd, names = _walk(resolved, real_roots)
    return _descend(fd, names[:-1], text, real_roots)


def _open_file(resolved: Path, real_roots: Sequence[Path], text: str) -> int:
    fd, names = _walk(resolved, real_roots)
    if not names:
        os.close(fd)
        raise FileFormatError(f"{text!r} is a directory, not a file")
    dir_fd = _descend(fd, names[:-1], text, real_roots)
    try:
        fd = os.open(names[-1], _READ_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _swapped(text, real_roots) from None
        if exc.errno == errno.ENOENT:
            raise FileNotFoundError(f"no such file: {text}") from None
        raise
    finally:
        os.close(dir_fd)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise FileFormatError(f"{text!r} is a directory, not a file")
        raise FileFormatError(f"{text!r} is not a regular file")
    return fd


def _reader_link(fd: int, reader: Path) -> None:
    """Make ``reader`` open the file behind ``fd``: a link to /proc/self/fd/N on Linux (which
    reopens that very file), a private copy elsewhere."""
    if _PROC_FD.is_dir():
        os.symlink(_PROC_FD / str(fd), reader)
        return
    with os.fdopen(os.dup(fd), "rb") as source, reader.open("xb") as copy:
        shutil.copyfileobj(source, copy)


def _detached_nrrd_header(fd: int) -> tuple[bytes, str, int, int] | None:
    """(field name, data file, span of the value line) when ``fd`` is an NRRD header naming a
    separate data file; else None."""
    head = os.pread(fd, _NRRD_HEADER_MAX, 0)
    if not head.startswith(b"NRRD"):
        return None
    blank = re.search(rb"\r?\n\r?\n", head)
    header = head[: blank.start()] if blank else head
    match = _NRRD_DATA_FILE.search(header)
    if match is None:
        return None
    return match.group(1), os.fsdecode(match.group(2)), match.start(), match.end()


def _install(source: Path, name: str, dir_fd: int) -> None:
    """Copy ``source`` into the folder ``dir_fd`` as ``name``: temp name, fsync, rename."""
    tmp = f".{name}.{secrets.token_hex(6)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
    fd = os.open(tmp, flags, 0o666, dir_fd=dir_fd)  # the umask decides, as for any new file
    try:
        try:
            existing = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            existing = None
        if existing is not None and stat.S_ISREG(existing.st_mode):
            os.fchmod(fd, stat.S_IMODE(existing.st_mode))  # overwriting keeps the file's mode
        with os.fdopen(fd, "wb", closefd=False) as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
    os.close(fd)
    try:
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


def _retell(exc: BaseException, private: str, public: str) -> None:
    """Name the client's path, not the private one, in an error's message."""
    if any(isinstance(arg, str) and private in arg for arg in exc.args):
        exc.args = tuple(
            arg.replace(private, public) if isinstance(arg, str) else arg for arg in exc.args
        )
    for attr in ("filename", "filename2"):
        if getattr(exc, attr, None) == private:
            with contextlib.suppress(AttributeError):
                setattr(exc, attr, public)
