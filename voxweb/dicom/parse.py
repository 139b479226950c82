"""Turn the bytes of one DICOM instance into an index record, without HTTP and without I/O.

The top-level data elements are walked with pydicom's element generator (large values are
deferred, never copied), which gives the byte offset of every value in the file. From that we
build (1) the index columns QIDO needs, (2) the cached DICOM JSON (PS3.18 F.2) in which binary
values larger than ``BULK_THRESHOLD`` become relative ``BulkDataURI`` placeholders, and (3) the
byte ranges of every frame (native or encapsulated) and bulk value, so that frames and bulk data
are later served with one seek and read per range and no re-parsing.

BulkDataURI convention: a top-level element ``gggg,eeee`` with a large binary value is stored as
``{"vr": "OW", "BulkDataURI": "bulkdata/GGGGEEEE"}`` (upper-case hex, relative to the instance
URL ``.../studies/{S}/series/{R}/instances/{I}/``). The HTTP layer prefixes it with the absolute
instance URL (see ``voxweb.dicom.index.absolutize_bulkdata``). Nested binary values (inside
sequences) stay inline as ``InlineBinary``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import re
import struct
import unicodedata
import zlib
from dataclasses import dataclass, field
from typing import Any

import pydicom
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filereader import _read_file_meta_info, data_element_generator
from pydicom.filewriter import correct_ambiguous_vr_element
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from voxweb.dicom.errors import DicomFormatError
from voxweb.dicom.jsontext import dumps
from voxweb.dicom.values import ALL_VRS, BINARY_VRS, SIMPLE_CHARSETS, value_json
from voxweb.dicom.walk import (
    PIXEL_TAGS,
    UNDEFINED,
    Layout,
    tag_key,
    walk_encapsulated,
    walk_explicit_le,
    walk_file_meta,
)

log = logging.getLogger(__name__)

BULK_THRESHOLD = 1024
"""Binary values (OB/OW/OF/OD/OL/OV/UN) longer than this many bytes become BulkDataURIs."""

MAX_INFLATED = 1 << 30
"""Most bytes a Deflated Explicit VR Little Endian dataset may inflate to."""

_UID_CHARS = re.compile(r"[0-9A-Za-z._-]+")  # real UIDs are digits and dots; tolerate more
_DEFER = 512  # values larger than this are not read by pydicom while walking


@dataclass
class InstanceRecord:
    """Everything the index stores about one instance (one row of each level, flattened)."""

    # patient / study
    patient_id: str = ""
    patient_name: str = ""
    patient_birth_date: str = ""
    patient_sex: str = ""
    study_uid: str = ""
    study_date: str = ""
    study_time: str = ""
    accession_number: str = ""
    referring_physician_name: str = ""
    study_description: str = ""
    study_id: str = ""
    specific_character_set: str = ""
    # series
    series_uid: str = ""
    modality: str = ""
    series_number: int | None = None
    series_description: str = ""
    series_date: str = ""
    series_time: str = ""
    pps_start_date: str = ""
    pps_start_time: str = ""
    body_part_examined: str = ""
    # instance
    sop_uid: str = ""
    sop_class_uid: str = ""
    instance_number: int | None = None
    rows: int | None = None
    columns: int | None = None
    bits_allocated: int | None = None
    bits_stored: int | None = None
    high_bit: int | None = None
    samples_per_pixel: int | None = None
    number_of_frames: int | None = None
    transfer_syntax_uid: str = ""
    # content
    json: str = "{}"
    frames: str | None = None  # see ``FrameTable`` encoding below
    bulk: str = "{}"  # {"7FE00010": [offset, length], ...}
    sha256: str = ""
    file_size: int = 0
    data: bytes = field(default=b"", repr=False)  # the Part-10 bytes to store


# -- small helpers ---------------------------------------------------------------------------
def fold(text: str) -> str:
    """Upper-case, diacritics removed (ASCII fold): ``'Müller^Zoë'`` -> ``'MULLER^ZOE'``."""
    norm = unicodedata.normalize("NFKD", text)
    return "".join(c for c in norm if not unicodedata.combining(c)).upper()


def pn_key(text: str) -> str:
    """Case/diacritic-insensitive comparison key of a PN: folded, empty trailing components cut."""
    return "=".join(g.rstrip("^ ") for g in fold(text).split("=")).rstrip("=")


def name_words(text: str) -> str:
    """Searchable word list of a PN for fuzzy prefix matching: ``' MULLER ZOE'`` (leading space)."""
    out = fold(text)
    for ch in "^=,-.":
        out = out.replace(ch, " ")
    return " " + " ".join(out.split())


def _da(text: str) -> str:
    return text.replace(".", "").replace("-", "").strip()[:8]


def _tm(text: str) -> str:
    return text.replace(":", "").strip()


# -- main entry ------------------------------------------------------------------------------
def parse_instance(data: bytes, *, bulk_threshold: int = BULK_THRESHOLD) -> InstanceRecord:
    """Parse Part-10 bytes (or a raw dataset, which is converted to Part 10) into a record."""
    if len(data) >= 132 and data[128:132] == b"DICM":
        meta, start = _file_meta(data)
    else:
        data = _to_part10(data)
        return parse_instance(data, bulk_threshold=bulk_threshold)

    ts = meta.get(0x00020010, "")
    if not ts:  # guess like pydicom does: explicit VR when the first element has VR letters
        head = data[start + 4 : start + 6]
        ts = ExplicitVRLittleEndian if head.isalpha() and head.isupper() else ImplicitVRLittleEndian
        log.warning("no TransferSyntaxUID in the file meta information; read as %s", ts)
    offsets_valid = True
    body: bytes | memoryview = data
    if ts == DeflatedExplicitVRLittleEndian:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            body = data[:start] + inflater.decompress(data[start:], MAX_INFLATED)
        except zlib.error as exc:
            raise DicomFormatError(f"deflated dataset cannot be inflated: {exc}") from exc
        if inflater.unconsumed_tail:  # deflate packs ~1000:1; stop a small file's bomb
            raise DicomFormatError(
                f"deflated dataset inflates to more than {MAX_INFLATED} bytes; refused"
            )
        offsets_valid = False  # offsets point into the inflated copy, not the file
    implicit = ts == ImplicitVRLittleEndian
    little = ts != ExplicitVRBigEndian
    if len(body) >= start + 6 and little:  # files that lie about VR encoding exist; trust the bytes
        vr_bytes = bytes(body[start + 4 : start + 6])
        looks_explicit = vr_bytes.isalpha() and vr_bytes.isupper()
        if implicit and looks_explicit and vr_bytes.decode() in ALL_VRS:
            implicit = False
        elif not implicit and not looks_explicit:
            implicit = True
    if ts not in _KNOWN_SYNTAXES and not UID(ts).is_transfer_syntax:
        log.warning("unknown transfer syntax %s, reading as explicit VR little endian", ts)

    layout = None
    if little and not implicit and offsets_valid:
        layout = walk_explicit_le(body, start, bulk_threshold, ts)
    if layout is None:
        layout = _general_layout(body, start, implicit, little, ts, bulk_threshold, offsets_valid)

    rec = InstanceRecord(transfer_syntax_uid=ts, data=data)
    rec.sha256 = hashlib.sha256(data).hexdigest()
    rec.file_size = len(data)
    model = layout.model
    _fill_columns(rec, model)
    if not rec.sop_uid:
        rec.sop_uid = meta.get(0x00020003, "")
    if not rec.sop_class_uid:
        rec.sop_class_uid = meta.get(0x00020002, "")
    missing = [
        k
        for k, v in (
            ("StudyInstanceUID", rec.study_uid),
            ("SeriesInstanceUID", rec.series_uid),
            ("SOPInstanceUID", rec.sop_uid),
            ("SOPClassUID", rec.sop_class_uid),
        )
        if not v
    ]
    if missing:
        raise DicomFormatError(f"required attribute(s) missing or empty: {', '.join(missing)}")
    for k, v in (
        ("StudyInstanceUID", rec.study_uid),
        ("SeriesInstanceUID", rec.series_uid),
        ("SOPInstanceUID", rec.sop_uid),
    ):
        if len(v) > 64 or not _UID_CHARS.fullmatch(v):
            raise DicomFormatError(
                f"{k} {v[:80]!r} is not a usable UID (at most 64 letters, digits, '.', '-', '_')"
            )

    try:
        _check_pixel_length(layout, len(body))
        rec.json = dumps(model)
        if offsets_valid:
            rec.frames = _frame_table(rec, layout, _text(model, "00280004"))
    except DicomFormatError as exc:
        identity = {
            "sop_uid": rec.sop_uid,
            "sop_class_uid": rec.sop_class_uid,
            "study_uid": rec.study_uid,
            "series_uid": rec.series_uid,
        }
        raise DicomFormatError(str(exc), uids=identity) from exc
    if offsets_valid:
        rec.bulk = dumps(layout.bulk)
    else:
        rec.bulk = "{}"
        rec.frames = None
    return rec


def _check_pixel_length(layout: Layout, size: int) -> None:
    """Refuse pixel data whose declared length runs past the end of the file.

    Readers trust that length to size their buffers; a few bytes would claim gigabytes.
    """
    for tag in PIXEL_TAGS:
        offset, length = layout.positions.get(tag, (0, UNDEFINED))
        if length != UNDEFINED and offset + length > size:
            raise DicomFormatError(
                f"{_PIXEL_NAMES[tag]} declares {length} bytes but the file has only "
                f"{max(size - offset, 0)} after its header"
            )


_PIXEL_NAMES = {
    0x7FE00010: "Pixel Data",
    0x7FE00008: "Float Pixel Data",
    0x7FE00009: "Double Float Pixel Data",
}


def _general_layout(
    body: bytes,
    start: int,
    implicit: bool,
    little: bool,
    ts: str,
    bulk_threshold: int,
    offsets_valid: bool,
) -> Layout:
    """Any dataset, through pydicom's element generator and ``Dataset``."""
    fp = io.BytesIO(body)
    fp.seek(start)
    raws: dict[int, RawDataElement] = {}
    try:
        for raw in data_element_generator(fp, implicit, little, defer_size=_DEFER):
            raws[int(raw.tag)] = raw
    except Exception as exc:
        raise DicomFormatError(f"unreadable DICOM dataset: {exc}") from exc

    ds = Dataset()
    ds.set_original_encoding(implicit, little)
    bulk_items: dict[int, tuple[str, RawDataElement]] = {}
    positions: dict[int, tuple[int, int]] = {}
    for tag, raw in raws.items():
        if not isinstance(raw, RawDataElement):
            ds._dict[tag] = raw  # already converted (rare)
            continue
        positions[tag] = (raw.value_tell, raw.length)
        vr = raw.VR or _implicit_vr(tag)
        length = raw.length
        undefined = length == 0xFFFFFFFF
        if (
            vr in BINARY_VRS
            and (undefined or length > bulk_threshold or tag in PIXEL_TAGS)
            and (tag >> 16) != 0x0002
        ):
            bulk_items[tag] = (vr, raw)
            continue
        if raw.value is None and not undefined:
            raw = raw._replace(value=bytes(body[raw.value_tell : raw.value_tell + length]))
        if raw.VR is None and not implicit:
            raw = raw._replace(VR=vr)
        ds._dict[tag] = raw  # Dataset converts raw elements lazily on access

    # the JSON model decodes simple values straight from their bytes, and the columns are
    # read from it (asking pydicom for them would convert each element twice)
    nested: dict[str, list[int]] | None = {} if offsets_valid else None
    layout = Layout(
        _to_json_model(ds, bulk_items, ts, little, bulk_threshold, nested, body), {}, positions
    )
    for tag, (_vr, raw) in bulk_items.items():
        if raw.length == 0xFFFFFFFF:
            try:
                layout.bot, layout.fragments, end = walk_encapsulated(body, raw.value_tell)
            except ValueError as exc:
                raise DicomFormatError(
                    f"invalid encapsulated value of ({tag >> 16:04X},{tag & 0xFFFF:04X}): {exc}"
                ) from exc
            layout.bulk[tag_key(tag)] = [raw.value_tell, end - raw.value_tell]
        else:
            layout.bulk[tag_key(tag)] = [raw.value_tell, raw.length]
    layout.bulk.update(nested or {})
    return layout


