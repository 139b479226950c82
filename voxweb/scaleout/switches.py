"""API switches that every process of a multi-worker server sees at once.

The control panel flips a switch in the scene process; a worker answering ``/dicom`` must
obey it on the next request. The switches live in a few bytes of shared memory (a memfd the
workers inherit), one byte per API, so reading one costs no message and no lock.
"""

from __future__ import annotations

import mmap
import os

from voxweb.context import API_NAMES, Switches


class SharedSwitches:
    """Same interface as ``context.Switches``, backed by shared memory."""

    __slots__ = ("_fd", "_map")

    def __init__(self, fd: int) -> None:
        object.__setattr__(self, "_fd", fd)
        object.__setattr__(self, "_map", mmap.mmap(fd, len(API_NAMES)))

    @classmethod
    def create(cls, initial: Switches) -> SharedSwitches:
        fd = os.memfd_create("voxweb-switches", 0)  # inheritable only where passed on
        os.ftruncate(fd, len(API_NAMES))
        shared = cls(fd)
        for name, on in initial.as_dict().items():
            setattr(shared, name, on)
        return shared

    @property
    def fd(self) -> int:
        return self._fd

    def __getattr__(self, name: str) -> bool:
        if name in API_NAMES:
            return bool(self._map[API_NAMES.index(name)])
        raise AttributeError(name)

    def __setattr__(self, name: str, on: bool) -> None:
        if name not in API_NAMES:
            raise AttributeError(f"unknown API switch {name!r}")
        self._map[API_NAMES.index(name)] = 1 if on else 0

    def as_dict(self) -> dict[str, bool]:
        return {name: getattr(self, name) for name in API_NAMES}
