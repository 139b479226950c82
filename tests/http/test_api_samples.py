"""``/api/window-level`` and ``/api/samples``: what the viewer keeps and offers."""

from __future__ import annotations

import numpy as np

from tests.support.volumes import raw_nrrd


def test_window_level_is_kept_in_the_scene(voxweb):
    server = voxweb("--no-sample-download")
    array = np.arange(4 * 8 * 8, dtype=np.int16).reshape(4, 8, 8)
    assert server.post("/slicer/volume?id=V", data=raw_nrrd(array)).ok
    node_id = server.get("/slicer/mrml/ids?class=vtkMRMLScalarVolumeNode").json()[0]
    r = server.post("/api/window-level", json={"volume": node_id, "window": 55.5, "level": 12})
    assert r.status_code == 200
    props = server.get(f"/slicer/mrml/properties?id={node_id}").json()[node_id]
    assert (props["Window"], props["Level"]) == (55.5, 12.0)
    assert (
        server.post(
            "/api/window-level", json={"volume": "nope", "window": 1, "level": 0}
        ).status_code
        == 404
    )
    assert (
        server.post(
            "/api/window-level", json={"volume": node_id, "window": 0, "level": 0}
        ).status_code
        == 422
    )
    props_after = server.get(f"/slicer/mrml/properties?id={node_id}").json()[node_id]
    assert props_after["Window"] == 55.5  # refused changes left it alone


def test_samples_say_which_can_load_offline(voxweb):
    server = voxweb("--no-sample-download")
    samples = {s["name"]: s for s in server.get("/api/samples").json()}
    assert samples["MRHead"]["local"] and samples["MRHead"]["loadable"]  # offline copy
    assert not samples["CTChest"]["loadable"]
    r = server.get("/slicer/sampledata?name=CTChest")
    assert r.status_code >= 400
    assert not {s["name"]: s for s in server.get("/api/samples").json()}["CTChest"]["loadable"]
