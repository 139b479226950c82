"""``/slicer`` routes built with the foundation: version, timeimage, routing and the envelope."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.support.server import VoxwebProcess

VERSION_KEYS = [
    ("applicationName", str),
    ("applicationDisplayName", str),
    ("applicationVersion", str),
    ("releaseType", str),
    ("repositoryUrl", str),
    ("repositoryBranch", str),
    ("revision", str),
    ("majorVersion", int),
    ("minorVersion", int),
    ("arch", str),
    ("os", str),
    ("isCustomMainApplication", bool),
    ("mainApplicationName", str),
    ("mainApplicationRepositoryUrl", str),
    ("mainApplicationRepositoryRevision", str),
    ("mainApplicationRevision", str),
    ("mainApplicationMajorVersion", int),
    ("mainApplicationMinorVersion", int),
    ("mainApplicationPatchVersion", int),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with VoxwebProcess(tmp_path_factory.mktemp("slicer"), []) as proc:
        yield proc


def test_version_object_has_slicers_keys_in_order_and_types(server):
    r = server.get("/slicer/system/version")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"  # exactly: slicerio compares it
    data = r.json()
    assert list(data) == [k for k, _ in VERSION_KEYS]
    for key, kind in VERSION_KEYS:
        assert type(data[key]) is kind, key
    assert data["applicationName"] == "voxweb"
    # Python's default json.dumps separators, as Slicer writes them.
    assert r.content.startswith(b'{"applicationName": "voxweb", ')


def test_version_route_ignores_the_method_except_delete(server):
    assert server.post("/slicer/system/version").json()["applicationName"] == "voxweb"


def test_other_system_paths_get_slicers_error(server):
    r = server.get("/slicer/system/other")
    assert r.status_code == 500
    assert r.json() == {
        "success": False,
        "message": "Server error: cannot unpack non-iterable NoneType object",
    }


def test_timeimage_is_a_128x32_png_that_changes_with_time_and_color(server):
    first = server.get("/slicer/timeimage")
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(first.content))
    assert image.size == (128, 32) and image.mode == "RGBA"
    assert image.getpixel((0, 0))[:3] == (0x33, 0x33, 0x00)  # default border colour #330
    assert image.getpixel((64, 16))[3] == 0 or image.getpixel((64, 16))[:3] == (0x33, 0x33, 0x33)
    yellow = Image.open(io.BytesIO(server.get("/slicer/timeimage?color=ff0").content))
    assert yellow.getpixel((0, 0))[:3] == (255, 255, 0)
    assert server.get("/slicer/timeimage").content != first.content


@pytest.mark.parametrize(
    "query, rgb",
    [
        ("color=f538", (0x33, 0x33, 0x00)),  # ServerTests' random 4 digits: the default
        ("color=%23f538", (0x33, 0x33, 0x00)),
        ("color=zzz", (0x33, 0x33, 0x00)),
        ("color=", (0x33, 0x33, 0x00)),
        ("color=%23", (0x33, 0x33, 0x00)),
        ("color=12345", (0x33, 0x33, 0x00)),
        ("color=%00%ff", (0x33, 0x33, 0x00)),
        ("color=%C3%A9t%C3%A9", (0x33, 0x33, 0x00)),
        ("color=" + "f" * 5000, (0x33, 0x33, 0x00)),
        ("color=rgb(1,2,3)", (0x33, 0x33, 0x00)),
        ("color=1e3", (0x11, 0xEE, 0x33)),
        ("color=%2300ff00", (0, 255, 0)),
        ("color=80ff0000", (255, 0, 0)),  # AARRGGBB
        ("color=%23fff000fff", (255, 0, 255)),  # RRRGGGBBB
        ("color=ffff00000000", (255, 0, 0)),  # RRRRGGGGBBBB
        ("color=steelblue", (70, 130, 180)),
        ("color=RED", (255, 0, 0)),
        ("color=a&color=b", (0x33, 0x33, 0x00)),
    ],
)
def test_timeimage_never_fails_on_color(server, query, rgb):
    r = server.get(f"/slicer/timeimage?{query}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(r.content))
    assert image.size == (128, 32) and image.getpixel((0, 0))[:3] == rgb


def test_unknown_command_quotes_the_target_like_slicer(server):
    r = server.get("/slicer/foo?x=1")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {
        "success": False,
        "message": "Server error: unknown command \"b'/foo?x=1'\"",
    }


def test_bare_slicer_path_is_not_the_api(server):
    assert server.get("/slicer").status_code == 404


def test_rendering_routes_answer_in_an_empty_scene(server):
    # /slice has no image to show (Slicer's 404); the others render the empty views.
    assert server.get("/slicer/slice").status_code == 404
    for path, media in (
        ("/slicer/screenshot", "image/png"),
        ("/slicer/threeD", "image/png"),
        ("/slicer/threeDGraphics", "application/json"),
    ):
        r = server.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"] == media, path


def test_options_on_the_api_without_cors_is_answered(server):
    # Slicer 5.8 answers any OPTIONS with 204 (spec §1.5).
    r = server.request("OPTIONS", "/slicer/system/version")
    assert r.status_code == 204 and r.content == b""
