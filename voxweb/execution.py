"""Remote Python: run client code in a persistent namespace, one script at a time.

``/slicer/exec`` sends Python source; it runs here on one dedicated executor thread (the
scene owner's thread for the duration: the caller passes the scene lock, held while the
code runs), so the server's event loop keeps answering other requests. Each run captures
its own stdout/stderr (other threads' output is left alone), records ``__execResult``, and is
interrupted after a timeout by raising ``ExecTimeout`` inside the running code. A script
that will not die (stuck in C code) is abandoned and a fresh executor thread takes over, so
a slow or failing script never stops the server.
"""

from __future__ import annotations

import asyncio
import ctypes
import io
import json
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

RESULT_NAME = "__execResult"


class ExecTimeout(BaseException):
    """Raised inside running exec code when its time is up (BaseException: hard to swallow)."""


@dataclass
class ExecOutcome:
    """What one run produced. ``result_json`` is set when the result could be encoded."""

    result: Any = None
    result_json: str | None = None
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    traceback: str | None = None
    elapsed_s: float = 0.0
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def report(self) -> dict:
        """The rich form of the reply (opt-in): everything, as plain JSON values."""
        return {
            "success": self.ok,
            "result": json.loads(self.result_json) if self.result_json is not None else None,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "error": self.error,
            "traceback": self.traceback,
            "elapsed": round(self.elapsed_s, 6),
        }


class _ThreadRoutedStream(io.TextIOBase):
    """Stands in for sys.stdout/stderr: writes from a capturing thread go to its buffer."""

    def __init__(self, original: Any) -> None:
        self.original = original
        self.local = threading.local()

    def write(self, text: str) -> int:
        buffer = getattr(self.local, "buffer", None)
        if buffer is not None:
            return buffer.write(text)
        return self.original.write(text)

    def flush(self) -> None:
        if getattr(self.local, "buffer", None) is None:
            self.original.flush()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.original, "encoding", "utf-8")

    def isatty(self) -> bool:
        return False


_install_lock = threading.Lock()
_streams: dict[str, _ThreadRoutedStream] = {}


def _routed(name: str) -> _ThreadRoutedStream:
    """Install (once per process) the thread-routed proxy for sys.stdout or sys.stderr."""
    with _install_lock:
        current = getattr(sys, name)
        if not isinstance(current, _ThreadRoutedStream):
            current = _ThreadRoutedStream(current)
            setattr(sys, name, current)
        _streams[name] = current
        return current


def _raise_in_thread(thread_id: int, exc_type: type[BaseException]) -> bool:
    done = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc_type)
    )
    return done == 1


@dataclass
class _Job:
    source: str
    future: Future
    timeout: float
    started: threading.Event = field(default_factory=threading.Event)
    thread_id: int = 0


