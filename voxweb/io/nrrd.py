"""NRRD files <-> volume and displacement-field nodes, plus Slicer's exact ``/slicer/volume`` layout.

Reads attached (raw/gzip/bzip2/ascii) and detached (``.nhdr``) NRRD from a path or from bytes,
tolerating CRLF header lines, in LPS, RAS or LAS space and every integer/float voxel type.
Geometry is converted to RAS here, at the io boundary; the voxel dtype is kept (only the byte
order becomes native). Writers produce general NRRD through pynrrd, or the byte layout Slicer's
WebServer sends, as a header plus a buffer the caller streams. No HTTP, no scene bookkeeping.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping
from typing import Any

import nrrd as pynrrd
import numpy as np

from voxweb.io.errors import VolumeFormatError
from voxweb.io.limits import (
    DEFAULT_MAX_VOLUME_SIZE,
    check_declared_size,
    confined_path,
    inflate_into,
    read_exactly,
    remaining_bytes,
)
from voxweb.io.naming import node_name_from
from voxweb.scene.nodes import GridTransform, LabelMapVolume, ScalarVolume

Source = str | os.PathLike | bytes | bytearray | memoryview

#: Accepted values of the NRRD ``space`` field -> sign flips that take the space to RAS.
_SPACE_TO_RAS_SIGNS: dict[str, tuple[float, float, float]] = {
    "right-anterior-superior": (1.0, 1.0, 1.0),
    "ras": (1.0, 1.0, 1.0),
    "left-posterior-superior": (-1.0, -1.0, 1.0),
    "lps": (-1.0, -1.0, 1.0),
    "left-anterior-superior": (-1.0, 1.0, 1.0),
    "las": (-1.0, 1.0, 1.0),
}

#: numpy dtype name -> NRRD type name (teem's canonical spelling).
NRRD_TYPE_NAMES: dict[str, str] = {
    "int8": "signed char",
    "uint8": "unsigned char",
    "int16": "short",
    "uint16": "unsigned short",
    "int32": "int",
    "uint32": "unsigned int",
    "int64": "long long int",
    "uint64": "unsigned long long int",
    "float32": "float",
    "float64": "double",
}

_NRRD_MAGIC_COMMENT = (
    b"# Complete NRRD file format specification at:\n"
    b"# http://teem.sourceforge.net/nrrd/format.html\n"
)
_DOMAIN_KINDS = {"domain", "space", "time"}


def nrrd_type_name(dtype: np.dtype | type | str) -> str:
    """NRRD's name for a voxel dtype (``int16`` -> ``short``); bool is written as unsigned char."""
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return "unsigned char"
    try:
        return NRRD_TYPE_NAMES[dt.name]
    except KeyError:
        raise VolumeFormatError(f"voxel type {dt.name} cannot be stored in NRRD") from None


# ----------------------------------------------------------------------------- reading


def _describe(source: Source) -> str:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "NRRD data"
    return f"NRRD file {os.fspath(source)!r}"


def _open(source: Source) -> tuple[io.BufferedIOBase, str | None]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source)), None
    path = os.fspath(source)
    try:
        return open(path, "rb"), path  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise VolumeFormatError(f"cannot open {path!r}: {exc.strerror or exc}") from exc


_MAX_HEADER_LINES = 10_000
_MAX_LISTED_FILES = 1_000_000
_COMPRESSED = ("gzip", "gz", "bzip2", "bz2")
_TEXT = ("ascii", "text", "txt")


