"""``/slicer/*``: the routes of 3D Slicer's WebServer module, byte-compatible on the wire.

This is the one place for Slicer's quirks (spec §3, §4): prefix routing in Slicer's order,
``parse_qs`` query semantics (first value wins, blank values dropped), Python's default
``json.dumps`` separators, and the error envelope ``{"success": false, "message": "Server
error: ..."}`` with status 500 and ``Content-Type: application/json`` exactly. Handlers here
only translate; the work happens in the layers below.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from voxweb.context import ServerContext
from voxweb.http.responses import JSON_TYPE, error_response, json_bytes, json_response
from voxweb.render.timeimage import time_image

logger = logging.getLogger(__name__)


class SlicerError(Exception):
    """An error a Slicer client sees as 500 ``Server error: <message>``."""


@dataclass
class SlicerRequest:
    method: str
    command: str  # the raw request path with "/slicer" stripped, e.g. "/mrml/ids"
    target: str  # command plus "?query" when present, as Slicer's messages quote it
    query: dict[str, str]  # parse_qs semantics: decoded, first value wins, blanks dropped
    request: Request

    async def body(self) -> bytes:
        return await self.request.body()


Handler = Callable[["SlicerApi", SlicerRequest], Awaitable[Response]]


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


def _not_yet(what: str) -> Handler:
    async def handler(api: SlicerApi, req: SlicerRequest) -> Response:
        return error_response(
            501,
            f"/slicer{req.command.split('?')[0]}: {what} is not implemented in this voxweb version yet",
        )

    return handler


class SlicerApi:
    """The ASGI app behind ``/slicer``."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        # Slicer matches case-sensitive prefixes in this order; the first match wins (spec §3).
        self.routes: list[tuple[str, Handler]] = [
            ("/exec", SlicerApi.exec_),
            ("/timeimage", SlicerApi.timeimage),
            ("/system", SlicerApi.system),
            ("/gui", _not_yet("layout and GUI control")),
            ("/screenshot", _not_yet("screenshot rendering")),
            ("/slice", _not_yet("slice rendering")),
            ("/threeDGraphics", _not_yet("glTF export")),
            ("/threeD", _not_yet("3D rendering")),
            ("/mrml", _not_yet("scene access")),
            ("/tracking", _not_yet("tracking")),
            ("/sampledata", _not_yet("sample data")),
            ("/volumeSelection", _not_yet("volume selection")),
            ("/volumes", _not_yet("volume listing")),
            ("/volume", _not_yet("volume exchange")),
            ("/gridTransforms", _not_yet("grid transform listing")),
            ("/gridTransform", _not_yet("grid transform exchange")),
            ("/fiducials", _not_yet("fiducial listing")),
            ("/fiducial", _not_yet("fiducial editing")),
            ("/segmentations", _not_yet("segmentation listing")),
            ("/segmentation", _not_yet("segmentation export")),
            ("/accessDICOMwebStudy", _not_yet("DICOMweb study import")),
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
        req = SlicerRequest(request.method, command, target, query, request)
        handler = self.route(command)
        if handler is None:
            # Slicer quotes the bytes repr of the target (spec §2: "unknown command \"b'/x'\"").
            return self.envelope(f'unknown command "{target.encode("latin-1")!r}"')
        try:
            return await handler(self, req)
        except SlicerError as exc:
            return self.envelope(str(exc))
        except Exception as exc:  # every other failure still gets the envelope clients parse
            logger.exception("error in /slicer%s", command)
            return self.envelope(str(exc))

    def route(self, command: str) -> Handler | None:
        for prefix, handler in self.routes:
            # With exec switched off, /exec is not routed at all, as in Slicer.
            if command.startswith(prefix) and (prefix != "/exec" or self.ctx.switches.exec):
                return handler
        return None

    @staticmethod
    def envelope(message: str) -> Response:
        return error_response(500, f"Server error: {message}")

    # --- routes --------------------------------------------------------------------------

    async def exec_(self, req: SlicerRequest) -> Response:
        if req.method != "POST":
            # Code in a URL can be triggered by any page (an <img src>): POST only.
            return error_response(
                405,
                "/slicer/exec accepts POST only, with the code as the body",
                headers={"Allow": "POST"},
            )
        return error_response(
            501, "/slicer/exec: remote Python is not implemented in this voxweb version yet"
        )

    async def timeimage(self, req: SlicerRequest) -> Response:
        try:
            png = time_image(req.query.get("color", "330"))
        except ValueError as exc:
            raise SlicerError(str(exc)) from None
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-cache"})

    async def system(self, req: SlicerRequest) -> Response:
        if req.method == "DELETE":
            logger.warning("shutdown requested over HTTP (DELETE %s)", req.command)
            return Response(
                json_bytes({"success": True}),
                media_type=JSON_TYPE,
                headers={"Connection": "close"},
                background=BackgroundTask(self.ctx.request_shutdown),  # after the reply is sent
            )
        if req.command.split("?")[0] == "/system/version":
            return json_response(version_info(self.ctx))
        # Slicer fails with this exact message on other /system paths (spec §3 row 4).
        raise SlicerError("cannot unpack non-iterable NoneType object")
