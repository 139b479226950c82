"""Model files: STL/OBJ/PLY/VTK round trips, LPS<->RAS, files written by other tools, errors."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from voxweb.io import ModelFormatError, UnsupportedFileTypeError
from voxweb.io import models as mio
from voxweb.scene import Model


def tetra() -> Model:
    v = np.array([[0, 0, 0], [10, 0, 0], [0, 20, 0], [0, 0, 30]], dtype=float) + [1.5, -2, 3]
    f = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    return Model(v, f, name="tet")


def canonical(vertices: np.ndarray, faces: np.ndarray) -> set[tuple]:
    """Faces as sets of corner coordinates: independent of vertex order (STL re-welds)."""
    return {
        tuple(sorted(tuple(np.round(vertices[i], 5)) for i in face)) for face in np.asarray(faces)
    }


@pytest.mark.parametrize("ext", [".stl", ".obj", ".ply", ".vtk"])
@pytest.mark.parametrize("system", ["LPS", "RAS"])
def test_roundtrip(tmp_path, ext, system):
    m = tetra()
    path = tmp_path / f"tet{ext}"
    mio.write_model(m, path, system)
    back = mio.read_model(path, system)
    assert back.name == "tet" and back.faces.shape == (4, 3)
    assert canonical(back.vertices, back.faces) == canonical(m.vertices, m.faces)


def test_vtk_header_space_wins_over_default(tmp_path):
    mio.write_model(tetra(), tmp_path / "r.vtk", "RAS")
    assert b"SPACE=RAS" in (tmp_path / "r.vtk").read_bytes()
    np.testing.assert_allclose(mio.read_model(tmp_path / "r.vtk").vertices, tetra().vertices)


def test_lps_file_is_flipped(tmp_path):
    (tmp_path / "p.obj").write_text("v 1 2 3\nv 4 5 6\nv 7 8 9\nf 1 2 3\n")
    m = mio.read_model(tmp_path / "p.obj")  # STL/OBJ/PLY default to LPS like Slicer
    np.testing.assert_allclose(m.vertices[0], [-1, -2, 3])


def test_obj_polygons_and_slashes(tmp_path):
    (tmp_path / "q.obj").write_text(
        "# quad\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvn 0 0 1\nf 1//1 2//1 3//1 -1//1\n"
    )
    m = mio.read_model(tmp_path / "q.obj", "RAS")
    np.testing.assert_array_equal(m.faces, [[0, 1, 2], [0, 2, 3]])


def test_ascii_stl_and_ply(tmp_path):
    (tmp_path / "a.stl").write_text(
        "solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\n"
        "endloop\nendfacet\nendsolid t\n"
    )
    assert mio.read_model(tmp_path / "a.stl").faces.shape == (1, 3)
    (tmp_path / "a.ply").write_text(
        "ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\n"
        "property float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n"
        "0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n"
    )
    assert mio.read_model(tmp_path / "a.ply", "RAS").faces.tolist() == [[0, 1, 2], [0, 2, 3]]


def test_binary_vtk_and_51_layout(tmp_path):
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=">f4")
    data = (
        b"# vtk DataFile Version 3.0\nbinary SPACE=RAS\nBINARY\nDATASET POLYDATA\nPOINTS 3 float\n"
        + pts.tobytes()
        + b"\nPOLYGONS 1 4\n"
        + np.array([3, 0, 1, 2], dtype=">i4").tobytes()
        + b"\n"
    )
    (tmp_path / "b.vtk").write_bytes(data)
    m = mio.read_model(tmp_path / "b.vtk")
    np.testing.assert_allclose(m.vertices, pts.astype(float))
    np.testing.assert_array_equal(m.faces, [[0, 1, 2]])
    (tmp_path / "n.vtk").write_text(
        "# vtk DataFile Version 5.1\nvtk output\nASCII\nDATASET POLYDATA\nPOINTS 3 float\n"
        "0 0 0 1 0 0\n0 1 0\nPOLYGONS 2 3\nOFFSETS vtktypeint64\n0 3\n"
        "CONNECTIVITY vtktypeint64\n0 1 2\n"
    )
    assert mio.read_model(tmp_path / "n.vtk").faces.tolist() == [[0, 1, 2]]


def test_errors(tmp_path):
    with pytest.raises(UnsupportedFileTypeError, match=".vtp"):
        mio.read_model(tmp_path / "x.vtp")
    (tmp_path / "bad.stl").write_bytes(b"\x00" * 10)
    with pytest.raises(ModelFormatError, match="neither binary STL"):
        mio.read_model(tmp_path / "bad.stl")
    (tmp_path / "bad.vtk").write_text("hello")
    with pytest.raises(ModelFormatError, match="not a legacy VTK"):
        mio.read_model(tmp_path / "bad.vtk")
    (tmp_path / "grid.vtk").write_text(
        "# vtk DataFile Version 3.0\nx\nASCII\nDATASET STRUCTURED_POINTS\n"
    )
    with pytest.raises(ModelFormatError, match="POLYDATA"):
        mio.read_model(tmp_path / "grid.vtk")
    (tmp_path / "oob.obj").write_text("v 0 0 0\nf 1 2 3\n")
    with pytest.raises(ModelFormatError, match="outside"):
        mio.read_model(tmp_path / "oob.obj")
    with pytest.raises(ModelFormatError, match="not LPS or RAS"):
        mio.read_model(tmp_path / "oob.obj", "XYZ")


def test_binary_stl_count(tmp_path):
    mio.write_model(tetra(), tmp_path / "t.stl")
    data = (tmp_path / "t.stl").read_bytes()
    assert struct.unpack_from("<I", data, 80)[0] == 4 and len(data) == 84 + 50 * 4
