"""``/dicom/*`` (and ``/dicom-web/*``): the DICOMweb service over the DICOM database.

QIDO-RS, WADO-RS (retrieve, metadata, frames, bulk data, rendered, thumbnail), WADO-URI,
STOW-RS (Part-10 instances, or DICOM JSON metadata plus bulk data parts), DELETE (off unless
``dicom_delete``) and a capabilities answer to ``OPTIONS /dicom``.
A thin adapter: it parses the path, query and ``Accept``, calls ``voxweb.dicom`` in worker
threads (every database call blocks) and shapes the bytes. Slicer-compatible details kept
here: instance retrieve without a multipart ``Accept`` answers the bare Part-10 file
(``application/dicom``) and an empty search answers ``200 []``. QIDO and metadata answer
``application/dicom+json`` (PS3.18's default, also for a browser's ``Accept``) unless the
client prefers ``application/json``.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urljoin

from anyio import to_thread
from starlette.types import Receive, Scope, Send

from voxweb.context import ServerContext
from voxweb.dicom import (
    ByteRanges,
    DicomDatabase,
    DicomFormatError,
    NotFoundError,
    QueryError,
)
from voxweb.dicom import frames as _frames
from voxweb.dicom.frames import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    DecoderUnavailableError,
    RenderOptions,
    RenderParameterError,
)
from voxweb.dicom.fromjson import (
    BulkPart,
    BulkResolver,
    frame_number,
    parse_metadata,
    part10_from_json,
)
from voxweb.dicom.index import StoredInstance
from voxweb.dicom.ingest import IngestResult
from voxweb.dicom.jsontext import dumps_bytes
from voxweb.dicom.multipart import MultipartError, split_multipart

log = logging.getLogger(__name__)

T = TypeVar("T")

ROOTS = ("/dicom-web", "/dicom")
DICOM_JSON = "application/dicom+json"
JSON = "application/json"
ALLOW = "GET, HEAD, POST, DELETE, OPTIONS"


class HttpError(Exception):
    """An answer other than 200, raised anywhere in a handler."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


# -- media types ------------------------------------------------------------------------------
@dataclass(frozen=True)
class MediaRange:
    """One entry of an ``Accept`` header: ``type/subtype`` (lower case), parameters, q."""

    mtype: str
    params: dict[str, str] = field(default_factory=dict)
    q: float = 1.0


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    if '"' not in text:  # the common case, and the hot path of every request
        return text.split(sep)
    out, cur, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def parse_media_type(text: str) -> MediaRange:
    """``multipart/related; type="application/dicom"; transfer-syntax=*`` -> MediaRange."""
    pieces = _split_outside_quotes(text, ";")
    mtype = pieces[0].strip().lower()
    params: dict[str, str] = {}
    q = 1.0
    for piece in pieces[1:]:
        if "=" not in piece:
            continue
        k, v = piece.split("=", 1)
        k, v = k.strip().lower(), v.strip().strip('"').strip()
        if k == "q":
            try:
                q = float(v)
            except ValueError:
                q = 1.0
        else:
            params[k] = v.lower() if k == "type" else v
    return MediaRange(mtype, params, q)


def parse_accept(header: str | None) -> list[MediaRange]:
    """The media ranges of an ``Accept`` header, best first (stable for equal q)."""
    if not header or not header.strip():
        return []
    ranges = [parse_media_type(p) for p in _split_outside_quotes(header, ",") if p.strip()]
    ranges = [r for r in ranges if r.mtype and r.q > 0]
    return sorted(ranges, key=lambda r: -r.q)


def _is_multipart(m: MediaRange) -> bool:
    return m.mtype in ("multipart/related", "multipart/*")


# -- the request ------------------------------------------------------------------------------
@dataclass
class DicomRequest:
    """What a handler needs from the ASGI scope."""

    scope: Scope
    receive: Receive
    method: str
    root: str
    segments: list[str]
    query: list[tuple[str, str]]
    headers: dict[str, str]
    base: str

    @property
    def accept(self) -> list[MediaRange]:
        return parse_accept(self.headers.get("accept"))

    def param(self, name: str, default: str | None = None) -> str | None:
        for k, v in self.query:
            if k == name:
                return v
        return default

    async def body(self) -> bytes:
        chunks = []
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise HttpError(400, "client disconnected")
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)


@dataclass
class Reply:
    """A complete answer: status, content type, body, extra headers."""

    body: bytes
    content_type: str | None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


async def _send_reply(send: Send, reply: Reply, head: bool = False) -> None:
    headers = [(b"content-length", str(len(reply.body)).encode())]
    if reply.content_type:
        headers.append((b"content-type", reply.content_type.encode("latin-1")))
    headers += [(k.lower().encode(), v.encode("latin-1")) for k, v in reply.headers.items()]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else reply.body})


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps({"success": False, "message": message}).encode()
    return Reply(body, JSON, status, headers or {})


INLINE_READ_BYTES = 2 << 20  # frames up to this size are read on the event loop


