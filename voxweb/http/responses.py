"""Response helpers shared by every HTTP adapter.

Errors everywhere use the shape Slicer clients already parse, ``{"success": false,
"message": ...}`` with ``Content-Type: application/json`` exactly (slicerio compares the
header verbatim), so a client gets the same kind of answer from any route.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.responses import RedirectResponse, Response

JSON_TYPE = "application/json"


def json_bytes(value: object) -> bytes:
    """Python's default ``json.dumps`` form (``", "`` and ``": "``), as Slicer writes it."""
    return json.dumps(value).encode("ascii")


def json_response(
    value: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(json_bytes(value), status_code=status, media_type=JSON_TYPE, headers=headers)


def error_body(message: str) -> bytes:
    """The one error envelope, ``{"success": false, "message": ...}``, of every area."""
    return json_bytes({"success": False, "message": message})


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(error_body(message), status_code=status, media_type=JSON_TYPE, headers=headers)


def empty_response(status: int, headers: Mapping[str, str] | None = None) -> Response:
    return Response(b"", status_code=status, headers=headers)


def local_redirect(target: str, status: int = 303) -> RedirectResponse:
    """A redirect to a path of this server only.

    A request for ``//evil.example/x`` must not answer ``Location: //evil.example/x``: a
    browser reads a leading ``//`` (or ``/\\``) as another host. Leading slashes and
    backslashes collapse to one ``/``.
    """
    path = "/" + target.lstrip("/\\")
    return RedirectResponse(path, status_code=status)
