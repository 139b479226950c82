"""DICOM database and DICOMweb semantics for voxweb (no HTTP framework types in here).

Entry point: ``DicomDatabase(data_dir)`` (``voxweb.dicom.database``) holding a ``Store`` of
Part-10 files and an SQL ``Index``; ingest, QIDO search, metadata and frame locators hang off it.
"""

from __future__ import annotations

from voxweb.dicom.check import CheckReport
from voxweb.dicom.database import ByteRanges, DicomDatabase
from voxweb.dicom.errors import (
    DicomError,
    DicomFormatError,
    NotFoundError,
    QueryError,
)
from voxweb.dicom.ingest import ImportReport, IngestResult

__all__ = [
    "ByteRanges",
    "CheckReport",
    "DicomDatabase",
    "DicomError",
    "DicomFormatError",
    "ImportReport",
    "IngestResult",
    "NotFoundError",
    "QueryError",
]
