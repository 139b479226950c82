"""Client-supplied file paths, confined to the roots the operator configured.

Slicer reads and writes any path a client names (``/slicer/mrml/file?localfile=...``). voxweb
accepts a path only when, after resolving ``..`` and symlinks, it lies inside one of the
``--file-root`` folders; with none configured, client paths are refused altogether.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path


class PathNotAllowedError(PermissionError):
    """A client asked for a file outside the configured roots."""


def confine(path: str | os.PathLike[str], roots: Sequence[Path], must_exist: bool = True) -> Path:
    """The resolved ``path`` if it lies inside one of ``roots``; else PathNotAllowedError.

    Relative paths are taken relative to the first root. ``must_exist=False`` allows a file
    that does not exist yet (for writing), but its folder must exist inside a root.
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
    allowed = ", ".join(str(r) for r in real_roots)
    raise PathNotAllowedError(f"{text} is outside the allowed file roots ({allowed})")
