"""The /slicer routes that read and change the scene (spec §3 rows 10–30), end to end."""

from __future__ import annotations

import http.server
import io
import json
import threading
from urllib.parse import quote

import nrrd
import numpy as np
import pytest

from tests.support.volumes import nrrd_header_for, ramp

TYPE_JSON = "application/json"


@pytest.fixture
def env(voxweb, tmp_path):
    root = tmp_path / "files"
    root.mkdir()
    server = voxweb("--file-root", str(root))
    return server, root


def volume_bytes(array, matrix=None) -> bytes:
    out = io.BytesIO()
    nrrd.write(
        out, array, nrrd_header_for(np.eye(4) if matrix is None else matrix), index_order="C"
    )
    return out.getvalue()


def post_volume(server, name, array=None) -> str:
    server.post(f"/slicer/volume?id={name}", data=volume_bytes(ramp() if array is None else array))
    return server.get(f"/slicer/mrml/ids?name={name}").json()[0]


def exec_like_state(server):
    return server.get("/slicer/mrml/ids").json()


# --- /mrml ------------------------------------------------------------------------------


def test_names_ids_filters(env):
    server, _ = env
    a = post_volume(server, "A")
    post_volume(server, "B")
    names = server.get("/slicer/mrml/names").json()
    ids = server.get("/slicer/mrml/ids").json()
    assert len(names) == len(ids) and names[ids.index(a)] == "A"
    assert server.get("/slicer/mrml").json() == names  # GET /mrml is the names list
    assert server.get("/slicer/mrml/names?class=vtkMRMLVolumeNode").json() == ["A", "B"]
    assert server.get("/slicer/mrml/ids?name=B&class=vtkMRMLScalarVolumeNode").json() == [
        ids[names.index("B")]
    ]
    assert server.get(f"/slicer/mrml/names?id={a}&name=ignored").json() == ["A"]  # id wins
    assert server.get("/slicer/mrml/ids?id=vtkMRMLNoSuchNode7").json() == []
    assert server.get("/slicer/mrml/ids?id=").json() == ids  # blank values are dropped


def test_properties_and_errors(env):
    server, _ = env
    a = post_volume(server, "A", ramp((6, 5, 4)))
    r = server.get(f"/slicer/mrml/properties?id={a}")
    assert r.headers["content-type"] == TYPE_JSON
    props = r.json()[a]
    assert (
        props["ID"] == a
        and props["Name"] == "A"
        and props["ClassName"] == "vtkMRMLScalarVolumeNode"
    )
    assert props["ImageData"]["Extent"] == [0, 3, 0, 4, 0, 5]
    r = server.get("/slicer/mrml/properties?name=nomatch")
    assert r.status_code == 500 and "No nodes matched" in r.json()["message"]
    r = server.get("/slicer/mrml/other")
    assert r.status_code == 500 and r.json()["message"] == "Server error: Invalid path: /mrml/other"


def test_load_needs_filetype_and_a_file_inside_the_roots(env):
    server, root = env
    (root / "v.nrrd").write_bytes(volume_bytes(ramp()))
    path = quote(str(root / "v.nrrd"), safe="")
    r = server.post(f"/slicer/mrml?localfile={path}")
    assert r.status_code == 500 and r.json()["message"] == "Server error: 'filetype'"
    before = exec_like_state(server)
    r = server.post("/slicer/mrml?localfile=%2Fetc%2Fhostname&filetype=VolumeFile")
    assert r.status_code == 403 and "outside the allowed file roots" in r.json()["message"]
    assert exec_like_state(server) == before
    r = server.post(f"/slicer/mrml?localfile={path}&filetype=VolumeFile&name=Loaded")
    assert r.json() == {"success": True, "loadedNodeIDs": ["vtkMRMLScalarVolumeNode1"]}
    assert "Loaded" in server.get("/slicer/mrml/names").json()


def test_load_a_broken_file_changes_nothing(env):
    server, root = env
    (root / "broken.nrrd").write_bytes(b"NRRD0004\ntype: short\n\nnot really")
    before = exec_like_state(server)
    r = server.post(
        f"/slicer/mrml?localfile={quote(str(root / 'broken.nrrd'), safe='')}&filetype=VolumeFile"
    )
    assert r.status_code == 500 and r.json()["message"].startswith("Server error: ")
    assert exec_like_state(server) == before


def test_no_file_roots_means_no_client_paths(voxweb, tmp_path):
    server = voxweb()
    r = server.post(f"/slicer/mrml?localfile={quote(str(tmp_path), safe='')}&filetype=VolumeFile")
    assert r.status_code == 403 and "--file-root" in r.json()["message"]
    r = server.get("/slicer/mrml/file?localfile=%2Ftmp%2Fx.nrrd&name=Red")
    assert r.status_code == 403


