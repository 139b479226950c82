"""NRRD reading/writing: dtypes, spaces, encodings, detached headers, CRLF, errors, Slicer layout."""

from __future__ import annotations

import gzip
import io

import nrrd as pynrrd
import numpy as np
import pytest

from tests.io.helpers import DTYPES, oblique_matrix, ramp
from voxweb.io import VolumeFormatError
from voxweb.io import nrrd as nrrd_io
from voxweb.scene import GridTransform, LabelMapVolume, ScalarVolume

SPEC_HEADER = (
    b"NRRD0004\n"
    b"# Complete NRRD file format specification at:\n"
    b"# http://teem.sourceforge.net/nrrd/format.html\n"
    b"type: short\n"
    b"dimension: 3\n"
    b"space: left-posterior-superior\n"
    b"sizes: 5 4 3\n"
    b"space directions: (0.9375,-0.0,0.0) (-0.0,0.9375,0.0) (-0.0,-0.0,1.3)\n"
    b"kinds: domain domain domain\n"
    b"endian: little\n"
    b"encoding: raw\n"
    b"space origin: (-0.0,-0.0,0.0)\n"
    b"\n"
)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("compress", [True, False])
def test_roundtrip_every_dtype(tmp_path, dtype, compress):
    a = ramp(dtype)
    m = oblique_matrix()
    path = tmp_path / "v.nrrd"
    nrrd_io.write_volume(ScalarVolume(a, m), path, compress=compress)
    header = pynrrd.read_header(str(path))
    assert header["encoding"] == ("gzip" if compress else "raw")
    v = nrrd_io.read_volume(path)
    assert v.array.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(v.array, a)
    np.testing.assert_allclose(v.ijk_to_ras, m, rtol=0, atol=1e-12)
    assert v.name == "v"


def test_bytes_roundtrip_and_labelmap():
    a = ramp("uint8")
    data = nrrd_io.write_volume(ScalarVolume(a, oblique_matrix()))
    assert isinstance(data, bytes) and data.startswith(b"NRRD")
    v = nrrd_io.read_volume(data, labelmap=True, name="seg")
    assert isinstance(v, LabelMapVolume) and v.name == "seg"
    np.testing.assert_array_equal(v.array, a)


def _header(space: str, directions: str, origin: str, extra: str = "", typ: str = "short",
            sizes: str = "4 3 2", encoding: str = "raw", eol: str = "\n") -> bytes:  # fmt: skip
    lines = ["NRRD0004", f"type: {typ}", "dimension: 3", f"space: {space}", f"sizes: {sizes}",
             f"space directions: {directions}", "kinds: domain domain domain", "endian: little",
             f"encoding: {encoding}", f"space origin: {origin}"]  # fmt: skip
    if extra:
        lines.append(extra)
    return (eol.join(lines) + eol + eol).encode()


@pytest.mark.parametrize(
    "space,expected_origin",
    [
        ("left-posterior-superior", [-1, -2, 3]),
        ("LPS", [-1, -2, 3]),
        ("right-anterior-superior", [1, 2, 3]),
        ("RAS", [1, 2, 3]),
        ("left-anterior-superior", [-1, 2, 3]),
    ],
)
def test_spaces(space, expected_origin):
    a = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    data = _header(space, "(2,0,0) (0,3,0) (0,0,4)", "(1,2,3)") + a.tobytes()
    v = nrrd_io.read_volume(data)
    np.testing.assert_allclose(v.origin, expected_origin)
    sign = np.sign(expected_origin)
    np.testing.assert_allclose(v.ijk_to_ras[:3, :3], np.diag([2, 3, 4]) * sign[:, None])
    np.testing.assert_array_equal(v.array, a)


def test_crlf_header():
    a = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    data = _header("LPS", "(1,0,0) (0,1,0) (0,0,1)", "(0,0,0)", eol="\r\n") + a.tobytes()
    np.testing.assert_array_equal(nrrd_io.read_volume(data).array, a)


def test_gzip_attached_written_by_hand():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    data = _header("RAS", "(1,0,0) (0,1,0) (0,0,1)", "(0,0,0)", typ="float", encoding="gzip")
    v = nrrd_io.read_volume(data + gzip.compress(a.tobytes()))
    np.testing.assert_array_equal(v.array, a)
    assert v.array.dtype == np.float32


def test_big_endian_file_values_kept():
    a = np.arange(24, dtype=">u2").reshape(2, 3, 4)
    data = _header("RAS", "(1,0,0) (0,1,0) (0,0,1)", "(0,0,0)", typ="ushort").replace(
        b"endian: little", b"endian: big"
    )
    v = nrrd_io.read_volume(data + a.tobytes())
    assert v.array.dtype == np.uint16 and v.array.dtype.isnative
    np.testing.assert_array_equal(v.array, a)


