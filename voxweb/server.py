"""Server: bind a port, build the app, run uvicorn — from the CLI or inside any program.

``Server(settings).run()`` serves in the calling (main) thread until Ctrl-C or an HTTP
shutdown. ``Server(settings).start()`` serves on a background thread and returns once the
socket is listening, so a script, notebook or console keeps working with the same process;
``stop()`` ends it. Port choice: the configured port, then the next ones up to
``port_tries`` in all (Slicer's docs promise this; its code tries only one more).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import errno
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import uvicorn

from voxweb.config import ConfigError, Settings
from voxweb.context import ExtensionHandler, ServerContext
from voxweb.datadir import exposed_dirs, exposure_warning, make_private_dirs
from voxweb.http.app import build_app
from voxweb.http.protocol import protocol_with_timeout
from voxweb.logring import RingHandler, SkipAccessLog
from voxweb.tokenfile import SERVER_FILE, TOKEN_FILE, write_private

logger = logging.getLogger(__name__)


def reuse_large_allocations(keep_bytes: int = 512 << 20) -> bool:
    """Let glibc serve large blocks from the heap and keep freed ones (up to ``keep_bytes``).

    By default every block over 128 KiB is a fresh mmap, so each volume upload or render
    buffer is first-touched page by page; on this kind of VM that costs about as much as the
    upload itself. Reusing freed memory keeps RSS at its high-water mark instead. Linux/glibc
    only; elsewhere this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, keep_bytes // 2)) and bool(
        libc.mallopt(m_trim_threshold, keep_bytes)
    )


def uvicorn_config(app: Any, settings: Settings) -> uvicorn.Config:
    """How uvicorn serves voxweb (the same in every process of a multi-worker server)."""
    return uvicorn.Config(
        app,
        http=protocol_with_timeout(settings.header_timeout),
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,  # X-Forwarded-* from any local process must not change the scheme
        date_header=True,
        timeout_keep_alive=int(max(1, settings.keepalive_timeout)),
        timeout_graceful_shutdown=5,
        ssl_certfile=str(settings.certfile) if settings.certfile else None,
        ssl_keyfile=str(settings.keyfile) if settings.keyfile else None,
        backlog=1024,
    )


class PortUnavailableError(OSError):
    """No port in the tried range could be bound."""


def bind_socket(host: str, port: int, tries: int) -> tuple[socket.socket, int]:
    """Bind ``host`` on ``port`` or the next free port (``tries`` ports in all)."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _, _, _, address = infos[0]
    last_error: OSError | None = None
    candidates = [0] if port == 0 else range(port, min(port + tries, 65536))
    for candidate in candidates:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.bind((address[0], candidate, *address[2:]))
            sock.listen(1024)
        except OSError as exc:
            sock.close()
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise
            last_error = exc
            continue
        sock.set_inheritable(True)
        return sock, sock.getsockname()[1]
    raise PortUnavailableError(
        f"no free port on {host} from {port} to {port + tries - 1} ({last_error})"
    )


def _also_bind_ipv6_loopback(port: int) -> socket.socket | None:
    """When serving 127.0.0.1, also take [::1] so clients that resolve localhost to it connect at once."""
    if not socket.has_ipv6:
        return None
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(("::1", port))
        sock.listen(1024)
        return sock
    except OSError:
        sock.close()
        return None


class _UvicornServer(uvicorn.Server):
    """uvicorn's server that also ends log streams on Ctrl-C, so shutdown need not wait for them."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit
        # more (socket, config) pairs to serve, each with its own app and no TLS: the
        # scene process's private socket for its workers (scaleout/pool.py)
        self.extra_listeners: list[tuple[socket.socket, uvicorn.Config]] = []

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        loop = asyncio.get_running_loop()
        for sock, config in self.extra_listeners:
            if not config.loaded:
                config.load()

            def create_protocol(_loop=None, config=config):  # noqa: ANN001, ANN202
                return config.http_protocol_class(
                    config=config,
                    server_state=self.server_state,
                    app_state=self.lifespan.state,
                    _loop=_loop,
                )

            self.servers.append(await loop.create_server(create_protocol, sock=sock))

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises SIGTERM/SIGINT as soon as it stops serving, which ended the
        # process before Server.run's cleanup (ingest workers, server.json); run() re-raises
        # them once that is done
        with super().capture_signals():
            try:
                yield
            finally:
                self.deferred_signals = list(self._captured_signals)
                self._captured_signals.clear()


