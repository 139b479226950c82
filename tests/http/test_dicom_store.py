"""Scene -> DICOM database: a volume as a series, a segmentation as DICOM SEG, over /api and exec."""

from __future__ import annotations

import io

import nrrd
import numpy as np
import pytest

from tests.support.server import VoxwebProcess
from tests.support.volumes import nrrd_header_for

JSON = {"Accept": "application/dicom+json"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with VoxwebProcess(
        tmp_path_factory.mktemp("store"), ["--auth", "none", "--enable-exec"]
    ) as proc:
        yield proc


def test_volume_round_trips_through_the_database(server):
    rng = np.random.default_rng(3)
    array = rng.integers(-500, 1500, size=(8, 16, 12), dtype=np.int16)
    matrix = np.array([[-0.8, 0, 0, 40.0], [0, -0.8, 0, 30.0], [0, 0, 2.5, -10.0], [0, 0, 0, 1]])
    out = io.BytesIO()
    nrrd.write(out, array, nrrd_header_for(matrix), index_order="C")
    server.post("/slicer/volume?id=Edited", data=out.getvalue())
    node_id = server.get("/slicer/mrml/ids?name=Edited").json()[0]

    stored = server.post(f"/api/dicom/store?id={node_id}").json()
    study, series = stored["study"], stored["series"]
    listed = server.get(f"/dicom/studies/{study}/series", headers=JSON).json()
    assert [s["0020000E"]["Value"][0] for s in listed] == [series]
    assert (
        len(server.get(f"/dicom/studies/{study}/series/{series}/instances", headers=JSON).json())
        == 8
    )

    loaded = server.post(f"/api/dicom/load?study={study}&series={series}").json()["loadedNodeIDs"][
        0
    ]
    body = server.get(f"/slicer/volume?id={loaded}").content
    header = nrrd.read_header(io.BytesIO(body))
    data = nrrd.read_data(header, io.BytesIO(body[body.index(b"\n\n") + 2 :]), index_order="C")
    np.testing.assert_array_equal(data, array)
    back = np.eye(4)
    back[:3, :3] = np.asarray(header["space directions"], dtype=float).T
    back[:3, 3] = header["space origin"]
    np.testing.assert_allclose(np.diag([-1, -1, 1, 1]) @ back, matrix, atol=1e-4)

    # A segmentation drawn on the loaded volume goes back as a SEG of that series (exec API).
    code = f"""
vol = scene.get_node_by_id({loaded!r})
seg = Segmentation(vol.array.shape, vol.ijk_to_ras, name="Lesion")
mask = np.zeros(vol.array.shape, dtype=bool)
mask[2:5, 4:9, 3:7] = True
seg.add_segment("lesion", mask)
scene.add(seg)
__execResult = dicom.store(seg, {study!r}, {series!r})
"""
    result = server.post("/slicer/exec", data=code.encode()).json()
    assert "study" in result, result
    assert result["study"] == study and result["sop"]
    modalities = {
        s["00080060"]["Value"][0]
        for s in server.get(f"/dicom/studies/{study}/series", headers=JSON).json()
    }
    assert modalities == {"MR", "SEG"}


def test_store_refusals(server):
    r = server.post("/api/dicom/store?id=vtkMRMLNoSuchNode1")
    assert r.status_code == 404 and "no node" in r.json()["message"]
    r = server.post("/api/dicom/store?id=vtkMRMLSliceNodeRed")
    assert r.status_code == 400 and "neither a volume nor a segmentation" in r.json()["message"]
    server.post("/slicer/exec", data=b"scene.add(Segmentation((2, 2, 2), name='Loose'))")
    seg_id = server.get("/slicer/mrml/ids?name=Loose").json()[0]
    r = server.post(f"/api/dicom/store?id={seg_id}")
    assert r.status_code == 400 and "give its study and series" in r.json()["message"]