def _read_header_lines(fh: io.BufferedIOBase, what: str) -> tuple[list[bytes], list[str]]:
    """The header's field lines, and the file names after ``data file: LIST`` (if any).

    Gives clear messages for the common ways a header is broken (pynrrd's are terse) and
    leaves ``fh`` at the first data byte.
    """
    first = fh.readline(64)
    if not first.startswith(b"NRRD"):
        raise VolumeFormatError(
            f"{what} is not NRRD: it starts with {first[:16]!r} instead of 'NRRD000x'"
        )
    lines = [first]
    listed: list[str] | None = None
    for _ in range(_MAX_HEADER_LINES + _MAX_LISTED_FILES):
        raw = fh.readline(1 << 16)
        line = raw.rstrip(b"\r\n").rstrip()
        if listed is not None:  # after 'data file: LIST' every line names a file, to the end
            if not raw:
                return lines, listed
            if line:
                listed.append(line.decode("utf-8", "replace"))
            continue
        if not raw:
            raise VolumeFormatError(f"{what} header never ends (no empty line before the data)")
        if len(lines) > _MAX_HEADER_LINES:
            raise VolumeFormatError(f"{what} header has more than {_MAX_HEADER_LINES} lines")
        if not line:
            return lines, []
        if line.startswith(b"#"):
            continue
        if b":" not in line:
            text = line[:60].decode("ascii", "replace")
            raise VolumeFormatError(
                f"{what} header line {text!r} has no ':' (expected 'key: value')"
            )
        lines.append(raw)
        key, _, value = line.partition(b":")
        is_data_file = key.strip().lower() in (b"data file", b"datafile")
        if is_data_file and value.lstrip(b"=").split()[:1] == [b"LIST"]:
            listed = []
    raise VolumeFormatError(f"{what} lists more than {_MAX_LISTED_FILES} data files")


def _validate_header(header: Mapping[str, Any], what: str) -> None:
    for key in ("type", "dimension", "sizes", "encoding"):
        if key not in header:
            raise VolumeFormatError(f"{what} header has no '{key}' field")
    sizes = list(header["sizes"])
    dim = int(header["dimension"])
    if len(sizes) != dim:
        raise VolumeFormatError(f"NRRD 'sizes' has {len(sizes)} values, 'dimension' says {dim}")
    if any(int(s) < 1 for s in sizes):
        raise VolumeFormatError(f"NRRD 'sizes' must be positive, got {' '.join(map(str, sizes))}")
    dtype = _dtype(header, what)
    encoding = str(header["encoding"]).lower()
    if dtype.itemsize > 1 and encoding not in _TEXT and "endian" not in header:
        raise VolumeFormatError(
            f"{what} header has no 'endian' field, required for type '{header['type']}'"
        )
    if encoding not in ("raw", *_COMPRESSED, *_TEXT):
        raise VolumeFormatError(
            f"{what}: encoding '{header['encoding']}' is not supported "
            "(use raw, gzip, bzip2 or ascii)"
        )
    if "space directions" in header:
        directions = np.asarray(header["space directions"], dtype=float)
        if directions.shape[0] != dim:
            raise VolumeFormatError(
                f"NRRD 'space directions' has {directions.shape[0]} vectors, 'dimension' says {dim}"
                + (" (a vector axis needs 'none' first)" if directions.shape[0] == dim - 1 else "")
            )


def _dtype(header: Mapping[str, Any], what: str) -> np.dtype:
    try:
        return pynrrd.reader._determine_datatype(header)  # type: ignore[attr-defined]
    except Exception as exc:
        if "endian" in str(exc):
            raise VolumeFormatError(
                f"{what} header has no 'endian' field, required for type '{header['type']}'"
            ) from exc
        raise VolumeFormatError(f"{what}: {exc}") from exc


def _declared_bytes(header: Mapping[str, Any], what: str, max_bytes: int | None) -> int:
    """Bytes of voxel data the header declares, refused above ``max_bytes``."""
    count = 1
    for s in header["sizes"]:
        count *= int(s)  # Python ints: no overflow for absurd sizes
    declared = count * _dtype(header, what).itemsize
    check_declared_size(declared, max_bytes, what)
    return declared