def test_file_export_put_reload_and_delete(env):
    server, root = env
    (root / "v.nrrd").write_bytes(volume_bytes(ramp((3, 3, 3))))
    loaded = server.post(
        f"/slicer/mrml?localfile={quote(str(root / 'v.nrrd'), safe='')}&filetype=VolumeFile"
    ).json()
    node_id = loaded["loadedNodeIDs"][0]
    out = quote(str(root / "out.nii.gz"), safe="")
    assert server.get(f"/slicer/mrml/file?localfile={out}&id={node_id}").json() == {"success": True}
    assert (root / "out.nii.gz").stat().st_size > 0
    r = server.get(f"/slicer/mrml/file?localfile={quote('/tmp/evil.nrrd', safe='')}&id={node_id}")
    assert r.status_code == 403
    r = server.get(f"/slicer/mrml/file?localfile={out}&class=vtkMRMLSliceNode")
    assert r.status_code == 500 and "exactly one node" in r.json()["message"]

    (root / "v.nrrd").write_bytes(volume_bytes(ramp((3, 3, 3)) + 1))
    assert server.request("PUT", f"/slicer/mrml?id={node_id}").json() == {
        "success": True,
        "reloadedNodeIDs": [node_id],
    }
    assert server.request("PUT", "/slicer/mrml?id=vtkMRMLSliceNodeRed").json() == {"success": False}
    assert server.request("PUT", "/slicer/mrml?name=nothing").status_code == 500

    assert server.request("DELETE", f"/slicer/mrml?id={node_id}").json() == {"success": True}
    assert node_id not in server.get("/slicer/mrml/ids").json()
    assert server.request("DELETE", "/slicer/mrml?name=nothing").status_code == 500
    post_volume(server, "X")
    assert server.request("DELETE", "/slicer/mrml").json() == {"success": True}
    assert server.get("/slicer/mrml/ids").json() == [
        "vtkMRMLLayoutNodevtkMRMLLayoutNode", "vtkMRMLSliceNodeRed", "vtkMRMLSliceNodeYellow",
        "vtkMRMLSliceNodeGreen", "vtkMRMLViewNode1", "vtkMRMLSelectionNodeSingleton",
    ]  # fmt: skip


def test_url_loading_is_off_by_default_and_guarded_when_on(voxweb, tmp_path):
    payload = volume_bytes(ramp((2, 3, 4)))

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = quote(f"http://127.0.0.1:{httpd.server_address[1]}/remote.nrrd", safe="")
    try:
        off = voxweb()
        r = off.post(f"/slicer/mrml?url={url}&filetype=VolumeFile")
        assert r.status_code == 403 and "--allow-url-fetch" in r.json()["message"]
        guarded = voxweb("--allow-url-fetch")
        r = guarded.post(f"/slicer/mrml?url={url}&filetype=VolumeFile")
        assert r.status_code == 403 and "loopback, private and link-local" in r.json()["message"]
        private = voxweb("--allow-url-fetch", "--allow-private-urls")
        r = private.post(f"/slicer/mrml?url={url}&filetype=VolumeFile")
        assert r.json()["success"] is True
        assert "remote" in private.get("/slicer/mrml/names").json()
        # slicerio sends its URLs to /slicer/open (a route Slicer lacks): it works here.
        r = private.post(f"/slicer/open?url={url}")
        assert r.json()["success"] is True and len(r.json()["loadedNodeIDs"]) == 1
    finally:
        httpd.shutdown()


# --- transforms -------------------------------------------------------------------------


def displacement_nrrd(vectors_kji3: np.ndarray) -> bytes:
    out = io.BytesIO()
    header = {
        "space": "left-posterior-superior",
        "kinds": ["vector", "domain", "domain", "domain"],
        "space directions": [[np.nan] * 3, [1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]],
        "space origin": [0.0, 0.0, 0.0],
    }
    nrrd.write(out, vectors_kji3.transpose(3, 2, 1, 0).copy(), header, index_order="F")
    return out.getvalue()


@pytest.mark.parametrize("spelling", ["gridTransform", "gridtransform"])
def test_grid_transform_post_get_and_list(env, spelling):
    server, _ = env
    vectors = np.zeros((2, 3, 4, 3), dtype=np.float64)
    vectors[..., 0] = 1.5  # L in LPS, so -1.5 in R
    r = server.post(f"/slicer/{spelling}?id=Warp", data=displacement_nrrd(vectors))
    assert r.status_code == 200, r.text
    listed = server.get(f"/slicer/{spelling}s").json()
    assert [t["name"] for t in listed] == ["Warp"]
    body = server.get(f"/slicer/{spelling}?id=Warp").content
    header = nrrd.read_header(io.BytesIO(body))
    assert header["kinds"][0] == "vector" and list(header["sizes"]) == [3, 4, 3, 2]
    data = nrrd.read_data(header, io.BytesIO(body[body.index(b"\n\n") + 2 :]))
    assert np.allclose(data[0], 1.5)  # LPS on the wire, as it came in


