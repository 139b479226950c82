"""The scene process's side of ``--workers N``: start, watch, restart and stop the workers.

The scene process has already bound the port. It hands the listening sockets to each worker
as inherited file descriptors, so all processes accept from one kernel queue: nothing else
can take the port between two binds (``SO_REUSEPORT`` would let any process of the same user
join and take a share of the connections), and connections waiting in the queue are never
lost when one worker ends, as they are with a per-process ``SO_REUSEPORT`` queue.

Workers are new interpreters (``python -m voxweb.scaleout.worker``), not forks: the scene
process has threads by now, which a fork would copy mid-flight. Each gets its settings over
its stdin pipe and then keeps the pipe open: when the scene process dies, however it dies,
the pipe ends and the worker stops, so no worker outlives it. Workers run in their own
session, so a Ctrl-C in the terminal reaches the scene process alone and it stops them in
order. A worker that ends on its own is started again; one that keeps ending (``CRASH_LIMIT``
times in ``CRASH_WINDOW_S``) stops the whole server with a message saying so.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import uvicorn

from voxweb.context import ServerContext
from voxweb.http.forward import ForwardedRequests
from voxweb.scaleout.switches import SharedSwitches
from voxweb.scaleout.tag import WorkerTag

logger = logging.getLogger(__name__)

CRASH_LIMIT = 5
CRASH_WINDOW_S = 60.0
RESTART_DELAY_S = 0.5
STOP_GRACE_S = 10.0
FORWARD_KEEPALIVE_S = 60.0  # workers drop idle connections well before this (forward.py)
_MAX_UNIX_PATH = 107


def private_socket(data_dir: Path) -> tuple[socket.socket, Path, Path | None]:
    """A listening Unix socket only this user can connect to: ``scene-<pid>.sock`` in the
    (private) data dir, or in a new 0700 temporary folder when that path is too long for
    a Unix socket. Returns the socket, its path and the folder to remove afterwards."""
    _remove_stale_sockets(data_dir)
    path = data_dir / f"scene-{os.getpid()}.sock"
    own_dir = None
    if len(os.fsencode(path)) > _MAX_UNIX_PATH:
        own_dir = Path(tempfile.mkdtemp(prefix="voxweb-"))
        path = own_dir / "scene.sock"
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)  # created 0600: never connectable by others, not even briefly
    try:
        sock.bind(str(path))
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    sock.listen(1024)
    return sock, path, own_dir


def _remove_stale_sockets(data_dir: Path) -> None:
    """Sockets left by a scene process that was killed (its pid is gone)."""
    for old in data_dir.glob("scene-*.sock"):
        pid = old.stem.removeprefix("scene-")
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                old.unlink()
        except PermissionError:
            pass


class WorkersFailedError(RuntimeError):
    """A worker kept ending, so the server stopped (``voxweb serve`` exits with 1)."""


class _Slot:
    """One worker index and the process currently serving it."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.process: subprocess.Popen[bytes] | None = None
        self.crashes: deque[float] = deque()