def read_nrrd(
    source: Source, max_bytes: int | None = DEFAULT_MAX_VOLUME_SIZE
) -> tuple[np.ndarray, dict[str, Any]]:
    """Read any NRRD into (array in C order, i.e. slowest axis first, parsed header).

    The array has native byte order and the file's dtype. Raises VolumeFormatError, also when
    the header declares more than ``max_bytes`` of voxel data (checked before anything is
    allocated; None: no limit) or a detached data file outside the header's folder. Raw data
    in a bytes-like source is used in place (no copy): pass a ``bytearray`` to get a
    writable array.
    """
    what = _describe(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        fast = _read_raw_in_place(source, what, max_bytes)
        if fast is not None:
            return fast
    fh, filename = _open(source)
    try:
        header, listed = _read_header(fh, what)
        declared = _declared_bytes(header, what, max_bytes)
        names = _data_file_names(header, listed, what)
        if names and filename is None:
            raise VolumeFormatError(
                f"{what} has a detached header ('data file'); load it from a file path instead"
            )
        folder = os.path.dirname(os.path.abspath(filename)) if filename else ""
        paths = [confined_path(folder, name, what) for name in names]
        raw = np.empty(declared, dtype=np.uint8)  # pages are only touched as data arrives
        buffer = memoryview(raw)
        if not paths:
            _read_piece(fh, header, buffer, what)
        else:
            per_file = declared // len(paths)
            for n, path in enumerate(paths):
                with open(path, "rb") as part:
                    _read_piece(part, header, buffer[n * per_file : (n + 1) * per_file], what)
    except OSError as exc:
        raise VolumeFormatError(
            f"{what}: cannot read the voxel data: {exc.strerror or exc}"
        ) from exc
    finally:
        fh.close()
    sizes = [int(s) for s in header["sizes"]]
    data = raw.view(_dtype(header, what)).reshape(sizes[::-1])
    if data.dtype.byteorder not in ("=", "|"):
        data = data.astype(data.dtype.newbyteorder("="))
    return data, dict(header)


def _data_file_names(header: Mapping[str, Any], listed: list[str], what: str) -> list[str]:
    """The detached data files a header names, in order (empty: the data is attached).

    Handles the three forms of NRRD's ``data file``: one name; ``LIST [subdim]`` with the names
    on the lines after the header; and ``<format> <min> <max> <step> [subdim]`` with a
    printf-style ``%d`` in the format. Each file holds one slab of the first ``subdim`` axes,
    so the number of files is fixed by ``sizes`` and checked before any name is made.
    """
    spec = header.get("data file", header.get("datafile"))
    if spec is None:
        return []
    text = str(spec).strip()
    parts = text.split()
    if parts and parts[0] == "LIST":
        extra = parts[1:]
    elif len(parts) in (4, 5) and "%" in parts[0]:
        extra = parts[4:]
    else:
        return [text]  # one file, whose name may contain spaces
    dim = int(header["dimension"])
    sizes = [int(s) for s in header["sizes"]]
    try:
        subdim = int(extra[0]) if extra else dim - 1
    except ValueError:
        raise VolumeFormatError(
            f"{what}: 'data file' subdimension {extra[0]!r} is not a number"
        ) from None
    if not 1 <= subdim <= dim:
        raise VolumeFormatError(f"{what}: 'data file' subdimension must be 1..{dim}, not {subdim}")
    expected = 1
    for s in sizes[subdim:]:
        expected *= s
    if expected > _MAX_LISTED_FILES:
        raise VolumeFormatError(f"{what} needs {expected} data files; at most {_MAX_LISTED_FILES}")
    names = listed if parts[0] == "LIST" else _printf_names(parts, expected, what)
    if len(names) != expected:
        raise VolumeFormatError(
            f"{what} names {len(names)} data files; 'sizes' and a subdimension of {subdim} "
            f"need {expected}"
        )
    return names


_PRINTF = re.compile(r"[^%]*%0?\d{0,2}d[^%]*")


def _printf_names(parts: list[str], expected: int, what: str) -> list[str]:
    fmt = parts[0]
    if not _PRINTF.fullmatch(fmt):
        raise VolumeFormatError(
            f"{what}: 'data file' format {fmt!r} must hold exactly one %d (width up to 99)"
        )
    try:
        first, last, step = (int(p) for p in parts[1:4])
    except ValueError:
        raise VolumeFormatError(f"{what}: 'data file' needs integer <min> <max> <step>") from None
    if step == 0 or (last - first) * step < 0:
        raise VolumeFormatError(
            f"{what}: 'data file' range {first}..{last} step {step} is empty or endless"
        )
    count = (last - first) // step + 1
    if count != expected:
        raise VolumeFormatError(
            f"{what} names {count} data files ({first}..{last} step {step}); 'sizes' needs "
            f"{expected}"
        )
    return [fmt % i for i in range(first, last + (1 if step > 0 else -1), step)]


def _read_header(fh: io.BufferedIOBase, what: str) -> tuple[dict[str, Any], list[str]]:
    lines, listed = _read_header_lines(fh, what)
    try:
        header = pynrrd.read_header(lines)
    except Exception as exc:
        raise VolumeFormatError(f"{what} has an invalid header: {exc}") from exc
    _validate_header(header, what)
    return header, listed


def _skip_lines(fh: io.BufferedIOBase, count: int, what: str) -> None:
    for _ in range(count):
        while True:
            raw = fh.readline(1 << 16)
            if not raw:
                raise VolumeFormatError(f"{what}: 'line skip: {count}' runs past the end")
            if raw.endswith(b"\n"):
                break


def _read_piece(
    fh: io.BufferedIOBase, header: Mapping[str, Any], out: memoryview, what: str
) -> None:
    """Fill ``out`` with one file's (or the attached) voxel bytes: skips, then the encoding."""
    encoding = str(header["encoding"]).lower()
    line_skip = int(header.get("line skip", header.get("lineskip", 0)))
    byte_skip = int(header.get("byte skip", header.get("byteskip", 0)))
    if line_skip < 0 or byte_skip < -1:
        raise VolumeFormatError(f"{what}: 'line skip' and 'byte skip' cannot be negative")
    if byte_skip == -1 and encoding != "raw":
        raise VolumeFormatError(f"{what}: 'byte skip: -1' is only allowed with raw encoding")
    _skip_lines(fh, line_skip, what)
    if encoding in _COMPRESSED:
        inflate_into(fh.read, encoding, out, what, skip=byte_skip)
        return
    if byte_skip == -1:
        if remaining_bytes(fh) < len(out):
            raise VolumeFormatError(
                _size_mismatch(header, what, f"fewer than {len(out)} data bytes")
            )
        fh.seek(-len(out), os.SEEK_END)
    elif byte_skip:
        fh.seek(byte_skip, os.SEEK_CUR)
    if encoding in _TEXT:
        _read_text(fh, header, out, what)
        return
    got = read_exactly(fh, out)
    extra = 0 if byte_skip == -1 else remaining_bytes(fh)
    if got != len(out) or extra:
        detail = f"{got + extra} data bytes, {len(out)} expected"
        raise VolumeFormatError(_size_mismatch(header, what, detail))


def _read_text(
    fh: io.BufferedIOBase, header: Mapping[str, Any], out: memoryview, what: str
) -> None:
    dtype = _dtype(header, what)
    count = len(out) // dtype.itemsize
    available = remaining_bytes(fh)
    if available < 2 * count - 1:  # a digit per value and a space between values, at least
        raise VolumeFormatError(
            _size_mismatch(header, what, f"{available} bytes of text cannot hold {count} values")
        )
    text = fh.read()
    values = np.fromstring(text, dtype=dtype, count=count, sep=" ")  # noqa: NPY201
    if values.size != count:
        detail = f"{values.size} values read, {count} expected"
        raise VolumeFormatError(_size_mismatch(header, what, detail))
    np.frombuffer(out, dtype=dtype)[:] = values


def _size_mismatch(header: Mapping[str, Any], what: str, detail: str) -> str:
    sizes = " ".join(str(int(s)) for s in header["sizes"])
    expected = int(np.prod([int(s) for s in header["sizes"]]))
    return (
        f"{what}: the data does not match the header: 'sizes: {sizes}' of type "
        f"'{header['type']}' needs {expected} values ({detail})"
    )


_HEADER_END = re.compile(rb"\r?\n\r?\n")


def _read_raw_in_place(
    source: bytes | bytearray | memoryview, what: str, max_bytes: int | None
) -> tuple[np.ndarray, dict] | None:
    """Attached raw data: parse the header, then view the voxels where they lie.

    Returns None for anything else (gzip, ascii, skips), which the general reader handles.
    """
    buffer = memoryview(source).cast("B")
    end = _HEADER_END.search(buffer[: 1 << 20].tobytes())
    if end is None:
        return None
    header, _ = _read_header(io.BytesIO(buffer[: end.end()].tobytes()), what)
    if str(header["encoding"]).lower() != "raw" or any(
        key in header for key in ("data file", "datafile", "line skip", "byte skip")
    ):
        return None
    dtype = _dtype(header, what)
    sizes = [int(s) for s in header["sizes"]]
    declared = _declared_bytes(header, what, max_bytes)
    available = len(buffer) - end.end()
    if available != declared:
        detail = f"{available} data bytes, {declared} expected"
        raise VolumeFormatError(_size_mismatch(header, what, detail))
    count = declared // dtype.itemsize
    data = np.frombuffer(buffer, dtype=dtype, count=count, offset=end.end()).reshape(sizes[::-1])
    if data.dtype.byteorder not in ("=", "|"):
        data = data.astype(data.dtype.newbyteorder("="))
    return data, dict(header)


def _space_signs(header: Mapping[str, Any], what: str) -> np.ndarray:
    space = header.get("space")
    if space is None:
        return np.array(_SPACE_TO_RAS_SIGNS["lps"])  # ITK/Slicer assume LPS
    key = str(space).strip().lower()
    if key not in _SPACE_TO_RAS_SIGNS:
        raise VolumeFormatError(
            f"{what}: space '{space}' is not supported (use left-posterior-superior, "
            "right-anterior-superior or left-anterior-superior)"
        )
    return np.array(_SPACE_TO_RAS_SIGNS[key])


def _vector_axis(header: Mapping[str, Any]) -> int | None:
    """Index (in file order) of the non-spatial axis of a 4-D NRRD, or None for 3-D."""
    dim = int(header["dimension"])
    if dim == 3:
        return None
    kinds = header.get("kinds")
    if kinds:
        others = [i for i, k in enumerate(kinds) if str(k).lower() not in _DOMAIN_KINDS]
        if len(others) == 1:
            return others[0]
    if "space directions" in header:
        d = np.asarray(header["space directions"], dtype=float)
        nan_rows = [i for i in range(d.shape[0]) if np.all(np.isnan(d[i]))]
        if len(nan_rows) == 1:
            return nan_rows[0]
    return 0


def ijk_to_ras_from_header(header: Mapping[str, Any], what: str = "NRRD data") -> np.ndarray:
    """The 4x4 IJK->RAS matrix of the three spatial axes of a NRRD header."""
    signs = _space_signs(header, what)
    dim = int(header["dimension"])
    vec = _vector_axis(header)
    spatial = [a for a in range(dim) if a != vec]
    if len(spatial) != 3:
        raise VolumeFormatError(f"{what} has {len(spatial)} spatial axes; 3 are needed")
    m = np.eye(4)
    if "space directions" in header:
        d = np.asarray(header["space directions"], dtype=float)
        cols = d[spatial]
        if np.any(np.isnan(cols)):
            raise VolumeFormatError(f"{what}: a spatial axis has 'none' as its space direction")
        if cols.shape[1] != 3:
            raise VolumeFormatError(f"{what}: space directions must have 3 components")
        m[:3, :3] = cols.T
    elif "spacings" in header:
        sp = np.asarray(header["spacings"], dtype=float)[spatial]
        sp[np.isnan(sp)] = 1.0
        m[:3, :3] = np.diag(sp)
    if "space origin" in header:
        origin = np.asarray(header["space origin"], dtype=float).reshape(-1)
        if origin.size != 3 or np.any(np.isnan(origin)):
            raise VolumeFormatError(f"{what}: 'space origin' must be 3 numbers")
        m[:3, 3] = origin
    flip = np.diag([*signs, 1.0])
    return flip @ m


def read_volume(
    source: Source,
    labelmap: bool = False,
    name: str | None = None,
    max_bytes: int | None = DEFAULT_MAX_VOLUME_SIZE,
) -> ScalarVolume:
    """Read a 3-D NRRD into a ScalarVolume (or LabelMapVolume with ``labelmap``), geometry in RAS.

    ``max_bytes``: the most voxel data the file may declare (see ``read_nrrd``).
    """
    what = _describe(source)
    data, header = read_nrrd(source, max_bytes)
    if data.ndim == 4:
        vec = _vector_axis(header)
        if vec is not None and int(header["sizes"][vec]) == 1:
            data = np.ascontiguousarray(np.take(data, 0, axis=3 - vec))
    if data.ndim != 3:
        sizes = " ".join(str(int(s)) for s in header["sizes"])
        hint = " (a displacement field? load it as a transform)" if data.ndim == 4 else ""
        raise VolumeFormatError(
            f"{what} has {data.ndim} dimensions (sizes {sizes}); a scalar volume needs 3{hint}"
        )
    if data.dtype.kind not in "iufb":
        raise VolumeFormatError(f"{what}: voxel type {data.dtype} is not supported")
    ijk_to_ras = ijk_to_ras_from_header(header, what)
    node_name = name or node_name_from(source, "Volume")
    if labelmap:
        return LabelMapVolume(data, ijk_to_ras, name=node_name)
    return ScalarVolume(data, ijk_to_ras, name=node_name)


def displacement_from_nrrd(
    data: np.ndarray, header: Mapping[str, Any], what: str = "NRRD data"
) -> tuple[np.ndarray, np.ndarray]:
    """(displacement (k, j, i, 3) in RAS, IJK->RAS) from a 4-D vector NRRD already read."""
    if data.ndim != 4:
        raise VolumeFormatError(
            f"{what} has {data.ndim} dimensions; a displacement field needs 4 (vector + 3 spatial)"
        )
    vec = _vector_axis(header)
    assert vec is not None
    # file axis a is numpy axis (ndim - 1 - a) with index_order C
    field = np.moveaxis(data, 3 - vec, 3)
    if field.shape[3] != 3:
        raise VolumeFormatError(
            f"{what}: the vector axis has {field.shape[3]} components; a displacement field needs 3"
        )
    signs = _space_signs(header, what)
    vectors = np.array(field, copy=True)
    if "measurement frame" in header:
        frame = np.asarray(header["measurement frame"], dtype=float).T  # NRRD lists columns
        if frame.shape == (3, 3) and not np.allclose(frame, np.eye(3)):
            vectors = (vectors.astype(np.float64) @ frame.T).astype(field.dtype)
    for axis in range(3):
        if signs[axis] < 0:
            vectors[..., axis] *= -1
    return np.ascontiguousarray(vectors), ijk_to_ras_from_header(header, what)


def read_displacement_field(
    source: Source, name: str | None = None, max_bytes: int | None = DEFAULT_MAX_VOLUME_SIZE
) -> GridTransform:
    """Read a 4-D vector NRRD (ITK displacement field, LPS vectors) into a GridTransform."""
    what = _describe(source)
    data, header = read_nrrd(source, max_bytes)
    vectors, ijk_to_ras = displacement_from_nrrd(data, header, what)
    return GridTransform(vectors, ijk_to_ras, name=name or node_name_from(source, "GridTransform"))


# ----------------------------------------------------------------------------- writing


def lps_geometry_fields(ijk_to_ras: np.ndarray, vector_axis: bool = False) -> dict[str, Any]:
    """``space``, ``space directions`` and ``space origin`` (LPS) for a pynrrd header."""
    m = np.asarray(ijk_to_ras, dtype=float)
    flip = np.array([-1.0, -1.0, 1.0])
    dirs = [list(m[:3, c] * flip) for c in range(3)]
    if vector_axis:
        dirs = [[np.nan, np.nan, np.nan], *dirs]
    return {
        "space": "left-posterior-superior",
        "space directions": np.array(dirs, dtype=float),
        "space origin": m[:3, 3] * flip,
    }


def write_nrrd(
    path: str | os.PathLike | None,
    data: np.ndarray,
    header: dict[str, Any],
    compress: bool = True,
    detached: bool = False,
) -> bytes | None:
    """Write a C-order array with a pynrrd header to ``path`` (or return bytes when path is None)."""
    header = dict(header)
    header["encoding"] = "gzip" if compress else "raw"
    arr = np.ascontiguousarray(data)
    if arr.dtype == np.bool_:
        arr = arr.view(np.uint8)
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    nrrd_type_name(arr.dtype)  # clear error for unsupported dtypes
    try:
        if path is None:
            buf = io.BytesIO()
            pynrrd.write(buf, arr, header, index_order="C", compression_level=1)
            return buf.getvalue()
        target = os.fspath(path)
        if target.lower().endswith(".nhdr"):
            detached = True
        pynrrd.write(
            target, arr, header, detached_header=detached, index_order="C", compression_level=1
        )
    except OSError as exc:
        raise VolumeFormatError(
            f"cannot write NRRD {os.fspath(path)!r}: {exc.strerror or exc}"
        ) from exc
    except pynrrd.NRRDError as exc:
        raise VolumeFormatError(f"cannot write NRRD: {exc}") from exc
    return None


def write_volume(
    node: ScalarVolume,
    path: str | os.PathLike | None = None,
    compress: bool = True,
    detached: bool = False,
) -> bytes | None:
    """Write a volume as NRRD (LPS, true dtype); returns the bytes when ``path`` is None."""
    header: dict[str, Any] = {"kinds": ["domain", "domain", "domain"], "endian": "little"}
    header.update(lps_geometry_fields(node.ijk_to_ras))
    return write_nrrd(path, node.array, header, compress, detached)


def write_displacement_field(
    node: GridTransform,
    path: str | os.PathLike | None = None,
    compress: bool = True,
    detached: bool = False,
) -> bytes | None:
    """Write a grid transform as an ITK-style 4-D NRRD (vector first, LPS vectors)."""
    header: dict[str, Any] = {
        "kinds": ["vector", "domain", "domain", "domain"],
        "endian": "little",
    }
    header.update(lps_geometry_fields(node.ijk_to_ras, vector_axis=True))
    vectors = np.array(node.displacement, copy=True)
    vectors[..., 0] *= -1
    vectors[..., 1] *= -1
    return write_nrrd(path, vectors, header, compress, detached)


# ----------------------------------------------------------------------------- Slicer layouts


def _f(value: float) -> str:
    """Python ``str(float)``: the shortest round-trip form, keeping ``-0.0``."""
    return str(float(value))


def _vec(values: Any) -> str:
    return "(" + ",".join(_f(v) for v in values) + ")"


def _little_endian_bytes(array: np.ndarray) -> memoryview:
    arr = np.ascontiguousarray(array)
    if arr.dtype == np.bool_:
        arr = arr.view(np.uint8)
    if arr.dtype.byteorder == ">" or (arr.dtype.byteorder == "=" and not _LITTLE):
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    return memoryview(arr.reshape(-1)).cast("B")


_LITTLE = np.little_endian


def _slicer_layout_header(
    dtype: np.dtype, ijk_to_ras: np.ndarray, sizes: str, vector: bool
) -> bytes:
    """The header layout of Slicer's /volume and /gridTransform replies (LPS, raw, little)."""
    m = np.asarray(ijk_to_ras, dtype=float)
    directions = " ".join(_vec((-m[0, c], -m[1, c], m[2, c])) for c in range(3))
    lines = [
        "NRRD0004",
        "# Complete NRRD file format specification at:",
        "# http://teem.sourceforge.net/nrrd/format.html",
        f"type: {nrrd_type_name(dtype)}",
        f"dimension: {4 if vector else 3}",
        "space: left-posterior-superior",
        f"sizes: {sizes}",
        f"space directions: {'none ' if vector else ''}{directions}",
        f"kinds: {'vector ' if vector else ''}domain domain domain",
        "endian: little",
        "encoding: raw",
        f"space origin: {_vec((-m[0, 3], -m[1, 3], m[2, 3]))}",
        "",
        "",
    ]
    return "\n".join(lines).encode("ascii")


def slicer_volume_header(node: ScalarVolume) -> bytes:
    """The NRRD header Slicer's ``GET /slicer/volume`` sends (spec §4.8), with the true type.

    Slicer itself writes only ``short`` or ``double`` (casting everything else); this keeps the
    dtype, so for int16/float64 volumes the header is byte-identical to Slicer's.
    """
    k, j, i = node.array.shape
    return _slicer_layout_header(node.array.dtype, node.ijk_to_ras, f"{i} {j} {k}", vector=False)


def slicer_volume_payload(node: ScalarVolume) -> tuple[bytes, memoryview]:
    """(header, voxel bytes) for ``GET /slicer/volume``; send the two back to back.

    The voxel buffer is a zero-copy little-endian view when possible (i fastest).
    """
    return slicer_volume_header(node), _little_endian_bytes(node.array)


def slicer_grid_transform_header(node: GridTransform) -> bytes:
    """Header for ``GET /slicer/gridTransform`` (spec §4.9), fixed to be valid NRRD.

    Differences from Slicer (deliberate): ``space directions`` starts with ``none`` for the
    vector axis, the full direction matrix is written, and ``type`` is the real dtype.
    """
    k, j, i, _ = node.displacement.shape
    return _slicer_layout_header(
        node.displacement.dtype, node.ijk_to_ras, f"3 {i} {j} {k}", vector=True
    )


def slicer_grid_transform_payload(node: GridTransform) -> tuple[bytes, memoryview]:
    """(header, displacement bytes in LPS, component fastest) for ``GET /slicer/gridTransform``."""
    vectors = np.array(node.displacement, copy=True)
    vectors[..., 0] *= -1
    vectors[..., 1] *= -1
    return slicer_grid_transform_header(node), _little_endian_bytes(vectors)


def is_nrrd_path(path: str | os.PathLike) -> bool:
    return bool(re.search(r"\.(nrrd|nhdr)$", os.fspath(path), re.IGNORECASE))


__all__ = [
    "NRRD_TYPE_NAMES",
    "displacement_from_nrrd",
    "ijk_to_ras_from_header",
    "is_nrrd_path",
    "lps_geometry_fields",
    "nrrd_type_name",
    "read_displacement_field",
    "read_nrrd",
    "read_volume",
    "slicer_grid_transform_header",
    "slicer_grid_transform_payload",
    "slicer_volume_header",
    "slicer_volume_payload",
    "write_displacement_field",
    "write_nrrd",
    "write_volume",
]
