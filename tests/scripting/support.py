"""Shared by the scripting tests: a server with exec on, and helpers to run Slicer snippets.

Every test runs real Slicer-style code through ``POST /slicer/exec`` on a real server process
and checks the outcome through other routes (``/slicer/mrml``, ``/slicer/volume``, rendered
slices), so a view that changed nothing, or changed a copy, fails.
"""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image

PRELUDE = "from slicer.util import *\nimport slicer, vtk, qt, ctk\n"


def run(server, code: str) -> object:
    """Run ``code`` (after Slicer's usual imports); its ``__execResult``, or fail with the
    server's message and traceback."""
    r = server.post(
        "/slicer/exec",
        data=(PRELUDE + code).encode(),
        headers={"Content-Type": "text/plain"},
    )
    if r.status_code != 200:
        raise AssertionError(f"exec failed ({r.status_code}): {r.text}")
    return r.json() if r.content else None


def run_error(server, code: str) -> str:
    """Run code that must fail; the message of Slicer's 500 envelope."""
    r = server.post("/slicer/exec", data=(PRELUDE + code).encode())
    assert r.status_code == 500, r.text
    return r.json()["message"]


def slice_image(server, view: str = "red", **params: object) -> np.ndarray:
    query = "&".join(f"{k}={v}" for k, v in {"view": view, **params}.items())
    r = server.get(f"/slicer/slice?{query}")
    assert r.status_code == 200, r.text
    return np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB")).astype(int)


def properties(server, node_id: str) -> dict:
    """The node's properties as ``/slicer/mrml/properties`` reports them."""
    return json.loads(server.get(f"/slicer/mrml/properties?id={node_id}").text)[node_id]


def volume_array(server, node_id: str) -> np.ndarray:
    """The voxels ``GET /slicer/volume`` serves, as (k, j, i)."""
    import nrrd

    r = server.get(f"/slicer/volume?id={node_id}")
    assert r.status_code == 200, r.text
    header_end = r.content.index(b"\n\n") + 2
    header = nrrd.read_header(io.BytesIO(r.content[:header_end]))
    dtype = nrrd.reader._determine_datatype(header)
    sizes = [int(s) for s in header["sizes"]][::-1]
    return np.frombuffer(r.content[header_end:], dtype=dtype).reshape(sizes)