_KNOWN_SYNTAXES = frozenset(
    {ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian}
    | {DeflatedExplicitVRLittleEndian}
)


def _file_meta(data: bytes) -> tuple[dict[int, str], int]:
    """The file meta information's values as text by tag, and where the dataset starts.

    The standard encodes group 2 in explicit VR little endian, which ``walk_file_meta``
    reads with ``struct``; ``_read_file_meta_info`` is kept for files that break the rule.
    """
    vr = data[136:138]
    try:
        if len(data) >= 140 and data[132:134] == b"\x02\x00" and vr.isalpha() and vr.isupper():
            return walk_file_meta(data, 132)
        fp = io.BytesIO(data)
        fp.seek(132)
        values = {
            int(elem.tag): str(elem.value or "").rstrip("\0 ") for elem in _read_file_meta_info(fp)
        }
        return values, fp.tell()
    except Exception as exc:
        raise DicomFormatError(f"unreadable DICOM file meta information: {exc}") from exc


def _implicit_vr(tag: int) -> str:
    if tag in PIXEL_TAGS:
        return {0x7FE00010: "OW", 0x7FE00008: "OF", 0x7FE00009: "OD"}[tag]
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        return "UN"
    if vr in ("OB or OW", "OW or OB"):
        return "OW"
    return vr