class Executor:
    """Runs exec jobs one after another on a dedicated thread."""

    def __init__(
        self,
        namespace_factory: Callable[[], dict[str, Any]],
        lock: Any = None,
        timeout: float = 60.0,
        grace: float = 2.0,
    ) -> None:
        self.namespace_factory = namespace_factory
        self.lock = lock if lock is not None else threading.RLock()
        self.timeout = timeout
        self.grace = grace
        self._namespace: dict[str, Any] | None = None
        self._queue: list[_Job] = []
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._generation = 0
        self._closed = False

    @property
    def namespace(self) -> dict[str, Any]:
        if self._namespace is None:
            self._namespace = self.namespace_factory()
        return self._namespace

    def reset(self) -> None:
        """Forget every name defined by earlier scripts."""
        self._namespace = None

    # --- running -------------------------------------------------------------------------

    def submit(self, source: str, timeout: float | None = None) -> tuple[Future, _Job]:
        if self._closed:
            raise RuntimeError("the executor is closed")
        job = _Job(source, Future(), self.timeout if timeout is None else timeout)
        with self._cv:
            self._ensure_thread()
            self._queue.append(job)
            self._cv.notify()
        return job.future, job

    def run(self, source: str, timeout: float | None = None) -> ExecOutcome:
        """Run ``source`` and wait for its outcome (from any thread but the executor's)."""
        future, job = self.submit(source, timeout)
        return self._wait(future, job)

    async def run_async(self, source: str, timeout: float | None = None) -> ExecOutcome:
        """Run ``source`` without blocking the event loop."""
        return await asyncio.to_thread(self.run, source, timeout)

    def close(self) -> None:
        self._closed = True
        with self._cv:
            self._generation += 1
            self._cv.notify_all()

    def _wait(self, future: Future, job: _Job) -> ExecOutcome:
        timeout = job.timeout
        # The clock starts when the job starts, not while it waits behind another one; a job
        # that cannot get the lock in time fails by itself (see _execute).
        job.started.wait()
        try:
            return future.result(timeout)
        except TimeoutError:
            pass
        _raise_in_thread(job.thread_id, ExecTimeout)
        try:
            outcome = future.result(self.grace)
        except TimeoutError:
            # Stuck outside Python code: leave that thread behind and start a fresh one.
            logger.error("exec script did not stop after its timeout; abandoning its thread")
            with self._cv:
                self._generation += 1
                self._thread = None
                self._ensure_thread()
                self._cv.notify_all()
            outcome = ExecOutcome(error=f"exec timed out after {timeout:g} s", timed_out=True)
            self.reset()  # the abandoned script may still be changing the old namespace
        outcome.timed_out = True
        outcome.error = f"exec timed out after {timeout:g} s"
        return outcome

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._worker, args=(self._generation,), name="voxweb-exec", daemon=True
            )
            self._thread.start()

    def _worker(self, generation: int) -> None:
        _routed("stdout")
        _routed("stderr")
        while True:
            with self._cv:
                while not self._queue and generation == self._generation and not self._closed:
                    self._cv.wait()
                if generation != self._generation or self._closed:
                    return
                job = self._queue.pop(0)
            job.thread_id = threading.get_ident()
            try:
                outcome = self._execute(job)
            except ExecTimeout:  # arrived after the code finished, between statements here
                outcome = ExecOutcome(error="exec timed out", timed_out=True)
            if not job.future.done():
                job.future.set_result(outcome)

    def _execute(self, job: _Job) -> ExecOutcome:
        out, err = io.StringIO(), io.StringIO()
        stdout, stderr = _streams["stdout"], _streams["stderr"]
        outcome = ExecOutcome()
        start = time.perf_counter()
        stdout.local.buffer, stderr.local.buffer = out, err
        if not self.lock.acquire(timeout=job.timeout):
            job.started.set()
            outcome.error = f"the scene stayed busy for {job.timeout:g} s (an earlier script may still be running)"
            return outcome
        try:
            try:
                namespace = self.namespace
                namespace[RESULT_NAME] = {}
                job.started.set()
                try:
                    code = compile(job.source, "<exec>", "exec")
                    exec(code, namespace)  # noqa: S102 - remote Python is this module's purpose
                except ExecTimeout:
                    outcome.error = "exec timed out"
                    outcome.timed_out = True
                except BaseException as exc:  # SystemExit from client code must not end us
                    outcome.error = str(exc) or type(exc).__name__
                    outcome.traceback = traceback.format_exc()
                else:
                    outcome.result = namespace.get(RESULT_NAME, {})
                    try:
                        outcome.result_json = json.dumps(outcome.result)
                    except (TypeError, ValueError) as exc:
                        outcome.error = str(exc)
            finally:
                self.lock.release()
        finally:
            job.started.set()
            stdout.local.buffer = stderr.local.buffer = None
            outcome.elapsed_s = time.perf_counter() - start
            outcome.stdout, outcome.stderr = out.getvalue(), err.getvalue()
        return outcome
