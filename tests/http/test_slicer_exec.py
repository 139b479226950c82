"""``/slicer/exec`` over HTTP: Slicer's reply shapes, the documented snippets, safety."""

from __future__ import annotations

import concurrent.futures
import subprocess
import time

import pytest

from tests.support.server import VoxwebProcess, wait_for


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with VoxwebProcess(
        tmp_path_factory.mktemp("exec"),
        ["--auth", "none", "--enable-exec", "--exec-timeout", "2", "--no-sample-download"],
    ) as proc:
        yield proc


def run(server, code: str, **kwargs):
    return server.post(
        "/slicer/exec", data=code.encode(), headers={"Content-Type": "text/plain"}, **kwargs
    )


def test_result_shapes_of_the_compatibility_checklist(server):
    r = run(server, "__execResult = {'a': 1}")
    assert (
        r.status_code == 200
        and r.headers["content-type"] == "application/json"
        and r.content == b'{"a": 1}'
    )
    assert run(server, "x = 1").content == b"{}"
    assert run(server, "__execResult = 2").content == b"2"
    r = run(server, "raise ValueError('nope')")
    assert r.status_code == 500 and r.json() == {"success": False, "message": "Server error: nope"}
    r = run(server, "__execResult = object()")
    assert r.status_code == 500 and "not JSON serializable" in r.json()["message"]


def test_namespace_persists_between_requests(server):
    run(server, "counter = 41")
    assert run(server, "counter += 1\n__execResult = counter").json() == 42


def test_get_is_refused_and_empty_body_is_404(server):
    r = server.get("/slicer/exec?source=__execResult%3D1")
    assert r.status_code == 405 and "POST" in r.json()["message"]
    assert server.post("/slicer/exec", data=b"").status_code == 404


def test_the_docs_curl_command_works_unchanged(server):
    code = (
        "import SampleData; volumeNode = SampleData.SampleDataLogic().downloadMRHead(); "
        "slicer.app.layoutManager().setLayout(slicer.vtkMRMLLayoutNode.SlicerLayoutOneUpRedSliceView); "
        "__execResult = {'volumeNodeID': volumeNode.GetID()}"
    )
    out = subprocess.run(
        ["curl", "-s", "-X", "POST", f"{server.url}/slicer/exec", "--data", code],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert out.stdout.startswith('{"volumeNodeID": "vtkMRMLScalarVolumeNode')
    layout = server.get("/slicer/mrml/properties?id=vtkMRMLLayoutNodevtkMRMLLayoutNode").json()
    assert next(iter(layout.values()))["LayoutName"] == "OneUpRedSlice"
    # And the docs' volume download, with its escaped "&" instead of "?".
    out = subprocess.run(
        ["curl", "-s", "-o", "-", "-w", "%{http_code}", f"{server.url}/slicer/volume&id=MRHead"],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    assert out.stdout.startswith(b"NRRD0004") and out.stdout.endswith(b"200")


def test_slicer_util_and_scene_api(server):
    code = """
import numpy as np
import slicer.util
arr = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
node = slicer.util.addVolumeFromArray(arr, name="FromExec")
same = slicer.util.getNode("FromExec")
back = slicer.util.arrayFromVolume(same)
slicer.util.updateVolumeFromArray(same, back * 2)
node.SetName("Renamed")
scalar_nodes = slicer.mrmlScene.GetNodesByClass("vtkMRMLScalarVolumeNode")
t = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "T1")
__execResult = {
    "id": node.GetID(), "class": node.GetClassName(), "name": slicer.mrmlScene.GetNodeByID(node.GetID()).GetName(),
    "sum": int(slicer.util.arrayFromVolume(node).sum()), "volumes": scalar_nodes.GetNumberOfItems() >= 1,
    "transform": t.GetID(), "native": type(scene).__name__,
}
"""
    result = run(server, code).json()
    assert result["class"] == "vtkMRMLScalarVolumeNode" and result["name"] == "Renamed"
    assert result["sum"] == 2 * sum(range(24)) and result["volumes"] is True
    assert (
        result["transform"].startswith("vtkMRMLLinearTransformNode") and result["native"] == "Scene"
    )
    assert "Renamed" in server.get("/slicer/mrml/names").json()
    r = run(server, "slicer.mrmlScene.RemoveNode(slicer.util.getNode('Renamed'))")
    assert r.status_code == 200 and "Renamed" not in server.get("/slicer/mrml/names").json()
    r = run(server, "slicer.util.getNode('does-not-exist')")
    assert r.status_code == 500 and "could not find nodes" in r.json()["message"]


def test_report_mode_captures_output(server):
    r = run(server, "print('hello')\n__execResult = 5", params={"report": "1"})
    body = r.json()
    assert (
        body["success"] is True
        and body["result"] == 5
        and body["stdout"] == "hello\n"
        and body["elapsed"] >= 0
    )
    r = run(server, "import sys\nprint('warn', file=sys.stderr)\n1/0", params={"report": "1"})
    assert r.status_code == 500
    body = r.json()
    assert (
        body["success"] is False
        and body["stderr"] == "warn\n"
        and "ZeroDivisionError" in body["traceback"]
    )
    assert body["message"].startswith("Server error: ")


def test_a_slow_script_times_out_and_the_server_keeps_serving(server, tmp_path):
    started = tmp_path / "started"
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        slow = pool.submit(
            run, server, f"open({str(started)!r}, 'w').close()\nwhile True:\n    pass"
        )
        wait_for(started.exists, what="the slow script to start")
        start = time.monotonic()
        assert server.get("/slicer/system/version").status_code == 200
        assert time.monotonic() - start < 1.0
        r = slow.result(timeout=30)
    assert r.status_code == 500 and "timed out after 2 s" in r.json()["message"]
    assert run(server, "__execResult = 'alive'").json() == "alive"


def test_system_exit_does_not_stop_the_server(server):
    assert run(server, "raise SystemExit(0)").status_code == 500
    assert run(server, "import os\n__execResult = 1").json() == 1


def test_exec_switched_off_live_is_unknown_command(voxweb):
    srv = voxweb("--enable-exec")
    assert srv.post("/slicer/exec", data=b"__execResult = 1").json() == 1
    srv.post("/api/switches", json={"exec": False})
    r = srv.post("/slicer/exec", data=b"__execResult = 1")
    assert r.status_code == 500 and r.json()["success"] is False
    assert r.json()["message"] == (
        "Server error: unknown command \"b'/exec'\": exec (remote Python) is switched off on "
        "this server; switch it on in the control panel (or POST /api/switches)"
    )
