"""Part-10 instances from the DICOM JSON model plus bulk data (STOW-RS "JSON metadata and
bulk data", PS3.18 10.5 / Annex F).

The metadata is a JSON array of instances; an attribute carries its value inline (``Value``,
``InlineBinary``) or as a ``BulkDataURI`` that names another part of the same request by its
``Content-Location``. ``part10_from_json`` builds each instance with pydicom and writes it as
Part-10 bytes for the ordinary ingest. It reads no URL and opens no file: the caller resolves
bulk data URIs to the parts it received. No HTTP here.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID, ExplicitVRLittleEndian

from voxweb.dicom.errors import DicomFormatError

PIXEL_DATA = "7FE00010"
_ITEM = b"\xfe\xff\x00\xe0"
_SEQUENCE_END = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
_FRAME_NUMBER = re.compile(r"/frames/(\d+)")
# the transfer syntax a compressed bulk part's media type stands for when it names none
_MEDIA_SYNTAX = {
    "image/jpeg": "1.2.840.10008.1.2.4.50",
    "image/jls": "1.2.840.10008.1.2.4.80",
    "image/jp2": "1.2.840.10008.1.2.4.90",
    "image/jpx": "1.2.840.10008.1.2.4.92",
    "image/jphc": "1.2.840.10008.1.2.4.201",
    "image/dicom-rle": "1.2.840.10008.1.2.5",
    "video/mpeg": "1.2.840.10008.1.2.4.100",
    "video/mp4": "1.2.840.10008.1.2.4.102",
    "video/h265": "1.2.840.10008.1.2.4.107",
}


@dataclass
class BulkPart:
    """One bulk data part of the request."""

    location: str  # its Content-Location
    media_type: str  # lower-case type/subtype
    transfer_syntax: str | None  # the transfer-syntax parameter of its Content-Type
    data: bytes


BulkResolver = Callable[[str], list[BulkPart]]
"""A BulkDataURI -> the parts holding its value: the part at that Content-Location, or the
parts at ``{uri}/frames/{n}`` in frame order; [] when the request has none."""


def parse_metadata(text: bytes | str) -> list[dict[str, Any]]:
    """The instances of a DICOM JSON metadata part; ``DicomFormatError`` when it is not one."""
    try:
        items = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DicomFormatError(f"the metadata part is not JSON: {exc}") from None
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items or not all(isinstance(x, dict) for x in items):
        raise DicomFormatError("the metadata part must be a JSON array of DICOM JSON objects")
    return items


def part10_from_json(item: dict[str, Any], resolve: BulkResolver) -> bytes:
    """One instance of the DICOM JSON model, its bulk data resolved, as Part-10 bytes.

    Raises ``DicomFormatError`` (with the instance's UIDs when they could be read) when the
    object cannot be built: a bad attribute, a BulkDataURI naming no part.
    """
    uids = _uids(item)
    syntax: list[str] = []

    def bulk(tag: str, vr: str, uri: str) -> bytes | str:
        parts = resolve(uri)
        if not parts:
            raise DicomFormatError(f"BulkDataURI {uri!r} ({tag}) names no part of the request")
        if tag.upper() == PIXEL_DATA:
            ts, value = _pixel_data(parts)
            syntax.append(ts)
            return value
        data = b"".join(p.data for p in parts)
        if vr in ("OB", "OD", "OF", "OL", "OV", "OW", "UN"):
            return data
        return data.decode("latin-1").rstrip("\0 ")

    meta_items = {k: v for k, v in item.items() if k.upper().startswith("0002")}
    body = {k: v for k, v in item.items() if k not in meta_items}
    try:
        ds = Dataset.from_json(body, bulk)
        meta = Dataset.from_json(meta_items) if meta_items else Dataset()
    except DicomFormatError as exc:
        raise DicomFormatError(str(exc), uids=uids) from None
    except Exception as exc:  # pydicom raises many kinds on a malformed model
        raise DicomFormatError(
            f"not a valid DICOM JSON object ({type(exc).__name__}: {exc})", uids=uids
        ) from None
    file_meta = FileMetaDataset()
    for elem in meta:
        file_meta.add(elem)
    # the syntax of the pixel data part; everything else is written as explicit VR little
    # endian whatever a 00020010 in the metadata says (the values are decoded by now)
    ts = syntax[0] if syntax else ExplicitVRLittleEndian
    file_meta.TransferSyntaxUID = ts
    file_meta.MediaStorageSOPClassUID = ds.get("SOPClassUID", "")
    file_meta.MediaStorageSOPInstanceUID = ds.get("SOPInstanceUID", "")
    ds.file_meta = file_meta
    if PIXEL_DATA in item and UID(ts).is_compressed:
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
    out = io.BytesIO()
    try:
        ds.save_as(out, enforce_file_format=True)
    except Exception as exc:
        raise DicomFormatError(
            f"cannot write the object as DICOM ({type(exc).__name__}: {exc})", uids=uids
        ) from None
    return out.getvalue()


def _pixel_data(parts: list[BulkPart]) -> tuple[str, bytes]:
    """(transfer syntax, value) of PixelData sent as one or more bulk parts."""
    first = parts[0]
    ts = first.transfer_syntax or _MEDIA_SYNTAX.get(first.media_type)
    if ts in (None, "*") or not UID(ts).is_compressed:
        return ExplicitVRLittleEndian, b"".join(p.data for p in parts)
    if len(parts) == 1 and first.data.startswith(_ITEM):
        # already encapsulated (basic offset table and fragments), as WADO-RS bulk data
        # of a compressed instance answers it
        data = first.data
        return ts, data[: -len(_SEQUENCE_END)] if data.endswith(_SEQUENCE_END) else data
    return ts, encapsulate([p.data for p in parts])


def _uids(item: dict[str, Any]) -> dict[str, str]:
    def value(tag: str) -> str:
        elem = item.get(tag)
        vals = elem.get("Value") if isinstance(elem, dict) else None
        return str(vals[0]) if isinstance(vals, list) and vals and vals[0] is not None else ""

    return {
        "sop_uid": value("00080018"),
        "sop_class_uid": value("00080016"),
        "study_uid": value("0020000D"),
        "series_uid": value("0020000E"),
    }


def frame_number(location: str, uri: str) -> int | None:
    """n when ``location`` is ``{uri}/frames/{n}``."""
    if not location.startswith(uri):
        return None
    m = _FRAME_NUMBER.fullmatch(location[len(uri) :])
    return int(m.group(1)) if m else None


__all__ = ["BulkPart", "BulkResolver", "frame_number", "parse_metadata", "part10_from_json"]