class WorkerPool:
    """Workers 1..N-1 of a server whose scene process (worker 0) is this one."""

    def __init__(
        self, ctx: ServerContext, sockets: list[socket.socket], server: uvicorn.Server
    ) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.server = server
        self.listen_sockets = sockets
        self.secret = secrets.token_urlsafe(32)
        data_dir = self.settings.resolved_data_dir()
        self.forward_socket, self.forward_path, self._own_dir = private_socket(data_dir)
        ctx.switches = SharedSwitches.create(ctx.switches)
        self._log_read, self._log_write = os.pipe()
        self.slots = [_Slot(i) for i in range(1, self.settings.workers)]
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.failure: str | None = None  # why the pool stopped the server, if it did

        # Worker 0 tags its answers too; the private listener serves the same app untagged
        # (the worker that received the request tags it).
        app = server.config.app
        server.config.app = WorkerTag(app, 0)
        listener = uvicorn.Config(
            ForwardedRequests(app, self.secret),
            http=server.config.http,
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            date_header=False,
            timeout_keep_alive=int(FORWARD_KEEPALIVE_S),
            timeout_graceful_shutdown=5,
        )
        server.extra_listeners.append((self.forward_socket, listener))

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> WorkerPool:
        for slot in self.slots:
            self._spawn(slot)
        for target, name in ((self._supervise, "supervise"), (self._relay_logs, "log-relay")):
            thread = threading.Thread(target=target, name=f"voxweb-workers-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.ctx.log.append(
            f"serving with {self.settings.workers} worker processes "
            f"(pids {os.getpid()}, {', '.join(str(s.process.pid) for s in self.slots if s.process)})"
        )
        return self

    def raise_if_failed(self) -> None:
        if self.failure is not None:
            raise WorkersFailedError(self.failure)

    def pids(self) -> list[int]:
        return [s.process.pid for s in self.slots if s.process is not None]

    def begin_stop(self) -> None:
        """Ask every worker to stop (SIGTERM); ``close`` waits for them."""
        self._stopping.set()
        with self._lock:
            for slot in self.slots:
                if slot.process is not None and slot.process.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        slot.process.send_signal(signal.SIGTERM)

    def close(self) -> None:
        self.begin_stop()
        deadline = time.monotonic() + STOP_GRACE_S
        for slot in self.slots:
            proc = slot.process
            if proc is None:
                continue
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("worker %d (pid %d) did not stop; killing it", slot.index, proc.pid)
                proc.kill()
                proc.wait(5)
            with contextlib.suppress(OSError):
                if proc.stdin is not None:
                    proc.stdin.close()
        with contextlib.suppress(OSError):
            os.close(self._log_write)  # the relay thread reads to the end, then stops
        for thread in self._threads:
            thread.join(2)
        with contextlib.suppress(OSError):
            self.forward_socket.close()
        with contextlib.suppress(OSError):
            self.forward_path.unlink()
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)

    # --- internals -----------------------------------------------------------------------

    def _spawn(self, slot: _Slot) -> None:
        fds = [s.fileno() for s in self.listen_sockets]
        switches = self.ctx.switches
        assert isinstance(switches, SharedSwitches)
        config: dict[str, Any] = {
            "index": slot.index,
            "settings": self.settings,
            "token": self.ctx.token,
            "secret": self.secret,
            "forward_path": str(self.forward_path),
            "listen_fds": fds,
            "switches_fd": switches.fd,
            "log_fd": self._log_write,
            "bound_host": self.ctx.bound_host,
            "bound_port": self.ctx.bound_port,
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "voxweb.scaleout.worker"],
            stdin=subprocess.PIPE,
            pass_fds=[*fds, switches.fd, self._log_write],
            start_new_session=True,  # a terminal's Ctrl-C reaches the scene process only
        )
        blob = pickle.dumps(config)
        assert proc.stdin is not None
        slot.process = proc
        try:
            proc.stdin.write(len(blob).to_bytes(8, "little") + blob)
            proc.stdin.flush()  # and keep it open: its end tells the worker this process ended
        except BrokenPipeError:
            pass  # it died already; the supervisor sees that and starts another

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            if self.server.should_exit:
                self.begin_stop()
                return
            for slot in self.slots:
                with self._lock:
                    proc = slot.process
                    if self._stopping.is_set() or proc is None or proc.poll() is None:
                        continue
                    try:
                        self._worker_ended(slot, proc)
                    except Exception:  # keep watching the others; this slot retries
                        logger.exception("could not restart worker %d", slot.index)
            time.sleep(0.1)

    def _worker_ended(self, slot: _Slot, proc: subprocess.Popen[bytes]) -> None:
        code = proc.returncode
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        now = time.monotonic()
        slot.crashes.append(now)
        while slot.crashes and now - slot.crashes[0] > CRASH_WINDOW_S:
            slot.crashes.popleft()
        if len(slot.crashes) >= CRASH_LIMIT:
            self.failure = (
                f"worker {slot.index} ended {len(slot.crashes)} times within "
                f"{CRASH_WINDOW_S:.0f} s (last: {how}); stopping the server"
            )
            logger.error(self.failure)
            slot.process = None
            self._stopping.set()
            self.ctx.request_shutdown()
            return
        logger.warning(
            "worker %d (pid %d) ended (%s); starting it again", slot.index, proc.pid, how
        )
        time.sleep(RESTART_DELAY_S)
        if not self._stopping.is_set() and not self.server.should_exit:
            self._spawn(slot)

    def _relay_logs(self) -> None:
        """Put the workers' log entries into this process's ring (the control panel's log)."""
        pending = b""
        while True:
            try:
                data = os.read(self._log_read, 65536)
            except OSError:
                break
            if not data:
                break
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    entry = json.loads(line)
                    self.ctx.log.append(
                        f"[worker {int(entry['worker'])}] {entry['message']}",
                        str(entry["level"]),
                        str(entry["source"]),
                    )
        with contextlib.suppress(OSError):
            os.close(self._log_read)