def _to_part10(data: bytes) -> bytes:
    """Wrap a raw dataset (no preamble/meta) into Part 10 with explicit VR little endian."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=True)
        if len(ds) == 0 or "SOPInstanceUID" not in ds:
            raise DicomFormatError("not a DICOM file (no DICM prefix and no SOPInstanceUID)")
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.get("SOPClassUID", "")
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = (
            ImplicitVRLittleEndian if ds.is_implicit_VR else ExplicitVRLittleEndian
        )
        if not ds.is_little_endian:
            meta.TransferSyntaxUID = ExplicitVRBigEndian
        ds.file_meta = meta
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
        return out.getvalue()
    except DicomFormatError:
        raise
    except Exception as exc:
        raise DicomFormatError(f"not a readable DICOM file: {exc}") from exc


# QIDO columns and the (group, element) tags they come from
_TEXT_COLUMNS = (
    ("patient_id", "00100020"),
    ("patient_name", "00100010"),
    ("patient_sex", "00100040"),
    ("study_uid", "0020000D"),
    ("accession_number", "00080050"),
    ("referring_physician_name", "00080090"),
    ("study_description", "00081030"),
    ("study_id", "00200010"),
    ("specific_character_set", "00080005"),
    ("series_uid", "0020000E"),
    ("modality", "00080060"),
    ("series_description", "0008103E"),
    ("body_part_examined", "00180015"),
    ("sop_uid", "00080018"),
    ("sop_class_uid", "00080016"),
)
_DATE_COLUMNS = (
    ("patient_birth_date", "00100030"),
    ("study_date", "00080020"),
    ("series_date", "00080021"),
    ("pps_start_date", "00400244"),
)
_TIME_COLUMNS = (
    ("study_time", "00080030"),
    ("series_time", "00080031"),
    ("pps_start_time", "00400245"),
)
_INT_COLUMNS = (
    ("series_number", "00200011"),
    ("instance_number", "00200013"),
    ("rows", "00280010"),
    ("columns", "00280011"),
    ("bits_allocated", "00280100"),
    ("bits_stored", "00280101"),
    ("high_bit", "00280102"),
    ("samples_per_pixel", "00280002"),
    ("number_of_frames", "00280008"),
)


def _text(model: dict[str, Any], key: str) -> str:
    """A top-level value of the JSON model as DICOM text (multi-values joined with ``\\``)."""
    element = model.get(key)
    values = element.get("Value") if element is not None else None
    if not values:
        return ""
    if len(values) == 1 and type(values[0]) is str:  # the common case
        return values[0].strip()
    out = []
    for v in values:
        if isinstance(v, dict):  # PN: the component groups, empty trailing groups cut
            groups = [v.get(g, "") for g in ("Alphabetic", "Ideographic", "Phonetic")]
            v = "=".join(groups).rstrip("=")
        out.append(str(v))
    return "\\".join(out).strip()


def _first_int(model: dict[str, Any], key: str) -> int | None:
    values = model.get(key, {}).get("Value")
    if not values or isinstance(values[0], dict):
        return None
    try:
        return int(values[0])
    except (TypeError, ValueError):
        return None


def _fill_columns(rec: InstanceRecord, model: dict[str, Any]) -> None:
    # absent attributes keep the record's defaults ("" and None): most of the 31 are absent
    for name, key in _TEXT_COLUMNS:
        if key in model:
            setattr(rec, name, _text(model, key))
    for name, key in _DATE_COLUMNS:
        if key in model:
            setattr(rec, name, _da(_text(model, key)))
    for name, key in _TIME_COLUMNS:
        if key in model:
            setattr(rec, name, _tm(_text(model, key)))
    for name, key in _INT_COLUMNS:
        if key in model:
            setattr(rec, name, _first_int(model, key))


def _frame_table(rec: InstanceRecord, layout: Layout, photometric: str) -> str | None:
    """Frame byte ranges, JSON-encoded.

    ``{"native": [offset, frame_length, count]}`` or ``{"frames": [[[off, len], ...], ...]}``
    (one list of fragment ranges per frame); ``None`` when the frames cannot be located.
    """
    pixel_tag = next((t for t in PIXEL_TAGS if t in layout.positions), None)
    if pixel_tag is None:
        return None
    value_offset, length = layout.positions[pixel_tag]
    fragments = layout.fragments
    nframes = rec.number_of_frames or 1
    if length != 0xFFFFFFFF:
        rows, cols, bits = rec.rows or 0, rec.columns or 0, rec.bits_allocated or 0
        spp = rec.samples_per_pixel or 1
        frame_bits = rows * cols * spp * bits
        if not frame_bits or (frame_bits % 8 and nframes > 1):
            return None
        frame_len = (frame_bits + 7) // 8
        if photometric == "YBR_FULL_422" and spp == 3:
            frame_len = frame_len * 2 // 3  # two chroma samples shared by each pixel pair
        if frame_len * nframes > length:
            raise DicomFormatError(
                f"Pixel Data holds {length} bytes but Rows x Columns x SamplesPerPixel x "
                f"BitsAllocated x NumberOfFrames ({rows} x {cols} x {spp} x {bits} x {nframes}) "
                f"needs {frame_len * nframes}"
            )
        return dumps({"native": [value_offset, frame_len, nframes]})
    if not fragments:
        return None
    frames: list[list[tuple[int, int]]] | None
    if nframes == 1:
        frames = [fragments]
    else:
        frames = None
        starts = _extended_offsets(rec.data, layout) or layout.bot
        if starts and len(starts) == nframes:
            base = fragments[0][0] - 8  # offsets count from the first fragment's item tag
            by_start: list[list[tuple[int, int]]] = []
            for off, length in fragments:
                rel = off - 8 - base
                if rel in starts:
                    by_start.append([])
                if not by_start:
                    by_start = [[]]
                by_start[-1].append((off, length))
            if len(by_start) == nframes:
                frames = by_start
        if frames is None and len(fragments) == nframes:
            frames = [[f] for f in fragments]
        if frames is None:
            frames = _group_by_markers(rec.data, fragments)
            if len(frames) != nframes:
                return None
    return dumps({"frames": frames})


def _extended_offsets(data: bytes, layout: Layout) -> list[int]:
    """The Extended Offset Table (7FE0,0001), read from the file whatever its size."""
    offset, length = layout.positions.get(0x7FE00001, (0, 0))
    if not length or length == 0xFFFFFFFF or length % 8:
        return []
    return list(struct.unpack_from(f"<{length // 8}Q", data, offset))


def _group_by_markers(buf: bytes, fragments: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Group fragments into frames at JPEG SOI / JPEG 2000 SOC markers."""
    frames: list[list[tuple[int, int]]] = []
    for off, length in fragments:
        head = buf[off : off + 4]
        starts = (
            head[:3] == b"\xff\xd8\xff" or head[:4] == b"\xff\x4f\xff\x51" or head[4:8] == b"jP  "
        )
        if starts or not frames:
            frames.append([])
        frames[-1].append((off, length))
    return frames


