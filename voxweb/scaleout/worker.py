"""A worker process of ``voxweb serve --workers N`` (run as ``python -m voxweb.scaleout.worker``).

It reads its configuration from stdin (written by ``pool.py``), accepts connections on the
listening sockets it inherited, answers ``/dicom`` and static files itself from the shared
database and storage, and hands every other request to the scene process
(``http/forward.py``). It holds no scene. It stops on SIGTERM/SIGINT and when its stdin ends,
which happens when the scene process ends in any way.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import socket
import sys
import threading
from typing import Any, BinaryIO

import uvicorn

from voxweb.context import ServerContext
from voxweb.http.app import build_app
from voxweb.http.forward import SceneForwarder
from voxweb.logring import LogEntry, LogRing, RedactFilter, RingHandler, SkipAccessLog
from voxweb.scaleout.switches import SharedSwitches
from voxweb.scaleout.tag import WorkerTag
from voxweb.server import reuse_large_allocations, uvicorn_config

_MAX_LINE = 3800  # one write below PIPE_BUF (4096) never interleaves with another worker's


class RelayedLogRing(LogRing):
    """A log ring that also sends each entry to the scene process, whose ring the control
    panel follows. Never blocks: when the pipe is full the copy is dropped."""

    def __init__(self, max_bytes: int, fd: int, index: int) -> None:
        super().__init__(max_bytes)
        self._fd = fd
        self._index = index
        os.set_blocking(fd, False)

    def append(self, message: str, level: str = "INFO", source: str = "server") -> LogEntry:
        entry = super().append(message, level, source)
        line = json.dumps(
            {
                "worker": self._index,
                "message": entry.message[:_MAX_LINE],
                "level": level,
                "source": source,
            }
        )
        with contextlib.suppress(OSError):
            os.write(self._fd, line.encode()[: _MAX_LINE + 200] + b"\n")
        return entry


def read_config(stream: BinaryIO) -> dict[str, Any]:
    size = int.from_bytes(_read_exactly(stream, 8), "little")
    return pickle.loads(_read_exactly(stream, size))  # from the parent process only


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise SystemExit("voxweb worker: the scene process went away before starting it")
        data += chunk
    return data


def _watch_parent(stream: BinaryIO, server: uvicorn.Server) -> None:
    while stream.read(4096):
        pass
    server.should_exit = True  # the scene process ended: stop too


def main() -> None:
    stdin = sys.stdin.buffer
    config = read_config(stdin)
    settings = config["settings"]
    index = config["index"]

    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO if settings.log_console else logging.WARNING)
    console.setFormatter(
        logging.Formatter(f"%(asctime)s %(levelname)s [worker {index}] %(name)s: %(message)s")
    )
    logging.getLogger().addHandler(console)
    logging.getLogger("voxweb").setLevel(logging.INFO)
    if settings.memory_reuse_size:
        reuse_large_allocations(settings.memory_reuse_size)

    ctx = ServerContext(
        settings=settings,
        token=config["token"],
        switches=SharedSwitches(config["switches_fd"]),  # type: ignore[arg-type]
        log=RelayedLogRing(settings.log_buffer_size, config["log_fd"], index),
        bound_host=config["bound_host"],
        bound_port=config["bound_port"],
    )
    if ctx.token:
        ctx.log.redact.add(ctx.token)
    console.addFilter(RedactFilter(ctx.log.redact))
    ring_handler = RingHandler(ctx.log)
    ring_handler.addFilter(SkipAccessLog())
    for name in ("voxweb", "uvicorn.error"):
        logging.getLogger(name).addHandler(ring_handler)

    forwarder = SceneForwarder(config["forward_path"], config["secret"])
    app = WorkerTag(build_app(ctx, scene=forwarder), index)
    server = uvicorn.Server(uvicorn_config(app, settings))
    ctx.request_shutdown = lambda: setattr(server, "should_exit", True)
    threading.Thread(target=_watch_parent, args=(stdin, server), daemon=True).start()
    sockets = [socket.socket(fileno=fd) for fd in config["listen_fds"]]
    try:
        server.run(sockets=sockets)
    finally:
        ctx.log.close()
        ctx.close()


if __name__ == "__main__":
    main()
