"""``/api/*``: voxweb's own REST API (described by OpenAPI at ``/api/openapi.json``).

For now it is the control panel's back end: server status, the live API switches, the log
(snapshot, server-sent events, clear) and shutdown. Every route sits behind ApiGuard, so it
needs the token like any API. FastAPI's docs pages load from a CDN, so they are off; the
docroot's ``api.html`` renders the schema instead.
"""

from __future__ import annotations

import logging
import os
import time
import uuid

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from voxweb.context import API_NAMES, ServerContext
from voxweb.datadir import create_private_file, make_private_dirs
from voxweb.http.body import read_body
from voxweb.http.errors import KNOWN_ERRORS, failure_of
from voxweb.http.logstream import log_stream
from voxweb.http.responses import error_response
from voxweb.io.naming import stem
from voxweb.scene.views import LAYOUT_GRIDS, LAYOUT_TITLES

logger = logging.getLogger(__name__)


class ApiSwitches(BaseModel):
    slicer: bool
    dicom: bool
    static: bool
    exec: bool


class SwitchChange(BaseModel):
    slicer: bool | None = None
    dicom: bool | None = None
    static: bool | None = None
    exec: bool | None = None


class Status(BaseModel):
    name: str = "voxweb"
    version: str
    url: str
    host: str
    port: int
    scheme: str
    auth: str
    uptime_s: float
    apis: ApiSwitches
    exec_allowed: bool = Field(description="exec can be switched on (started with --enable-exec)")
    cors_origins: list[str]
    log_bytes: int
    log_last_seq: int
    ohif: str | None = Field(
        default=None, description="where the hosted OHIF viewer is (voxweb serve --ohif DIR)"
    )


class LogEntryModel(BaseModel):
    seq: int
    time: float
    level: str
    source: str
    message: str


class LogSnapshot(BaseModel):
    entries: list[LogEntryModel]
    last_seq: int
    cleared_at: int


class Ok(BaseModel):
    success: bool = True


class DisplayChange(BaseModel):
    volume: str | None = Field(
        default=None, description="volume ID to show in every slice view (a label map as label)"
    )
    label_opacity: float | None = Field(
        default=None, ge=0.0, le=1.0, description="opacity of the label layer in every slice view"
    )
    fit: bool = Field(default=True, description="fit the slice views to the chosen volume")


class WindowLevel(BaseModel):
    volume: str = Field(description="volume ID")
    window: float = Field(gt=0, description="window width")
    level: float = Field(description="window centre")


class SampleInfo(BaseModel):
    name: str
    local: bool = Field(description="a verified copy is on this machine (cache or offline copy)")
    loadable: bool = Field(
        description="can load now: a local copy, or downloads are on and none failed yet"
    )


class LayoutGrid(BaseModel):
    name: str
    title: str | None  # None: drawable, but not offered in a layout menu
    rows: list[list[str]]


class Stored(BaseModel):
    success: bool = True
    study: str
    series: str
    sop: str | None = None


class Loaded(BaseModel):
    success: bool = True
    loadedNodeIDs: list[str]  # noqa: N815 - the name /slicer/mrml uses for the same list


