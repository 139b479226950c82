"""Ingest in worker processes, so STOW-RS requests parse, write and index in parallel.

Parsing DICOM and building its JSON is Python work: in threads of one process, concurrent
STOW requests queue on the GIL and lose more time handing it over (4 clients cost 1.95 ms of
CPU per instance against 1.27 ms for one). Each worker process opens the same database —
SQLite is safe across processes, writers take turns through ``BEGIN IMMEDIATE``, and a
commit in any process invalidates the QIDO cache (``data_version``) — and runs
``ingest_many`` alone. Workers start when the database is first used over HTTP (in the
background) and are restarted if one dies.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from voxweb.dicom.ingest import IngestResult

log = logging.getLogger(__name__)

IN_PROCESS_ABOVE = 256 << 20
"""Requests larger than this are ingested in the server process: the pipe to a worker would
hold a second copy of the whole body."""


def default_processes() -> int:
    """One worker per core (at most 4); none on a single core, where they cannot help."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cores or 1, 4) if (cores or 1) > 1 else 0


class IngestWorkers:
    """A pool of processes that each hold a ``DicomDatabase`` on ``data_dir``."""

    def __init__(self, data_dir: str | os.PathLike[str], processes: int, **db_kwargs: Any) -> None:
        self.data_dir = str(Path(data_dir))
        self.processes = processes
        self.db_kwargs = db_kwargs
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # spawn: the server process has threads, which fork would copy mid-flight
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    max_workers=self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_open_database,
                    initargs=(os.getpid(), self.data_dir, self.db_kwargs),
                )
            return self._pool

    def warm_up(self) -> None:
        """Start the worker processes now, in the background (a spawn takes about 0.6 s of
        CPU each), so the first upload does not wait for them."""
        pool = self._executor()

        def start() -> None:
            with contextlib.suppress(Exception):  # a broken pool is dealt with on use
                for future in [pool.submit(_ready) for _ in range(self.processes)]:
                    future.result()

        threading.Thread(target=start, name="voxweb-ingest-warm-up", daemon=True).start()

    def ingest_many(self, datas: list[bytes], **kwargs: Any) -> list[IngestResult] | None:
        """``ingest_many`` in a worker; None when the pool broke (the caller ingests itself)."""
        pool = self._executor()
        try:
            return pool.submit(_ingest_many, datas, kwargs).result()
        except BrokenProcessPool:
            log.warning("an ingest worker process died; starting new ones")
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            return None

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


# -- in the worker process -------------------------------------------------------------------
_db: Any = None


def _open_database(server_pid: int, data_dir: str, db_kwargs: dict[str, Any]) -> None:
    global _db
    # watch first: the server may already be gone (killed while this process started)
    threading.Thread(target=_exit_with_parent, args=(server_pid,), daemon=True).start()
    from voxweb.dicom.database import DicomDatabase

    _db = DicomDatabase(data_dir, **db_kwargs)


def _exit_with_parent(parent: int) -> None:
    """End this worker when the server process is gone (killed without closing its pool).

    The pool's queues are shared by all workers, so a dead server does not close them.
    """
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _ready() -> bool:
    return _db is not None


def _ingest_many(datas: list[bytes], kwargs: dict[str, Any]) -> list[IngestResult]:
    return _db.ingest_many(datas, **kwargs)
