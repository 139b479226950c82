"""Static files from the docroot, with Slicer's conventions and without its holes.

Kept from Slicer (spec §6): ``index.html`` for a directory, ``/browse*`` served by
``/browse.html`` (OHIF deep links), an empty-bodied 404. Fixed: the query string is ignored
for lookup, paths are percent-decoded once, and a path can never leave the docroot (no
``..`` segments, NUL bytes, backslashes, or symlinks that resolve outside the root). Files are
sent by Starlette's FileResponse (ETag, Last-Modified, Range, HEAD) with a 304 for a matching
conditional request.
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
import os
import re
import stat
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes

from starlette.datastructures import Headers
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from voxweb.http.conditional import etag_matches
from voxweb.http.responses import empty_response, local_redirect

# Slicer's only rewrite rule: anything starting with /browse is the OHIF page.
BROWSE_RULE = re.compile(r"^[/\\]browse")

_EXTRA_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".map": "application/json",
    ".wasm": "application/wasm",
    ".svg": "image/svg+xml",
    ".ico": "image/vnd.microsoft.icon",
    ".woff2": "font/woff2",
    ".nrrd": "application/octet-stream",
    ".nii": "application/octet-stream",
    ".dcm": "application/dicom",
    ".glb": "model/gltf-binary",
    ".gltf": "model/gltf+json",
}


def content_type_for(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower()
    if suffix in _EXTRA_TYPES:
        return _EXTRA_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return guessed or "application/octet-stream"


def safe_segments(raw_path: bytes) -> list[str] | None:
    """The decoded path segments of a request, or None when the path is not acceptable."""
    try:
        decoded = unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\x00" in decoded or "\\" in decoded:
        return None
    segments = [s for s in decoded.split("/") if s]
    if any(s in (".", "..") for s in segments):
        return None
    return segments


def resolve_in_root(root: Path, segments: list[str]) -> Path | None:
    """Join segments under root; None unless the real path stays inside the real root."""
    candidate = root.joinpath(*segments)
    try:
        real = candidate.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError, RuntimeError, OSError):
        return None
    if real != root and root not in real.parents:
        return None
    return real


class StaticFiles:
    """The docroot handler (an ASGI app)."""

    def __init__(
        self, root: Path, directory_listing: bool = False, rewrites: list | None = None
    ) -> None:
        self.root = Path(root).resolve()
        self.directory_listing = directory_listing
        # (compiled regex on the raw target, replacement path) pairs, first match wins.
        self.rewrites = rewrites if rewrites is not None else [(BROWSE_RULE, "/browse.html")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.lookup(scope)
        await response(scope, receive, send)

    def lookup(self, scope: Scope) -> Response:
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        for rule, target in self.rewrites:
            if rule.match(raw_path.decode("latin-1")):
                raw_path = target.encode()
                break
        segments = safe_segments(raw_path)
        if segments is None:
            return empty_response(404)
        path = resolve_in_root(self.root, segments)
        if path is None:
            return empty_response(404)
        if scope["method"] not in ("GET", "HEAD"):
            if scope["method"] == "OPTIONS":
                return Response(status_code=204, headers={"Allow": "GET, HEAD, OPTIONS"})
            return empty_response(405, headers={"Allow": "GET, HEAD, OPTIONS"})
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            if not raw_path.endswith(b"/"):
                # Relative links inside the directory's index.html need the trailing slash.
                location = raw_path.decode("latin-1") + "/"
                query = scope.get("query_string", b"")
                if query:
                    location += "?" + query.decode("latin-1")
                return local_redirect(location, 301)
            index = resolve_in_root(self.root, [*segments, "index.html"])
            if index is None:
                index = resolve_in_root(self.root, [*segments, "index.htm"])
            if index is not None and index.is_file():
                return self._file(index, scope)
            if self.directory_listing:
                return self._listing(path, raw_path.decode("latin-1"))
            return empty_response(404)
        if not stat.S_ISREG(info.st_mode):
            return empty_response(404)
        return self._file(path, scope, info)

    def _file(self, path: Path, scope: Scope, info: os.stat_result | None = None) -> Response:
        info = info or path.stat()
        response = FileResponse(path, stat_result=info, media_type=content_type_for(path.name))
        response.headers["X-Content-Type-Options"] = "nosniff"
        if _not_modified(response, Headers(scope=scope)):
            return Response(
                status_code=304,
                headers={
                    k: response.headers[k]
                    for k in ("etag", "last-modified")
                    if k in response.headers
                },
            )
        return response

    def _listing(self, directory: Path, url_path: str) -> Response:
        items = []
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            name = entry.name + ("/" if entry.is_dir() else "")
            items.append(f"<li><a href='{quote(name)}'>{html.escape(name)}</a></li>")
        title = html.escape(url_path)
        body = f"<!doctype html><title>{title}</title><h1>{title}</h1><ul>{''.join(items)}</ul>"
        return HTMLResponse(body)


def _not_modified(response: Response, request_headers: Headers) -> bool:
    if_none_match = request_headers.get("if-none-match")
    if if_none_match:
        return etag_matches(if_none_match, response.headers.get("etag", ""))
    if_modified_since = request_headers.get("if-modified-since")
    last_modified = response.headers.get("last-modified")
    if if_modified_since and last_modified:
        try:
            return parsedate_to_datetime(if_modified_since) >= parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            return False
    return False


# --- OHIF hosting -----------------------------------------------------------------------------

OHIF_PREFIX = "/browse"

# The npm build of @ohif/app is made for the site root: index.html names "/x.js" and sets
# window.PUBLIC_URL="/", and each webpack runtime loads its chunks from "/". These rules move
# all of it under the prefix, so the dist is served unchanged from where it was unpacked.
_OHIF_INDEX_RULES = (
    (re.compile(rb'window\.PUBLIC_URL="/"'), b'window.PUBLIC_URL="%(prefix)s/"'),
    (re.compile(rb'(href|src)="/(?!/)'), rb'\1="%(prefix)s/'),
)
_ASSET_SUFFIXES = frozenset(
    [
        ".js",
        ".mjs",
        ".css",
        ".wasm",
        ".map",
        ".png",
        ".jpg",
        ".svg",
        ".ico",
        ".woff",
        ".woff2",
        ".json",
        ".jsonc",
        ".xml",
        ".webapp",
    ]
)
_WEBPACK_PUBLIC_PATH = re.compile(rb'__webpack_require__\.p = "/";')
# url(/font.woff2), url("/x.png"): root-relative, not protocol-relative (//host)
_CSS_ROOT_URL = re.compile(rb"""url\((["']?)/(?!/)([^)"']*)""")
# "/9116.bundle.js" in sw.js: a root-relative asset path in a string
_SW_ROOT_ASSET = re.compile(
    rb"""(["'])/(?!/)([\w.\-/]+\.(?:js|css|wasm|woff2?|ttf|png|svg|ico|json|html|map))(?=\1)"""
)


def ohif_app_config(dicom_root: str, prefix: str = OHIF_PREFIX) -> str:
    """OHIF v3's ``app-config.js``: one DICOMweb data source, this server's ``/dicom``."""
    import json

    source = {
        "namespace": "@ohif/extension-default.dataSourcesModule.dicomweb",
        "sourceName": "voxweb",
        "configuration": {
            "friendlyName": "voxweb DICOMweb",
            "name": "voxweb",
            "wadoUriRoot": dicom_root,
            "qidoRoot": dicom_root,
            "wadoRoot": dicom_root,
            "qidoSupportsIncludeField": True,
            "supportsReject": False,
            "supportsStow": True,
            "imageRendering": "wadors",
            "thumbnailRendering": "wadors",
            "enableStudyLazyLoad": True,
            "supportsFuzzyMatching": True,
            "supportsWildcard": True,
            "staticWado": False,
            "singlepart": "bulkdata,video",
            "bulkDataURI": {"enabled": True, "relativeResolution": "studies"},
            "omitQuotationForMultipartRequest": True,
        },
    }
    config = {
        "routerBasename": prefix,
        "extensions": [],
        "modes": [],
        "customizationService": {},
        "showStudyList": True,
        "maxNumberOfWebWorkers": 3,
        "showWarningMessageForCrossOrigin": False,
        "showCPUFallbackMessage": True,
        "showLoadingIndicator": True,
        "strictZSpacingForVolumeViewport": True,
        "groupEnabledModesFirst": True,
        "maxNumRequests": {"interaction": 100, "thumbnail": 5, "prefetch": 25},
        "showErrorDetails": "always",
        "defaultDataSourceName": "voxweb",
        "dataSources": [source],
    }
    return (
        "/* Generated by voxweb for the OHIF viewer it serves at "
        f"{prefix}/: reads studies from {dicom_root}. */\n"
        f"window.config = {json.dumps(config, indent=2)};\n"
    )


class OhifFiles:
    """A prebuilt OHIF v3 ``dist/`` served under ``/browse`` (an ASGI app).

    ``app-config.js`` is generated (pointing at this server's ``/dicom``), ``index.html`` and
    the webpack runtimes are rewritten for the prefix, and every path that is not a file is
    answered with ``index.html`` (OHIF routes in the browser). Files are confined to the dist
    folder exactly like the docroot.
    """

    def __init__(self, root: Path, prefix: str = OHIF_PREFIX) -> None:
        self.prefix = prefix.rstrip("/")
        self.files = StaticFiles(root, rewrites=[])
        self._patched: dict[Path, tuple[float, bytes]] = {}

    @property
    def root(self) -> Path:
        return self.files.root

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.lookup(scope)
        await response(scope, receive, send)

    def lookup(self, scope: Scope) -> Response:
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        rest = raw_path[len(self.prefix) :]
        if not rest:
            query = scope.get("query_string", b"").decode("latin-1")
            return RedirectResponse(self.prefix + "/" + ("?" + query if query else ""), 301)
        if scope["method"] not in ("GET", "HEAD"):
            return empty_response(405, headers={"Allow": "GET, HEAD"})
        if rest == "/app-config.js":
            headers = Headers(scope=scope)
            scheme = scope.get("scheme", "http")
            host = headers.get("host") or "localhost"  # HostGuard has vetted it
            body = ohif_app_config(f"{scheme}://{host}/dicom", self.prefix)
            return Response(
                body, media_type="text/javascript", headers={"Cache-Control": "no-cache"}
            )
        path = self._file_for(rest)
        if path is None:
            return empty_response(404)
        if path.name == "index.html" or path.suffix in (".js", ".css"):
            body = self._patched_bytes(path)
            if body is not None:
                media = content_type_for(path.name)
                cache = "no-cache" if path.name == "index.html" else "public, max-age=3600"
                etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'  # noqa: S324 - a tag
                headers = {"Cache-Control": cache, "ETag": etag}
                response = Response(body, media_type=media, headers=headers)
                if _not_modified(response, Headers(scope=scope)):
                    return Response(status_code=304, headers=headers)
                return response
        relative = "/".join(quote(part) for part in path.relative_to(self.root).parts)
        sub_scope = {**scope, "raw_path": ("/" + relative).encode()}
        return self.files.lookup(sub_scope)

    def _file_for(self, rest: str) -> Path | None:
        """The file a path under the prefix is answered with; None for a 404."""
        segments = safe_segments(rest.encode("latin-1"))
        if segments is None:
            return None
        path = resolve_in_root(self.root, segments) if segments else None
        if path is None or not path.is_file():
            if segments and os.path.splitext(segments[-1])[1].lower() in _ASSET_SUFFIXES:
                return None  # a missing asset, not an OHIF route (UIDs have dots)
            path = self.root / "index.html"
        return path

    def serves_page(self, scope: Scope) -> bool:
        """True when this GET/HEAD is answered with OHIF's index.html (the app's page)."""
        if scope["method"] not in ("GET", "HEAD"):
            return False
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        rest = raw_path[len(self.prefix) :]
        if not rest or rest == "/app-config.js":
            return False
        path = self._file_for(rest)
        return path is not None and path.name == "index.html"

    def _patched_bytes(self, path: Path) -> bytes | None:
        """The file rewritten for the prefix, or None when it needs no change (cached)."""
        mtime = path.stat().st_mtime
        cached = self._patched.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1] or None
        data = path.read_bytes()
        prefix = self.prefix.encode()
        if path.name == "index.html":
            for rule, replacement in _OHIF_INDEX_RULES:
                data = rule.sub(replacement.replace(b"%(prefix)s", prefix), data)
            patched = data
        elif path.suffix == ".css" and _CSS_ROOT_URL.search(data):
            # fonts and images named from the site root: /x.woff2 -> /browse/x.woff2
            patched = _CSS_ROOT_URL.sub(rb"url(\1" + prefix + rb"/\2", data)
        elif path.name == "sw.js" and _SW_ROOT_ASSET.search(data):
            # the service worker's precache list names every chunk from the site root
            patched = _SW_ROOT_ASSET.sub(rb"\1" + prefix + rb"/\2", data)
        elif _WEBPACK_PUBLIC_PATH.search(data):
            patched = _WEBPACK_PUBLIC_PATH.sub(b'__webpack_require__.p = "' + prefix + b'/";', data)
        else:
            patched = b""
        self._patched[path] = (mtime, patched)
        return patched or None