def build_api(ctx: ServerContext) -> FastAPI:
    app = FastAPI(
        title="voxweb API",
        version=ctx.version,
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return error_response(exc.status_code, str(exc.detail))

    async def known_error(request: Request, exc: Exception) -> Response:
        failure = failure_of(exc)
        return error_response(failure.status, failure.message, failure.headers)

    for error_type in KNOWN_ERRORS:  # a missing node is 404, a refused path 403...
        app.add_exception_handler(error_type, known_error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return error_response(422, f"invalid request: {problems}")

    def status() -> Status:
        s = ctx.settings
        return Status(
            version=ctx.version,
            url=ctx.base_url,
            host=ctx.bound_host,
            port=ctx.bound_port,
            scheme=s.scheme,
            auth=s.auth,
            uptime_s=round(time.time() - ctx.started_at, 3),
            apis=ApiSwitches(**ctx.switches.as_dict()),
            exec_allowed=ctx.exec_allowed,
            cors_origins=list(s.cors_origin),
            log_bytes=ctx.log.size_bytes(),
            log_last_seq=ctx.log.last_seq,
            ohif="/browse/" if getattr(s, "ohif", None) else None,
        )

    @app.get("/api/status", response_model=Status, summary="Server status and API switches")
    async def get_status() -> Status:
        return status()

    @app.post("/api/switches", response_model=Status, summary="Turn APIs on or off while running")
    async def set_switches(change: SwitchChange) -> Status:
        wanted = {k: v for k, v in change.model_dump().items() if v is not None}
        if not wanted:
            raise HTTPException(400, f"name at least one switch: {', '.join(API_NAMES)}")
        if wanted.get("exec") and not ctx.exec_allowed:
            raise HTTPException(403, "exec was not enabled at start (voxweb serve --enable-exec)")
        for name, on in wanted.items():
            ctx.set_switch(name, on)
            logger.warning("API switch %s turned %s", name, "on" if on else "off")
        return status()

    @app.get(
        "/api/layouts",
        response_model=list[LayoutGrid],
        summary="Where each layout puts its views (rows of view names; 3-D views as 3D:<n>)",
    )
    async def get_layouts() -> list[LayoutGrid]:
        menu = [n for n in LAYOUT_TITLES if n in LAYOUT_GRIDS]
        rest = [n for n in LAYOUT_GRIDS if n not in LAYOUT_TITLES]
        return [
            LayoutGrid(name=n, title=LAYOUT_TITLES.get(n), rows=LAYOUT_GRIDS[n])
            for n in menu + rest
        ]

    @app.get("/api/log", response_model=LogSnapshot, summary="Log entries after a sequence number")
    async def get_log(after: int = 0) -> LogSnapshot:
        entries = [LogEntryModel(**e.as_dict()) for e in ctx.log.since(after)]
        return LogSnapshot(
            entries=entries, last_seq=ctx.log.last_seq, cleared_at=ctx.log.cleared_at
        )

    @app.get(
        "/api/log/stream",
        summary="Follow the log as server-sent events (log, clear)",
        response_class=Response,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def stream_log(request: Request) -> Response:
        return log_stream(ctx.log, request)

    @app.post("/api/log/clear", response_model=Ok, summary="Empty the log")
    async def clear_log() -> Ok:
        ctx.log.clear()
        return Ok()

    @app.post("/api/shutdown", response_model=Ok, summary="Stop the server after answering")
    async def shutdown() -> Response:
        logger.warning("shutdown requested over HTTP (/api/shutdown)")
        return JSONResponse({"success": True}, background=BackgroundTask(ctx.request_shutdown))

    @app.post(
        "/api/display",
        response_model=Ok,
        summary="Show a volume in the slice views, set the label-map opacity",
    )
    async def set_display(change: DisplayChange) -> Ok:
        from voxweb.scene import ScalarVolume

        def apply() -> None:
            workspace = ctx.workspace
            with workspace.scene.lock:
                if change.volume:
                    node = workspace.scene.get_node_by_id(change.volume)
                    if not isinstance(node, ScalarVolume):
                        raise HTTPException(404, f"there is no volume with ID {change.volume!r}")
                    workspace.show_volume(node, fit=change.fit)
                if change.label_opacity is not None:
                    workspace.set_label_opacity(change.label_opacity)

        await run_in_threadpool(apply)
        return Ok()

    @app.post(
        "/api/window-level",
        response_model=Ok,
        summary="Keep a volume's window/level in the scene (turns automatic window/level off)",
    )
    async def set_window_level(change: WindowLevel) -> Ok:
        from voxweb.scene import ScalarVolume

        def apply() -> None:
            node = ctx.workspace.scene.get_node_by_id(change.volume)
            if not isinstance(node, ScalarVolume):
                raise HTTPException(404, f"there is no volume with ID {change.volume!r}")
            ctx.workspace.set_window_level(node, change.window, change.level)

        await run_in_threadpool(apply)
        return Ok()

    @app.get(
        "/api/samples",
        response_model=list[SampleInfo],
        summary="The sample data sets and whether each can load now",
    )
    async def samples() -> list[SampleInfo]:
        found = await run_in_threadpool(ctx.workspace.sample_availability)
        return [SampleInfo(**item) for item in found]

    @app.post(
        "/api/files",
        response_model=Loaded,
        summary="Upload a data file (NRRD, NIfTI, ...) and load it into the scene",
        openapi_extra={
            "requestBody": {"content": {"application/octet-stream": {}}, "required": True}
        },
    )
    async def upload_file(request: Request, filename: str) -> Loaded:
        from voxweb.io.naming import FILETYPE_BY_EXTENSION, file_extension

        name = os.path.basename(filename.replace("\\", "/")).strip()
        filetype = FILETYPE_BY_EXTENSION.get(file_extension(name)) if name else None
        if filetype is None:
            known = ", ".join(sorted(FILETYPE_BY_EXTENSION))
            raise HTTPException(400, f"cannot tell the type of {name or 'the file'!r}: use {known}")
        data = await read_body(request.receive, request.headers)
        if not data:
            raise HTTPException(400, f"{name} arrived empty")
        # Kept under the data dir (not deleted): the scene records where each node came from.
        folder = ctx.settings.resolved_data_dir() / "uploads" / uuid.uuid4().hex
        path = folder / name

        def load() -> list[str]:
            make_private_dirs(folder)  # uploads are patient data: the user's eyes only
            with os.fdopen(create_private_file(path), "wb") as out:
                out.write(data)
            try:
                nodes = ctx.workspace.load_file(path, filetype, {"name": stem(name)})
            except Exception:
                path.unlink(missing_ok=True)
                folder.rmdir()
                raise
            return [n.id for n in nodes]

        try:
            ids = await run_in_threadpool(load)
        except (ValueError, OSError) as exc:
            detail = str(exc).replace(str(path), name)  # the data dir is not the client's business
            raise HTTPException(400, f"could not load {name}: {detail}") from None
        logger.info("loaded uploaded file %s as %s", name, ", ".join(ids))
        return Loaded(loadedNodeIDs=ids)

    @app.post(
        "/api/dicom/load",
        response_model=Loaded,
        summary="Load a stored DICOM series into the scene as a volume",
    )
    async def load_dicom_series(study: str, series: str) -> Loaded:
        from voxweb.dicom.errors import DicomError, NotFoundError
        from voxweb.services.dicom_bridge import load_series

        def load() -> list[str]:
            return [load_series(ctx.workspace, ctx.dicom, study, series).id]

        try:
            ids = await run_in_threadpool(load)
        except NotFoundError as exc:
            raise HTTPException(404, f"no such series in the DICOM database ({exc})") from None
        except (DicomError, ValueError) as exc:
            raise HTTPException(400, f"could not load the series: {exc}") from None
        return Loaded(loadedNodeIDs=ids)

    @app.post(
        "/api/dicom/store",
        response_model=Stored,
        summary="Store a scene volume as a DICOM series, or a segmentation as DICOM SEG",
    )
    async def store_dicom(id: str, study: str | None = None, series: str | None = None) -> Stored:  # noqa: A002
        from voxweb.dicom.errors import DicomError, NotFoundError
        from voxweb.services.dicom_bridge import store_node

        def store() -> dict:
            node = ctx.workspace.scene.get_node_by_id(id)
            if node is None:
                raise HTTPException(404, f"no node with ID {id!r} in the scene")
            with ctx.workspace.scene.lock:
                return store_node(ctx.dicom, node, study, series)

        try:
            stored = await run_in_threadpool(store)
        except NotFoundError as exc:
            raise HTTPException(404, f"no such series in the DICOM database ({exc})") from None
        except (DicomError, ValueError) as exc:
            raise HTTPException(400, f"could not store {id}: {exc}") from None
        return Stored(**stored)

    return app
