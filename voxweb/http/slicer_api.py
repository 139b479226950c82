"""``/slicer/*``: the routes of 3D Slicer's WebServer module, byte-compatible on the wire.

This is the one place for Slicer's quirks (spec §3, §4): prefix routing in Slicer's order,
``parse_qs`` query semantics (first value wins, blank values dropped), Python's default
``json.dumps`` separators, and the error envelope ``{"success": false, "message": "Server
error: ..."}`` with status 500 and ``Content-Type: application/json`` exactly. Handlers only
translate: the work is done by the Workspace (services/) and the layers below it. Handlers
that touch the scene run on worker threads, so a long exec holding the scene lock never
stalls the event loop.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

import numpy as np
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from voxweb.booleans import is_not_no, is_yes
from voxweb.context import ServerContext
from voxweb.http.body import read_body
from voxweb.http.errors import failure_of, log_failure
from voxweb.http.responses import (
    JSON_TYPE,
    empty_response,
    error_response,
    json_bytes,
    json_response,
)
from voxweb.io import nrrd as nrrd_io
from voxweb.io import segmentation as seg_io
from voxweb.io.naming import FILETYPE_BY_EXTENSION, file_extension
from voxweb.io.sampledata import SampleDataError
from voxweb.render.timeimage import time_image
from voxweb.scene import (
    GridTransform,
    LabelMapVolume,
    LinearTransform,
    ScalarVolume,
    Segmentation,
    properties,
)
from voxweb.services import dicom_bridge
from voxweb.services.tracking import quaternion_matrix

logger = logging.getLogger(__name__)

FILTER_KEYS = ("id", "class", "name")
# Slicer's reply to a volume upload: not valid JSON, but clients expect exactly these bytes.
VOLUME_POSTED = b"{'status': 'success'}"


# Slicer answers every failure with its 500 envelope and clients parse it (spec §3); only a
# refusal of a path or URL keeps its own status, so it is not mistaken for a handler error.
KEPT_STATUSES = frozenset({403})


class SlicerError(Exception):
    """An error a Slicer client sees as 500 ``Server error: <message>``."""


@dataclass
class SlicerRequest:
    method: str
    command: str  # the raw request path with "/slicer" stripped, e.g. "/mrml/ids"
    target: str  # command plus "?query" when present, as Slicer's messages quote it
    query: dict[str, str]  # parse_qs semantics: decoded, first value wins, blanks dropped
    body: memoryview

    def number(self, key: str, default: float) -> float:
        text = self.query.get(key)
        if text is None:
            return default
        try:
            return float(text)
        except ValueError:
            raise SlicerError(f"{key} must be a number, not {text!r}") from None

    def numbers(self, key: str, count: int) -> list[float] | None:
        text = self.query.get(key)
        if text is None:
            return None
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError:
            raise SlicerError(f"{key} must be comma-separated numbers, not {text!r}") from None
        if len(values) < count:
            raise SlicerError(f"{key} needs {count} numbers, got {len(values)}")
        return values


Handler = Callable[["SlicerApi", SlicerRequest], Response]


class BufferResponse(Response):
    """A header and a large buffer sent back to back without joining them (no 30 MB copy)."""

    def __init__(self, head: bytes, buffer: memoryview, media_type: str) -> None:
        super().__init__(b"", media_type=media_type)
        self.head = head
        self.buffer = buffer
        self.headers["content-length"] = str(len(head) + buffer.nbytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self.head, "more_body": True})
        await send({"type": "http.response.body", "body": self.buffer, "more_body": False})


def version_info(ctx: ServerContext) -> dict:
    """The ``/system/version`` object: Slicer's keys, in Slicer's order, voxweb's values."""
    major, minor, patch = (int(p) for p in (ctx.version.split(".") + ["0", "0"])[:3])
    return {
        "applicationName": "voxweb",
        "applicationDisplayName": "voxweb",
        "applicationVersion": ctx.version,
        "releaseType": "Stable",
        "repositoryUrl": "",
        "repositoryBranch": "main",
        "revision": ctx.version,
        "majorVersion": major,
        "minorVersion": minor,
        "arch": platform.machine() or "unknown",
        "os": platform.system() or "unknown",
        "isCustomMainApplication": False,
        "mainApplicationName": "voxweb",
        "mainApplicationRepositoryUrl": "",
        "mainApplicationRepositoryRevision": ctx.version,
        "mainApplicationRevision": ctx.version,
        "mainApplicationMajorVersion": major,
        "mainApplicationMinorVersion": minor,
        "mainApplicationPatchVersion": patch,
    }


