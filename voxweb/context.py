"""ServerContext: the live, shared state of one running voxweb server.

It holds what every layer of a running server needs to see at once: the settings, the API
token, the live on/off switches of each API (the control panel flips them), the log ring,
the extension handlers added by the embedding program, and a way to ask the server to stop.
The HTTP layer reads it; ``server.py`` creates it. Its only I/O at creation is reading the
data dir's token file (``tokenfile.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxweb import __version__
from voxweb.config import Settings
from voxweb.dicom import DicomDatabase
from voxweb.dicom.dburl import url_password
from voxweb.execution import Executor
from voxweb.logring import LogRing
from voxweb.render.service import RenderService
from voxweb.scripting.namespace import exec_namespace
from voxweb.services.dicom_bridge import DicomBridge
from voxweb.services.fetch import FetchPolicy
from voxweb.services.workspace import Workspace
from voxweb.tokenfile import new_token, read_token

API_NAMES = ("slicer", "dicom", "static", "exec")


@dataclass
class Switches:
    """Which APIs answer right now. ``exec`` can only be on if the settings allowed it."""

    slicer: bool = True
    dicom: bool = True
    static: bool = True
    exec: bool = False

    def as_dict(self) -> dict[str, bool]:
        return {name: getattr(self, name) for name in API_NAMES}


@dataclass
class ExtensionHandler:
    """A request handler added by the embedding program (see ``Server.add_handler``).

    Either ``prefix`` + ``app`` (an ASGI app that owns every path under the prefix), or a
    Slicer-style ``handler`` object with ``canHandleRequest``/``handleRequest``.
    """

    prefix: str | None = None
    app: Any = None
    handler: Any = None


def resolve_token(settings: Settings) -> str | None:
    """The API token: --token wins; else the data dir's token (scripts and bookmarks keep
    working across restarts) unless --new-token; else a fresh one. server.py writes it."""
    if not settings.token_required:
        return None
    token = settings.token
    if token is None and not settings.new_token:
        token = read_token(settings.resolved_data_dir())
    return token or new_token()


@dataclass
class ServerContext:
    settings: Settings
    token: str | None = None
    switches: Switches = field(default_factory=Switches)
    log: LogRing = field(default_factory=LogRing)
    extensions: list[ExtensionHandler] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    version: str = __version__
    bound_host: str = ""
    bound_port: int = 0
    request_shutdown: Callable[[], None] = lambda: None
    lock: threading.Lock = field(default_factory=threading.Lock)
    workspace: Workspace = field(default_factory=Workspace)
    render: RenderService = None  # type: ignore[assignment] - made in __post_init__ if not given
    executor: Executor | None = None
    _dicom: DicomDatabase | None = None

    def __post_init__(self) -> None:
        if self.render is None:  # one render service per scene, with its caches
            self.render = RenderService(self.workspace.scene, self.settings.render_backend)

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerContext:
        token = resolve_token(settings)
        switches = Switches(
            slicer=not settings.disable_slicer,
            dicom=not settings.disable_dicom,
            static=not settings.disable_static,
            exec=settings.enable_exec,
        )
        workspace = Workspace(
            file_roots=[Path(p) for p in settings.file_root],
            fetch_policy=FetchPolicy(
                enabled=settings.allow_url_fetch,
                allow_private=settings.allow_private_urls,
                private_hosts=frozenset(h.lower() for h in settings.url_private_host),
                max_bytes=settings.url_fetch_max_size,
            ),
            cache_dir=settings.resolved_data_dir() / "cache",
            sample_download=settings.sample_download,
            auto_volume_rendering=settings.auto_volume_rendering,
            max_volume_size=settings.max_volume_size,
        )
        ctx = cls(
            settings=settings,
            token=token,
            switches=switches,
            log=LogRing(settings.log_buffer_size),
            workspace=workspace,
            render=RenderService(workspace.scene, settings.render_backend),
        )
        ctx.log.redact.add(token)
        ctx.log.redact.add(url_password(settings.database_url))  # never in a log line
        bridge = DicomBridge(workspace, lambda: ctx.dicom)
        ctx.executor = Executor(
            lambda: exec_namespace(workspace, bridge, ctx.render),
            lock=workspace.scene.lock,
            timeout=settings.exec_timeout,
        )
        return ctx

    @classmethod
    def for_dicom_service(cls, settings: Settings) -> ServerContext:
        """The context of ``voxweb dicomweb``: the DICOM database only (no scene served, no
        exec, no static pages); the database opens at once, so a wrong URL fails the start."""
        ctx = cls(
            settings=settings,
            token=resolve_token(settings),
            switches=Switches(slicer=False, dicom=True, static=False, exec=False),
            log=LogRing(settings.log_buffer_size),
        )
        ctx.log.redact.add(ctx.token)
        _ = ctx.dicom
        return ctx

    @property
    def dicom(self) -> DicomDatabase:
        """The DICOM database in the data dir, opened on first use."""
        if self._dicom is None:
            with self.lock:
                if self._dicom is None:
                    self._dicom = DicomDatabase(
                        self.settings.resolved_data_dir(),
                        index_url=self.settings.database_url,
                        store_root=self.settings.storage,
                        ingest_processes=self.settings.resolved_ingest_processes(),
                    )
                    if self._dicom.workers is not None:
                        self._dicom.workers.warm_up()
        return self._dicom

    def close(self) -> None:
        if self._dicom is not None:
            self._dicom.close()
            self._dicom = None
        if self.executor is not None:
            self.executor.close()

    @property
    def exec_allowed(self) -> bool:
        """Exec can be switched on live only when the server was started with it enabled."""
        return self.settings.enable_exec

    def set_switch(self, name: str, on: bool) -> None:
        if name not in API_NAMES:
            raise KeyError(f"unknown API switch {name!r}; known: {', '.join(API_NAMES)}")
        if name == "exec" and on and not self.exec_allowed:
            raise PermissionError("exec was not enabled at start (voxweb serve --enable-exec)")
        with self.lock:
            setattr(self.switches, name, bool(on))

    @property
    def base_url(self) -> str:
        host = self.bound_host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"{self.settings.scheme}://{host}:{self.bound_port}"

    @property
    def open_url(self) -> str:
        """The URL to print and open: the control panel, with the token when one is needed."""
        return f"{self.base_url}/?token={self.token}" if self.token else f"{self.base_url}/"

    @property
    def cookie_name(self) -> str:
        # Cookies ignore ports, so two servers on one host need different names.
        return f"voxweb_token_{self.bound_port}"
