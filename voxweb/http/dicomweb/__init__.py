"""``/dicom/*`` (and ``/dicom-web/*``): the DICOMweb service over the DICOM database.

QIDO-RS, WADO-RS (retrieve, metadata, frames, bulk data, rendered, thumbnail), WADO-URI,
STOW-RS (Part-10 instances, or DICOM JSON metadata plus bulk data parts), DELETE (off unless
``dicom_delete``) and a capabilities answer to ``OPTIONS /dicom``.
A thin adapter: ``routes`` maps the path to a handler (``qido``, ``wado``, ``wado_uri``,
``stow``, ``delete``, ``capabilities``), ``negotiation`` reads ``Accept``, handlers call
``voxweb.dicom`` in worker threads (every database call blocks) and shape the bytes; this
module builds the request and turns exceptions into answers. Slicer-compatible details kept:
instance retrieve without a multipart ``Accept`` answers the bare Part-10 file
(``application/dicom``) and an empty search answers ``200 []``. QIDO and metadata answer
``application/dicom+json`` (PS3.18's default, also for a browser's ``Accept``) unless the
client prefers ``application/json``. Loading a study into the scene is
``voxweb.services.dicom_bridge``'s, not this package's.
"""

from __future__ import annotations

import logging

from starlette.types import Receive, Scope, Send

from voxweb.context import ServerContext
from voxweb.http.dicomweb.negotiation import MediaRange, choose, parse_accept, parse_media_type
from voxweb.http.dicomweb.request import ROOTS, build_request, error_reply, send_reply
from voxweb.http.dicomweb.routes import dispatch
from voxweb.http.dicomweb.stow import parse_multipart
from voxweb.http.errors import HttpError, failure_of, log_failure

__all__ = [
    "ROOTS",
    "DicomWeb",
    "HttpError",
    "MediaRange",
    "choose",
    "parse_accept",
    "parse_media_type",
    "parse_multipart",
]

log = logging.getLogger(__name__)


class DicomWeb:
    """ASGI app for every path under ``/dicom`` (and ``/dicom-web``)."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        head = scope["method"] == "HEAD"
        try:
            req = build_request(scope, receive, self.ctx.bound_host, self.ctx.base_url)
            result = await dispatch(self.ctx, req, send)
        except Exception as exc:  # the server must answer, whatever a handler hit
            failure = failure_of(exc)
            log_failure(failure, exc, f"DICOMweb {scope['method']} {scope['path']}")
            message = failure.message if failure.expected else f"Server error: {failure.message}"
            result = error_reply(failure.status, message, failure.headers)
        if result is not None:
            await send_reply(send, result, head)
