"""What a server command does to its process before it serves: the console log, the memory
allocator, the default number of ingest processes. Shared by ``serve`` and ``dicomweb``."""

from __future__ import annotations

import logging
import sys

from voxweb.config import Settings


def start_console(settings: Settings) -> logging.Handler:
    """Warnings on stderr, plus the access log and info with ``--log-console``; the in-memory
    log the control panel follows gets info either way."""
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO if settings.log_console else logging.WARNING)
    console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(console)
    logging.getLogger("voxweb").setLevel(logging.INFO)
    return console


def prepare_process(settings: Settings) -> None:
    """Keep freed memory for reuse, and choose the ingest processes the command starts.

    A command starts ingest processes by default; an embedding script opts in (a spawned
    process imports the script's ``__main__``, which then needs its ``if __name__`` guard).
    With ``--workers`` the HTTP processes already ingest in parallel (see README).
    """
    from voxweb.server import reuse_large_allocations

    if settings.memory_reuse_size:
        reuse_large_allocations(settings.memory_reuse_size)
    if settings.ingest_processes is None:
        from voxweb.dicom.workers import default_processes

        settings.ingest_processes = default_processes() if settings.workers == 1 else 0