@dataclass
class _JsonCtx:
    little: bool
    codec: str | None
    threshold: int
    bulk: dict[str, list[int]] | None  # nested bulk ranges; None: offsets invalid -> inline
    body: bytes  # to check pydicom's nested offsets, which are wrong two items deep


def _to_json_model(
    ds: Dataset,
    bulk_items: dict[int, tuple[str, RawDataElement]],
    ts: str,
    little: bool,
    threshold: int,
    nested_bulk: dict[str, list[int]] | None,
    body: bytes,
) -> dict[str, Any]:
    """The instance's DICOM JSON model (PS3.18 F.2), keys sorted."""
    charset_raw = ds._dict.get(0x00080005)
    charset = ""
    if charset_raw is not None:
        cv = getattr(charset_raw, "value", b"") or b""
        charset = (cv.decode("ascii", "replace") if isinstance(cv, bytes) else str(cv)).strip("\0 ")
    ctx = _JsonCtx(little, SIMPLE_CHARSETS.get(charset), threshold, nested_bulk, body)
    out = _elements_json(ds, "", ctx, bulk_items)
    if "00083002" not in out:
        out["00083002"] = {"vr": "UI", "Value": [ts]}  # AvailableTransferSyntaxUID
    return dict(sorted(out.items()))


def _elements_json(
    ds: Dataset,
    prefix: str,
    ctx: _JsonCtx,
    bulk_items: dict[int, tuple[str, RawDataElement]] | None = None,
) -> dict[str, Any]:
    """JSON model of a dataset or sequence item; ``prefix`` is the tag path (``"54000100/1/"``)."""
    out: dict[str, Any] = {}
    for tag in sorted(set(ds._dict) | set(bulk_items or ())):
        tag = int(tag)
        if (tag & 0xFFFF) == 0 or (tag >> 16) == 0x0002:
            continue  # group lengths and file meta are not part of the JSON model
        key = f"{tag:08X}"
        path = prefix + key
        if bulk_items and tag in bulk_items:
            out[key] = {"vr": bulk_items[tag][0], "BulkDataURI": f"bulkdata/{path}"}
            continue
        raw = ds._dict[tag]
        is_raw = isinstance(raw, RawDataElement)
        explicit_or_public = not (tag >> 16) & 1 or (is_raw and raw.VR is not None)
        if explicit_or_public and (not is_raw or raw.value is not None):
            vr = (raw.VR or _implicit_vr(tag)) if is_raw else raw.VR
            if vr == "UN" and (tag >> 16) & 1 and 0x10 <= (tag & 0xFFFF) <= 0xFF:
                vr = "LO"  # private creator element sent as UN
            if not is_raw and vr != "SQ":
                pass  # already converted by pydicom: use its JSON below
            elif vr == "SQ":
                try:
                    seq = ds[tag].value
                    out[key] = {
                        "vr": "SQ",
                        "Value": [
                            _elements_json(item, f"{path}/{i}/", ctx)
                            for i, item in enumerate(seq, start=1)
                        ],
                    }
                    continue
                except Exception as exc:
                    log.debug("sequence %s not walked (%s); pydicom converts it", path, exc)
            elif vr == "UN" and _implicit_vr(tag) != "UN":
                pass  # a known attribute sent as UN: pydicom restores its real VR below
            elif (
                prefix
                and vr in BINARY_VRS
                and ctx.bulk is not None
                and raw.length != 0xFFFFFFFF
                and raw.length > ctx.threshold
                and raw.value_tell is not None
                and ctx.body[raw.value_tell : raw.value_tell + raw.length] == raw.value
            ):
                ctx.bulk[path] = [raw.value_tell, raw.length]
                out[key] = {"vr": vr, "BulkDataURI": f"bulkdata/{path}"}
                continue
            elif vr not in ("US or SS", "OB or OW", "US or OW", "US or SS or OW"):
                fast = value_json(vr, raw.value, ctx.little, ctx.codec)
                if fast is not None:
                    out[key] = fast
                    continue
        try:
            elem = ds[tag]
            elem = correct_ambiguous_vr_element(elem, ds, ctx.little)
            if elem.VR in ("US or SS", "OB or OW", "US or OW", "US or SS or OW"):
                elem.VR = "US" if elem.VR.startswith("US") else "OW"
            out[key] = elem.to_json_dict(None, 1 << 62)
        except Exception as exc:  # keep the instance; expose the raw bytes instead
            raw = ds._dict.get(tag)
            value = getattr(raw, "value", b"") or b""
            if not isinstance(value, bytes):
                value = b""
            log.debug("element %s not convertible to JSON (%s); kept as UN", path, exc)
            out[key] = (
                {"vr": "UN", "InlineBinary": base64.b64encode(value).decode("ascii")}
                if value
                else {"vr": "UN"}
            )
    return out
