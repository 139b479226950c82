"""Surface model files <-> Model nodes: STL, OBJ, PLY and legacy VTK polydata (``.vtk``).

Triangle meshes only: polygons are fan-triangulated, triangle strips are unrolled, lines and
vertices are ignored. Slicer writes models in LPS since 4.11 (``SPACE=LPS`` in VTK headers,
nothing in STL/OBJ/PLY), so files are read as LPS unless they say RAS or the caller passes
``coordinate_system="RAS"``; points are flipped to RAS at this boundary. XML ``.vtp`` is not
supported yet. No HTTP.
"""

from __future__ import annotations

import os
import re
import struct

import numpy as np

from voxweb.io.errors import ModelFormatError, UnsupportedFileTypeError
from voxweb.io.naming import file_extension, node_name_from
from voxweb.scene.nodes import Model

MODEL_EXTENSIONS = (".stl", ".obj", ".ply", ".vtk")


def _flip(points: np.ndarray) -> np.ndarray:
    out = np.array(points, dtype=float, copy=True).reshape(-1, 3)
    out[:, :2] *= -1
    return out


def _is_lps(system: str | None, default_lps: bool = True) -> bool:
    if system is None or str(system).strip() == "":
        return default_lps
    text = str(system).strip().upper()
    if text in ("LPS", "1"):
        return True
    if text in ("RAS", "0"):
        return False
    raise ModelFormatError(f"coordinate system {system!r} is not LPS or RAS")


def _fan(polygons: list[list[int]]) -> np.ndarray:
    tris = [(p[0], p[i], p[i + 1]) for p in polygons for i in range(1, len(p) - 1)]
    return np.array(tris, dtype=np.int64).reshape(-1, 3)


def _check_faces(faces: np.ndarray, n_points: int, what: str) -> None:
    if faces.size and (faces.min() < 0 or faces.max() >= n_points):
        raise ModelFormatError(f"{what}: a face refers to a point index outside 0..{n_points - 1}")


# ----------------------------------------------------------------------------- STL


def _read_stl(data: bytes, what: str) -> tuple[np.ndarray, np.ndarray]:
    if len(data) >= 84:
        (count,) = struct.unpack_from("<I", data, 80)
        if len(data) == 84 + 50 * count:
            rec = np.frombuffer(
                data,
                dtype=np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")]),
                count=count,
                offset=84,
            )
            corners = rec["v"].reshape(-1, 3).astype(float)
            return _weld(corners)
    text = data.decode("ascii", "replace")
    if not text.lstrip().startswith("solid"):
        raise ModelFormatError(f"{what} is neither binary STL nor ASCII STL ('solid ...')")
    values = re.findall(r"vertex\s+(\S+)\s+(\S+)\s+(\S+)", text)
    try:
        corners = np.array(values, dtype=float).reshape(-1, 3)
    except ValueError as exc:
        raise ModelFormatError(f"{what}: a vertex is not numeric: {exc}") from exc
    if len(corners) % 3:
        raise ModelFormatError(f"{what}: facets must have 3 vertices each")
    return _weld(corners)