@pytest.mark.parametrize("compress", [True, False])
def test_detached_header(tmp_path, compress):
    a = ramp("int16")
    m = oblique_matrix()
    path = tmp_path / "d.nhdr"
    nrrd_io.write_volume(ScalarVolume(a, m), path, compress=compress)
    assert path.read_bytes().count(b"data file") == 1
    v = nrrd_io.read_volume(path)
    np.testing.assert_array_equal(v.array, a)
    np.testing.assert_allclose(v.ijk_to_ras, m, atol=1e-12)
    with pytest.raises(VolumeFormatError, match="detached header"):
        nrrd_io.read_volume(path.read_bytes())


def test_no_space_uses_spacings_as_lps():
    a = np.zeros((2, 3, 4), np.uint8)
    data = b"NRRD0004\ntype: uchar\ndimension: 3\nsizes: 4 3 2\nspacings: 2 3 4\nencoding: raw\n\n"
    v = nrrd_io.read_volume(data + a.tobytes())
    np.testing.assert_allclose(np.diag(v.ijk_to_ras)[:3], [-2, -3, 4])


@pytest.mark.parametrize(
    "data,message",
    [
        (b"GIF89a....", "is not NRRD"),
        (b"", "is not NRRD"),
        (
            b"NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3\nencoding: raw\nendian: little\n\n",
            "NRRD 'sizes' has 2 values, 'dimension' says 3",
        ),
        (b"NRRD0004\ndimension: 3\nsizes: 4 3 2\nencoding: raw\n\n", "no 'type' field"),
        (b"NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nencoding: raw\n\n", "'endian'"),
        (b"NRRD0004\ntype: short\nthis is garbage\n\n", "has no ':'"),
        (b"NRRD0004\ntype: short\ndimension: 3\n", "never ends"),
        (
            b"NRRD0004\ntype: quaternion\ndimension: 3\nsizes: 1 1 1\nencoding: raw\n\n",
            "quaternion",
        ),
        (
            b"NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nendian: little\nencoding: raw\n"
            b"space: left-posterior-superior\nspace directions: (1,0,0) (0,1,0)\n\n",
            "'space directions' has 2 vectors",
        ),
        (
            b"NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nendian: little\nencoding: raw\n"
            b"space: scanner-xyz\n\n" + bytes(48),
            "space 'scanner-xyz' is not supported",
        ),
    ],
)
def test_bad_inputs(data, message):
    with pytest.raises(VolumeFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        nrrd_io.read_volume(data)


def test_short_data_is_reported():
    data = _header("LPS", "(1,0,0) (0,1,0) (0,0,1)", "(0,0,0)") + bytes(10)
    with pytest.raises(VolumeFormatError, match="does not match the header.*sizes: 4 3 2"):
        nrrd_io.read_volume(data)


def test_missing_file():
    with pytest.raises(VolumeFormatError, match="cannot open"):
        nrrd_io.read_volume("/nonexistent/x.nrrd")


def test_4d_as_volume_hints_transform():
    g = GridTransform(np.zeros((2, 3, 4, 3), np.float32))
    data = nrrd_io.write_displacement_field(g)
    with pytest.raises(VolumeFormatError, match="displacement field"):
        nrrd_io.read_volume(data)


# ------------------------------------------------------------------ Slicer's /slicer/volume layout


def test_slicer_volume_header_matches_spec_example():
    a = np.arange(60, dtype=np.int16).reshape(3, 4, 5)
    v = ScalarVolume(a, np.diag([-0.9375, -0.9375, 1.3, 1.0]))
    header, payload = nrrd_io.slicer_volume_payload(v)
    assert header == SPEC_HEADER
    assert bytes(payload) == a.tobytes()
    # pynrrd reads what we write identically
    v2 = nrrd_io.read_volume(header + bytes(payload))
    np.testing.assert_array_equal(v2.array, a)
    np.testing.assert_allclose(v2.ijk_to_ras, v.ijk_to_ras)
    fh = io.BytesIO(header + bytes(payload))
    hdr = pynrrd.read_header(fh)
    np.testing.assert_array_equal(pynrrd.read_data(hdr, fh, index_order="C"), a)
    assert hdr["space"] == "left-posterior-superior"


def test_slicer_volume_header_numbers_and_types():
    m = oblique_matrix()
    for dtype, name in [("uint8", "unsigned char"), ("float64", "double"), ("uint16", "unsigned short"),
                        ("int32", "int"), ("float32", "float"), ("int8", "signed char")]:  # fmt: skip
        header = nrrd_io.slicer_volume_header(ScalarVolume(np.zeros((1, 2, 3), dtype), m))
        assert f"\ntype: {name}\n".encode() in header
        assert b"\nsizes: 3 2 1\n" in header
    text = header.decode()
    line = next(x for x in text.splitlines() if x.startswith("space directions: "))
    assert " " not in line[len("space directions: ") :].replace(") (", ")(")
    assert str(float(-m[0, 0])) in line  # Python str(float)
    assert text.endswith("\n\n")


@pytest.mark.parametrize("dtype", DTYPES)
def test_slicer_volume_payload_readable_for_every_dtype(dtype):
    a = ramp(dtype)
    v = ScalarVolume(a, oblique_matrix())
    header, payload = nrrd_io.slicer_volume_payload(v)
    assert len(payload) == a.nbytes
    v2 = nrrd_io.read_volume(header + bytes(payload))
    assert v2.array.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(v2.array, a)
    np.testing.assert_allclose(v2.ijk_to_ras, v.ijk_to_ras, atol=1e-12)


def test_slicer_volume_payload_big_endian_array():
    a = np.arange(6, dtype=">i2").reshape(1, 2, 3)
    header, payload = nrrd_io.slicer_volume_payload(ScalarVolume(a))
    assert bytes(payload) == a.astype("<i2").tobytes()


# ------------------------------------------------------------------ displacement fields


def _field(dtype="float64"):
    rng = np.random.default_rng(1)
    return rng.normal(size=(3, 4, 5, 3)).astype(dtype)


@pytest.mark.parametrize("compress", [True, False])
def test_displacement_field_roundtrip(tmp_path, compress):
    d = _field()
    g = GridTransform(d, oblique_matrix(), name="warp")
    path = tmp_path / "warp.nrrd"
    nrrd_io.write_displacement_field(g, path, compress=compress)
    header = pynrrd.read_header(str(path))
    assert header["kinds"] == ["vector", "domain", "domain", "domain"]
    assert list(header["sizes"]) == [3, 5, 4, 3]
    g2 = nrrd_io.read_displacement_field(path)
    np.testing.assert_array_equal(g2.displacement, d)
    np.testing.assert_allclose(g2.ijk_to_ras, g.ijk_to_ras, atol=1e-12)


def test_displacement_field_lps_vectors_from_itk_style_file():
    # one voxel, displacement (1, 2, 3) in LPS -> (-1, -2, 3) in RAS
    data = (
        b"NRRD0004\ntype: double\ndimension: 4\nspace: left-posterior-superior\nsizes: 3 1 1 1\n"
        b"space directions: none (1,0,0) (0,1,0) (0,0,1)\nkinds: vector domain domain domain\n"
        b"endian: little\nencoding: raw\nspace origin: (10,20,30)\n\n"
    ) + np.array([1.0, 2.0, 3.0]).tobytes()
    g = nrrd_io.read_displacement_field(data)
    np.testing.assert_allclose(g.displacement[0, 0, 0], [-1, -2, 3])
    np.testing.assert_allclose(g.origin, [-10, -20, 30])


def test_slicer_grid_transform_layout_is_valid_nrrd():
    d = _field("float64")
    g = GridTransform(d, oblique_matrix())
    header, payload = nrrd_io.slicer_grid_transform_payload(g)
    text = header.decode()
    assert "\ntype: double\n" in text
    assert "\nsizes: 3 5 4 3\n" in text
    assert "\nspace directions: none (" in text
    assert "\nkinds: vector domain domain domain\n" in text
    g2 = nrrd_io.read_displacement_field(header + bytes(payload))
    np.testing.assert_array_equal(g2.displacement, d)
    np.testing.assert_allclose(g2.ijk_to_ras, g.ijk_to_ras, atol=1e-12)


def test_4d_with_single_list_axis_reads_as_volume():
    a = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    data = (
        b"NRRD0004\ntype: short\ndimension: 4\nspace: left-posterior-superior\nsizes: 1 4 3 2\n"
        b"space directions: none (1,0,0) (0,1,0) (0,0,1)\nkinds: list domain domain domain\n"
        b"endian: little\nencoding: raw\nspace origin: (0,0,0)\n\n"
    ) + a.tobytes()
    np.testing.assert_array_equal(nrrd_io.read_volume(bytearray(data)).array, a)
    np.testing.assert_array_equal(nrrd_io.read_volume(memoryview(data)).array, a)
