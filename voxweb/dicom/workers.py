"""Ingest in worker processes, so STOW-RS requests parse, write and index in parallel.

Parsing DICOM and building its JSON is Python work: in threads of one process, concurrent
STOW requests queue on the GIL and lose more time handing it over (4 clients cost 1.95 ms of
CPU per instance against 1.27 ms for one). Each worker process builds its own ``Ingester``
from plain ``IngestSettings`` (paths, fsync flag, limits) on the same store and index —
SQLite is safe across processes, writers take turns through ``BEGIN IMMEDIATE``, and a
commit in any process invalidates the QIDO cache (``data_version``) — and runs
``ingest_many`` alone; it never opens a ``DicomDatabase``. Workers start when the database
is first used over HTTP (in the background) and are replaced when one dies.

Each worker has its own pipe, and the request's thread talks to it directly: a
``ProcessPoolExecutor`` moves every call through a feeder thread, a manager thread and a
shared result queue, which cost 0.58 ms of server CPU and 1.2 ms of latency per 800 KB request
against 0.18 and 0.22 ms here. A worker ends when its pipe closes, which also happens when
the server is killed.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
from typing import Any

from voxweb.dicom.ingest import Ingester, IngestResult, IngestSettings

log = logging.getLogger(__name__)

IN_PROCESS_ABOVE = 256 << 20
"""Requests larger than this are ingested in the server process: the pipe to a worker would
hold a second copy of the whole body."""

_STOP = b""  # asks a worker to end
_READY = b"ready"  # a worker's first message
_WAIT_FOR_WORKER_S = 120.0  # then a request is ingested in the server process


def default_processes() -> int:
    """One worker per core (counting at most 4) plus one; none on a single core.

    The extra worker parses while another waits for its files to reach the disk: on 2 cores,
    3 workers stored 7.5% more instances per second than 2 (alternating A/B rounds).
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cores or 1, 4) + 1 if (cores or 1) > 1 else 0


class _WorkerGone(Exception):
    """The worker process died (or was killed) before it answered."""


class _Worker:
    """One worker process and the server's end of its pipe."""

    def __init__(self, settings: IngestSettings) -> None:
        # spawn: the server process has threads, which fork would copy mid-flight
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe(duplex=True)
        self.process = context.Process(
            target=_serve, args=(child, settings), name="voxweb-ingest", daemon=True
        )
        self.process.start()
        child.close()  # only the worker holds that end: its death shows here as EOF
        self.ready = False  # the worker says _READY once its ingester is open

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Take the worker's ready message; False if it died first or ``timeout`` passed."""
        if not self.ready:
            try:
                if timeout is None or self.conn.poll(timeout):
                    self.ready = self.conn.recv_bytes() == _READY
            except (EOFError, OSError):
                return False
        return self.ready

    def call(self, datas: list[bytes | memoryview], kwargs: dict[str, Any]) -> list[IngestResult]:
        """One message with the count and the keyword arguments, then each instance as is: the
        parts of a STOW body go from the request's buffer to the pipe without a copy."""
        if not self.wait_ready():
            raise _WorkerGone("it ended before its ingester was open")
        try:
            head = len(datas).to_bytes(4, "little") + pickle.dumps(kwargs)
            self.conn.send_bytes(head)
            for data in datas:
                self.conn.send_bytes(data)
            ok, value = pickle.loads(self.conn.recv_bytes())
        except (EOFError, OSError) as exc:
            raise _WorkerGone(str(exc)) from exc
        except BaseException:
            self.kill()  # interrupted mid-conversation: never reuse this worker out of step
            raise
        if not ok:
            raise value
        return value

    def stop(self, timeout: float) -> None:
        with contextlib.suppress(OSError):
            self.conn.send_bytes(_STOP)
        self.process.join(timeout)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2)
        self.conn.close()


class IngestWorkers:
    """Processes that each hold an ``Ingester`` built from ``settings``; a request takes an
    idle one for the length of its ``ingest_many`` (and waits when all are busy)."""

    def __init__(self, settings: IngestSettings, processes: int) -> None:
        self.settings = settings
        self.processes = processes
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._started = self._closed = False
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Start the workers in the background, one after another (each takes about 0.6 s of
        CPU to import and open the database): started all at once, they took both cores of a
        2-core machine for a second and doubled the time of the queries made meanwhile. A
        request waits for the first worker that is ready."""
        with self._lock:
            if self._started or self._closed:
                return
            self._started = True
        threading.Thread(target=self._spawn_all, name="voxweb-ingest-start", daemon=True).start()

    def _spawn_all(self) -> None:
        for _ in range(self.processes):
            with self._lock:
                if self._closed:
                    return
                try:
                    worker = _Worker(self.settings)
                except Exception:  # requests that find no worker ingest in process
                    log.exception("cannot start an ingest worker process")
                    continue
                self._all.append(worker)
            worker.wait_ready(60.0)  # a worker that died is replaced on first use
            self._idle.put(worker)

    def ingest_many(
        self, datas: list[bytes | memoryview], **kwargs: Any
    ) -> list[IngestResult] | None:
        """``ingest_many`` in a worker; None when the worker died (the caller ingests itself)."""
        self.warm_up()
        if self._closed:
            return None
        try:
            worker = self._idle.get(timeout=_WAIT_FOR_WORKER_S)
        except queue.Empty:
            log.warning(
                "no ingest worker free for %g s; storing in the server process", _WAIT_FOR_WORKER_S
            )
            return None
        try:
            if not worker.process.is_alive():  # killed while idle: replace it before use
                worker = self._replace(worker)
            return worker.call(datas, kwargs)
        except _WorkerGone as exc:
            log.warning("an ingest worker process died (%s); starting a new one", exc)
            worker = self._replace(worker)
            return None
        finally:
            self._idle.put(worker)

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        new = _Worker(self.settings)
        with self._lock:
            self._all = [new if w is worker else w for w in self._all]
        return new

    def close(self, timeout: float = 5.0) -> None:
        """Stop every worker once its current request is done (kill it after ``timeout``)."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
        deadline = time.monotonic() + timeout
        stopped: list[_Worker] = []
        while len(stopped) < len(workers):
            try:
                worker = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            worker.stop(max(0.1, deadline - time.monotonic()))
            stopped.append(worker)
        for worker in workers:
            if worker not in stopped:
                worker.kill()


# -- in the worker process -------------------------------------------------------------------
def _serve(conn: Any, settings: IngestSettings) -> None:
    """Answer ``ingest_many`` calls until the server says stop or its end of the pipe closes."""
    # Ctrl-C reaches the whole process group: the server decides when workers stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ingester = Ingester.open(settings)
    try:
        conn.send_bytes(_READY)
        while True:
            try:
                message = conn.recv_bytes()
            except (EOFError, OSError):
                return  # the server is gone
            if message == _STOP:
                return
            count = int.from_bytes(message[:4], "little")
            kwargs = pickle.loads(message[4:])
            try:
                datas = [conn.recv_bytes() for _ in range(count)]
            except (EOFError, OSError):
                return
            try:
                reply: tuple[bool, Any] = (True, ingester.ingest_many(datas, **kwargs))
            except Exception as exc:
                reply = (False, exc)
            try:
                payload = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # an exception that does not pickle
                payload = pickle.dumps((False, RuntimeError(repr(reply[1]))))
            try:
                conn.send_bytes(payload)
            except OSError:
                return
    finally:
        ingester.close()
