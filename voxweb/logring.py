"""A size-capped, in-memory log that pages can follow live.

The server's access log and its ``voxweb.*`` log records land here. Like Slicer's GUI log
pane (trimmed at 256 KiB), the ring drops its oldest entries once the text it holds passes a
byte limit. Readers poll by sequence number or wait for news on an asyncio event; writers
may be on any thread. Knows nothing about HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass

from voxweb.redaction import Redactor


@dataclass(frozen=True)
class LogEntry:
    seq: int
    time: float
    level: str
    source: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


class LogRing:
    """Thread-safe ring of LogEntry, trimmed to ``max_bytes`` of message text."""

    def __init__(self, max_bytes: int = 256 << 10) -> None:
        self.max_bytes = max_bytes
        self.redact = Redactor()  # live secrets never reach a reader of the log
        self._entries: deque[LogEntry] = deque()
        self._bytes = 0
        self._seq = 0
        self._cleared_at = 0  # sequence number of the last clear, so followers can tell
        self._version = 0  # bumps on every append and clear; what waiters watch
        # re-entrant: a signal handler (Ctrl-C, SIGTERM) closes the ring on the main thread,
        # which may be inside since() at that moment; a plain Lock deadlocked there
        self._lock = threading.RLock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.closed = False  # set when the server stops, so followers end their streams

    @property
    def last_seq(self) -> int:
        return self._seq

    @property
    def version(self) -> int:
        return self._version

    @property
    def cleared_at(self) -> int:
        return self._cleared_at

    def append(self, message: str, level: str = "INFO", source: str = "server") -> LogEntry:
        message = self.redact(message)
        with self._lock:
            self._seq += 1
            entry = LogEntry(self._seq, time.time(), level, source, message)
            self._entries.append(entry)
            self._version += 1
            self._bytes += len(message)
            while self._bytes > self.max_bytes and len(self._entries) > 1:
                self._bytes -= len(self._entries.popleft().message)
        self._wake()
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self._cleared_at = self._seq
            self._version += 1
        self._wake()

    def close(self) -> None:
        self.closed = True
        self._wake()

    def reopen(self) -> None:
        self.closed = False

    def since(self, seq: int) -> list[LogEntry]:
        """Entries with a sequence number above ``seq``, oldest first."""
        with self._lock:
            return [e for e in self._entries if e.seq > seq]

    def size_bytes(self) -> int:
        return self._bytes

    async def wait(self, after_version: int, timeout: float) -> None:
        """Return once ``version`` passes ``after_version`` (an append or a clear), or on timeout."""
        if self._version > after_version or self.closed:
            return
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        waiter = (loop, event)
        with self._lock:
            self._waiters.add(waiter)
        try:
            if self._version > after_version:
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        finally:
            with self._lock:
                self._waiters.discard(waiter)

    def _wake(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is already closed
                loop.call_soon_threadsafe(event.set)


class SkipAccessLog(logging.Filter):
    """Keeps ``voxweb.access`` records out of a handler (the access log reaches the ring
    directly, and a record is only made when another handler wants it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name != "voxweb.access"


class RedactFilter(logging.Filter):
    """Masks live secrets in a record's message, for handlers that print or store it."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class RingHandler(logging.Handler):
    """Copies log records into a LogRing."""

    def __init__(self, ring: LogRing, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.ring = ring

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.ring.append(record.getMessage(), record.levelname, record.name)
        except Exception:  # a log handler must never raise into the caller
            self.handleError(record)
