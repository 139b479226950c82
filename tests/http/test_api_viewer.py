"""The /api routes the viewer page uses: file upload, DICOM series loading, display changes.

``POST /api/files`` loads what it is given by the file name's extension, ``POST
/api/dicom/load`` turns a stored series into a volume, ``POST /api/display`` picks the shown
volume and the label opacity. Refusals are 4xx with a message in words.
"""

from __future__ import annotations

import gzip
import io
import json

import nibabel as nib
import nrrd
import numpy as np
import pytest

from tests.http.dicomweb_support import multipart_body, synthetic_series, uids
from tests.support.volumes import nrrd_header_for


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.support.server import VoxwebProcess

    proc = VoxwebProcess(tmp_path_factory.mktemp("api-viewer"), [])
    proc.start()
    yield proc
    proc.stop()


def volume_bytes(kind: str, array: np.ndarray, ijk_to_ras: np.ndarray) -> bytes:
    if kind == "nrrd":
        buffer = io.BytesIO()
        header = {**nrrd_header_for(ijk_to_ras), "encoding": "raw"}
        nrrd.write(buffer, array, header, index_order="C")
        return buffer.getvalue()
    image = nib.Nifti1Image(np.transpose(array, (2, 1, 0)).copy(), ijk_to_ras)
    return gzip.compress(image.to_bytes())


def properties(server, node_id: str) -> dict:
    return server.get(f"/slicer/mrml/properties?id={node_id}").json()[node_id]


@pytest.mark.parametrize(("kind", "filename"), [("nrrd", "Ramp.nrrd"), ("nifti", "Ramp2.nii.gz")])
def test_uploaded_volume_is_loaded_with_its_geometry(server, kind, filename):
    array = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    ijk_to_ras = np.array([[2.0, 0, 0, -10], [0, 1.5, 0, 4], [0, 0, 3.0, 7], [0, 0, 0, 1]])
    reply = server.post(
        f"/api/files?filename={filename}", data=volume_bytes(kind, array, ijk_to_ras)
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["success"] is True and len(body["loadedNodeIDs"]) == 1
    node = properties(server, body["loadedNodeIDs"][0])
    assert node["Name"] == filename.split(".")[0]
    np.testing.assert_allclose(node["IJKToRASMatrix"], ijk_to_ras, atol=1e-5)
    assert node["ImageData"]["Dimensions"] == [6, 5, 4]
    # It became the active volume, shown in the slice views.
    selection = properties(server, "vtkMRMLSelectionNodeSingleton")
    assert selection["ActiveVolumeID"] == body["loadedNodeIDs"][0]


def test_uploaded_points_become_a_fiducial_list(server):
    doc = {
        "markups": [
            {
                "type": "Fiducial",
                "coordinateSystem": "RAS",
                "controlPoints": [{"label": "P", "position": [1, 2, 3]}],
            }
        ]
    }
    reply = server.post("/api/files?filename=Points.mrk.json", data=json.dumps(doc))
    assert reply.status_code == 200, reply.text
    node_id = reply.json()["loadedNodeIDs"][0]
    fiducials = server.get("/slicer/fiducials").json()
    assert fiducials[node_id]["name"] == "Points"
    assert fiducials[node_id]["markups"][0]["position"] == [1.0, 2.0, 3.0]


def test_uploads_that_cannot_load_say_why(server):
    unknown = server.post("/api/files?filename=notes.docx", data=b"x")
    assert unknown.status_code == 400
    assert "cannot tell the type of 'notes.docx'" in unknown.json()["message"]
    empty = server.post("/api/files?filename=a.nrrd", data=b"")
    assert empty.status_code == 400 and "empty" in empty.json()["message"]
    broken = server.post("/api/files?filename=broken.nrrd", data=b"not an nrrd at all")
    assert broken.status_code == 400
    message = broken.json()["message"]
    assert message.startswith("could not load broken.nrrd:")
    assert "uploads" not in message  # the server's folders are not reported
    # A path in the name is reduced to the file name: nothing is written outside uploads/.
    sneaky = server.post("/api/files?filename=../../x.nrrd", data=b"not an nrrd")
    assert sneaky.status_code == 400 and "could not load x.nrrd" in sneaky.json()["message"]
    assert server.post("/api/files?filename=a.nrrd", data=b"x", auth=False).status_code == 401


def test_dicom_series_loads_into_the_scene(server):
    series = synthetic_series(slices=5, size=16, series_description="Loaded over the API")
    body, content_type = multipart_body(series)
    assert server.post("/dicom/studies", data=body, headers={"Content-Type": content_type}).ok
    study_uid, series_uid, _ = uids(series[0])
    reply = server.post(f"/api/dicom/load?study={study_uid}&series={series_uid}")
    assert reply.status_code == 200, reply.text
    node = properties(server, reply.json()["loadedNodeIDs"][0])
    assert node["Name"] == "1: Loaded over the API"  # Slicer: "<SeriesNumber>: <Description>"
    assert node["ImageData"]["Dimensions"] == [16, 16, 5]
    missing = server.post(f"/api/dicom/load?study={study_uid}&series=1.2.3.999")
    assert missing.status_code == 404 and missing.json()["success"] is False


def test_display_picks_the_volume_and_the_label_opacity(server):
    volumes = server.get("/slicer/volumes").json()
    first = volumes[0]["id"]
    assert server.post("/api/display", json={"volume": first}).status_code == 200
    assert properties(server, "vtkMRMLSelectionNodeSingleton")["ActiveVolumeID"] == first
    assert properties(server, "vtkMRMLSliceNodeRed")["BackgroundVolumeID"] == first
    assert server.post("/api/display", json={"label_opacity": 0.25}).status_code == 200
    for name in ("Red", "Yellow", "Green"):
        assert properties(server, f"vtkMRMLSliceNode{name}")["LabelOpacity"] == 0.25
    unknown = server.post("/api/display", json={"volume": "vtkMRMLScalarVolumeNode999"})
    assert unknown.status_code == 404 and "no volume" in unknown.json()["message"]
    assert server.post("/api/display", json={"label_opacity": 2}).status_code == 422


def test_layouts_come_from_the_server_grids(server):
    from voxweb.scene.views import LAYOUT_GRIDS, LAYOUT_TITLES

    reply = server.get("/api/layouts")
    assert reply.status_code == 200
    layouts = reply.json()
    assert {g["name"]: g["rows"] for g in layouts} == LAYOUT_GRIDS
    offered = [g["name"] for g in layouts if g["title"]]
    assert offered == list(LAYOUT_TITLES)  # the menu's order
    four_up = next(g for g in layouts if g["name"] == "FourUp")
    assert four_up == {
        "name": "FourUp",
        "title": "Four-up",
        "rows": [["Red", "3D:1"], ["Yellow", "Green"]],
    }
    assert server.get("/api/layouts", auth=False).status_code == 401
