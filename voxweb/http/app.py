"""The ASGI application: access log, Host check, then dispatch like Slicer.

Dispatch (spec §1.4): ``/slicer/...`` (the path's directory part starts with ``/slicer``)
goes to the Slicer API, ``/dicom...`` to DICOMweb, ``/api/...`` to voxweb's own API, the rest
to static files. An API that is switched off falls through to static, so it answers 404 as
Slicer does. Extension handlers added by the embedding program are consulted first: prefix
apps own their prefix; Slicer-style handlers bid with ``canHandleRequest`` against the
built-in confidences (0.5 for an API, 0.1 for static) and win only when they bid higher.
"""

from __future__ import annotations

import logging
import os
import time

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxweb.context import ExtensionHandler, ServerContext
from voxweb.http.api import build_api
from voxweb.http.body import read_body
from voxweb.http.dicomweb import DicomWeb
from voxweb.http.errors import failure_of, log_failure
from voxweb.http.forward import FORWARDED_SCOPE_KEY
from voxweb.http.headers import (
    API_POLICY,
    FRAMING_POLICY,
    OHIF_POLICY,
    OWN_PAGES_POLICY,
    SecurityHeaders,
)
from voxweb.http.health import Healthz
from voxweb.http.limits import BodyLimits
from voxweb.http.login import OhifLogin
from voxweb.http.responses import empty_response, error_response
from voxweb.http.security import ApiGuard, HostGuard, SecurityPolicy, StaticGuard
from voxweb.http.slicer_api import SlicerApi
from voxweb.http.static import OHIF_PREFIX, OhifFiles, StaticFiles
from voxweb.logring import SkipAccessLog
from voxweb.redaction import redact_target

access_logger = logging.getLogger("voxweb.access")

API_CONFIDENCE = 0.5
STATIC_CONFIDENCE = 0.1


def is_slicer_path(path: str) -> bool:
    # Slicer tests the directory part: "/slicer/x" matches, the bare "/slicer" does not.
    return os.path.split(path)[0].startswith("/slicer")


def loggable_target(scope: Scope) -> str:
    """The request target with every token-like value masked, for logs."""
    path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    return redact_target(path, scope.get("query_string", b"").decode("latin-1"))


def _level_for(status: int) -> str:
    if status >= 500 and status != 501:  # 501 is a route not built yet, not a failure
        return "ERROR"
    return "WARNING" if status >= 400 else "INFO"