def _weld(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share identical corner points (STL stores every triangle's corners separately)."""
    if not len(corners):
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    points, inverse = np.unique(corners, axis=0, return_inverse=True)
    return points, inverse.reshape(-1, 3).astype(np.int64)


def _write_stl(path: str, points: np.ndarray, faces: np.ndarray, space: str) -> None:
    tri = points[faces].astype(np.float32)
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    lengths = np.linalg.norm(normals, axis=1, keepdims=True)
    lengths[lengths == 0] = 1
    rec = np.zeros(len(faces), dtype=[("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")])
    rec["n"] = normals / lengths
    rec["v"] = tri
    with open(path, "wb") as fh:
        fh.write(f"voxweb STL SPACE={space}".encode().ljust(80, b" "))
        fh.write(struct.pack("<I", len(faces)))
        fh.write(rec.tobytes())


# ----------------------------------------------------------------------------- OBJ


def _read_obj(data: bytes, what: str) -> tuple[np.ndarray, np.ndarray]:
    points: list[list[float]] = []
    polygons: list[list[int]] = []
    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        parts = raw.split()
        if not parts:
            continue
        try:
            if parts[0] == "v":
                points.append([float(v) for v in parts[1:4]])
            elif parts[0] == "f":
                idx = []
                for token in parts[1:]:
                    i = int(token.split("/")[0])
                    idx.append(i - 1 if i > 0 else len(points) + i)
                polygons.append(idx)
        except ValueError as exc:
            raise ModelFormatError(f"{what} line {number}: {exc}") from exc
    return np.array(points, dtype=float).reshape(-1, 3), _fan(polygons)


def _write_obj(path: str, points: np.ndarray, faces: np.ndarray, space: str) -> None:
    with open(path, "w", encoding="ascii") as fh:
        fh.write(f"# voxweb OBJ SPACE={space}\n")
        for p in points:
            fh.write(f"v {float(p[0])!r} {float(p[1])!r} {float(p[2])!r}\n")
        for f in faces + 1:
            fh.write(f"f {f[0]} {f[1]} {f[2]}\n")


# ----------------------------------------------------------------------------- PLY

_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
    "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}  # fmt: skip


def _read_ply(data: bytes, what: str) -> tuple[np.ndarray, np.ndarray]:
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise ModelFormatError(f"{what} is not a PLY file (no 'ply' ... 'end_header')")
    body_start = data.index(b"\n", end) + 1
    fmt = None
    elements: list[tuple[str, int, list[tuple[str, str, str | None]]]] = []
    try:
        for line in data[:end].decode("ascii", "replace").splitlines()[1:]:
            parts = line.split()
            if not parts or parts[0] in ("comment", "obj_info"):
                continue
            if parts[0] == "format":
                fmt = parts[1]
            elif parts[0] == "element":
                elements.append((parts[1], int(parts[2]), []))
            elif parts[0] == "property" and elements:
                if parts[1] == "list":
                    elements[-1][2].append((parts[4], parts[3], parts[2]))
                else:
                    elements[-1][2].append((parts[2], parts[1], None))
    except (ValueError, IndexError) as exc:
        raise ModelFormatError(f"{what}: malformed PLY header line: {exc}") from exc
    if fmt not in ("ascii", "binary_little_endian", "binary_big_endian"):
        raise ModelFormatError(f"{what}: PLY format {fmt!r} is not supported")
    _check_ply_counts(elements, fmt, len(data) - body_start, what)
    try:
        if fmt == "ascii":
            return _ply_ascii(data[body_start:], elements)
        return _ply_binary(
            data, body_start, elements, "<" if fmt.endswith("little_endian") else ">"
        )
    except (KeyError, ValueError, IndexError) as exc:
        raise ModelFormatError(f"{what}: cannot read PLY data: {exc}") from exc


def _check_ply_counts(elements, fmt: str, available: int, what: str) -> None:
    """Refuse element counts the body cannot hold, before a row is read or allocated.

    A binary row takes at least the size of its scalars and list counts; a text row a
    character per value, with a separator between values.
    """
    minimum = 0
    for name, count, props in elements:
        if count < 0:
            raise ModelFormatError(f"{what}: PLY element '{name}' has a negative count")
        names = {p[0] for p in props}
        if count and name == "vertex" and not {"x", "y", "z"} <= names:
            raise ModelFormatError(f"{what}: PLY vertex element has no x, y and z properties")
        if count and name == "face" and not any(p[2] for p in props):
            raise ModelFormatError(f"{what}: PLY face element has no list of vertex indices")
        if fmt == "ascii":
            minimum += 2 * count * len(props)
        else:
            types = [p[2] or p[1] for p in props]
            minimum += count * sum(np.dtype(_PLY_TYPES.get(t, "u1")).itemsize for t in types)
    if minimum - 1 > available:
        declared = ", ".join(f"{count} {name}" for name, count, _ in elements)
        raise ModelFormatError(
            f"{what}: the PLY header declares {declared} elements, at least {minimum - 1} "
            f"bytes of data, but only {available} bytes follow the header"
        )


def _ply_ascii(body: bytes, elements) -> tuple[np.ndarray, np.ndarray]:
    tokens = body.split()
    pos = 0
    points = np.zeros((0, 3))
    polygons: list[list[int]] = []
    for name, count, props in elements:
        if not props:
            continue  # rows without properties hold nothing to read
        rows = []
        for _ in range(count):
            row: dict[str, object] = {}
            for pname, _ptype, list_count in props:
                if list_count is not None:
                    n = int(tokens[pos])
                    row[pname] = [int(t) for t in tokens[pos + 1 : pos + 1 + n]]
                    pos += 1 + n
                else:
                    row[pname] = float(tokens[pos])
                    pos += 1
            rows.append(row)
        if name == "vertex":
            points = np.array([[r["x"], r["y"], r["z"]] for r in rows], dtype=float).reshape(-1, 3)
        elif name == "face":
            key = next(p[0] for p in props if p[2] is not None)
            polygons = [list(r[key]) for r in rows]  # type: ignore[call-overload]
    return points, _fan(polygons)


def _ply_binary(data: bytes, offset: int, elements, order: str) -> tuple[np.ndarray, np.ndarray]:
    points = np.zeros((0, 3))
    polygons: list[list[int]] = []
    faces = np.zeros((0, 3), np.int64)
    for name, count, props in elements:
        if all(p[2] is None for p in props):
            dt = np.dtype([(p[0], order + _PLY_TYPES[p[1]]) for p in props])
            rec = np.frombuffer(data, dtype=dt, count=count, offset=offset)
            offset += dt.itemsize * count
            if name == "vertex":
                points = np.stack([rec["x"], rec["y"], rec["z"]], axis=1).astype(float)
            continue
        # elements with lists: fast path for "one list of triangles", else a loop
        if len(props) == 1 and count:
            pname, itype, ctype = props[0]
            dt = np.dtype([("n", order + _PLY_TYPES[ctype]), ("i", order + _PLY_TYPES[itype], 3)])
            rec = np.frombuffer(data, dtype=dt, count=count, offset=offset)
            if np.all(rec["n"] == 3):
                offset += dt.itemsize * count
                if name == "face":
                    faces = rec["i"].astype(np.int64)
                continue
        rows = []
        for _ in range(count):
            row = {}
            for pname, ptype, ctype in props:
                if ctype is None:
                    dt1 = np.dtype(order + _PLY_TYPES[ptype])
                    row[pname] = np.frombuffer(data, dt1, 1, offset)[0]
                    offset += dt1.itemsize
                else:
                    cdt = np.dtype(order + _PLY_TYPES[ctype])
                    n = int(np.frombuffer(data, cdt, 1, offset)[0])
                    offset += cdt.itemsize
                    idt = np.dtype(order + _PLY_TYPES[ptype])
                    row[pname] = np.frombuffer(data, idt, n, offset).tolist()
                    offset += idt.itemsize * n
            rows.append(row)
        if name == "face":
            key = next(p[0] for p in props if p[2] is not None)
            polygons = [r[key] for r in rows]
            faces = _fan(polygons)
    return points, faces


def _write_ply(path: str, points: np.ndarray, faces: np.ndarray, space: str) -> None:
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"comment voxweb SPACE={space}\n"
        f"element vertex {len(points)}\nproperty float x\nproperty float y\nproperty float z\n"
        f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    rec = np.zeros(len(faces), dtype=[("n", "u1"), ("i", "<i4", 3)])
    rec["n"] = 3
    rec["i"] = faces
    with open(path, "wb") as fh:
        fh.write(header.encode("ascii"))
        fh.write(points.astype("<f4").tobytes())
        fh.write(rec.tobytes())


# ----------------------------------------------------------------------------- legacy VTK

_VTK_TYPES = {
    "float": "f4", "double": "f8", "int": "i4", "unsigned_int": "u4", "long": "i8",
    "unsigned_long": "u8", "short": "i2", "unsigned_short": "u2", "char": "i1",
    "unsigned_char": "u1", "vtktypeint64": "i8", "vtktypeint32": "i4",
}  # fmt: skip


class _VtkReader:
    def __init__(self, data: bytes, binary: bool, pos: int) -> None:
        self.data, self.binary, self.pos = data, binary, pos

    def line(self) -> str:
        while self.pos < len(self.data):
            end = self.data.find(b"\n", self.pos)
            end = len(self.data) if end < 0 else end
            text = self.data[self.pos : end].decode("ascii", "replace").strip()
            self.pos = end + 1
            if text:
                return text
        return ""

    def array(self, count: int, vtk_type: str) -> np.ndarray:
        code = _VTK_TYPES.get(vtk_type.lower())
        if code is None:
            raise ModelFormatError(f"VTK data type {vtk_type!r} is not supported")
        left = len(self.data) - self.pos
        # binary values take their size; text a character each and a separator between
        needed = count * np.dtype(code).itemsize if self.binary else 2 * count - 1
        if count < 0 or needed > left:
            raise ModelFormatError(
                f"VTK file declares {count} values but only {max(left, 0)} bytes follow"
            )
        if self.binary:
            dt = np.dtype(">" + code)
            out = np.frombuffer(self.data, dt, count, self.pos).astype(dt.newbyteorder("="))
            self.pos += dt.itemsize * count
            return out
        values: list[bytes] = []
        while len(values) < count:
            end = self.data.find(b"\n", self.pos)
            end = len(self.data) if end < 0 else end
            if self.pos >= len(self.data):
                raise ModelFormatError("VTK file ends in the middle of an array")
            values += self.data[self.pos : end].split()
            self.pos = end + 1
        return np.array(values[:count], dtype=code)


def _read_vtk(data: bytes, what: str, lps_default: bool) -> tuple[np.ndarray, np.ndarray, bool]:
    if not data.startswith(b"# vtk DataFile"):
        raise ModelFormatError(f"{what} is not a legacy VTK file ('# vtk DataFile Version ...')")
    r = _VtkReader(data, False, 0)
    r.line()
    title = r.line()
    lps = lps_default
    if "SPACE=RAS" in title.upper():
        lps = False
    elif "SPACE=LPS" in title.upper():
        lps = True
    mode = r.line().upper()
    if mode not in ("ASCII", "BINARY"):
        raise ModelFormatError(f"{what}: expected ASCII or BINARY, got {mode!r}")
    r.binary = mode == "BINARY"
    dataset = r.line().split()
    if dataset[:2] != ["DATASET", "POLYDATA"]:
        raise ModelFormatError(
            f"{what}: only 'DATASET POLYDATA' is supported, got {' '.join(dataset)!r}"
        )
    points = np.zeros((0, 3))
    faces: list[np.ndarray] = []
    while True:
        header = r.line()
        if not header:
            break
        parts = header.split()
        key = parts[0].upper()
        try:
            if key == "POINTS":
                points = r.array(int(parts[1]) * 3, parts[2]).astype(float).reshape(-1, 3)
            elif key in ("POLYGONS", "TRIANGLE_STRIPS", "LINES", "VERTICES"):
                polys = _read_cells(r, int(parts[1]), int(parts[2]))
                if key == "POLYGONS":
                    faces.append(_fan(polys))
                elif key == "TRIANGLE_STRIPS":
                    tris = [
                        (s[i], s[i + 1], s[i + 2]) if i % 2 == 0 else (s[i + 1], s[i], s[i + 2])
                        for s in polys
                        for i in range(len(s) - 2)
                    ]
                    faces.append(np.array(tris, dtype=np.int64).reshape(-1, 3))
            elif key in ("POINT_DATA", "CELL_DATA", "FIELD", "METADATA"):
                break  # attributes are not needed
        except (ValueError, IndexError) as exc:
            raise ModelFormatError(f"{what}: cannot read section {header!r}: {exc}") from exc
    all_faces = np.concatenate(faces) if faces else np.zeros((0, 3), np.int64)
    return points, all_faces, lps


def _read_cells(r: _VtkReader, n: int, size: int) -> list[list[int]]:
    saved = r.pos
    nxt = r.line()
    if nxt.upper().startswith("OFFSETS"):  # VTK 5.1 layout: offsets + connectivity
        offsets = r.array(n, nxt.split()[1]).astype(np.int64)
        conn_header = r.line().split()
        conn = r.array(size, conn_header[1]).astype(np.int64)
        return [conn[offsets[i] : offsets[i + 1]].tolist() for i in range(n - 1)]
    r.pos = saved
    flat = r.array(size, "int").astype(np.int64)
    cells, pos = [], 0
    for _ in range(n):
        count = int(flat[pos])
        cells.append(flat[pos + 1 : pos + 1 + count].tolist())
        pos += 1 + count
    return cells


def _write_vtk(path: str, points: np.ndarray, faces: np.ndarray, space: str) -> None:
    with open(path, "w", encoding="ascii") as fh:
        fh.write(f"# vtk DataFile Version 4.2\nvtk output SPACE={space}\nASCII\nDATASET POLYDATA\n")
        fh.write(f"POINTS {len(points)} double\n")
        for p in points:
            fh.write(f"{float(p[0])!r} {float(p[1])!r} {float(p[2])!r}\n")
        fh.write(f"POLYGONS {len(faces)} {4 * len(faces)}\n")
        for f in faces:
            fh.write(f"3 {f[0]} {f[1]} {f[2]}\n")


# ----------------------------------------------------------------------------- public


def read_model(
    path: str | os.PathLike, coordinate_system: str | None = None, name: str | None = None
) -> Model:
    """Read ``.stl``/``.obj``/``.ply``/``.vtk`` into a Model (RAS; LPS files are flipped)."""
    target = os.fspath(path)
    ext = file_extension(target)
    if ext not in MODEL_EXTENSIONS:
        raise UnsupportedFileTypeError(
            f"model files with extension {ext or '(none)'!r} are not supported yet; "
            "use .vtk, .stl, .obj or .ply"
        )
    try:
        with open(target, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ModelFormatError(f"cannot open model file {target!r}: {exc.strerror or exc}") from exc
    what = f"model file {target!r}"
    lps = _is_lps(coordinate_system)
    if ext == ".stl":
        points, faces = _read_stl(data, what)
    elif ext == ".obj":
        points, faces = _read_obj(data, what)
    elif ext == ".ply":
        points, faces = _read_ply(data, what)
    else:
        points, faces, lps = _read_vtk(data, what, lps)
        if coordinate_system:
            lps = _is_lps(coordinate_system)
    _check_faces(faces, len(points), what)
    vertices = _flip(points) if lps else np.asarray(points, dtype=float)
    return Model(vertices, faces, name=name or node_name_from(target, "Model"))


def write_model(node: Model, path: str | os.PathLike, coordinate_system: str = "LPS") -> None:
    """Write a Model as ``.stl`` (binary), ``.obj``, ``.ply`` (binary) or ``.vtk`` (ASCII)."""
    target = os.fspath(path)
    ext = file_extension(target)
    lps = _is_lps(coordinate_system)
    points = _flip(node.vertices) if lps else np.asarray(node.vertices, dtype=float)
    faces = np.asarray(node.faces, dtype=np.int64).reshape(-1, 3)
    writers = {".stl": _write_stl, ".obj": _write_obj, ".ply": _write_ply, ".vtk": _write_vtk}
    if ext not in writers:
        raise UnsupportedFileTypeError(
            f"models can be saved as .vtk, .stl, .obj or .ply, not {ext or '(none)'!r}"
        )
    try:
        writers[ext](target, points, faces, "LPS" if lps else "RAS")
    except OSError as exc:
        raise ModelFormatError(f"cannot write {target!r}: {exc.strerror or exc}") from exc