@dataclass
class _FramesPlan:
    """What a frames request will send, decided from the index alone."""

    frames: list[int]
    row: Any
    stored_ts: str
    native: bool
    stored_media: str
    single: bool
    label: str | None
    locs: list[ByteRanges] | None
    need_decode: bool

    @property
    def size(self) -> int:
        return sum(loc.length for loc in self.locs or [])


async def _run(func: Callable[..., T], *args: Any) -> T:
    return await to_thread.run_sync(func, *args)


def _specificity(m: MediaRange) -> int:
    if m.mtype == "*/*":
        return 0
    return 1 if m.mtype.endswith("/*") else 2


def _matches(m: MediaRange, offer: str) -> bool:
    if m.mtype in ("*/*", offer):
        return True
    return m.mtype.endswith("/*") and offer.startswith(m.mtype[:-1])


def choose(accept: list[MediaRange], offers: list[str]) -> str | None:
    """The offer (a plain ``type/subtype``) the client prefers, or None when it takes none.

    No ``Accept`` takes the first offer. Otherwise each offer gets the q of the most specific
    range that matches it; the highest q wins, then the offer named exactly rather than through
    a wildcard, then the order of ``offers`` (the server's preference).
    """
    if not accept:
        return offers[0] if offers else None
    best: tuple[float, int, int] | None = None
    chosen = None
    for rank, offer in enumerate(offers):
        matching = [m for m in accept if _matches(m, offer)]
        if not matching:
            continue
        top = max(matching, key=_specificity)
        q = max(m.q for m in matching if _specificity(m) == _specificity(top))
        key = (q, _specificity(top), -rank)
        if q > 0 and (best is None or key > best):
            best, chosen = key, offer
    return chosen


def _json_ranges(accept: list[MediaRange]) -> list[MediaRange]:
    """``multipart/related; type="application/dicom+json"`` read as the JSON type it wraps."""
    out = []
    for m in accept:
        if _is_multipart(m) and m.params.get("type") in (DICOM_JSON, None):
            m = MediaRange(DICOM_JSON, {}, m.q)
        out.append(m)
    return out


def _json_reply(text: str | bytes, accept: list[MediaRange]) -> Reply:
    """QIDO and metadata JSON: ``application/dicom+json`` (PS3.18's default) unless the client
    prefers ``application/json``."""
    ctype = choose(_json_ranges(accept), [DICOM_JSON, JSON])
    if ctype is None:
        raise HttpError(
            406,
            "this resource is available as application/dicom+json or application/json only",
        )
    body = text.encode() if isinstance(text, str) else text
    return Reply(body, ctype)


def _boundary() -> str:
    return "voxweb-" + secrets.token_hex(12)


def _multipart(parts: Iterable[tuple[str, bytes]], boundary: str) -> bytes:
    out = []
    b = boundary.encode()
    for ctype, data in parts:
        out.append(
            b"--"
            + b
            + b"\r\nContent-Type: "
            + ctype.encode()
            + b"\r\nContent-Length: "
            + str(len(data)).encode()
            + b"\r\n\r\n"
        )
        out.append(data)
        out.append(b"\r\n")
    out.append(b"--" + b + b"--\r\n")
    return b"".join(out)


def parse_multipart(
    body: bytes, content_type: str
) -> list[tuple[dict[str, str], bytes | memoryview]]:
    """Parts of a ``multipart/related`` request: ``(headers (lower-case names), content)``.

    The contents are views into ``body``: they are only passed on to the ingest.

    Raises ``HttpError(400)`` when the body is not a well-formed multipart message.
    """
    mt = parse_media_type(content_type)
    boundary = mt.params.get("boundary")
    if not mt.mtype.startswith("multipart/") or not boundary:
        raise HttpError(400, "the request body is not multipart/related with a boundary")
    try:
        return split_multipart(body, boundary, copy=False)
    except MultipartError as exc:
        raise HttpError(400, str(exc)) from None