class AccessLog:
    """Records method, target (token removed), status, bytes and milliseconds per request."""

    def __init__(self, app: ASGIApp, ctx: ServerContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0
        sent = 0

        async def counting_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            if not scope.get(FORWARDED_SCOPE_KEY):  # else the scene process that answered logs it
                elapsed = (time.perf_counter() - start) * 1000
                line = f"{scope['method']} {loggable_target(scope)} {status or '-'} {sent} {elapsed:.1f}ms"
                self.ctx.log.append(line, _level_for(status), "access")
                if _access_records_wanted():
                    access_logger.info(line)


def _access_records_wanted() -> bool:
    """Whether any handler would take an INFO record of ``voxweb.access``.

    Making the record costs more than the rest of the access log, and by default (console
    at WARNING, the ring fed directly) nothing takes it.
    """
    logger: logging.Logger | None = access_logger
    if not access_logger.isEnabledFor(logging.INFO):
        return False
    while logger is not None:
        for handler in logger.handlers:
            if handler.level <= logging.INFO and not any(
                isinstance(f, SkipAccessLog) for f in handler.filters
            ):
                return True
        logger = logger.parent if logger.propagate else None
    return False


class Http10KeepAlive:
    """Answers an HTTP/1.0 keep-alive request with ``Connection: keep-alive`` when the reply
    has a Content-Length (1.0 has no chunked encoding); otherwise asks for a close."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("http_version") != "1.0":
            await self.app(scope, receive, send)
            return
        wants = any(
            name == b"connection" and b"keep-alive" in value.lower()
            for name, value in scope["headers"]
        )

        async def send_with_connection(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"connection" for name, _ in headers):
                    sized = any(name.lower() == b"content-length" for name, _ in headers)
                    keep = wants and sized
                    headers.append((b"connection", b"keep-alive" if keep else b"close"))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_connection)


class SlicerStyleHandlerApp:
    """Runs a Slicer-style handler object (``handleRequest -> (contentType, body)``)."""

    def __init__(self, handler: object) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive, Headers(scope=scope))
        uri = scope.get("raw_path", b"") + (
            b"?" + scope["query_string"] if scope.get("query_string") else b""
        )
        try:
            content_type, content = await run_in_threadpool(
                self.handler.handleRequest, method=scope["method"], uri=uri, requestBody=body
            )
        except Exception as exc:  # Slicer's envelope, whatever the extension raised
            failure = failure_of(exc)
            log_failure(failure, exc, f"extension handler {type(self.handler).__name__}")
            response: Response = error_response(500, f"Server error: {failure.message}")
        else:
            if not content:
                response = empty_response(404)
            else:
                if isinstance(content_type, bytes):
                    content_type = content_type.decode("latin-1")
                if isinstance(content, str):
                    content = content.encode()
                response = Response(content, media_type=content_type)
        await response(scope, receive, send)


class Dispatcher:
    def __init__(self, ctx: ServerContext, policy: SecurityPolicy, scene: ASGIApp | None) -> None:
        self.ctx = ctx
        self.policy = policy
        settings = ctx.settings
        self.dicom = SecurityHeaders(self.protect(DicomWeb(ctx)), API_POLICY)
        if scene is None:
            self.slicer = SecurityHeaders(self.protect(SlicerApi(ctx)), API_POLICY)
            self.api = SecurityHeaders(self.protect(build_api(ctx)), API_POLICY)
        else:
            # Another process holds the scene (--workers): it answers these, after its own
            # Host, Origin and token checks (http/forward.py).
            self.slicer = self.api = scene
        self.static = SecurityHeaders(
            StaticGuard(
                StaticFiles(
                    settings.resolved_docroot(), directory_listing=settings.directory_listing
                ),
                policy,
            ),
            OWN_PAGES_POLICY if settings.docroot is None else FRAMING_POLICY,
        )
        # With --ohif, a second file tree answers /browse and everything under it.
        self.ohif = None
        if settings.ohif is not None:
            files = OhifFiles(settings.ohif)
            # without a valid token OHIF's page is a login page (see http/login.py)
            self.ohif = SecurityHeaders(
                StaticGuard(OhifLogin(files, files, policy), policy), OHIF_POLICY
            )
        self._wrapped: dict[int, ASGIApp] = {}

    def protect(self, app: ASGIApp) -> ASGIApp:
        settings = self.ctx.settings
        return ApiGuard(BodyLimits(app, settings.max_body_size, settings.body_timeout), self.policy)

    def _extension_app(self, ext: ExtensionHandler) -> ASGIApp:
        key = id(ext)
        if key not in self._wrapped:
            inner = ext.app if ext.app is not None else SlicerStyleHandlerApp(ext.handler)
            self._wrapped[key] = SecurityHeaders(self.protect(inner), FRAMING_POLICY)
        return self._wrapped[key]

    def choose(self, scope: Scope) -> ASGIApp | None:
        path: str = scope["path"]
        switches = self.ctx.switches
        for ext in self.ctx.extensions:
            if ext.prefix is not None:
                prefix = ext.prefix.rstrip("/")
                if path == prefix or path.startswith(prefix + "/"):
                    return self._extension_app(ext)

        builtin: ASGIApp | None = None
        confidence = 0.0
        if switches.slicer and (is_slicer_path(path) or path == "/system"):
            # "/system" without the prefix: slicerio's stop_server() sends DELETE /system.
            builtin, confidence = self.slicer, API_CONFIDENCE
        elif switches.dicom and path.startswith("/dicom"):
            builtin, confidence = self.dicom, API_CONFIDENCE
        elif path == "/api" or path.startswith("/api/"):
            builtin, confidence = self.api, API_CONFIDENCE
        elif (
            switches.static
            and self.ohif is not None
            and (path == OHIF_PREFIX or path.startswith(OHIF_PREFIX + "/"))
        ):
            builtin, confidence = self.ohif, STATIC_CONFIDENCE
        elif switches.static:
            builtin, confidence = self.static, STATIC_CONFIDENCE

        bidders = [e for e in self.ctx.extensions if e.handler is not None]
        if bidders:
            uri = scope.get("raw_path", b"") + (
                b"?" + scope["query_string"] if scope.get("query_string") else b""
            )
            for ext in bidders:
                try:
                    bid = float(
                        ext.handler.canHandleRequest(
                            method=scope["method"], uri=uri, requestBody=b""
                        )
                    )
                except Exception:
                    logging.getLogger(__name__).exception("canHandleRequest failed")
                    continue
                if bid > confidence:
                    builtin, confidence = self._extension_app(ext), bid
        return builtin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        app = self.choose(scope)
        if app is None:
            await empty_response(404)(scope, receive, send)
            return
        await app(scope, receive, send)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def build_app(ctx: ServerContext, scene: ASGIApp | None = None) -> ASGIApp:
    """The whole app; ``scene`` answers the scene's routes instead when the scene lives in
    another process (a worker of ``voxweb serve --workers N``)."""
    policy = SecurityPolicy(ctx)
    return Http10KeepAlive(
        AccessLog(SecurityHeaders(HostGuard(Dispatcher(ctx, policy, scene), policy)), ctx)
    )


class DicomOnly:
    """The dispatcher of ``voxweb dicomweb``: DICOMweb under ``/dicom`` and ``/dicom-web``,
    behind the same token, cross-site and body-size guards as in ``voxweb serve``; no
    other path exists."""

    def __init__(self, ctx: ServerContext, policy: SecurityPolicy) -> None:
        settings = ctx.settings
        guarded = ApiGuard(
            BodyLimits(DicomWeb(ctx), settings.max_body_size, settings.body_timeout), policy
        )
        self.dicom = SecurityHeaders(guarded, API_POLICY)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"].startswith("/dicom"):
            await self.dicom(scope, receive, send)
        else:
            await empty_response(404)(scope, receive, send)


def build_dicom_app(ctx: ServerContext) -> ASGIApp:
    """The app of ``voxweb dicomweb``: the DICOM area alone, plus ``/healthz``."""
    policy = SecurityPolicy(ctx)
    inner = AccessLog(SecurityHeaders(HostGuard(DicomOnly(ctx, policy), policy)), ctx)
    return Http10KeepAlive(Healthz(inner, ctx.dicom.ready))