class Server:
    """One voxweb server. Use ``run()`` (blocking) or ``start()``/``stop()`` (background)."""

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        settings = settings or Settings()
        if overrides:
            settings = dataclasses.replace(settings, **overrides)
        self.settings = settings.validate()
        self.ctx = self._make_context(self.settings)
        self.ctx.request_shutdown = self._request_shutdown
        self._uvicorn: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sockets: list[socket.socket] = []
        self._ring_handler: RingHandler | None = None

    # --- public --------------------------------------------------------------------------

    @property
    def scene(self):
        """The scene this server serves; change it from Python while the server runs."""
        return self.ctx.workspace.scene

    @property
    def workspace(self):
        return self.ctx.workspace

    @property
    def port(self) -> int:
        return self.ctx.bound_port

    @property
    def token(self) -> str | None:
        return self.ctx.token

    @property
    def url(self) -> str:
        """The base URL (no token)."""
        return self.ctx.base_url

    @property
    def open_url(self) -> str:
        """The control-panel URL with the token, as printed at start."""
        return self.ctx.open_url

    @property
    def running(self) -> bool:
        return self._uvicorn is not None and self._uvicorn.started and not self._uvicorn.should_exit

    def add_handler(
        self, handler: object = None, *, prefix: str | None = None, app: Any = None
    ) -> None:
        """Add a request handler.

        * ``add_handler(prefix="/myapp", app=asgi_app)``: every path under ``/myapp`` goes to
          the ASGI app (which sits behind the token and cross-site checks like any API).
        * ``add_handler(obj)``: a Slicer-style handler with ``canHandleRequest(method, uri,
          requestBody) -> float`` and ``handleRequest(method, uri, requestBody) ->
          (contentType, body)``; it wins requests it bids more for than the built-in handler
          (0.5 for /slicer, /dicom and /api; 0.1 for static files). At dispatch time
          ``requestBody`` is empty; ``handleRequest`` gets the real body.
        """
        if prefix is not None:
            if app is None or not prefix.startswith("/"):
                raise ValueError("add_handler(prefix=...) needs an absolute prefix and an ASGI app")
            self.ctx.extensions.append(ExtensionHandler(prefix=prefix, app=app))
            return
        if not (hasattr(handler, "canHandleRequest") and hasattr(handler, "handleRequest")):
            raise TypeError("a handler needs canHandleRequest() and handleRequest() methods")
        self.ctx.extensions.append(ExtensionHandler(handler=handler))

    def start(self, timeout: float = 15.0, announce: bool = False) -> Server:
        """Serve on a background thread; return once listening."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("this server is already running")
        if self.settings.workers > 1:
            raise ConfigError("workers > 1 needs Server.run() (voxweb serve), not start()")
        server = self._prepare(announce)
        self._thread = threading.Thread(
            target=self._serve_thread, args=(server,), name=f"voxweb-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive():
                raise RuntimeError("voxweb server thread ended during start-up")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"voxweb did not start within {timeout} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Stop a server started with ``start()`` and wait for its thread."""
        self._request_shutdown()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._cleanup()

    def run(self, announce: bool = True, open_browser: bool | None = None) -> None:
        """Serve in this thread until interrupted or shut down over HTTP."""
        server = self._prepare(announce)
        workers = self._start_workers(server) if self.settings.workers > 1 else None
        if open_browser if open_browser is not None else self.settings.open:
            threading.Thread(target=self._open_browser, args=(server,), daemon=True).start()
        try:
            server.run(sockets=self._sockets)
        finally:
            if workers is not None:
                workers.close()
            self._cleanup()
        if workers is not None:
            workers.raise_if_failed()
        for sig in reversed(getattr(server, "deferred_signals", [])):
            signal.raise_signal(sig)  # exit the way the signal asked, now that all is closed

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- internals -----------------------------------------------------------------------

    # what a server is made of; ``voxweb.dicomweb_server`` serves the DICOM area alone
    def _make_context(self, settings: Settings) -> ServerContext:
        return ServerContext.from_settings(settings)

    def _build_app(self) -> Any:
        return build_app(self.ctx)

    def _announcement(self) -> str:
        return f"voxweb {self.ctx.version} serving at {self.open_url}"

    def _prepare(self, announce: bool) -> uvicorn.Server:
        settings = self.settings
        sock, port = bind_socket(settings.host, settings.port, settings.port_tries)
        self._sockets = [sock]
        if settings.host == "127.0.0.1":
            extra = _also_bind_ipv6_loopback(port)
            if extra is not None:
                self._sockets.append(extra)
        self.ctx.bound_host = settings.host
        self.ctx.bound_port = port
        self.ctx.log.reopen()
        self._attach_log()
        self._write_files(announce)
        self._load_samples()

        config = uvicorn_config(self._build_app(), settings)
        self._uvicorn = _UvicornServer(config, self.ctx.log.close)
        if port != settings.port and settings.port != 0:
            message = f"voxweb: port {settings.port} is busy; using {port}"
            self.ctx.log.append(message, "WARNING")
            if announce:
                print(message, flush=True)
        self.ctx.log.append(f"voxweb {self.ctx.version} listening on {self.ctx.base_url}")
        if announce:
            print(self._announcement(), flush=True)
        return self._uvicorn

    def _start_workers(self, server: _UvicornServer) -> Any:
        """Workers 1..N-1 on the same sockets; this process keeps the scene (scaleout/)."""
        from voxweb.scaleout.pool import WorkerPool

        return WorkerPool(self.ctx, self._sockets, server).start()

    def _load_samples(self) -> None:
        for name in self.settings.sample:
            try:
                nodes = self.ctx.workspace.load_sample(name)
            except Exception as exc:  # a missing sample must not stop the server
                logger.error("could not load sample %s: %s", name, exc)
                continue
            self.ctx.log.append(f"loaded sample {name} as {', '.join(n.id for n in nodes)}")

    def _serve_thread(self, server: uvicorn.Server) -> None:
        try:
            server.run(sockets=self._sockets)
        except BaseException:  # the thread must not die silently
            logger.exception("voxweb server thread failed")

    def _request_shutdown(self) -> None:
        self.ctx.log.close()  # ends server-sent-event streams so shutdown need not wait
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True

    def _open_browser(self, server: uvicorn.Server) -> None:
        import webbrowser

        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            webbrowser.open(self.open_url)

    def _attach_log(self) -> None:
        if self._ring_handler is None:
            self._ring_handler = RingHandler(self.ctx.log)
            self._ring_handler.addFilter(SkipAccessLog())
            for name in ("voxweb", "uvicorn.error"):
                logging.getLogger(name).addHandler(self._ring_handler)
            # Records below WARNING still reach the ring when nothing else set a level.
            voxweb_logger = logging.getLogger("voxweb")
            if voxweb_logger.level == logging.NOTSET:
                voxweb_logger.setLevel(logging.INFO)

    def _detach_log(self) -> None:
        if self._ring_handler is not None:
            for name in ("voxweb", "uvicorn.error"):
                logging.getLogger(name).removeHandler(self._ring_handler)
            self._ring_handler = None

    def _write_files(self, announce: bool = False) -> None:
        data_dir = self.settings.resolved_data_dir()
        # Warn, never chmod: the operator made these folders and may share them on purpose.
        for folder, mode in exposed_dirs(data_dir):
            message = exposure_warning(folder, mode)
            logger.warning(message)
            if announce and not logging.getLogger().handlers:  # else the console shows it
                print(f"voxweb: WARNING: {message}", file=sys.stderr, flush=True)
        try:
            make_private_dirs(data_dir)
        except OSError as exc:
            raise ConfigError(f"cannot create data dir {str(data_dir)!r}: {exc}") from None
        info = {"url": self.url, "port": self.port, "pid": os.getpid(), "auth": self.settings.auth}
        if self.token:
            write_private(data_dir / TOKEN_FILE, self.token + "\n")
            info["token_file"] = str(data_dir / TOKEN_FILE)
        write_private(data_dir / SERVER_FILE, json.dumps(info, indent=2) + "\n")

    def _cleanup(self) -> None:
        self.ctx.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()
        self._sockets = []
        self._detach_log()
        server_file = self.settings.resolved_data_dir() / SERVER_FILE
        with contextlib.suppress(OSError, ValueError):
            if json.loads(server_file.read_text()).get("pid") == os.getpid():
                server_file.unlink()