def text_response(text: str) -> Response:
    return Response(text.encode(), media_type="text/plain")


def name_id_list(nodes) -> Response:
    return json_response([{"name": n.name, "id": n.id} for n in nodes])


def split_path_query(command: str, query: dict[str, str]) -> tuple[str, dict[str, str]]:
    """``/volume&id=X`` (the docs' curl example has no ``?``) -> ``/volume``, ``{"id": "X"}``."""
    if "&" in command and "?" not in command:
        path, _, extra = command.partition("&")
        merged = {k: v[0] for k, v in parse_qs(extra).items()}
        merged.update(query)
        return path, merged
    return command, query


class SlicerApi:
    """The ASGI app behind ``/slicer``."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.workspace = ctx.workspace
        # Slicer matches case-sensitive prefixes in this order; the first match wins (spec §3).
        # Additions: /transforms, /transform, /open and the lowercase gridtransform(s).
        self.routes: list[tuple[str, Handler]] = [
            ("/timeimage", SlicerApi.timeimage),
            ("/system", SlicerApi.system),
            ("/gui", SlicerApi.gui),
            ("/screenshot", SlicerApi.screenshot),
            ("/slice", SlicerApi.slice_image),
            ("/threeDGraphics", SlicerApi.three_d_graphics),
            ("/threeD", SlicerApi.three_d),
            ("/mrml", SlicerApi.mrml),
            ("/tracking", SlicerApi.tracking),
            ("/sampledata", SlicerApi.sampledata),
            ("/volumeSelection", SlicerApi.volume_selection),
            ("/volumes", SlicerApi.volumes),
            ("/volume", SlicerApi.volume),
            ("/gridTransforms", SlicerApi.grid_transforms),
            ("/gridtransforms", SlicerApi.grid_transforms),
            ("/gridTransform", SlicerApi.grid_transform),
            ("/gridtransform", SlicerApi.grid_transform),
            ("/transforms", SlicerApi.transforms),
            ("/transform", SlicerApi.transform),
            ("/fiducials", SlicerApi.fiducials),
            ("/fiducial", SlicerApi.fiducial),
            ("/segmentations", SlicerApi.segmentations),
            ("/segmentation", SlicerApi.segmentation),
            ("/accessDICOMwebStudy", SlicerApi.access_dicomweb_study),
            ("/open", SlicerApi.open_url),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.dispatch(request)
        await response(scope, receive, send)

    async def dispatch(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            # Slicer 5.8 answers every OPTIONS with 204 (CORS preflights are handled earlier).
            return Response(
                status_code=204, headers={"Allow": "GET, HEAD, POST, PUT, DELETE, OPTIONS"}
            )
        raw_path = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
        command = raw_path[len("/slicer") :] if raw_path.startswith("/slicer") else raw_path
        query_string = request.scope.get("query_string", b"").decode("latin-1")
        target = command + ("?" + query_string if query_string else "")
        query = {k: v[0] for k, v in parse_qs(query_string).items()}
        method = "GET" if request.method == "HEAD" else request.method
        if command.startswith("/exec") and self.ctx.switches.exec:
            return await self.exec_(request, method, query)
        if command.startswith("/exec"):
            # Slicer's status and envelope (it answers "unknown command" here), but saying why.
            how = (
                "switch it on in the control panel (or POST /api/switches)"
                if self.ctx.exec_allowed
                else "start voxweb with --enable-exec to turn it on"
            )
            return self.envelope(
                f'unknown command "{target.encode("latin-1")!r}": exec (remote Python) is '
                f"switched off on this server; {how}"
            )
        handler = self.route(command)
        if handler is None:
            # Slicer quotes the bytes repr of the target (spec §2: "unknown command \"b'/x'\"").
            return self.envelope(f'unknown command "{target.encode("latin-1")!r}"')
        command, query = split_path_query(command, query)
        try:
            body = await read_body(request.receive, request.headers, writable=True)
            req = SlicerRequest(method, command, target, query, body)  # type: ignore[arg-type]
            return await run_in_threadpool(handler, self, req)
        except SlicerError as exc:
            return self.envelope(str(exc))
        except KeyError as exc:  # Slicer shows KeyErrors as their repr: "Server error: 'filetype'"
            return self.envelope(repr(exc.args[0]) if exc.args else "KeyError")
        except Exception as exc:  # every other failure still gets the envelope clients parse
            failure = failure_of(exc)
            log_failure(failure, exc, f"/slicer{command}")
            if failure.status in KEPT_STATUSES:
                return error_response(failure.status, f"Forbidden: {failure.message}")
            return self.envelope(failure.message)

    def route(self, command: str) -> Handler | None:
        for prefix, handler in self.routes:
            if command.startswith(prefix):
                return handler
        return None

    @staticmethod
    def envelope(message: str) -> Response:
        return error_response(500, f"Server error: {message}")

    # --- exec ----------------------------------------------------------------------------

    async def exec_(self, request: Request, method: str, query: dict[str, str]) -> Response:
        if method != "POST":
            # Code in a URL can be triggered by any page (an <img src>): POST only.
            return error_response(
                405,
                "/slicer/exec accepts POST only, with the code as the body",
                headers={"Allow": "POST"},
            )
        body = await read_body(request.receive, request.headers)
        if not body.strip():
            return empty_response(404)  # Slicer: no source, no answer
        try:
            source = body.decode("utf-8")
        except UnicodeDecodeError:
            return self.envelope("the code must be UTF-8 text")
        outcome = await self.ctx.executor.run_async(source, self.ctx.settings.exec_timeout)
        if is_yes(query.get("report")):
            report = outcome.report()
            if not outcome.ok:
                report["message"] = f"Server error: {outcome.error}"
            return json_response(report, status=200 if outcome.ok else 500)
        if not outcome.ok:
            return self.envelope(outcome.error or "exec failed")
        return Response(outcome.result_json.encode("utf-8"), media_type=JSON_TYPE)

    # --- system, time image, GUI ---------------------------------------------------------

    def timeimage(self, req: SlicerRequest) -> Response:
        png = time_image(req.query.get("color", "330"))
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-cache"})

    def system(self, req: SlicerRequest) -> Response:
        if req.method == "DELETE":
            logger.warning("shutdown requested over HTTP (DELETE %s)", req.command)
            return Response(
                json_bytes({"success": True}),
                media_type=JSON_TYPE,
                headers={"Connection": "close"},
                background=BackgroundTask(self.ctx.request_shutdown),  # after the reply is sent
            )
        if req.command == "/system/version":
            return json_response(version_info(self.ctx))
        # Slicer fails with this exact message on other /system paths (spec §3 row 4).
        raise SlicerError("cannot unpack non-iterable NoneType object")

    def gui(self, req: SlicerRequest) -> Response:
        contents = req.query.get("contents", "").lower()
        if contents:
            self.workspace.set_gui_contents(contents)
        layout = req.query.get("viewersLayout")
        if layout:
            self.workspace.set_layout(layout)
        return json_response({"success": True})

    # --- rendering: /slice, /threeD, /screenshot, /threeDGraphics -------------------------

    def _render_call(self, func, *args):
        """Run a render-service call; its RenderError/ValueError become the Slicer envelope."""
        from voxweb.render.service import RenderError

        try:
            return func(*args)
        except (RenderError, ValueError) as exc:
            raise SlicerError(str(exc)) from None

    @staticmethod
    def _image_options(req: SlicerRequest):
        from voxweb.render.service import ImageOptions

        return ImageOptions(req.query.get("format", "png"), int(req.number("quality", 85)))

    @staticmethod
    def _flag(req: SlicerRequest, key: str) -> bool:
        return is_yes(req.query.get(key))

    @staticmethod
    def _size(req: SlicerRequest) -> tuple[int, int] | None:
        from voxweb.render.slice import parse_size

        text = req.query.get("size")
        if text is None:
            return None
        try:
            return parse_size(text)
        except ValueError as exc:
            raise SlicerError(str(exc)) from None

    def slice_image(self, req: SlicerRequest) -> Response:
        # Slicer: view/orientation/scrollTo/offset/copySliceGeometryFrom change the shared
        # view; voxweb also honours size, window, level, format, quality, fiducials, and
        # stateless=1 (render without moving the shared view).
        from voxweb.http.conditional import ConditionalResponse
        from voxweb.render.service import SliceRequest

        def optional(key: str) -> float | None:
            return req.number(key, 0.0) if key in req.query else None

        request = SliceRequest(
            view=req.query.get("view", "Red"),
            orientation=req.query.get("orientation"),
            scroll_to=optional("scrollTo"),
            offset=optional("offset"),
            copy_from=req.query.get("copySliceGeometryFrom"),
            size=self._size(req),
            window=optional("window"),
            level=optional("level"),
            stateless=self._flag(req, "stateless"),
            fiducials=self._flag(req, "fiducials"),
            image=self._image_options(req),
        )
        service = self.ctx.render
        result = self._render_call(service.slice_image, request)
        if result is None:
            return empty_response(404)  # Slicer: no image in the view -> empty 404
        return ConditionalResponse(result.body, result.media_type, result.etag)

    def three_d(self, req: SlicerRequest) -> Response:
        # Slicer honours only lookFromAxis (first letter; like Slicer's buttons it resets the
        # zoom and centres the scene) and always renders view 0; voxweb also honours view,
        # size, centerView=1 (fit the scene keeping the direction), roll, panX/panY (mm),
        # orbitX/orbitY (degrees), zoom (factor), format, quality, mode=composite|mip,
        # render=fast|full, boxVisible and stateless=1. Camera moves persist, as in Slicer.
        from voxweb.http.conditional import ConditionalResponse
        from voxweb.render.service import ThreeDRequest

        box = req.query.get("boxVisible")
        zoom = req.query.get("zoom")
        request = ThreeDRequest(
            view=req.query.get("view"),
            size=self._size(req),
            look_from=req.query.get("lookFromAxis"),
            roll=req.number("roll", 0.0),
            orbit_x=req.number("orbitX", 0.0),
            orbit_y=req.number("orbitY", 0.0),
            pan_x=req.number("panX", 0.0),
            pan_y=req.number("panY", 0.0),
            zoom=req.number("zoom", 1.0) if zoom is not None else None,
            centre=self._flag(req, "centerView"),
            stateless=self._flag(req, "stateless"),
            mode=req.query.get("mode", "composite").lower(),
            quality=req.query.get("render", "fast").lower(),
            box=None if box is None else self._flag(req, "boxVisible"),
            image=self._image_options(req),
        )
        service = self.ctx.render
        result = self._render_call(service.threed_image, request)
        return ConditionalResponse(result.body, result.media_type, result.etag)

    def screenshot(self, req: SlicerRequest) -> Response:
        # Slicer grabs its main window; voxweb composes the layout's views (size=WxH, 1024x768).
        from voxweb.http.conditional import ConditionalResponse

        service = self.ctx.render
        result = self._render_call(service.screenshot, self._size(req), self._image_options(req))
        return ConditionalResponse(result.body, result.media_type, result.etag)

    def three_d_graphics(self, req: SlicerRequest) -> Response:
        # Slicer answers 500 for any format (it lowercases before comparing with "glTF");
        # voxweb accepts glTF in any case and refuses others with Slicer's message.
        from voxweb.http.conditional import ConditionalResponse

        fmt = req.query.get("format", "glTF")
        if fmt.lower() != "gltf":
            raise SlicerError(f"format {fmt.lower()} not supported")
        index_text = req.query.get("widgetIndex", "0")
        try:
            index = int(index_text)
        except ValueError:
            raise SlicerError(f"invalid literal for int() with base 10: {index_text!r}") from None
        box = is_not_no(req.query.get("boxVisible", "false"))
        service = self.ctx.render
        result = self._render_call(service.gltf, index, box)
        return ConditionalResponse(result.body, result.media_type, result.etag)

    # --- /mrml ---------------------------------------------------------------------------

    def _filtered(self, req: SlicerRequest) -> list:
        return self.workspace.select(
            req.query.get("id"), req.query.get("class"), req.query.get("name")
        )

    def mrml(self, req: SlicerRequest) -> Response:
        if req.method == "GET":
            return self._mrml_get(req)
        if req.method == "POST":
            return self._load(req.query, require_filetype=True)
        if req.method == "PUT":
            nodes = self._filtered(req)
            if not nodes:
                raise SlicerError("No nodes matched the filter criteria")
            reloaded = self.workspace.reload(nodes)
            return json_response(
                {"success": True, "reloadedNodeIDs": reloaded} if reloaded else {"success": False}
            )
        if req.method == "DELETE":
            if any(k in req.query for k in FILTER_KEYS):
                nodes = self._filtered(req)
                if not nodes:
                    raise SlicerError("No nodes matched the filter criteria")
                self.workspace.remove(nodes)
            else:
                self.workspace.clear()
            return json_response({"success": True})
        raise SlicerError("cannot unpack non-iterable NoneType object")

    def _mrml_get(self, req: SlicerRequest) -> Response:
        path = req.command
        if path in ("/mrml", "/mrml/names"):
            return json_response([n.name for n in self._filtered(req)])
        if path == "/mrml/ids":
            return json_response([n.id for n in self._filtered(req)])
        if path == "/mrml/properties":
            nodes = self._filtered(req)
            if not nodes:
                raise SlicerError("No nodes matched the filter criteria")
            with self.workspace.scene.lock:
                return json_response({n.id: properties(n) for n in nodes})
        if path == "/mrml/file":
            return self._save(req)
        raise SlicerError(f"Invalid path: {path}")

    def _save(self, req: SlicerRequest) -> Response:
        nodes = self._filtered(req)
        if len(nodes) != 1:
            raise SlicerError(f"exactly one node must match the filter to save, {len(nodes)} did")
        target = req.query.get("localfile") or urlsplit(req.query.get("url", "")).path
        if not target:
            raise SlicerError("localfile or url must name the file to write")
        writer_props = {
            k: v for k, v in req.query.items() if k not in ("localfile", "url", "applytransforms")
        }
        self.workspace.save_client_file(nodes[0], unquote(target), writer_props)
        return json_response({"success": True})

    def _load(self, query: dict[str, str], require_filetype: bool) -> Response:
        url = query.get("url")
        localfile = query.get("localfile")
        filetype = query.get("filetype") if not require_filetype else query["filetype"]
        props = {k: v for k, v in query.items() if k not in ("url", "localfile")}
        if url:
            parts = urlsplit(url)
            if parts.scheme == "slicer":  # OHIF's "3D Slicer" button: load a DICOM study
                return self._load_slicer_url(url)
            if parts.scheme == "file":
                localfile, url = unquote(parts.path), None
        source = url or localfile
        if not source:
            raise SlicerError("url or localfile must name what to load")
        filetype = filetype or _guess_filetype(source)
        if url:
            nodes = self.workspace.load_url(url, filetype, props)
        else:
            nodes = self.workspace.load_client_file(localfile, filetype, props)
        return json_response({"success": True, "loadedNodeIDs": [n.id for n in nodes]})

    # -- DICOM studies into the scene (services/dicom_bridge.py does the work) ---------------
    def access_dicomweb_study(self, req: SlicerRequest) -> Response:
        """``POST /slicer/accessDICOMwebStudy`` with ``{dicomWEBPrefix, dicomWEBStore, studyUID,
        accessToken}``: import the study from that DICOMweb server into the database and load
        it (what Slicer's handler intends; its own always fails)."""
        try:
            body = json.loads(bytes(req.body) or b"{}")
        except ValueError as exc:
            raise ValueError(f"the body must be JSON: {exc}") from None
        if not isinstance(body, dict) or not body.get("studyUID"):
            raise ValueError("the JSON body needs studyUID (and dicomWEBPrefix, dicomWEBStore)")
        prefix = str(body.get("dicomWEBPrefix") or "").rstrip("/")
        store = str(body.get("dicomWEBStore") or "").strip("/")
        endpoint = f"{prefix}/{store}" if prefix and store else prefix or None
        return self._open_study(endpoint, str(body["studyUID"]), body.get("accessToken") or None)

    def _load_slicer_url(self, url: str) -> Response:
        """``slicer://viewer/?studyUID=S&dicomweb_endpoint=E`` (OHIF's "3D Slicer" button link):
        load study S, importing it from E first when E is another server."""
        query = dict(parse_qsl(urlsplit(url).query))
        study_uid = query.get("studyUID") or query.get("StudyInstanceUID")
        if not study_uid:
            raise ValueError("the slicer:// link has no studyUID")
        return self._open_study(
            query.get("dicomweb_endpoint"), study_uid, query.get("access_token")
        )

    def _open_study(self, endpoint: str | None, study_uid: str, token: str | None) -> Response:
        ctx = self.ctx
        opened = dicom_bridge.open_study(
            self.workspace,
            ctx.dicom,
            study_uid,
            endpoint,
            token,
            bound_host=ctx.bound_host,
            bound_port=ctx.bound_port,
        )
        return json_response(
            {
                "success": True,
                "loadedNodeIDs": [v.id for v in opened.volumes],
                "storedInstances": opened.stored,
            }
        )

    def open_url(self, req: SlicerRequest) -> Response:
        # slicerio's file_load() sends slicer:// and other URLs here (a route Slicer lacks).
        return self._load(req.query, require_filetype=False)

    # --- volumes -------------------------------------------------------------------------

    def volumes(self, req: SlicerRequest) -> Response:
        # Slicer keys this by name and loses duplicates; voxweb lists every volume.
        with self.workspace.scene.lock:
            scalars = [v for v in self.workspace.volumes() if not isinstance(v, LabelMapVolume)]
            labels = [v for v in self.workspace.volumes() if isinstance(v, LabelMapVolume)]
        return name_id_list(scalars + labels)

    def volume(self, req: SlicerRequest) -> Response:
        pattern = req.query.get("id")
        if req.body:
            node = self.workspace.put_volume(pattern, req.body)
            if is_yes(req.query.get("json")):
                return json_response({"success": True, "id": node.id, "name": node.name})
            return Response(VOLUME_POSTED, media_type=JSON_TYPE)
        with self.workspace.scene.lock:
            node = self.workspace.get(pattern or "vtkMRMLScalarVolumeNode*")
            if not isinstance(node, ScalarVolume):
                raise SlicerError(
                    f"node {node.name!r} ({node.id}) is not a scalar or label map volume"
                )
            head, voxels = nrrd_io.slicer_volume_payload(node)
        return BufferResponse(head, voxels, "application/octet-stream")

    def volume_selection(self, req: SlicerRequest) -> Response:
        command = req.query.get("cmd", "next").lower()
        if command not in ("next", "previous"):
            raise SlicerError(f"cmd must be next or previous, not {command!r}")
        self.workspace.cycle_volume(1 if command == "next" else -1)
        return text_response("Volume selected")

    # --- transforms ----------------------------------------------------------------------

    def grid_transforms(self, req: SlicerRequest) -> Response:
        return name_id_list(self.workspace.scene.nodes_of_class("vtkMRMLGridTransformNode"))

    def grid_transform(self, req: SlicerRequest) -> Response:
        pattern = req.query.get("id")
        if req.body:
            target = self.workspace.put_grid_transform(pattern, req.body)
            return json_response({"success": True, "id": target.id, "name": target.name})
        with self.workspace.scene.lock:
            node = self.workspace.get(pattern or "vtkMRMLGridTransformNode*")
            if not isinstance(node, GridTransform):
                raise SlicerError(f"node {node.name!r} ({node.id}) is not a grid transform")
            head, data = nrrd_io.slicer_grid_transform_payload(node)
        return BufferResponse(head, data, "application/octet-stream")

    def transforms(self, req: SlicerRequest) -> Response:
        with self.workspace.scene.lock:
            nodes = [n for n in self.workspace.scene.nodes_of_class("vtkMRMLLinearTransformNode")]
            return json_response([_transform_json(n) for n in nodes])

    def transform(self, req: SlicerRequest) -> Response:
        scene = self.workspace.scene
        if req.method == "POST" or req.body:
            try:
                data = json.loads(bytes(req.body) or b"{}")
                matrix = np.array(data["matrix"], dtype=float)
            except (ValueError, KeyError, TypeError) as exc:
                raise SlicerError(
                    f'the body must be JSON {{"matrix": 4x4 numbers}} ({exc})'
                ) from None
            pattern = req.query.get("id") or data.get("id")
            name = str(data["name"]) if data.get("name") else None
            node = self.workspace.put_linear_transform(pattern, matrix, name)
            with scene.lock:
                return json_response(_transform_json(node))
        with scene.lock:
            node = self.workspace.get(req.query.get("id") or "vtkMRMLLinearTransformNode*")
            if not isinstance(node, LinearTransform):
                raise SlicerError(f"node {node.name!r} ({node.id}) is not a linear transform")
            return json_response(_transform_json(node))

    def tracking(self, req: SlicerRequest) -> Response:
        rotation = None
        m = req.numbers("m", 9)
        if m is not None:
            rotation = np.array(m[:9]).reshape(3, 3)  # row-major 3x3; Slicer uses only 9 values
        q = req.numbers("q", 4)
        if q is not None:
            try:
                rotation = quaternion_matrix(*q[:4])
            except ValueError as exc:
                raise SlicerError(str(exc)) from None
        p = req.numbers("p", 3)
        self.workspace.set_tracker(rotation, p[:3] if p else None)
        return text_response("Set matrix")

    # --- markups and segmentations -------------------------------------------------------

    def fiducials(self, req: SlicerRequest) -> Response:
        out = {}
        with self.workspace.scene.lock:
            for node in self.workspace.scene.nodes_of_class("vtkMRMLMarkupsFiducialNode"):
                out[node.id] = {
                    "name": node.name,
                    "color": [float(c) for c in node.selected_color],
                    "scale": float(node.glyph_scale),
                    "markups": [
                        {"label": p.label, "position": [float(v) for v in p.position]}
                        for p in node.control_points
                    ],
                }
        return json_response(out)

    def fiducial(self, req: SlicerRequest) -> Response:
        index_text = req.query.get("index", "0")
        try:
            index = int(index_text)
        except ValueError:
            raise SlicerError(f"index must be an integer, not {index_text!r}") from None
        position = [req.number(axis, 0.0) for axis in ("r", "a", "s")]
        self.workspace.place_control_point(req.query.get("id"), index, position)
        return json_response({"success": True})

    def segmentations(self, req: SlicerRequest) -> Response:
        with self.workspace.scene.lock:
            nodes = self.workspace.scene.nodes_of_class("vtkMRMLSegmentationNode")
            return json_response(
                {n.id: {"name": n.name, "segmentIDs": list(n.segment_ids)} for n in nodes}
            )

    def segmentation(self, req: SlicerRequest) -> Response:
        fmt = req.query.get("format", "seg.nrrd").lower().lstrip(".")
        with self.workspace.scene.lock:
            node = self.workspace.get(req.query.get("segmentationID") or "vtkMRMLSegmentationNode*")
            if not isinstance(node, Segmentation):
                raise SlicerError(f"node {node.name!r} ({node.id}) is not a segmentation")
            segment_ids = [s for s in req.query.get("segmentIDs", "").split(",") if s] or None
            if fmt in ("seg.nrrd", "nrrd", "segmentation"):
                data = seg_io.write_segmentation(node, None, compress=False)
            elif fmt in ("labelmap", "label", "labelmap.nrrd"):
                labels = seg_io.segmentation_to_labelmap(node, segment_ids)
                data = nrrd_io.write_volume(labels, None, compress=False)
            else:
                raise SlicerError(f"format must be seg.nrrd or labelmap, not {fmt!r}")
        filename = f"{_safe_filename(node.name)}.{'seg.nrrd' if fmt != 'labelmap' else 'nrrd'}"
        return Response(
            data,
            media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    # --- sample data ---------------------------------------------------------------------

    def sampledata(self, req: SlicerRequest) -> Response:
        name = req.query.get("name")
        if not name:
            raise SlicerError("sampledata name was not specified")
        try:
            self.workspace.load_sample(name)
        except SampleDataError as exc:
            raise SlicerError(str(exc)) from None
        return text_response(f"Sample data {name} loaded")


def _transform_json(node: LinearTransform) -> dict:
    return {
        "id": node.id,
        "name": node.name,
        "matrix": [[float(v) for v in row] for row in np.asarray(node.matrix_to_parent)],
        "parent": node.parent_transform_id,
    }


def _guess_filetype(source: str) -> str:
    ext = file_extension(urlsplit(source).path or source)
    try:
        return FILETYPE_BY_EXTENSION[ext]
    except KeyError:
        raise SlicerError(
            f"cannot tell the file type of {os.path.basename(source)!r}; give filetype="
        ) from None


def _safe_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "segmentation"
