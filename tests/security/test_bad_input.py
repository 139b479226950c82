"""Property-based bad input: readers raise their own clear errors; the server answers and lives.

The NRRD reader is fed random bytes and mutated valid files in-process (fast, many cases);
the HTTP routes get random query strings and bodies over a real connection. Every answer
must be a 4xx, or Slicer's 500 envelope with a message, and must leave the scene as it was.
"""

from __future__ import annotations

import io
import json
from urllib.parse import quote

import nrrd
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.server import VoxwebProcess
from voxweb.io.errors import FileFormatError
from voxweb.io.nrrd import read_displacement_field, read_volume
from voxweb.io.segmentation import read_segmentation


def valid_nrrd(encoding: str = "raw") -> bytes:
    out = io.BytesIO()
    array = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    nrrd.write(
        out, array, {"space": "left-posterior-superior", "encoding": encoding}, index_order="C"
    )
    return out.getvalue()


VALID = {"raw": valid_nrrd("raw"), "gzip": valid_nrrd("gzip")}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_never_escape_as_a_foreign_error(data):
    for reader in (read_volume, read_displacement_field, read_segmentation):
        try:
            reader(data)
        except FileFormatError as exc:
            assert str(exc)
        except (ValueError, TypeError) as exc:  # pragma: no cover - shown on failure
            pytest.fail(f"{reader.__name__} raised {type(exc).__name__}: {exc}")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["raw", "gzip"]),
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=6),
    st.integers(0, 200),
)
def test_mutated_files_read_or_fail_cleanly(encoding, flips, cut):
    data = bytearray(VALID[encoding])
    for position, value in flips:
        if position < len(data):
            data[position] = value
    if cut:
        data = data[: max(0, len(data) - cut)]
    try:
        node = read_volume(bytes(data))
    except FileFormatError as exc:
        assert str(exc)
    else:
        assert node.array.ndim == 3  # a mutation that still parses is a volume


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_header_text_garbage(text):
    data = ("NRRD0004\n" + text + "\n\n").encode("utf-8", "surrogatepass") + b"\0" * 48
    try:
        read_volume(data)
    except FileFormatError as exc:
        assert str(exc)


# --- over HTTP ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with VoxwebProcess(
        tmp_path_factory.mktemp("fuzz"), ["--auth", "none", "--no-sample-download"]
    ) as proc:
        proc.post("/slicer/volume?id=Keep", data=VALID["raw"])
        yield proc


ROUTES = [
    "/slicer/mrml/names", "/slicer/mrml/ids", "/slicer/mrml/properties", "/slicer/volume",
    "/slicer/volumes", "/slicer/fiducial", "/slicer/fiducials", "/slicer/segmentation",
    "/slicer/gridTransform", "/slicer/transform", "/slicer/tracking", "/slicer/volumeSelection",
    "/slicer/gui", "/slicer/timeimage", "/slicer/sampledata",
]  # fmt: skip
KEYS = ["id", "name", "class", "index", "r", "a", "s", "m", "p", "q", "cmd", "color", "format",
        "viewersLayout", "contents", "segmentationID", "json", "localfile", "url"]  # fmt: skip


def check_answer(response) -> None:
    assert response.status_code < 500 or response.status_code in (500, 501), response.status_code
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/json"
        assert response.json()["success"] is False and response.json()["message"]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(ROUTES),
    st.dictionaries(st.sampled_from(KEYS), st.text(max_size=30), max_size=4),
)
def test_random_queries_get_clear_answers_and_change_no_data(server, route, params):
    volumes_before = server.get("/slicer/volumes").json()
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    response = server.get(f"{route}?{query}" if query else route)
    check_answer(response)
    if route not in ("/slicer/volumeSelection",):
        assert server.get("/slicer/volumes").json() == volumes_before
    assert server.get("/slicer/system/version").status_code == 200


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.one_of(json_values, st.fixed_dictionaries({"matrix": json_values})))
def test_random_json_bodies(server, body):
    text = json.dumps(body)
    before = server.get("/slicer/transforms").json()
    response = server.post("/slicer/transform?id=Fuzzed", data=text)
    check_answer(response)
    if response.status_code != 200:
        assert server.get("/slicer/transforms").json() == before
    check_answer(
        server.post("/api/switches", data=text, headers={"Content-Type": "application/json"})
    )
    assert server.get("/api/status").json()["apis"]["slicer"] in (True, False)
    server.post("/api/switches", json={"slicer": True, "dicom": True, "static": True})


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=2048))
def test_random_volume_uploads_leave_the_scene_alone(server, body):
    before = server.get("/slicer/volumes").json()
    response = server.post("/slicer/volume?id=Keep", data=body)
    check_answer(response)
    if response.status_code != 200:
        assert server.get("/slicer/volumes").json() == before
