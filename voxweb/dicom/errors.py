"""Exceptions raised by the DICOM database layer.

Each error says in plain words what is wrong; the HTTP edge maps them to status codes
(``QueryError`` -> 400, ``NotFoundError`` -> 404, ``DicomFormatError`` -> 400). Conflicts
(same SOPInstanceUID, other content) are not raised: the ingest reports them in its result,
which STOW-RS turns into a 409 or 202 failure item. This module must not import any HTTP framework.
"""

from __future__ import annotations


class DicomError(Exception):
    """Base class of every error raised by ``voxweb.dicom``."""


class DicomFormatError(DicomError):
    """The bytes are not a DICOM object we can store (unreadable, missing required UIDs...).

    ``uids``: the instance's identity (``sop_uid``, ``sop_class_uid``, ``study_uid``,
    ``series_uid``) when it could be read before the object was found broken, so a STOW-RS
    answer can name the refused instance; empty when the bytes are not DICOM at all.
    """

    def __init__(self, message: str, *, uids: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.uids = uids or {}


class QueryError(DicomError, ValueError):
    """A QIDO-RS query is malformed or uses an unsupported key (HTTP 400)."""


class NotFoundError(DicomError, LookupError):
    """The requested study, series, instance, frame or bulk data does not exist (HTTP 404)."""


class IndexSchemaError(DicomError):
    """The index database's schema is not one this voxweb can use as it is.

    The message says what was found and what to do (``voxweb db upgrade``, another database,
    a newer voxweb).
    """
