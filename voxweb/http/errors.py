"""What a failure means to a client: one exception -> status table for every area.

Handlers raise the layers' own errors (a missing node, a refused path, a malformed file) or
``HttpError`` for an answer only HTTP knows (405, 415...). ``failure_of`` turns any of them
into a status and a message; each area wraps that in its envelope (``/slicer`` keeps Slicer's
500 shape, see ``slicer_api``). An exception no row names is a bug or an outage: it is 500
and ``log_failure`` records it with its traceback, at ERROR, wherever it happened.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from voxweb.dicom.errors import DicomFormatError, NotFoundError
from voxweb.dicom.frames import DecoderUnavailableError
from voxweb.io.sampledata import SampleDataError
from voxweb.scene.hierarchy import HierarchyError
from voxweb.scene.scene import NodeNotFoundError
from voxweb.services.fetch import FetchFailedError
from voxweb.services.workspace import NoMatchError

log = logging.getLogger(__name__)


class HttpError(Exception):
    """An answer other than 200 that only HTTP knows about, raised anywhere in a handler."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


# First match wins. PermissionError covers refused paths and URL fetches; ValueError covers
# every malformed-input error of the layers (file formats, queries, render parameters).
_STATUS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], int], ...] = (
    (PermissionError, 403),
    ((NotFoundError, NodeNotFoundError, NoMatchError, HierarchyError, SampleDataError), 404),
    (DecoderUnavailableError, 406),
    (FetchFailedError, 502),
    ((ValueError, DicomFormatError), 400),
)


# What the table names: the exceptions that are a client's mistake or a refusal, not a bug.
KNOWN_ERRORS: tuple[type[BaseException], ...] = (HttpError,) + tuple(
    t for types, _ in _STATUS for t in (types if isinstance(types, tuple) else (types,))
)


@dataclass(frozen=True)
class Failure:
    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    expected: bool = True  # False: no row named it (a bug or an outage)


def failure_of(exc: BaseException) -> Failure:
    if isinstance(exc, HttpError):
        return Failure(exc.status, exc.message, exc.headers)
    for types, status in _STATUS:
        if isinstance(exc, types):
            return Failure(status, str(exc))
    return Failure(500, str(exc) or type(exc).__name__, expected=False)


def log_failure(failure: Failure, exc: BaseException, where: str) -> None:
    """Unexpected failures with their traceback; a client's mistake is not the server's news."""
    if not failure.expected:
        log.error("%s failed", where, exc_info=exc)