# -- the app ----------------------------------------------------------------------------------
class DicomWeb:
    """ASGI app for every path under ``/dicom`` (and ``/dicom-web``)."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    @property
    def db(self) -> DicomDatabase:
        return self.ctx.dicom

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        head = scope["method"] == "HEAD"
        try:
            req = self._request(scope, receive)
            result = await self._dispatch(req, send)
        except HttpError as exc:
            result = _error(exc.status, exc.message, exc.headers)
        except NotFoundError as exc:
            result = _error(404, str(exc))
        except (QueryError, RenderParameterError, DicomFormatError) as exc:
            result = _error(400, str(exc))
        except DecoderUnavailableError as exc:
            result = _error(406, str(exc))
        except Exception as exc:  # the server must answer, whatever a handler hit
            log.exception("DICOMweb request failed")
            result = _error(500, f"Server error: {exc}")
        if result is not None:
            await _send_reply(send, result, head)

    def _request(self, scope: Scope, receive: Receive) -> DicomRequest:
        path: str = scope["path"]
        root = next((r for r in ROOTS if path == r or path.startswith(r + "/")), "")
        rest = path[len(root) :] if root else path
        segments = [s for s in rest.split("/") if s]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host")
        server = scope.get("server")
        # dicomweb-client sends "Host: 127.0.0.1" without the port; on a local name the
        # socket's port is the right one (a proxy's public name is left alone).
        if (
            host
            and server
            and ":" not in host.rsplit("]", 1)[-1]
            and host in ("localhost", "127.0.0.1", "[::1]", self.ctx.bound_host)
            and server[1] not in (80, 443)
        ):
            host = f"{host}:{server[1]}"
        if host:
            base = f"{scope.get('scheme', 'http')}://{host}{root or '/dicom'}"
        else:
            base = self.ctx.base_url + (root or "/dicom")
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        # parse_qsl decodes %XX as latin-1 when given str; re-decode values as UTF-8
        query = [(_utf8(k), _utf8(v)) for k, v in query]
        method = scope["method"]
        return DicomRequest(scope, receive, method, root, segments, query, headers, base)

    async def _dispatch(self, req: DicomRequest, send: Send) -> Reply | None:
        method = "GET" if req.method == "HEAD" else req.method
        seg = req.segments
        if method == "OPTIONS":
            return self._options(req)
        if method == "GET":
            return await self._get(req, seg, send)
        if method == "POST":
            if seg and seg[0] == "studies" and len(seg) <= 2:
                return await self._stow(req, seg[1] if len(seg) == 2 else None)
            raise HttpError(
                405, "POST is accepted at /studies and /studies/{study}", {"Allow": ALLOW}
            )
        if method == "DELETE":
            return await self._delete(req, seg)
        raise HttpError(405, f"method {req.method} is not supported here", {"Allow": ALLOW})

    # -- GET routing ----------------------------------------------------------------------
    async def _get(self, req: DicomRequest, seg: list[str], send: Send) -> Reply | None:
        n = len(seg)
        if n == 0 or seg[0] not in ("studies", "series", "instances"):
            return await self._wado_uri(req)
        if n == 1:
            level = {"studies": "study", "series": "series", "instances": "instance"}[seg[0]]
            return await self._qido(req, level)
        if seg[0] != "studies":
            raise HttpError(404, f"no DICOMweb resource at /{'/'.join(seg)}")
        study = seg[1]
        if n == 2:
            return await self._retrieve(req, send, study)
        if n == 3:
            what = seg[2]
            if what == "series":
                return await self._qido(req, "series", study)
            if what == "instances":
                return await self._qido(req, "instance", study)
            return await self._resource(req, send, what, study)
        if seg[2] != "series":
            raise HttpError(404, f"no DICOMweb resource at /{'/'.join(seg)}")
        series = seg[3]
        if n == 4:
            return await self._retrieve(req, send, study, series)
        if n == 5:
            if seg[4] == "instances":
                return await self._qido(req, "instance", study, series)
            return await self._resource(req, send, seg[4], study, series)
        if seg[4] != "instances":
            raise HttpError(404, f"no DICOMweb resource at /{'/'.join(seg)}")
        sop = seg[5]
        if n == 6:
            return await self._retrieve(req, send, study, series, sop)
        what = seg[6]
        if what == "frames" and n >= 8:
            frames = _frame_list(seg[7])
            if n == 8:
                return await self._frames(req, study, series, sop, frames)
            if n == 9 and seg[8] in ("rendered", "thumbnail"):
                return await self._rendered(req, study, series, sop, frames, seg[8])
        elif what == "bulkdata" and n >= 8:
            return await self._bulkdata(req, study, series, sop, "/".join(seg[7:]))
        elif n == 7:
            return await self._resource(req, send, what, study, series, sop)
        raise HttpError(404, f"no DICOMweb resource at /{'/'.join(seg)}")

    async def _resource(
        self,
        req: DicomRequest,
        send: Send,
        what: str,
        study: str,
        series: str | None = None,
        sop: str | None = None,
    ) -> Reply | None:
        if what == "metadata":
            text = await _run(self._metadata_sync, study, series, sop, req.base)
            return _json_reply(text, req.accept)
        if what in ("rendered", "thumbnail"):
            return await self._rendered(req, study, series, sop, None, what)
        raise HttpError(404, f"unknown resource {what!r}")

    def _metadata_sync(self, study: str, series: str | None, sop: str | None, base: str) -> str:
        return self.db.metadata_json_text(study, series, sop, base_url=base)

    # -- OPTIONS --------------------------------------------------------------------------
    def _options(self, req: DicomRequest) -> Reply:
        if req.segments:
            return Reply(b"", None, 204, {"Allow": ALLOW})
        caps = {
            "service": "DICOMweb",
            "root": req.base,
            "roots": list(ROOTS),
            "services": {
                "QIDO-RS": [
                    "/studies",
                    "/series",
                    "/instances",
                    "/studies/{S}/series",
                    "/studies/{S}/instances",
                    "/studies/{S}/series/{R}/instances",
                ],
                "WADO-RS": [
                    "/studies/{S}[/series/{R}[/instances/{I}]]",
                    ".../metadata",
                    ".../rendered",
                    ".../thumbnail",
                    ".../instances/{I}/frames/{list}[/rendered|/thumbnail]",
                    ".../instances/{I}/bulkdata/{tag path}",
                ],
                "WADO-URI": ["?requestType=WADO&studyUID=&seriesUID=&objectUID=&contentType="],
                "STOW-RS": ["POST /studies", "POST /studies/{S}"],
                "DELETE": (
                    ["/studies/{S}[/series/{R}[/instances/{I}]]"]
                    if self.ctx.settings.dicom_delete
                    else []
                ),
            },
            "qido": {
                "matching": [
                    "single value",
                    "wildcard * ?",
                    "date/time ranges",
                    "UID lists",
                    "universal",
                    "case-insensitive PN",
                    "fuzzymatching",
                ],
                "parameters": ["limit", "offset", "includefield", "fuzzymatching"],
                "emptyResult": "200 []",
            },
            "media": {
                "instances": [
                    'multipart/related; type="application/dicom"',
                    "application/dicom (one instance)",
                ],
                "metadata": [DICOM_JSON, JSON],
                "frames": [
                    'multipart/related; type="application/octet-stream"',
                    'multipart/related; type="*/*"',
                    "application/octet-stream",
                    "compressed syntaxes as stored with transfer-syntax=*",
                ],
                "rendered": list(_frames.RENDER_MEDIA_TYPES),
                "store": [
                    'multipart/related; type="application/dicom"',
                    'multipart/related; type="application/dicom+json" (metadata and bulk data)',
                    "application/dicom (one instance)",
                ],
            },
            "transferSyntaxDecoders": {
                ts: _frames.decoder_available(ts)
                for ts in sorted(_frames._COMPRESSED_MEDIA)
                if ts.startswith("1.2.840.10008.1.2.4.")
                and int(ts.rsplit(".", 1)[1]) < 100
                or ts == "1.2.840.10008.1.2.5"
            },
        }
        return Reply(json.dumps(caps, indent=1).encode(), JSON, 200, {"Allow": ALLOW})

    # -- QIDO-RS --------------------------------------------------------------------------
    async def _qido(
        self, req: DicomRequest, level: str, study: str | None = None, series: str | None = None
    ) -> Reply:
        accept = req.accept
        body = await _run(self._qido_sync, level, req.query, study, series, req.base)
        return _json_reply(body, accept)

    def _qido_sync(
        self,
        level: str,
        params: list[tuple[str, str]],
        study: str | None,
        series: str | None,
        base: str,
    ) -> bytes:
        return self.db.search_json(level, params, study_uid=study, series_uid=series, base_url=base)

    # -- WADO-RS retrieve -----------------------------------------------------------------
    def _retrieve_choice(self, accept: list[MediaRange], one_instance: bool) -> tuple[str, str]:
        """``(mode, transfer syntax)``; mode 'single' (bare Part 10) or 'multipart'."""
        if not accept:
            # Slicer-style clients (no Accept) get the bare file for one instance.
            return ("single" if one_instance else "multipart"), "*"
        for m in accept:
            ts = m.params.get("transfer-syntax", "*")
            if m.mtype in ("*/*", "application/*"):
                return ("single" if one_instance else "multipart"), "*"
            if m.mtype == "application/dicom" and one_instance:
                return "single", ts
            if _is_multipart(m) and m.params.get("type", "application/dicom") in (
                "application/dicom",
                "*/*",
                "application/*",
            ):
                return "multipart", ts
        raise HttpError(
            406,
            'instances are available as multipart/related; type="application/dicom"'
            + (" or application/dicom" if one_instance else ""),
        )

    async def _retrieve(
        self,
        req: DicomRequest,
        send: Send,
        study: str,
        series: str | None = None,
        sop: str | None = None,
    ) -> Reply | None:
        accept = req.accept
        insts = await _run(self.db.instances, study, series, sop)
        mode, ts = self._retrieve_choice(accept, sop is not None)
        if ts != "*":
            for inst in insts:
                if inst.transfer_syntax_uid != ts and ts != EXPLICIT_VR_LITTLE_ENDIAN:
                    raise HttpError(
                        406,
                        f"instance {inst.sop_uid} is stored as {inst.transfer_syntax_uid}; it "
                        f"can be sent as stored (transfer-syntax=*) or as {EXPLICIT_VR_LITTLE_ENDIAN}",
                    )
        if mode == "single":
            data = await _run(self._instance_bytes, insts[0], ts)
            return Reply(data, "application/dicom")
        boundary = _boundary()
        ctype = f'multipart/related; type="application/dicom"; boundary={boundary}'
        head = req.method == "HEAD"
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", ctype.encode())],
            }
        )
        b = boundary.encode()
        for inst in insts:
            data = await _run(self._instance_bytes, inst, ts)
            if not head:
                part = (
                    b"--"
                    + b
                    + b"\r\nContent-Type: application/dicom\r\nContent-Length: "
                    + str(len(data)).encode()
                    + b"\r\n\r\n"
                )
                await send(
                    {"type": "http.response.body", "body": part + data + b"\r\n", "more_body": True}
                )
        await send({"type": "http.response.body", "body": b"" if head else b"--" + b + b"--\r\n"})
        return None

    def _instance_bytes(self, inst: StoredInstance, ts: str) -> bytes:
        path = self.db.instance_path(inst)
        if ts not in ("*", inst.transfer_syntax_uid):
            return _frames.transcode_to_explicit_le(path)
        with open(path, "rb") as f:
            return f.read()

    # -- frames ---------------------------------------------------------------------------
    async def _frames(
        self, req: DicomRequest, study: str, series: str, sop: str, frames: list[int]
    ) -> Reply:
        # Index lookups and small reads from the page cache take far less time than handing
        # the work to a thread and back (measured: 1450 -> 3000 frames/s with 16 clients), so
        # they run on the loop; decoding and large reads still go to a worker thread.
        plan = self._frames_plan(req.accept, study, series, sop, frames)
        if not plan.need_decode and plan.size <= INLINE_READ_BYTES:
            return self._frames_reply(plan)
        return await _run(self._frames_reply, plan)

    def _frames_plan(
        self,
        accept: list[MediaRange],
        study: str,
        series: str,
        sop: str,
        frames: list[int],
    ) -> _FramesPlan:
        db = self.db
        row = db.locator(study, series, sop)
        stored_ts = row["transfer_syntax_uid"]
        native = _frames.is_native(stored_ts)
        stored_media = _frames.frame_media_type(stored_ts)
        single, as_stored, label = _frames_choice(accept, stored_ts, stored_media)
        locs = db.frame_ranges(study, series, sop, frames, row=row)
        need_decode = locs is None or (
            not as_stored and (not native or stored_ts == _frames.EXPLICIT_VR_BIG_ENDIAN)
        )
        if need_decode and as_stored and not native:
            raise HttpError(406, "the frames cannot be located in the stored file")
        return _FramesPlan(
            frames, row, stored_ts, native, stored_media, single, label, locs, need_decode
        )

    def _frames_reply(self, plan: _FramesPlan) -> Reply:
        db = self.db
        if plan.need_decode:
            path = db.store.resolve(plan.row["path"])
            datas = _frames.decode_frames(path, plan.frames, plan.stored_ts)
            media = "application/octet-stream"
            ts_label = EXPLICIT_VR_LITTLE_ENDIAN
        else:
            assert plan.locs is not None
            datas = [db.read_ranges(loc) for loc in plan.locs]
            media = "application/octet-stream" if plan.native else (plan.label or plan.stored_media)
            ts_label = EXPLICIT_VR_LITTLE_ENDIAN if plan.native else plan.stored_ts
        part_type = f"{media}; transfer-syntax={ts_label}"
        if plan.single and len(datas) == 1:
            return Reply(datas[0], media if plan.native or plan.need_decode else part_type)
        boundary = _boundary()
        body = _multipart(((part_type, d) for d in datas), boundary)
        return Reply(body, f'multipart/related; type="{media}"; boundary={boundary}')

    # -- bulk data ------------------------------------------------------------------------
    async def _bulkdata(
        self, req: DicomRequest, study: str, series: str, sop: str, tag_path: str
    ) -> Reply:
        accept = req.accept
        single = True
        if accept:
            for m in accept:
                if m.mtype in ("*/*", "application/*", "application/octet-stream"):
                    single = True
                    break
                if _is_multipart(m) and m.params.get("type", "application/octet-stream") in (
                    "application/octet-stream",
                    "*/*",
                    "application/*",
                ):
                    single = False
                    break
            else:
                raise HttpError(
                    406,
                    "bulk data is available as application/octet-stream or "
                    'multipart/related; type="application/octet-stream"',
                )
        data = await _run(self._bulk_sync, study, series, sop, tag_path)
        if single:
            return Reply(data, "application/octet-stream")
        boundary = _boundary()
        body = _multipart([("application/octet-stream", data)], boundary)
        return Reply(
            body, f'multipart/related; type="application/octet-stream"; boundary={boundary}'
        )

    def _bulk_sync(self, study: str, series: str, sop: str, tag_path: str) -> bytes:
        loc = self.db.bulk_ranges(study, series, sop, tag_path)
        if loc is not None:
            return self.db.read_ranges(loc)
        # not locatable by offset (deflated file): read the value with pydicom
        import pydicom

        path, _ = self.db.instance_file(sop, study, series)
        ds = pydicom.dcmread(path)
        elem: Any = ds
        parts = tag_path.strip("/").split("/")
        try:
            for i, p in enumerate(parts):
                elem = elem[int(p, 16)] if i % 2 == 0 else elem.value[int(p) - 1]
            value = elem.value
        except (KeyError, IndexError, ValueError) as exc:
            raise NotFoundError(f"instance {sop} has no bulk data {tag_path}") from exc
        return bytes(value) if isinstance(value, (bytes, bytearray)) else str(value).encode()

    # -- rendered / thumbnail -------------------------------------------------------------
    def _render_options(self, req: DicomRequest, thumbnail: bool) -> RenderOptions:
        wanted = req.param("accept")
        accept = parse_accept(wanted) if wanted else req.accept
        media = None
        if not accept:
            media = "image/jpeg"
        for m in accept:
            if m.mtype in _frames.RENDER_MEDIA_TYPES:
                media = m.mtype
                break
            if m.mtype in ("*/*", "image/*"):
                media = "image/jpeg"
                break
            if _is_multipart(m) and m.params.get("type") in _frames.RENDER_MEDIA_TYPES:
                media = m.params["type"]
                break
        if media is None:
            raise HttpError(406, "rendered images are available as image/jpeg or image/png")
        viewport = _frames.parse_viewport(req.param("viewport"))
        if viewport is None and thumbnail:
            viewport = (128, 128)
        return RenderOptions(
            media_type=media,
            viewport=viewport,
            window=_frames.parse_window(req.param("window")),
            quality=_frames.parse_quality(req.param("quality")),
        )

    async def _rendered(
        self,
        req: DicomRequest,
        study: str,
        series: str | None,
        sop: str | None,
        frames: list[int] | None,
        kind: str,
    ) -> Reply:
        opts = self._render_options(req, kind == "thumbnail")
        return await _run(self._rendered_sync, opts, study, series, sop, frames, kind)

    def _rendered_sync(
        self,
        opts: RenderOptions,
        study: str,
        series: str | None,
        sop: str | None,
        frames: list[int] | None,
        kind: str,
    ) -> Reply:
        db = self.db
        insts = db.instances(study, series, sop)
        if kind == "thumbnail" or sop is not None:
            if sop is None:
                # representative: the middle image of the first series that has pixels
                first = [i for i in insts if i.series_uid == insts[0].series_uid]
                insts = [first[len(first) // 2]] + insts
            targets = [(insts[0], f) for f in (frames or [1])[: 1 if kind == "thumbnail" else None]]
        else:
            targets = [(inst, 1) for inst in insts]
        images = []
        for inst, frame in targets:
            try:
                images.append(_frames.render(db.instance_path(inst), frame, opts))
            except NotFoundError:
                if len(targets) == 1 and kind != "thumbnail" or sop is not None:
                    raise
        if kind == "thumbnail" and not images:
            for inst in insts[1:]:
                try:
                    images.append(_frames.render(db.instance_path(inst), 1, opts))
                    break
                except (NotFoundError, DecoderUnavailableError):
                    continue
        if not images:
            raise NotFoundError("nothing to render: no instance with pixel data")
        if len(images) == 1:
            return Reply(images[0], opts.media_type)
        boundary = _boundary()
        body = _multipart(((opts.media_type, im) for im in images), boundary)
        return Reply(body, f'multipart/related; type="{opts.media_type}"; boundary={boundary}')

    # -- WADO-URI -------------------------------------------------------------------------
    async def _wado_uri(self, req: DicomRequest) -> Reply:
        sop = req.param("objectUID")
        if not sop:
            # Slicer answers 404 without objectUID; so do we (also for unknown paths).
            raise HttpError(404, "WADO-URI needs objectUID (or use /studies... for DICOMweb)")
        rtype = req.param("requestType")
        if rtype is not None and rtype.upper() != "WADO":
            raise HttpError(400, f"requestType must be WADO, not {rtype!r}")
        ctypes = [c.strip().lower() for c in (req.param("contentType") or "").split(",")]
        ctypes = [c for c in ctypes if c] or ["application/dicom"]
        ctype = next(
            (c for c in ctypes if c in ("application/dicom", "*/*", *_frames.RENDER_MEDIA_TYPES)),
            None,
        )
        if ctype is None:
            raise HttpError(406, "contentType must be application/dicom, image/jpeg or image/png")
        study, series = req.param("studyUID"), req.param("seriesUID")
        if ctype in ("application/dicom", "*/*"):
            ts = req.param("transferSyntax") or "*"
            return await _run(self._wado_uri_file, sop, study, series, ts)
        try:
            frame = int(req.param("frameNumber") or req.param("frame") or 1)
        except ValueError as exc:
            raise HttpError(400, "frameNumber must be an integer") from exc
        rows, cols = req.param("rows"), req.param("columns")
        viewport = None
        if rows or cols:
            viewport = _frames.parse_viewport(f"{cols or 0},{rows or 0}")
        window = None
        wc, ww = req.param("windowCenter"), req.param("windowWidth")
        if wc and ww:
            window = _frames.parse_window(f"{wc},{ww}")
        opts = RenderOptions(
            media_type=ctype,
            viewport=viewport,
            window=window,
            quality=_frames.parse_quality(req.param("imageQuality")),
        )
        return await _run(self._wado_uri_render, sop, study, series, frame, opts)

    def _wado_uri_file(self, sop: str, study: str | None, series: str | None, ts: str) -> Reply:
        path, inst = self.db.instance_file(sop, study, series)
        if ts not in ("*", inst.transfer_syntax_uid):
            if ts != EXPLICIT_VR_LITTLE_ENDIAN:
                raise HttpError(
                    406, f"cannot transcode to {ts}; stored as {inst.transfer_syntax_uid}"
                )
            return Reply(_frames.transcode_to_explicit_le(path), "application/dicom")
        with open(path, "rb") as f:
            return Reply(f.read(), "application/dicom")

    def _wado_uri_render(
        self, sop: str, study: str | None, series: str | None, frame: int, opts: RenderOptions
    ) -> Reply:
        path, _ = self.db.instance_file(sop, study, series)
        return Reply(_frames.render(path, frame, opts), opts.media_type)

    # -- STOW-RS --------------------------------------------------------------------------
    async def _stow(self, req: DicomRequest, study: str | None) -> Reply:
        ctype = req.headers.get("content-type", "")
        mt = parse_media_type(ctype)
        if mt.mtype == "application/dicom":
            parts = [({"content-type": "application/dicom"}, await req.body())]
        elif mt.mtype.startswith("multipart/"):
            t = mt.params.get("type", "application/dicom")
            if t in (DICOM_JSON, JSON):
                parts = parse_multipart(await req.body(), ctype)
                if not parts:
                    raise HttpError(400, "the multipart body has no parts")
                return await _run(self._stow_json_sync, parts, study, req.base)
            if t not in ("application/dicom", "*/*"):
                raise HttpError(
                    415,
                    'STOW-RS accepts multipart/related; type="application/dicom" or '
                    'type="application/dicom+json" (metadata and bulk data)',
                )
            parts = parse_multipart(await req.body(), ctype)
        else:
            raise HttpError(
                415, 'STOW-RS needs Content-Type: multipart/related; type="application/dicom"'
            )
        if not parts:
            raise HttpError(400, "the multipart body has no parts")
        return await _run(self._stow_sync, parts, study, req.base)

    def _stow_sync(
        self, parts: list[tuple[dict[str, str], bytes | memoryview]], study: str | None, base: str
    ) -> Reply:
        dicom_parts: list[bytes | memoryview] = []
        refused: list[IngestResult] = []
        for headers, data in parts:
            part_type = parse_media_type(headers.get("content-type", "application/dicom")).mtype
            if part_type not in ("application/dicom", "application/octet-stream", ""):
                reason = f"a part of type {part_type} is not application/dicom"
                refused.append(IngestResult("failed", reason=reason, failure_code=0xC000))
            else:
                dicom_parts.append(data)
        return self._store_instances(dicom_parts, refused, study, base)

    def _store_instances(
        self,
        dicom_parts: list[bytes | memoryview],
        refused: list[IngestResult],
        study: str | None,
        base: str,
    ) -> Reply:
        """Ingest the instances and answer the STOW-RS response dataset.

        ``refused``: the failures of parts that were not even offered to the ingest. When no
        part at all is an identifiable instance the request is a client error (400), not a
        per-instance failure.
        """
        referenced: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        studies_seen: list[str] = []
        results = self.db.ingest_many(dicom_parts, expected_study_uid=study) if dicom_parts else []
        results = refused + results
        if all(not r.ok and not r.sop_uid for r in results):
            reasons = [r.reason for r in results]
            shown = "; ".join(dict.fromkeys(reasons[:5]))
            raise HttpError(
                400,
                f"none of the {len(reasons)} part(s) of the request is a DICOM instance: {shown}",
            )
        for res in results:
            if res.ok:
                url = f"{base}/studies/{res.study_uid}/series/{res.series_uid}/instances/{res.sop_uid}"
                referenced.append(
                    {
                        "00081150": {"vr": "UI", "Value": [res.sop_class_uid]},
                        "00081155": {"vr": "UI", "Value": [res.sop_uid]},
                        "00081190": {"vr": "UR", "Value": [url]},
                    }
                )
                if res.study_uid not in studies_seen:
                    studies_seen.append(res.study_uid)
            else:
                log.info("STOW-RS part refused: %s", res.reason)
                failed.append(
                    _failed_item(res.sop_class_uid, res.sop_uid, res.failure_code or 0xC000)
                )
        answer: dict[str, Any] = {}
        target = study or (studies_seen[0] if len(studies_seen) == 1 else None)
        if target:
            answer["00081190"] = {"vr": "UR", "Value": [f"{base}/studies/{target}"]}
        if failed:
            answer["00081198"] = {"vr": "SQ", "Value": failed}
        if referenced:
            answer["00081199"] = {"vr": "SQ", "Value": referenced}
        status = 200 if not failed else (202 if referenced else 409)
        return Reply(dumps_bytes(answer), DICOM_JSON, status)

    def _stow_json_sync(
        self, parts: list[tuple[dict[str, str], bytes | memoryview]], study: str | None, base: str
    ) -> Reply:
        """STOW-RS of DICOM JSON metadata plus bulk data parts (PS3.18 10.5)."""
        items: list[dict[str, Any]] = []
        bulk: list[BulkPart] = []
        for n, (headers, data) in enumerate(parts):
            mt = parse_media_type(headers.get("content-type", DICOM_JSON if n == 0 else ""))
            if mt.mtype in (DICOM_JSON, JSON):
                items += parse_metadata(bytes(data))
            else:
                location = headers.get("content-location", "").strip()
                ts = mt.params.get("transfer-syntax")
                bulk.append(BulkPart(location, mt.mtype, ts, bytes(data)))
        if not items:
            raise HttpError(400, "the request has no application/dicom+json metadata part")
        resolve = _bulk_resolver(bulk, base)
        datas: list[bytes | memoryview] = []
        refused: list[IngestResult] = []
        for item in items:
            try:
                datas.append(part10_from_json(item, resolve))
            except DicomFormatError as exc:
                refused.append(
                    IngestResult("failed", reason=str(exc), failure_code=0xC000, **exc.uids)
                )
        return self._store_instances(datas, refused, study, base)

    # -- DELETE ---------------------------------------------------------------------------
    async def _delete(self, req: DicomRequest, seg: list[str]) -> Reply:
        if not self.ctx.settings.dicom_delete:
            raise HttpError(
                405,
                "DELETE is switched off on this server (voxweb serve --dicom-delete)",
                {"Allow": "GET, HEAD, POST, OPTIONS"},
            )
        shape = [s for i, s in enumerate(seg) if i % 2 == 0]
        if (
            not (2 <= len(seg) <= 6 and len(seg) % 2 == 0)
            or shape
            != [
                "studies",
                "series",
                "instances",
            ][: len(shape)]
        ):
            raise HttpError(404, "DELETE works on /studies/{S}[/series/{R}[/instances/{I}]]")
        uids = seg[1::2] + [None, None]
        count = await _run(self.db.delete, uids[0], uids[1], uids[2])
        return Reply(json.dumps({"success": True, "deleted": count}).encode(), JSON)


def _bulk_resolver(parts: list[BulkPart], base: str) -> BulkResolver:
    """BulkDataURI -> parts, matching Content-Locations as given or resolved against ``base``."""

    def absolute(uri: str) -> str:
        return urljoin(base + "/", uri)

    by_location: dict[str, BulkPart] = {}
    for part in parts:
        if part.location:
            by_location.setdefault(part.location, part)
            by_location.setdefault(absolute(part.location), part)

    def resolve(uri: str) -> list[BulkPart]:
        for key in (uri, absolute(uri)):
            if key in by_location:
                return [by_location[key]]
        for key in (uri, absolute(uri)):
            frames = [(frame_number(p.location, key), p) for p in parts]
            found = sorted((n, i, p) for i, (n, p) in enumerate(frames) if n is not None)
            if found:
                return [p for _, _, p in found]
        return []

    return resolve


def _failed_item(sop_class: str, sop_uid: str, code: int) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if sop_class:
        item["00081150"] = {"vr": "UI", "Value": [sop_class]}
    if sop_uid:
        item["00081155"] = {"vr": "UI", "Value": [sop_uid]}
    item["00081197"] = {"vr": "US", "Value": [code]}
    return item


def _utf8(text: str) -> str:
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _frame_list(text: str) -> list[int]:
    try:
        frames = [int(x) for x in text.replace("%2C", ",").split(",") if x.strip()]
    except ValueError as exc:
        raise HttpError(400, f"frame list {text!r} is not comma-separated numbers") from exc
    if not frames or any(f < 1 for f in frames):
        raise HttpError(400, "frame numbers start at 1")
    return frames


def _frames_choice(
    accept: list[MediaRange], stored_ts: str, stored_media: str
) -> tuple[bool, bool, str | None]:
    """``(single part, as stored, media type label)`` for a frames request, or HttpError(406).

    The label is the media type the client named for compressed frames sent as stored
    (``application/octet-stream; transfer-syntax=*``); None means the PS3.18 type (image/jpeg...).
    """
    native = _frames.is_native(stored_ts)
    if not accept:
        return False, True, None
    for m in accept:
        ts = m.params.get("transfer-syntax")
        if m.mtype in ("*/*", "application/*"):
            return False, True, None
        if m.mtype == "application/octet-stream":
            if ts == "*" or ts is None or ts == EXPLICIT_VR_LITTLE_ENDIAN:
                return True, ts == "*", "application/octet-stream"
            continue
        if not native and m.mtype == stored_media and ts in (None, "*", stored_ts):
            return True, True, None
        if _is_multipart(m):
            t = m.params.get("type", "application/octet-stream")
            if t in ("*/*", "application/*"):
                if ts in (None, "*", stored_ts):
                    return False, True, None
                if ts == EXPLICIT_VR_LITTLE_ENDIAN:
                    return False, False, None
                continue
            if t == "application/octet-stream":
                if ts == "*":
                    return False, True, "application/octet-stream"
                if ts in (None, EXPLICIT_VR_LITTLE_ENDIAN):
                    return False, native and stored_ts != _frames.EXPLICIT_VR_BIG_ENDIAN, None
                continue
            if not native and t == stored_media and ts in (None, "*", stored_ts):
                return False, True, None
    raise HttpError(
        406,
        f"frames are stored as {stored_ts}; ask for transfer-syntax=* to get them as stored "
        f"or application/octet-stream for native bytes",
    )