def test_linear_transform_json_routes(env):
    server, _ = env
    matrix = [[1, 0, 0, 10], [0, 0, -1, 20], [0, 1, 0, 30], [0, 0, 0, 1]]
    created = server.post("/slicer/transform", json={"name": "T", "matrix": matrix}).json()
    assert created["name"] == "T" and created["matrix"] == matrix
    assert server.get("/slicer/transform?id=T").json()["matrix"] == matrix
    matrix[0][3] = -5
    server.post("/slicer/transform?id=T", json={"matrix": matrix})
    assert server.get("/slicer/transforms").json()[0]["matrix"][0][3] == -5
    for bad in (
        {"matrix": [[1, 2], [3, 4]]},
        {"nomatrix": 1},
        {"matrix": [[0] * 4] * 3 + [["x"] * 4]},
    ):
        r = server.post("/slicer/transform?id=T", json=bad)
        assert r.status_code == 500 and "matrix" in r.json()["message"]
    assert server.get("/slicer/transform?id=T").json()["matrix"][0][3] == -5  # unchanged


def test_tracking_creates_tracker_and_device(env):
    server, _ = env
    r = server.request("PUT", "/slicer/tracking?p=1,2,3&q=0.7071068,0,0,0.7071068")
    assert (
        r.status_code == 200
        and r.headers["content-type"].startswith("text/plain")
        and r.text == "Set matrix"
    )
    transform = server.get("/slicer/transform?id=tracker").json()
    assert np.allclose(np.array(transform["matrix"])[:3, 3], [1, 2, 3])
    assert np.allclose(
        np.array(transform["matrix"])[:3, :3], [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-6
    )
    assert "trackingDevice" in server.get("/slicer/mrml/names").json()
    server.get("/slicer/tracking?m=1,0,0,0,1,0,0,0,1,99,99")  # only the first 9 are used
    assert np.allclose(
        np.array(server.get("/slicer/transform?id=tracker").json()["matrix"])[:3, :3], np.eye(3)
    )
    assert server.get("/slicer/tracking?p=1,2").status_code == 500
    assert server.get("/slicer/tracking?q=a,b,c,d").status_code == 500


# --- fiducials and segmentations --------------------------------------------------------


def test_fiducials_and_fiducial_index(env):
    server, root = env
    markups = {
        "@schema": "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/Resources/Schema/markups-schema-v1.0.3.json#",
        "markups": [{
            "type": "Fiducial", "coordinateSystem": "RAS", "controlPoints": [
                {"label": "F-1", "position": [1.0, 2.0, 3.0]},
                {"label": "F-2", "position": [4.0, 5.0, 6.0]},
            ],
        }],
    }  # fmt: skip
    (root / "f.mrk.json").write_text(json.dumps(markups))
    server.post(
        f"/slicer/mrml?localfile={quote(str(root / 'f.mrk.json'), safe='')}&filetype=MarkupsFile&name=F"
    )
    listed = server.get("/slicer/fiducials").json()
    ((node_id, entry),) = listed.items()
    assert entry["name"] == "F" and len(entry["color"]) == 3 and isinstance(entry["scale"], float)
    assert entry["markups"] == [
        {"label": "F-1", "position": [1.0, 2.0, 3.0]},
        {"label": "F-2", "position": [4.0, 5.0, 6.0]},
    ]
    assert server.get("/slicer/fiducial?index=1&r=-1&a=-2&s=-3").json() == {"success": True}
    assert server.get("/slicer/fiducials").json()[node_id]["markups"][1]["position"] == [
        -1.0,
        -2.0,
        -3.0,
    ]
    assert server.get("/slicer/fiducial?r=7").json() == {"success": True}  # index 0 by default
    assert server.get("/slicer/fiducials").json()[node_id]["markups"][0]["position"] == [
        7.0,
        0.0,
        0.0,
    ]
    assert server.get("/slicer/fiducial?index=2&r=1&a=1&s=1").json() == {"success": True}  # appends
    assert len(server.get("/slicer/fiducials").json()[node_id]["markups"]) == 3
    for bad in ("index=9", "index=x", "r=abc", "id=NoSuchList"):
        assert server.get(f"/slicer/fiducial?{bad}").status_code == 500, bad
    assert len(server.get("/slicer/fiducials").json()[node_id]["markups"]) == 3


def test_segmentations_and_segmentation_export(env):
    server, root = env
    labels = np.zeros((4, 5, 6), dtype=np.uint8)
    labels[1:3, 1:4, 1:5] = 1
    header = {**nrrd_header_for(np.eye(4)), "Segment0_ID": "Segment_1", "Segment0_Name": "tumor",
              "Segment0_Color": "1 0 0", "Segment0_LabelValue": "1", "Segment0_Layer": "0"}  # fmt: skip
    nrrd.write(str(root / "s.seg.nrrd"), labels, header, index_order="C")
    server.post(
        f"/slicer/mrml?localfile={quote(str(root / 's.seg.nrrd'), safe='')}&filetype=SegmentationFile"
    )
    listed = server.get("/slicer/segmentations").json()
    assert len(listed) == 1, listed
    ((seg_id, entry),) = listed.items()
    assert entry == {"name": "s", "segmentIDs": ["Segment_1"]}
    body = server.get("/slicer/segmentation").content
    header_out = nrrd.read_header(io.BytesIO(body))
    assert header_out["Segment0_Name"] == "tumor"
    label_body = server.get(f"/slicer/segmentation?segmentationID={seg_id}&format=labelmap").content
    h = nrrd.read_header(io.BytesIO(label_body))
    data = nrrd.read_data(
        h, io.BytesIO(label_body[label_body.index(b"\n\n") + 2 :]), index_order="C"
    )
    assert data.shape == labels.shape and int(data.sum()) == int(labels.sum())
    assert server.get("/slicer/segmentation?format=stl").status_code == 500
    assert server.get("/slicer/segmentation?segmentationID=none*").status_code == 500


# --- selection, samples, GUI ------------------------------------------------------------


def test_volume_selection_cycles(env):
    server, _ = env
    assert server.get("/slicer/volumeSelection?cmd=next").status_code == 500  # no volumes yet
    a = post_volume(server, "A")
    b = post_volume(server, "B")

    def active():
        return server.get("/slicer/mrml/properties?id=vtkMRMLSelectionNodeSingleton").json()[
            "vtkMRMLSelectionNodeSingleton"]["ActiveVolumeID"]  # fmt: skip

    assert active() == b
    r = server.get("/slicer/volumeSelection?cmd=next")
    assert r.text == "Volume selected" and active() == a
    server.get("/slicer/volumeSelection?cmd=previous")
    assert active() == b
    assert server.get("/slicer/volumeSelection?cmd=sideways").status_code == 500


def test_sampledata_loads_a_real_head_offline(voxweb):
    server = voxweb("--no-sample-download")
    r = server.get("/slicer/sampledata?name=MRHead")
    assert r.status_code == 200 and r.text == "Sample data MRHead loaded"
    assert r.headers["content-type"].startswith("text/plain")
    props = server.get("/slicer/mrml/properties?name=MRHead").json()
    extent = next(iter(props.values()))["ImageData"]["Extent"]
    assert min(extent[1], extent[3], extent[5]) >= 150  # a whole head, not a toy
    # The same sample again is a second node with a unique name, as in Slicer.
    assert server.get("/slicer/sampledata?name=MRHead").status_code == 200
    names = server.get("/slicer/mrml/names").json()
    assert names.count("MRHead") == 1 and names.count("MRHead_1") == 1
    r = server.get("/slicer/sampledata?name=Nope")
    assert (
        r.status_code == 500
        and r.json()["message"] == "Server error: sampledata Nope was not found"
    )
    r = server.get("/slicer/sampledata")
    assert r.json()["message"] == "Server error: sampledata name was not specified"
    r = server.get("/slicer/sampledata?name=CTChest")  # no network here, no offline copy
    assert r.status_code == 500 and "not available" in r.json()["message"]


def test_gui_layouts(env):
    server, _ = env
    assert server.get("/slicer/gui?contents=viewers&viewersLayout=FourUp").json() == {
        "success": True
    }
    layout = server.get("/slicer/mrml/properties?id=vtkMRMLLayoutNodevtkMRMLLayoutNode").json()
    assert next(iter(layout.values()))["LayoutName"] == "FourUp"
    server.get("/slicer/gui?viewersLayout=oneup3d")
    layout = server.get("/slicer/mrml/properties?id=vtkMRMLLayoutNodevtkMRMLLayoutNode").json()
    assert next(iter(layout.values()))["LayoutName"] == "OneUp3D"
    r = server.get("/slicer/gui?viewersLayout=Bogus")
    assert (
        r.status_code == 500 and r.json()["message"] == "Server error: Unknown layout name: bogus"
    )
    r = server.get("/slicer/gui?contents=half")
    assert r.json()["message"] == "Server error: contents must be 'viewers' or 'full'"


def test_start_up_sample_flag(voxweb):
    server = voxweb("--sample", "MRHead", "--no-sample-download")
    assert "MRHead" in server.get("/slicer/mrml/names").json()
