"""``/dicom/*``: the DICOMweb service (QIDO-RS, WADO-RS, WADO-URI, STOW-RS).

Placeholder until the DICOM database lands: every request gets a clear 501, and OPTIONS a
204 so CORS-aware clients can probe it.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from voxweb.context import ServerContext
from voxweb.http.responses import error_response


class DicomWeb:
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "OPTIONS":
            response: Response = Response(
                status_code=204, headers={"Allow": "GET, HEAD, POST, DELETE, OPTIONS"}
            )
        else:
            response = error_response(501, "DICOMweb is not implemented in this voxweb version yet")
        await response(scope, receive, send)
