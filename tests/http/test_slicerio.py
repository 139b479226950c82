"""The PyPI package ``slicerio`` as a real, unchanged client of a real voxweb server.

slicerio sends no token, so the server runs with ``--auth none`` (allowed on loopback only)
and a ``--file-root`` for the files it loads and saves.
"""

from __future__ import annotations

import nrrd
import numpy as np
import pytest

from tests.support.volumes import nrrd_header_for, oblique_ijk_to_ras, ramp

slicerio_server = pytest.importorskip("slicerio.server")


@pytest.fixture
def served(voxweb, tmp_path):
    root = tmp_path / "files"
    root.mkdir()
    server = voxweb("--auth", "none", "--file-root", str(root))
    old_port = slicerio_server.SERVER_PORT
    slicerio_server.SERVER_PORT = server.port
    yield server, root
    slicerio_server.SERVER_PORT = old_port


def write_volume(path, array, ijk_to_ras):
    nrrd.write(str(path), array, nrrd_header_for(ijk_to_ras), index_order="C")


def test_server_running_and_names_ids_in_the_same_order(served):
    server, root = served
    assert slicerio_server.is_server_running()
    names, ids = slicerio_server.node_names(), slicerio_server.node_ids()
    assert len(names) == len(ids) and "Red" in names and "vtkMRMLSliceNodeRed" in ids
    assert names.index("Red") == ids.index("vtkMRMLSliceNodeRed")


def test_file_load_properties_save_reload_remove(served):
    server, root = served
    array = ramp((7, 6, 5), "int16")
    matrix = oblique_ijk_to_ras()
    write_volume(root / "in.nrrd", array, matrix)

    loaded = slicerio_server.file_load(str(root / "in.nrrd"), properties={"name": "Input"})
    assert loaded == ["vtkMRMLScalarVolumeNode1"]
    assert slicerio_server.node_names(class_name="vtkMRMLVolumeNode") == ["Input"]
    assert slicerio_server.node_ids(name="Input") == loaded
    props = slicerio_server.node_properties(id=loaded[0])[0]
    assert props["ClassName"] == "vtkMRMLScalarVolumeNode"
    assert props["ImageData"]["Extent"] == [0, 4, 0, 5, 0, 6]

    # Save with the documented property, then read it back with pynrrd.
    slicerio_server.file_save(
        str(root / "out.nrrd"), id=loaded[0], properties={"useCompression": False}
    )
    data, header = nrrd.read(str(root / "out.nrrd"), index_order="C")
    assert header["encoding"] == "raw"
    np.testing.assert_array_equal(data, array)

    # Change the file on disk, reload the node from it, see the new voxels over HTTP.
    write_volume(root / "in.nrrd", array * 2, matrix)
    slicerio_server.node_reload(id=loaded[0])
    body = server.get("/slicer/volume?id=Input").content
    voxels = np.frombuffer(body[body.index(b"\n\n") + 2 :], dtype="<i2").reshape(array.shape)
    np.testing.assert_array_equal(voxels, array * 2)

    slicerio_server.node_remove(name="Input")
    assert slicerio_server.node_names(class_name="vtkMRMLVolumeNode") == []


def test_segmentation_properties_as_slicerio_documents(served, tmp_path):
    server, root = served
    labels = np.zeros((4, 5, 6), dtype=np.uint8)
    labels[1:3, 1:4, 1:5] = 1
    labels[0, 0, 0] = 2
    header = {
        **nrrd_header_for(np.eye(4)),
        "Segment0_ID": "Segment_1", "Segment0_Name": "tumor", "Segment0_Color": "1 0 0",
        "Segment0_LabelValue": "1", "Segment0_Layer": "0",
        "Segment1_ID": "Segment_2", "Segment1_Name": "vessel", "Segment1_Color": "0 0 1",
        "Segment1_LabelValue": "2", "Segment1_Layer": "0",
    }  # fmt: skip
    nrrd.write(str(root / "seg.seg.nrrd"), labels, header, index_order="C")
    ids = slicerio_server.file_load(str(root / "seg.seg.nrrd"), "SegmentationFile")
    props = slicerio_server.node_properties(id=ids[0])[0]
    segments = props["Segmentation"]["Segments"]
    assert segments["Segment_1"]["Name"] == "tumor"
    assert segments["Segment_2"]["Color"] == [0.0, 0.0, 1.0]


def test_errors_surface_as_runtime_errors_with_the_message(served):
    server, root = served
    with pytest.raises(RuntimeError, match="No nodes matched the filter criteria"):
        slicerio_server.node_properties(name="nothing-called-this")
    with pytest.raises(RuntimeError, match="outside the allowed file roots"):
        slicerio_server.file_load("/etc/hostname")
    with pytest.raises(RuntimeError, match="no such file"):
        slicerio_server.file_load(str(root / "missing.nrrd"))


def test_stop_server(served):
    server, root = served
    assert slicerio_server.stop_server() == {"success": True}
    assert server.wait_exit(15) == 0
    assert not slicerio_server.is_server_running()
