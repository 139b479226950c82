"""The DICOMweb URL table: every path and method under ``/dicom`` (and ``/dicom-web``).

Routes are Starlette ``Route`` declarations matched against the path below the root with
empty segments dropped (``/studies//1.2/`` is ``/studies/1.2``). What matches no route keeps
the answers clients already rely on: a ``GET`` whose first segment is not ``studies``,
``series`` or ``instances`` is WADO-URI (Slicer's root), any other ``GET`` is ``404``, a
``POST`` elsewhere ``405``, a ``DELETE`` elsewhere ``404`` (``405`` while deleting is off).
Endpoints only pick the handler; the handlers live in ``qido``, ``wado``, ``wado_uri``,
``stow``, ``delete`` and ``capabilities``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.routing import Match, Route
from starlette.types import Send

from voxweb.context import ServerContext
from voxweb.http.dicomweb import capabilities, delete, qido, stow, wado, wado_uri
from voxweb.http.dicomweb.request import ALLOW, DicomRequest, HttpError, Reply

Params = dict[str, Any]
Endpoint = Callable[[ServerContext, DicomRequest, Send, Params], Awaitable[Reply | None]]

QIDO_LEVELS = {"studies": "study", "series": "series", "instances": "instance"}
STUDY = "/studies/{study}"
SERIES = STUDY + "/series/{series}"
INSTANCE = SERIES + "/instances/{sop}"


# -- endpoints: path parameters -> handler ----------------------------------------------------
async def _options(ctx: ServerContext, req: DicomRequest, send: Send, p: Params) -> Reply:
    return capabilities.options(ctx, req)


async def _wado_uri(ctx: ServerContext, req: DicomRequest, send: Send, p: Params) -> Reply:
    return await wado_uri.wado_uri(ctx, req)


def _search(level: str) -> Endpoint:
    async def search(ctx: ServerContext, req: DicomRequest, send: Send, p: Params) -> Reply:
        return await qido.search(ctx, req, level, p.get("study"), p.get("series"))

    return search


async def _retrieve(ctx: ServerContext, req: DicomRequest, send: Send, p: Params) -> Reply | None:
    return await wado.retrieve(ctx, req, send, p["study"], p.get("series"), p.get("sop"))


async def _resource(ctx: ServerContext, req: DicomRequest, send: Send, p: Params) -> Reply:
    """``metadata``, ``rendered`` or ``thumbnail`` of a study, series or instance."""
    what, study, series, sop = p["resource"], p["study"], p.get("series"), p.get("sop")
    if what == "metadata":
        return await wado.metadata(ctx, req, study, series, sop)
    if what in ("rendered", "thumbnail"):
        return await wado.rendered(ctx, req, study, series, sop, None, what)
    raise HttpError(404, f"unknown resource {what!r}")


async def _frames(ctx: ServerContext, req: DicomRequest, send: Send, p: Params) -> Reply:
    numbers = wado.frame_list(p["frames"])
    return await wado.frames(ctx, req, p["study"], p["series"], p["sop"], numbers)


async def _frames_rendered(ctx: ServerContext, req: DicomRequest, send: Send, p: Params) -> Reply:
    numbers = wado.frame_list(p["frames"])  # a bad list is a 400 before the path's 404
    kind = p["kind"]
    if kind not in ("rendered", "thumbnail"):
        raise _no_resource(req)
    return await wado.rendered(ctx, req, p["study"], p["series"], p["sop"], numbers, kind)


async def _bulkdata(ctx: ServerContext, req: DicomRequest, send: Send, p: Params) -> Reply:
    return await wado.bulkdata(ctx, req, p["study"], p["series"], p["sop"], p["tag_path"])


async def _stow(ctx: ServerContext, req: DicomRequest, send: Send, p: Params) -> Reply:
    return await stow.stow(ctx, req, p.get("study"))


async def _delete(ctx: ServerContext, req: DicomRequest, send: Send, p: Params) -> Reply:
    return await delete.delete(ctx, req, p["study"], p.get("series"), p.get("sop"))


def _get(path: str, endpoint: Endpoint) -> Route:
    return Route(path, endpoint, methods=["GET"])  # Starlette adds HEAD


ROUTES: list[Route] = [
    Route("/{path:path}", _options, methods=["OPTIONS"]),
    # QIDO-RS, WADO-URI
    _get("/", _wado_uri),
    _get("/studies", _search("study")),
    _get("/series", _search("series")),
    _get("/instances", _search("instance")),
    # WADO-RS; the literal QIDO paths come before the {resource} that would take them
    _get(STUDY, _retrieve),
    _get(STUDY + "/series", _search("series")),
    _get(STUDY + "/instances", _search("instance")),
    _get(STUDY + "/{resource}", _resource),
    _get(SERIES, _retrieve),
    _get(SERIES + "/instances", _search("instance")),
    _get(SERIES + "/{resource}", _resource),
    _get(INSTANCE, _retrieve),
    _get(INSTANCE + "/frames/{frames}", _frames),
    _get(INSTANCE + "/frames/{frames}/{kind:path}", _frames_rendered),
    _get(INSTANCE + "/bulkdata/{tag_path:path}", _bulkdata),
    _get(INSTANCE + "/{resource}", _resource),
    # STOW-RS
    Route("/studies", _stow, methods=["POST"]),
    Route(STUDY, _stow, methods=["POST"]),
    # DELETE
    Route(STUDY, _delete, methods=["DELETE"]),
    Route(SERIES, _delete, methods=["DELETE"]),
    Route(INSTANCE, _delete, methods=["DELETE"]),
]


def _no_resource(req: DicomRequest) -> HttpError:
    return HttpError(404, f"no DICOMweb resource at {req.path}")


async def _unrouted(ctx: ServerContext, req: DicomRequest, method: str) -> Reply:
    """The answer to a request no route takes."""
    if method == "GET":
        if not req.segments or req.segments[0] not in QIDO_LEVELS:
            return await wado_uri.wado_uri(ctx, req)
        raise _no_resource(req)
    if method == "POST":
        raise HttpError(405, "POST is accepted at /studies and /studies/{study}", {"Allow": ALLOW})
    if method == "DELETE":
        raise delete.not_deletable(ctx)
    raise HttpError(405, f"method {req.method} is not supported here", {"Allow": ALLOW})


async def dispatch(ctx: ServerContext, req: DicomRequest, send: Send) -> Reply | None:
    """Run the route that takes the request; ``None`` when it has sent its answer itself."""
    method = "GET" if req.method == "HEAD" else req.method
    scope = {"type": "http", "path": req.path, "root_path": "", "method": method}
    for route in ROUTES:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return await route.endpoint(ctx, req, send, child["path_params"])
    return await _unrouted(ctx, req, method)
