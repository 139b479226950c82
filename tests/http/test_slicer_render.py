"""``/slicer/slice``, ``/slicer/threeD``, ``/slicer/screenshot``, ``/slicer/threeDGraphics`` end to end.

Volumes with bright markers at known voxels are uploaded as NRRD; the expected pixel of each
marker is computed from the volume geometry and the view's fit rule (centred on the volume's
RAS bounding box, field of view = its larger in-plane extent), never from stored images.
"""

from __future__ import annotations

import io

import nrrd
import numpy as np
import pytest
from PIL import Image

from tests.render.helpers import (
    GEOMETRIES,
    bright_centroid,
    expected_pixel,
    marker_ras,
    marker_volume,
)
from tests.support.volumes import nrrd_header_for
from voxweb.scene.geometry import ORIENTATION_PRESETS, ras_bounds

VIEWS = {"red": "Axial", "yellow": "Sagittal", "green": "Coronal"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.support.server import VoxwebProcess

    proc = VoxwebProcess(tmp_path_factory.mktemp("render"), ["--auth", "none"])
    proc.start()
    yield proc
    proc.stop()


def nrrd_bytes(array: np.ndarray, ijk_to_ras: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    nrrd.write(buffer, array, {**nrrd_header_for(ijk_to_ras), "encoding": "raw"}, index_order="C")
    return buffer.getvalue()


def upload(server, name: str, array: np.ndarray, ijk_to_ras: np.ndarray) -> None:
    reply = server.post(f"/slicer/volume?id={name}", data=nrrd_bytes(array, ijk_to_ras))
    assert reply.status_code == 200, reply.text


def image_of(reply) -> np.ndarray:
    assert reply.status_code == 200, reply.text
    return np.asarray(Image.open(io.BytesIO(reply.content)))


@pytest.mark.parametrize("geometry", list(GEOMETRIES))
def test_markers_land_on_the_predicted_pixel_in_each_view(server, geometry):
    ijk_to_ras = GEOMETRIES[geometry]
    array = marker_volume()
    upload(server, f"markers-{geometry}", array, ijk_to_ras)
    bounds = ras_bounds(ijk_to_ras, array.shape).reshape(3, 2)
    centre = bounds.mean(axis=1)
    size = (200, 200)
    for view, orientation in VIEWS.items():
        axes = ORIENTATION_PRESETS[orientation]
        extent = np.abs(axes.T @ (bounds[:, 1] - bounds[:, 0]))
        spacing = max(extent[0], extent[1]) / size[0]
        for point in marker_ras(ijk_to_ras):
            offset = float(axes[:, 2] @ point)
            reply = server.get(f"/slicer/slice?view={view}&offset={offset!r}&size=200&stateless=1")
            image = image_of(reply)
            assert image.shape[:2] == (200, 200)
            col, row, _ = expected_pixel(point, axes, centre, spacing, size)
            found = bright_centroid(image, (col, row))
            assert found is not None, f"{view}: no marker near ({col:.1f}, {row:.1f})"
            assert abs(found[0] - col) <= 1.0 and abs(found[1] - row) <= 1.0, (
                view,
                found,
                col,
                row,
            )


@pytest.fixture(scope="module")
def slabs(server):
    """Identity geometry, k-slab values 10, 20, ..., 50: grey 51..255 with window 50 level 25."""
    array = np.repeat((10 * np.arange(1, 6, dtype=np.int16))[:, None, None], 64, axis=1)
    array = np.repeat(array, 64, axis=2)
    upload(server, "slabs", array, np.eye(4))
    return "&window=50&level=25"


def centre_grey(server, query: str) -> int:
    image = image_of(server.get("/slicer/slice?" + query))
    return int(image[image.shape[0] // 2, image.shape[1] // 2])


def test_scroll_to_zero_and_one_hit_the_volume_ends(server, slabs):
    assert abs(centre_grey(server, "view=red&scrollTo=0" + slabs) - 51) <= 1
    assert centre_grey(server, "view=red&scrollTo=1" + slabs) == 255
    assert abs(centre_grey(server, "view=red&scrollTo=0.5" + slabs) - 153) <= 1


def test_offset_zero_works_and_positions_persist(server, slabs):
    assert centre_grey(server, "view=red&scrollTo=1" + slabs) == 255
    assert centre_grey(server, "view=red" + slabs) == 255  # the position stayed
    assert abs(centre_grey(server, "view=red&offset=0" + slabs) - 51) <= 1  # k = 0 at S = 0
    props = server.get("/slicer/mrml/properties?id=vtkMRMLSliceNodeRed").json()
    assert props["vtkMRMLSliceNodeRed"]["SliceOffset"] == 0.0
    # stateless renders elsewhere without moving the shared view
    assert centre_grey(server, "view=red&offset=4&stateless=1" + slabs) == 255
    props = server.get("/slicer/mrml/properties?id=vtkMRMLSliceNodeRed").json()
    assert props["vtkMRMLSliceNodeRed"]["SliceOffset"] == 0.0


def test_window_and_level_parameters_map_grey(server, slabs):
    assert abs(centre_grey(server, "view=red&offset=2&stateless=1&window=60&level=30") - 128) <= 1
    assert centre_grey(server, "view=red&offset=2&stateless=1&window=10&level=0") == 255


def test_size_is_honoured(server, slabs):
    assert image_of(server.get("/slicer/slice?view=green&size=123x77")).shape == (77, 123)
    assert image_of(server.get("/slicer/slice?view=green&size=64")).shape == (64, 64)
    reply = server.get("/slicer/slice?view=green&size=0")
    assert reply.status_code == 500
    assert reply.json()["message"].startswith("Server error: size")


def test_view_names_are_case_insensitive_and_unknown_views_fail(server, slabs):
    a = server.get("/slicer/slice?view=YELLOW&size=50").content
    b = server.get("/slicer/slice?view=yellow&size=50").content
    assert a == b
    reply = server.get("/slicer/slice?view=purple")
    assert reply.status_code == 500
    assert reply.json() == {
        "success": False,
        "message": "Server error: no slice view named 'purple' (views: Red, Yellow, Green)",
    }


def test_orientation_and_copy_slice_geometry(server, slabs):
    server.get("/slicer/slice?view=green&orientation=AXIAL")
    props = server.get("/slicer/mrml/properties?id=vtkMRMLSliceNodeGreen").json()
    assert props["vtkMRMLSliceNodeGreen"]["Orientation"] == "Axial"
    server.get("/slicer/slice?view=green&copySliceGeometryFrom=yellow")
    props = server.get("/slicer/mrml/properties?class=vtkMRMLSliceNode").json()
    assert (
        props["vtkMRMLSliceNodeGreen"]["SliceToRAS"]
        == props["vtkMRMLSliceNodeYellow"]["SliceToRAS"]
    )
    assert server.get("/slicer/slice?view=green&copySliceGeometryFrom=nope").status_code == 500
    server.get("/slicer/slice?view=green&orientation=coronal")


def test_jpeg_and_etag_revalidation(server, slabs):
    reply = server.get("/slicer/slice?view=red&format=jpeg&quality=70&size=100")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "image/jpeg"
    assert reply.content[:2] == b"\xff\xd8"
    etag = reply.headers["etag"]
    again = server.get(
        "/slicer/slice?view=red&format=jpeg&quality=70&size=100", headers={"If-None-Match": etag}
    )
    assert again.status_code == 304 and again.content == b""
    png = server.get("/slicer/slice?view=red&size=100", headers={"If-None-Match": etag})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.headers["etag"] != etag
    assert server.get("/slicer/slice?view=red&format=gif").status_code == 500


def test_empty_scene_slice_is_404(voxweb):
    server = voxweb("--auth", "none")
    reply = server.get("/slicer/slice?view=red")
    assert reply.status_code == 404


# --- 3-D views, screenshots, glTF -----------------------------------------------------------

ADD_SURFACES = """
from voxweb.scene import MarkupsFiducial, Model, Segmentation
from voxweb.services.tracking import box_model
volume = scene.get_node("markers-3d")
seg = Segmentation(volume.array.shape, volume.ijk_to_ras, name="seg")
a = np.zeros(volume.array.shape, bool); a[5:15, 5:15, 5:15] = True
b = np.zeros(volume.array.shape, bool); b[20:30, 25:40, 30:45] = True
seg.add_segment("a", a, (0.0, 1.0, 0.0))
seg.add_segment("b", b, (0.0, 0.0, 1.0))
scene.add(seg)
scene.add(box_model((10.0, 20.0, 5.0), "box"))
points = MarkupsFiducial("F")
points.add_point((0.0, 0.0, 0.0))
points.add_point((10.0, 5.0, 2.0))
scene.add(points)
__execResult = [seg.id, points.id]
"""


@pytest.fixture(scope="module")
def scene3d(tmp_path_factory):
    """A server with exec, a marker volume (volume rendered: first volume) and surfaces."""
    from tests.support.server import VoxwebProcess

    proc = VoxwebProcess(tmp_path_factory.mktemp("render3d"), ["--auth", "none", "--enable-exec"])
    proc.start()
    upload(proc, "markers-3d", marker_volume(), GEOMETRIES["lps-nrrd"])
    reply = proc.post("/slicer/exec", data=ADD_SURFACES)
    assert reply.status_code == 200, reply.text
    yield proc
    proc.stop()


def rgb_of(reply) -> np.ndarray:
    assert reply.status_code == 200, reply.text
    return np.asarray(Image.open(io.BytesIO(reply.content)).convert("RGB"))


def not_background(image: np.ndarray) -> int:
    corner = image[0, 0]
    return int((np.abs(image.astype(int) - corner).sum(axis=-1) > 30).sum())


def test_three_d_shows_data_and_each_look_from_axis_differs(scene3d):
    images = {}
    for word in ("Right", "left", "ANTERIOR", "p", "Superior", "i"):
        image = rgb_of(scene3d.get(f"/slicer/threeD?lookFromAxis={word}&size=128&stateless=1"))
        assert image.shape == (128, 128, 3)
        assert not_background(image) > 200, word
        images[word] = image
    keys = list(images)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            assert not np.array_equal(images[a], images[b]), (a, b)
    same = rgb_of(scene3d.get("/slicer/threeD?lookFromAxis=L&size=128&stateless=1"))
    np.testing.assert_array_equal(same, images["left"])


def test_three_d_camera_moves_persist_unless_stateless(scene3d):
    looked = scene3d.get("/slicer/threeD?lookFromAxis=s&size=96").content
    assert scene3d.get("/slicer/threeD?size=96").content == looked  # the camera stayed
    moved = scene3d.get("/slicer/threeD?orbitX=30&roll=10&zoom=1.5&panX=5&stateless=1&size=96")
    assert moved.status_code == 200 and moved.content != looked
    assert scene3d.get("/slicer/threeD?size=96").content == looked
    by_name = scene3d.get("/slicer/threeD?view=View1&size=96").content
    by_index = scene3d.get("/slicer/threeD?view=0&size=96").content
    assert by_name == by_index == looked


def test_look_from_axis_and_centre_view_reset_zoom_and_pan(scene3d):
    fresh = rgb_of(scene3d.get("/slicer/threeD?lookFromAxis=a&size=96"))
    wandered = rgb_of(scene3d.get("/slicer/threeD?zoom=3&panX=25&panY=-10&size=96"))
    assert np.abs(wandered.astype(int) - fresh).mean() > 5
    looked = rgb_of(scene3d.get("/slicer/threeD?lookFromAxis=a&size=96"))
    assert np.abs(looked.astype(int) - fresh).max() <= 2  # zoom and pan are gone, as in Slicer
    scene3d.get("/slicer/threeD?orbitX=30&size=96")
    turned = rgb_of(scene3d.get("/slicer/threeD?size=96"))
    scene3d.get("/slicer/threeD?zoom=2.5&panX=-20&size=96")
    centred = rgb_of(scene3d.get("/slicer/threeD?centerView=1&size=96"))
    assert np.abs(centred.astype(int) - turned).max() <= 2  # same direction, fitted again
    assert np.abs(centred.astype(int) - fresh).mean() > 1  # not a look-from: still turned


def test_three_d_parameters_size_format_and_errors(scene3d):
    image = rgb_of(scene3d.get("/slicer/threeD?size=200x100&format=jpeg&quality=60"))
    assert image.shape == (100, 200, 3)
    assert scene3d.get("/slicer/threeD?format=jpeg&size=20").headers["content-type"] == "image/jpeg"
    mip = rgb_of(scene3d.get("/slicer/threeD?mode=mip&size=96&stateless=1&render=full"))
    assert not_background(mip) > 50
    for query, message in [
        ("view=7", "there is no 3-D view number 7"),
        ("view=Other", "no 3-D view named 'Other'"),
        ("lookFromAxis=x", "lookFromAxis must be one of"),
        ("zoom=0", "zoom must be a positive factor"),
    ]:
        reply = scene3d.get("/slicer/threeD?" + query)
        assert reply.status_code == 500, query
        assert reply.json()["success"] is False
        assert message in reply.json()["message"], (query, reply.json())


def test_three_d_graphics_is_gltf_with_one_node_per_surface(scene3d):
    reply = scene3d.get("/slicer/threeDGraphics")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    doc = reply.json()
    assert doc["asset"]["version"] == "2.0"
    names = [mesh["name"] for mesh in doc["meshes"]]
    assert sorted(names) == ["F: F-1", "F: F-2", "box", "seg: a", "seg: b"]
    assert len(doc["nodes"]) == 5 and doc["scenes"][0]["nodes"] == [0, 1, 2, 3, 4]
    assert doc["buffers"][0]["uri"].startswith("data:application/octet-stream;base64,")
    # segment "a" covers voxels 5..14 of the volume: its mesh is where the geometry says
    seg_a = doc["accessors"][
        doc["meshes"][names.index("seg: a")]["primitives"][0]["attributes"]["POSITION"]
    ]
    corners = [GEOMETRIES["lps-nrrd"] @ np.array([i, i, i, 1.0]) for i in (4.5, 14.5)]
    expected_min = np.minimum(corners[0], corners[1])[:3]
    expected_max = np.maximum(corners[0], corners[1])[:3]
    np.testing.assert_allclose(seg_a["min"], expected_min, atol=1e-3)
    np.testing.assert_allclose(seg_a["max"], expected_max, atol=1e-3)
    with_box = scene3d.get(
        "/slicer/threeDGraphics?boxVisible=true&format=glTF&widgetIndex=0"
    ).json()
    assert len(with_box["nodes"]) == 6
    assert scene3d.get("/slicer/threeDGraphics?format=GLTF").status_code == 200
    bad = scene3d.get("/slicer/threeDGraphics?format=obj")
    assert bad.status_code == 500
    assert bad.json()["message"] == "Server error: format obj not supported"
    assert scene3d.get("/slicer/threeDGraphics?widgetIndex=abc").status_code == 500
    assert scene3d.get("/slicer/threeDGraphics?widgetIndex=4").status_code == 500


def test_three_d_shows_the_surfaces(scene3d):
    # segment "a" is pure green: it shows in the 3-D view
    image = rgb_of(scene3d.get("/slicer/threeD?lookFromAxis=a&size=256&stateless=1"))
    rgb = image.astype(int)
    green = (rgb[..., 1] > 60) & (rgb[..., 1] > 2 * rgb[..., 0]) & (rgb[..., 1] > 2 * rgb[..., 2])
    assert green.sum() > 20


def test_screenshot_composes_the_layout(scene3d):
    scene3d.get("/slicer/gui?viewersLayout=FourUp")
    shot = rgb_of(scene3d.get("/slicer/screenshot?size=400x300"))
    assert shot.shape == (300, 400, 3)
    tile_w, tile_h = (400 - 2) // 2, (300 - 2) // 2
    red = rgb_of(scene3d.get(f"/slicer/slice?view=red&size={tile_w}x{tile_h}&fiducials=1"))
    np.testing.assert_array_equal(shot[:tile_h, :tile_w], red)
    green = rgb_of(scene3d.get(f"/slicer/slice?view=green&size={tile_w}x{tile_h}&fiducials=1"))
    np.testing.assert_array_equal(
        shot[tile_h + 2 : 2 * tile_h + 2, tile_w + 2 : 2 * tile_w + 2], green
    )
    scene3d.get("/slicer/gui?viewersLayout=OneUp3D")
    one = rgb_of(scene3d.get("/slicer/screenshot?size=160x120"))
    three_d = rgb_of(scene3d.get("/slicer/threeD?size=160x120"))
    assert np.abs(one.astype(int) - three_d).mean() < 1.0
    scene3d.get("/slicer/gui?viewersLayout=FourUp")


def test_numpy_fallback_renders_three_d(voxweb):
    server = voxweb("--auth", "none", "--render-backend", "numpy")
    upload(server, "m", marker_volume(value=2000, radius=3), np.eye(4))
    a = rgb_of(server.get("/slicer/threeD?lookFromAxis=a&size=96"))
    s = rgb_of(server.get("/slicer/threeD?lookFromAxis=s&size=96"))
    assert not_background(a) > 20 and not_background(s) > 20
    assert not np.array_equal(a, s)


def test_auto_volume_rendering_can_be_switched_off(voxweb):
    server = voxweb("--auth", "none", "--no-auto-volume-rendering")
    upload(server, "m", marker_volume(value=2000, radius=3), np.eye(4))
    image = rgb_of(server.get("/slicer/threeD?size=64"))
    assert not_background(image) == 0


ADD_LABELS = """
from voxweb.scene import ColorEntry, ColorTable, LabelMapVolume
volume = scene.get_node("markers-3d")
labels = np.zeros(volume.array.shape, np.uint8)
labels[10:20, 20:30, 25:35] = 1
table = ColorTable(entries={1: ColorEntry("one", (1.0, 0.0, 0.0, 1.0))})
node = scene.add(LabelMapVolume(labels, volume.ijk_to_ras, name="labels", color_table=table))
red = scene.get_node_by_id("vtkMRMLSliceNodeRed")
red.label_volume_id = node.id
red.label_opacity = 0.5
"""


def test_label_layer_colour_and_opacity_over_http(scene3d):
    reply = scene3d.post("/slicer/exec", data=ADD_LABELS)
    assert reply.status_code == 200, reply.text
    matrix = GEOMETRIES["lps-nrrd"]
    centre_ijk = np.array([29.5, 24.5, 14.0, 1.0])  # the block's centre, on voxel plane k = 14
    point = (matrix @ centre_ijk)[:3]
    bounds = ras_bounds(matrix, marker_volume().shape).reshape(3, 2)
    axes = ORIENTATION_PRESETS["Axial"]
    extent = np.abs(axes.T @ (bounds[:, 1] - bounds[:, 0]))
    spacing = max(extent[0], extent[1]) / 200
    col, row, _ = expected_pixel(point, axes, bounds.mean(axis=1), spacing, (200, 200))
    image = rgb_of(
        scene3d.get(f"/slicer/slice?view=red&offset={float(point[2])!r}&size=200&stateless=1")
    )
    r, g, b = image[int(round(row)), int(round(col))].astype(int)
    assert abs(r - 128) <= 2 and g <= 2 and b <= 2  # 50 % red over black
    assert tuple(image[5, 5]) == (0, 0, 0)  # outside the block: the background only
    scene3d.post(
        "/slicer/exec", data="scene.get_node_by_id('vtkMRMLSliceNodeRed').label_opacity = 0"
    )


def view_volume(server) -> str | None:
    props = server.get("/slicer/mrml/properties?class=vtkMRMLViewNode").json()
    return next(iter(props.values())).get("VolumeRenderingVolumeID")


def test_three_d_view_follows_the_active_volume_until_a_script_chooses(voxweb):
    server = voxweb("--auth", "none", "--enable-exec")
    upload(server, "first", marker_volume(value=2000, radius=3), np.eye(4))
    first = rgb_of(server.get("/slicer/threeD?size=96"))
    shifted = np.eye(4)
    shifted[:3, 3] = (40.0, 0.0, 0.0)  # elsewhere: the camera refits to it
    upload(server, "second", np.full((20, 20, 20), 2000, np.int16), shifted)
    ids = {v["name"]: v["id"] for v in server.get("/slicer/volumes").json()}
    assert view_volume(server) == ids["second"]  # loading it made it active: 3-D follows
    second = rgb_of(server.get("/slicer/threeD?size=96"))
    assert np.abs(second.astype(int) - first).mean() > 5  # the first is no longer rendered
    assert server.post("/api/display", json={"volume": ids["first"]}).status_code == 200
    assert view_volume(server) == ids["first"]
    np.testing.assert_allclose(rgb_of(server.get("/slicer/threeD?size=96")), first, atol=2)
    reply = server.post(
        "/slicer/exec",
        data="import slicer\nlogic = slicer.modules.volumerendering.logic()\n"
        "vr = logic.CreateDefaultVolumeRenderingNodes(slicer.util.getNode('second'))\n"
        "vr.SetVisibility(True)\n",
    )
    assert reply.status_code == 200, reply.text
    assert server.post("/api/display", json={"volume": ids["first"]}).status_code == 200
    assert view_volume(server) == ids["second"]  # the script's choice stays
