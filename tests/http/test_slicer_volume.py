"""``/slicer/volume`` and ``/slicer/volumes``: NRRD both ways, every type, exact geometry."""

from __future__ import annotations

import gzip
import io

import nrrd
import numpy as np
import pytest

from tests.support.server import VoxwebProcess
from tests.support.volumes import LPS_TO_RAS, nrrd_header_for, oblique_ijk_to_ras, ramp

DTYPES = ["uint8", "int16", "uint16", "int32", "float32", "float64"]
GEOMETRIES = {
    "identity": np.eye(4),
    "lps-axial": np.array(
        [[-0.9375, 0, 0, 120.0], [0, -0.9375, 0, 110.0], [0, 0, 1.3, -50.0], [0, 0, 0, 1]]
    ),
    "oblique": oblique_ijk_to_ras(),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with VoxwebProcess(tmp_path_factory.mktemp("volume"), []) as proc:
        yield proc


def nrrd_bytes(array, ijk_to_ras, space="left-posterior-superior", encoding="raw") -> bytes:
    buffer = io.BytesIO()
    header = {**nrrd_header_for(ijk_to_ras, space), "encoding": encoding}
    # pynrrd writes to files; go through a temporary in-memory file object.
    nrrd.write(buffer, array, header, index_order="C")
    return buffer.getvalue()


def read_nrrd(body: bytes):
    header = nrrd.read_header(io.BytesIO(body))
    data = nrrd.read_data(header, io.BytesIO(body[body.index(b"\n\n") + 2 :]), index_order="C")
    return data, header


def ijk_to_ras_from(header) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = np.asarray(header["space directions"], dtype=float).T
    m[:3, 3] = header["space origin"]
    return LPS_TO_RAS @ m  # voxweb always sends LPS, as Slicer does


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", list(GEOMETRIES))
def test_post_then_get_round_trips_voxels_type_and_geometry(server, dtype, geometry):
    array = ramp((5, 4, 3), dtype)
    matrix = GEOMETRIES[geometry]
    name = f"rt-{dtype}-{geometry}"
    r = server.post(f"/slicer/volume?id={name}", data=nrrd_bytes(array, matrix))
    assert r.status_code == 200 and r.content == b"{'status': 'success'}"
    assert r.headers["content-type"] == "application/json"
    got = server.get(f"/slicer/volume?id={name}")
    assert got.headers["content-type"] == "application/octet-stream"
    data, header = read_nrrd(got.content)
    assert data.dtype == np.dtype(dtype)  # never cast
    np.testing.assert_array_equal(data, array)
    np.testing.assert_allclose(ijk_to_ras_from(header), matrix, atol=1e-9)


@pytest.mark.parametrize("space", ["RAS", "right-anterior-superior", "LPS"])
def test_post_accepts_ras_and_short_space_names(server, space):
    matrix = GEOMETRIES["oblique"]
    array = ramp((3, 3, 3), "int16")
    server.post(f"/slicer/volume?id=space-{space}", data=nrrd_bytes(array, matrix, space))
    _, header = read_nrrd(server.get(f"/slicer/volume?id=space-{space}").content)
    np.testing.assert_allclose(ijk_to_ras_from(header), matrix, atol=1e-9)


def test_gzip_and_crlf_bodies_are_accepted(server):
    array = ramp((4, 3, 2), "float32")
    server.post("/slicer/volume?id=gz", data=nrrd_bytes(array, np.eye(4), encoding="gzip"))
    np.testing.assert_array_equal(read_nrrd(server.get("/slicer/volume?id=gz").content)[0], array)
    body = nrrd_bytes(array, np.eye(4))
    head, _, data = body.partition(b"\n\n")
    crlf = head.replace(b"\n", b"\r\n") + b"\r\n\r\n" + data
    assert server.post("/slicer/volume?id=crlf", data=crlf).status_code == 200
    np.testing.assert_array_equal(read_nrrd(server.get("/slicer/volume?id=crlf").content)[0], array)


def test_short_and_double_headers_are_byte_exact_slicer_layout(server):
    matrix = np.diag([-0.9375, -0.9375, 1.3, 1.0])
    array = ramp((2, 3, 4), "int16")
    server.post("/slicer/volume?id=exact", data=nrrd_bytes(array, matrix))
    body = server.get("/slicer/volume?id=exact").content
    expected = (
        b"NRRD0004\n# Complete NRRD file format specification at:\n"
        b"# http://teem.sourceforge.net/nrrd/format.html\ntype: short\ndimension: 3\n"
        b"space: left-posterior-superior\nsizes: 4 3 2\n"
        b"space directions: (0.9375,-0.0,0.0) (-0.0,0.9375,0.0) (-0.0,-0.0,1.3)\n"
        b"kinds: domain domain domain\nendian: little\nencoding: raw\n"
        b"space origin: (-0.0,-0.0,0.0)\n\n"
    )
    assert body[: len(expected)] == expected
    assert len(body) == len(expected) + array.size * 2


def test_post_replaces_an_existing_volume_and_makes_it_active(server):
    first = ramp((2, 2, 2), "int16")
    server.post("/slicer/volume?id=replace-me", data=nrrd_bytes(first, np.eye(4)))
    ids_before = server.get("/slicer/mrml/ids").json()
    second = ramp((3, 2, 2), "uint8")
    server.post("/slicer/volume?id=replace-me", data=nrrd_bytes(second, np.eye(4)))
    assert server.get("/slicer/mrml/ids").json() == ids_before  # same node, new data
    np.testing.assert_array_equal(
        read_nrrd(server.get("/slicer/volume?id=replace-me").content)[0], second
    )
    node_id = server.get("/slicer/mrml/ids?name=replace-me").json()[0]
    selection = server.get("/slicer/mrml/properties?id=vtkMRMLSelectionNodeSingleton").json()
    assert selection["vtkMRMLSelectionNodeSingleton"]["ActiveVolumeID"] == node_id


def test_json_reply_option(server):
    r = server.post("/slicer/volume?id=as-json&json=1", data=nrrd_bytes(ramp((2, 2, 2)), np.eye(4)))
    assert r.json()["success"] is True and r.json()["name"] == "as-json"


def test_volumes_list_has_every_volume_even_with_duplicate_names(server):
    data = nrrd_bytes(ramp((2, 2, 2)), np.eye(4))
    server.post("/slicer/volume?id=dup", data=data)
    # A second volume named "dup" through exec-free means: load a label map with that name.
    volumes = server.get("/slicer/volumes").json()
    assert {"name": "dup", "id": server.get("/slicer/mrml/ids?name=dup").json()[0]} in volumes
    assert all(set(v) == {"name", "id"} for v in volumes)


def test_docs_curl_form_without_question_mark(server):
    server.post("/slicer/volume?id=curlform", data=nrrd_bytes(ramp((2, 2, 3), "int16"), np.eye(4)))
    body = server.get("/slicer/volume&id=curlform").content
    assert read_nrrd(body)[0].shape == (2, 2, 3)


BAD_BODIES = {
    "not nrrd": b"hello world, this is not a volume",
    "wrong sizes": None,  # built below
    "missing sizes": b"NRRD0004\ntype: short\ndimension: 3\nencoding: raw\n\n" + b"\0" * 16,
    "garbage gzip": b"NRRD0004\ntype: short\ndimension: 3\nsizes: 2 2 2\nencoding: gzip\nendian: little\n\nnot gzip",
    "dimension 2": b"NRRD0004\ntype: short\ndimension: 2\nsizes: 2 2\nencoding: raw\nendian: little\n\n"
    + b"\0" * 8,
    "bad type": b"NRRD0004\ntype: quaternion\ndimension: 3\nsizes: 1 1 1\nencoding: raw\n\n\0\0",
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_bad_nrrd_is_refused_with_a_message_and_changes_nothing(server, case):
    body = BAD_BODIES[case]
    if body is None:
        good = nrrd_bytes(ramp((2, 2, 2)), np.eye(4))
        body = good[:-4]  # four bytes short
    before = server.get("/slicer/mrml/ids").json()
    r = server.post("/slicer/volume?id=bad-upload", data=body)
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/json"
    message = r.json()["message"]
    assert message.startswith("Server error: ") and len(message) > len("Server error: ") + 5
    assert server.get("/slicer/mrml/ids").json() == before


def test_get_errors(server):
    r = server.get("/slicer/volume?id=no-such-volume")
    assert r.status_code == 500
    assert (
        r.json()["message"]
        == "Server error: could not find nodes in the scene by name or id 'no-such-volume'"
    )
    r = server.get("/slicer/volume?id=vtkMRMLSliceNodeRed")
    assert r.status_code == 500 and "not a scalar or label map volume" in r.json()["message"]


def test_gzip_level_is_not_used_on_get(server):
    body = server.get("/slicer/volume?id=gz").content
    assert b"encoding: raw" in body
    with pytest.raises(OSError):
        gzip.decompress(body[body.index(b"\n\n") + 2 :])
