"""Display properties set by Slicer snippets show in the rendered views.

Slice views: color tables, the display threshold, foreground blending, display visibility
and opacity, interpolation, label outlines, model cross-sections. 3-D views: model colour,
opacity, visibility and scalar colouring; volume rendering visibility, presets and cropping;
the camera node. Each check compares rendered pixels: they change where the property says
and stay the same everywhere else.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.scripting.support import properties, run, run_error, slice_image
from tests.support.server import VoxwebProcess

ARGS = ["--auth", "none", "--enable-exec", "--no-sample-download"]
SIZE = 160  # slice images: 0.5 mm per pixel over an 80 mm field of view

# A 40 mm cube volume on an identity grid (RAS = IJK), shown in the red view with a field of
# view twice its size, so the image has the volume in the middle and black around it.
SLICE_SCENE = """
flat = np.full((40, 40, 40), 100, np.int16)
blob = np.zeros((40, 40, 40), np.int16); blob[:, 10:30, 10:30] = 200
ramp = np.tile(np.arange(40, dtype=np.int16) * 6, (40, 40, 1))
label = np.zeros((40, 40, 40), np.uint8); label[:, 12:28, 12:28] = 1
for name, array in (("Flat", flat), ("Blob", blob), ("Ramp", ramp)):
    v = addVolumeFromArray(array, name=name)
    v.GetDisplayNode().SetWindowLevel(200, 100)
addVolumeFromArray(label, name="Label", nodeClassName="vtkMRMLLabelMapVolumeNode")
"""

LAYERS = """
setSliceViewerLayers(background=getNode({bg!r}), foreground={fg}, label={label},
                     foregroundOpacity={fg_opacity}, fit=True)
red = slicer.app.layoutManager().sliceWidget("Red").mrmlSliceNode()
red.SetFieldOfView(80, 80, 1)
red.SetUseLabelOutline(False)
for name in ("Flat", "Blob", "Ramp"):
    d = getNode(name).GetDisplayNode()
    d.SetAndObserveColorNodeID("vtkMRMLColorTableNodeGrey")
    d.ApplyThresholdOff(); d.SetVisibility(True); d.SetOpacity(1.0); d.InterpolateOn()
    d.SetWindowLevel(200, 100)
"""


def layers(server, bg="Flat", fg=None, label=None, fg_opacity=1.0) -> None:
    def ref(name):
        return "None" if name is None else f"getNode({name!r})"

    run(server, LAYERS.format(bg=bg, fg=ref(fg), label=ref(label), fg_opacity=fg_opacity))


def red(server) -> np.ndarray:
    return slice_image(server, "red", size=SIZE)


def region(i0: float, i1: float, j0: float, j1: float, margin: int = 2) -> np.ndarray:
    """Pixels whose centres lie inside voxels i0..i1-1, j0..j1-1 (shrunk by ``margin``
    pixels): the red view is centred on the volume (19.5, 19.5) at 0.5 mm per pixel, A up."""
    cols = np.arange(SIZE)
    x = 19.5 + (cols + 0.5 - SIZE / 2) * 0.5
    y = 19.5 + (SIZE / 2 - cols - 0.5) * 0.5
    m = margin * 0.5
    in_x = (x > i0 - 0.5 + m) & (x < i1 - 0.5 - m)
    in_y = (y > j0 - 0.5 + m) & (y < j1 - 0.5 - m)
    return in_y[:, None] & in_x[None, :]


INSIDE = region(0, 40, 0, 40)
OUTSIDE = ~region(0, 40, 0, 40, margin=-2)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with VoxwebProcess(tmp_path_factory.mktemp("script-display"), ARGS) as proc:
        run(proc, SLICE_SCENE)
        yield proc


# ----------------------------------------------------------------------------- slice views


def test_color_table_changes_hue_inside_the_volume_only(server):
    layers(server)
    grey = red(server)
    assert (grey[INSIDE] == 128).all() and (grey[OUTSIDE] == 0).all()
    run(
        server,
        "getNode('Flat').GetDisplayNode().SetAndObserveColorNodeID('vtkMRMLColorTableNodeIron')",
    )
    iron = red(server)
    expected = run(
        server,
        """
node = getNode('Flat').GetDisplayNode().GetColorNode()
__execResult = [node.GetID(), node.GetNumberOfColors(), list(node.GetColor(128))]
""",
    )
    assert expected[0] == "vtkMRMLColorTableNodeIron" and expected[1] == 256
    want = np.round(np.array(expected[2][:3]) * 255)
    assert np.abs(iron[INSIDE] - want).max() <= 1  # the table GetColor reports is the one drawn
    assert iron[INSIDE][:, 0].min() > iron[INSIDE][:, 2].max() + 100  # red-yellow, not grey
    assert np.array_equal(iron[OUTSIDE], grey[OUTSIDE])  # outside the volume: still black
    props = properties(server, run(server, "__execResult = getNode('Flat').GetID()"))
    assert props["ColorTable"] == "Iron"


def test_every_standard_ramp_renders_its_own_colors(server):
    layers(server, bg="Ramp")
    seen = {}
    for table in ("Rainbow", "Ocean", "Viridis", "PET-Heat", "InvertedGrey", "Cool1"):
        node_id = run(
            server,
            f"""
d = getNode('Ramp').GetDisplayNode()
node = slicer.mrmlScene.GetNodeByID(
    {{"Viridis": "vtkMRMLColorTableNodeFileViridis.txt",
      "PET-Heat": "vtkMRMLPETProceduralColorNodePET-Heat"}}.get({table!r},
      "vtkMRMLColorTableNode" + {table!r}))
d.SetAndObserveColorNodeID(node.GetID())
__execResult = d.GetColorNodeID()
""",
        )
        assert table in node_id
        image = red(server)
        seen[table] = image[INSIDE]
        assert (image[OUTSIDE] == 0).all()
    tables = list(seen)
    for a in range(len(tables)):
        for b in range(a + 1, len(tables)):
            assert np.abs(seen[tables[a]] - seen[tables[b]]).mean() > 10, (tables[a], tables[b])


def test_threshold_shows_the_layer_below_outside_the_range(server):
    layers(server, bg="Flat", fg="Blob")
    before = red(server)
    blob, around = region(10, 30, 10, 30), INSIDE & ~region(10, 30, 10, 30, margin=-2)
    assert (before[blob] == 255).all() and (before[around] == 0).all()  # opaque foreground
    run(
        server,
        """
d = getNode('Blob').GetDisplayNode()
d.SetThreshold(150, 300)
d.ApplyThresholdOn()
__execResult = [d.GetApplyThreshold(), d.GetLowerThreshold(), d.GetUpperThreshold()]
""",
    )
    after = red(server)
    assert (after[around] == 128).all()  # the 0 voxels are transparent: the background shows
    assert np.array_equal(after[blob], before[blob])  # voxels in the range are unchanged
    assert (after[OUTSIDE] == 0).all()


def test_foreground_opacity_blends_the_two_layers(server):
    layers(server, bg="Flat", fg="Blob", fg_opacity=0.5)
    image = red(server)
    blob, around = region(10, 30, 10, 30), INSIDE & ~region(10, 30, 10, 30, margin=-2)
    assert np.abs(image[blob] - (255 + 128) / 2).max() <= 1
    assert np.abs(image[around] - 128 / 2).max() <= 1
    run(
        server,
        "slicer.app.layoutManager().sliceWidget('Red').mrmlSliceCompositeNode().SetForegroundOpacity(0.25)",
    )
    quarter = red(server)
    assert np.abs(quarter[blob] - (0.25 * 255 + 0.75 * 128)).max() <= 1
    # the foreground's own display opacity multiplies in (voxweb: layer opacity x display)
    run(server, "getNode('Blob').GetDisplayNode().SetOpacity(0.0)")
    assert (red(server)[INSIDE] == 128).all()


def test_hidden_display_removes_the_layer_from_slices(server):
    layers(server, bg="Flat", fg="Blob")
    run(server, "getNode('Blob').GetDisplayNode().SetVisibility(False)")
    assert (red(server)[INSIDE] == 128).all()  # only the background is left
    run(server, "getNode('Flat').GetDisplayNode().SetVisibility(False)")
    assert (red(server) == 0).all()  # nothing visible: black, as in Slicer
    run(server, "getNode('Flat').GetDisplayNode().SetVisibility(True)")
    assert (red(server)[INSIDE] == 128).all()


def test_interpolation_off_shows_voxel_blocks(server):
    layers(server, bg="Ramp")
    smooth = red(server)
    run(server, "getNode('Ramp').GetDisplayNode().SetInterpolate(False)")
    blocky = red(server)
    row = INSIDE.nonzero()[0][40]
    line_smooth, line_blocky = smooth[row, INSIDE[row], 0], blocky[row, INSIDE[row], 0]
    # nearest neighbour: each 1 mm voxel is 2 equal pixels; linear: a value per pixel
    assert len(np.unique(line_blocky)) * 1.6 < len(np.unique(line_smooth))
    assert run(server, "__execResult = getNode('Ramp').GetDisplayNode().GetInterpolate()") is False


def test_label_outline_draws_only_the_edges(server):
    layers(server, bg="Flat")
    plain = red(server)
    layers(server, bg="Flat", label="Label")
    filled = red(server)
    square = region(12, 28, 12, 28)
    assert (np.abs(filled[square] - plain[square]).sum(axis=1) > 30).all()
    run(
        server,
        "slicer.app.layoutManager().sliceWidget('Red').mrmlSliceNode().SetUseLabelOutline(True)",
    )
    outlined = red(server)
    inner = region(12, 28, 12, 28, margin=3)
    assert np.array_equal(outlined[inner], plain[inner])  # the inside is no longer filled
    changed = np.abs(outlined - plain).sum(axis=2) > 30
    edge = region(12, 28, 12, 28, margin=-2) & ~inner
    assert changed[edge].sum() > 100 and not changed[~edge].any()
    run(
        server,
        "slicer.app.layoutManager().sliceWidget('Red').mrmlSliceCompositeNode().SetLabelOpacity(0.0)",
    )
    assert np.array_equal(red(server), plain)


def test_model_cross_section_is_drawn_in_its_color_when_visible_2d(server):
    layers(server, bg="Flat")
    plain = red(server)
    run(
        server,
        """
source = vtk.vtkSphereSource(); source.SetCenter(19.5, 19.5, 20); source.SetRadius(10)
source.SetThetaResolution(48); source.SetPhiResolution(48); source.Update()
model = slicer.modules.models.logic().AddModel(source.GetOutput())
model.SetName("Ball")
d = model.GetDisplayNode()
d.SetColor(0, 1, 0)
""",
    )
    assert np.array_equal(red(server), plain)  # 2-D visibility is off by default
    run(server, "getNode('Ball').GetDisplayNode().SetVisibility2D(True)")
    cut = red(server)
    changed = np.abs(cut - plain).sum(axis=2) > 0
    rows, cols = np.nonzero(changed)
    radius_px = np.hypot(rows + 0.5 - SIZE / 2 - 1, cols + 0.5 - SIZE / 2 - 1)
    assert len(rows) > 100
    assert np.abs(radius_px - 20).max() < 3  # a ring of 10 mm = 20 px around the centre
    green = cut[changed]
    assert (green[:, 1] > green[:, 0] + 60).mean() > 0.9  # drawn in the model's colour
    run(server, "getNode('Ball').GetDisplayNode().SetVisibility2D(False)")
    assert np.array_equal(red(server), plain)


def test_read_only_standard_tables_and_unknown_color_ids_say_so(server):
    message = run_error(
        server,
        "slicer.mrmlScene.GetNodeByID('vtkMRMLColorTableNodeIron').SetColor(0, 1, 0, 0)",
    )
    assert "read-only" in message


# ----------------------------------------------------------------------------- 3-D views

SIZE_3D = 128
CAMERA = """
camera = getNode('Camera')
camera.SetFocalPoint(0, 0, 0); camera.SetPosition(0, 400, 0); camera.SetViewUp(0, 0, 1)
"""

# a CT-like volume: air, a soft-tissue ball, a bone core (HU), centred at the origin
CT = """
k, j, i = np.indices((48, 48, 48))
r = np.sqrt((i - 23.5) ** 2 + (j - 23.5) ** 2 + (k - 23.5) ** 2)
ct = np.full((48, 48, 48), -1000, np.int16)
ct[r < 20] = 40
ct[r < 10] = 1000
ijk = np.eye(4); ijk[:3, 3] = -23.5 * 2; ijk[0, 0] = ijk[1, 1] = ijk[2, 2] = 2.0
head = addVolumeFromArray(ct, ijk, name="CT")
vr = slicer.modules.volumerendering.logic().CreateDefaultVolumeRenderingNodes(head)
vr.SetVisibility(False)
"""


def threed(server) -> np.ndarray:
    r = server.get(f"/slicer/threeD?size={SIZE_3D}")
    assert r.status_code == 200, r.text
    return np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB")).astype(int)


@pytest.fixture(scope="module")
def server3d(tmp_path_factory):
    with VoxwebProcess(tmp_path_factory.mktemp("script-display-3d"), ARGS) as proc:
        run(proc, CT + CAMERA)
        yield proc


def background_only(server) -> np.ndarray:
    colour = run(server, "__execResult = getNode('View1').GetBackgroundColor()")
    return np.round(np.array(colour) * 255).astype(int)


def test_camera_node_is_found_and_moves_the_3d_image(server3d):
    found = run(
        server3d,
        """
c = slicer.mrmlScene.GetFirstNodeByClass('vtkMRMLCameraNode')
__execResult = [c.GetID(), c.GetName(), getNode('Camera') is c,
                slicer.mrmlScene.GetNodeByID('vtkMRMLCameraNode1') is c,
                slicer.modules.cameras.logic().GetViewActiveCameraNode(getNode('View1')) is c,
                list(c.GetPosition())]
""",
    )
    assert found == ["vtkMRMLCameraNode1", "Camera", True, True, True, [0.0, 400.0, 0.0]]
    run(
        server3d,
        "getNode('CT').GetDisplayNode(); vr = slicer.modules.volumerendering.logic()"
        ".GetFirstVolumeRenderingDisplayNode(getNode('CT')); vr.SetVisibility(True)",
    )
    near = threed(server3d)
    run(server3d, "getNode('Camera').SetPosition(0, 800, 0)")
    far = threed(server3d)
    bg = background_only(server3d)
    covered = lambda image: int((np.abs(image - bg).sum(axis=2) > 30).sum())  # noqa: E731
    assert covered(far) < covered(near) * 0.5  # twice as far: a quarter of the area
    # a real vtkCamera: moving it moves the view's camera
    position = run(
        server3d,
        """
cam = getNode('Camera').GetCamera()
cam.Azimuth(90)
__execResult = [round(v, 3) for v in getNode('Camera').GetPosition()]
""",
    )
    assert abs(abs(position[0]) - 800) < 1e-2 and abs(position[1]) < 1e-2
    view = properties(server3d, "vtkMRMLViewNode1")
    assert np.allclose(view["Camera"]["Position"], position, atol=1e-2)
    side = threed(server3d)
    assert covered(side) > 0
    run(server3d, CAMERA + "vr.SetVisibility(False)")


def test_volume_rendering_visibility_toggles_the_volume(server3d):
    bg = background_only(server3d)
    empty = threed(server3d)
    assert (np.abs(empty - bg).max(axis=2) <= 1).all()
    result = run(
        server3d,
        """
logic = slicer.modules.volumerendering.logic()
vr = logic.GetFirstVolumeRenderingDisplayNode(getNode('CT'))
vr.SetVisibility(True)
__execResult = [vr.GetClassName(), vr.GetVisibility(), vr.IsA('vtkMRMLVolumeRenderingDisplayNode')]
""",
    )
    assert result == ["vtkMRMLGPURayCastVolumeRenderingDisplayNode", True, True]
    shown = threed(server3d)
    centre = shown[SIZE_3D // 2 - 8 : SIZE_3D // 2 + 8, SIZE_3D // 2 - 8 : SIZE_3D // 2 + 8]
    assert np.abs(centre - bg).sum(axis=2).min() > 30  # the volume is in the middle
    assert np.array_equal(shown[:4, :4], empty[:4, :4])  # corners stay background
    run(server3d, "vr.SetVisibility(False)")
    assert np.array_equal(threed(server3d), empty)


def test_preset_change_changes_the_image(server3d):
    images = {}
    for preset in ("CT-Bone", "CT-Soft-Tissue", "MR-Default"):
        name = run(
            server3d,
            f"""
logic = slicer.modules.volumerendering.logic()
vr = logic.GetFirstVolumeRenderingDisplayNode(getNode('CT'))
vr.SetVisibility(True)
vr.GetVolumePropertyNode().Copy(logic.GetPresetByName({preset!r}))
__execResult = vr.GetVolumePropertyNode().GetName()
""",
        )
        assert name == preset
        images[preset] = threed(server3d)
    assert np.abs(images["CT-Bone"] - images["CT-Soft-Tissue"]).mean() > 3
    assert np.abs(images["CT-Bone"] - images["MR-Default"]).mean() > 3
    bone_centre = images["CT-Bone"][SIZE_3D // 2, SIZE_3D // 2]
    soft_centre = images["CT-Soft-Tissue"][SIZE_3D // 2, SIZE_3D // 2]
    assert np.abs(bone_centre - soft_centre).sum() > 30
    names = run(
        server3d,
        "s = slicer.modules.volumerendering.logic().GetPresetsScene()\n"
        "__execResult = [n.GetName() for n in s.GetNodesByClass('vtkMRMLVolumePropertyNode')]",
    )
    assert {"CT-Bone", "CT-AAA", "MR-Default"} <= set(names)
    run(server3d, "vr.SetVisibility(False)")


def test_cropping_removes_the_cropped_part(server3d):
    run(
        server3d,
        """
logic = slicer.modules.volumerendering.logic()
vr = logic.GetFirstVolumeRenderingDisplayNode(getNode('CT'))
vr.GetVolumePropertyNode().Copy(logic.GetPresetByName('CT-Soft-Tissue'))
vr.SetVisibility(True)
""",
    )
    whole = threed(server3d)
    bg = background_only(server3d)
    bounds = run(
        server3d,
        """
roi = vr.GetROINode()
logic.FitROIToVolume(vr)
roi.SetXYZ(-25, 0, 0)        # keep x < 0 only: centre -25, half-size 25 along x
roi.SetRadiusXYZ(25, 60, 60)
vr.SetCroppingEnabled(True)
b = [0] * 6; roi.GetBounds(b)
__execResult = [vr.GetCroppingEnabled(), b]
""",
    )
    assert bounds == [True, [-50.0, 0.0, -60.0, 60.0, -60.0, 60.0]]
    cropped = threed(server3d)
    # looking from anterior with S up, patient left (x < 0) is on the image's right side
    half = SIZE_3D // 2
    gone, kept = cropped[:, : half - 2], cropped[:, half + 2 :]
    assert (np.abs(gone - bg).max(axis=2) <= 1).all()  # x > 0 removed: only background
    # the kept half is still there (shading near the cut face differs a little)
    kept_volume = np.abs(kept - bg).sum(axis=2) > 30
    whole_volume = np.abs(whole[:, half + 2 :] - bg).sum(axis=2) > 30
    assert (kept_volume == whole_volume).mean() > 0.98
    assert np.abs(kept - whole[:, half + 2 :]).mean() < 5
    assert (np.abs(whole[:, : half - 2] - bg).sum(axis=2) > 30).sum() > 200  # it had volume
    run(server3d, "vr.SetCroppingEnabled(False)")
    assert np.array_equal(threed(server3d), whole)
    run(server3d, "vr.SetVisibility(False)")


SPHERE_MODEL = """
source = vtk.vtkSphereSource(); source.SetRadius(30)
source.SetThetaResolution(64); source.SetPhiResolution(64); source.Update()
model = slicer.modules.models.logic().AddModel(source.GetOutput())
model.SetName("Sphere")
"""


def test_model_color_opacity_and_visibility_show_in_3d(server3d):
    bg = background_only(server3d)
    run(server3d, SPHERE_MODEL + "model.GetDisplayNode().SetColor(1, 0, 0)")
    red_image = threed(server3d)
    c = SIZE_3D // 2
    middle = red_image[c - 10 : c + 10, c - 10 : c + 10].reshape(-1, 3)
    assert (middle[:, 0] > middle[:, 1] + 60).all() and (middle[:, 0] > middle[:, 2] + 60).all()
    assert np.array_equal(red_image[:3, :3].reshape(-1, 3)[0], bg)
    run(server3d, "getNode('Sphere').GetDisplayNode().SetColor(0, 0, 1)")
    blue = threed(server3d)[c - 10 : c + 10, c - 10 : c + 10].reshape(-1, 3)
    assert (blue[:, 2] > blue[:, 0] + 60).all()
    run(server3d, "getNode('Sphere').GetDisplayNode().SetOpacity(0.3)")
    faint = threed(server3d)[c, c]
    assert np.abs(faint - bg).sum() < np.abs(blue[0] - bg).sum() * 0.8  # nearer the background
    props = run(
        server3d,
        "d = getNode('Sphere').GetDisplayNode()\n"
        "__execResult = [list(d.GetColor()), d.GetOpacity(), d.GetClassName()]",
    )
    assert props == [[0.0, 0.0, 1.0], 0.3, "vtkMRMLModelDisplayNode"]
    run(server3d, "getNode('Sphere').GetDisplayNode().SetVisibility(False)")
    assert (np.abs(threed(server3d) - bg).max(axis=2) <= 1).all()
    run(server3d, "slicer.mrmlScene.RemoveNode(getNode('Sphere'))")


def test_model_scalars_color_the_surface_through_a_table(server3d):
    run(
        server3d,
        SPHERE_MODEL
        + """
points = arrayFromModelPoints(model)
import vtk.util.numpy_support as ns
height = ns.numpy_to_vtk(points[:, 2].copy()); height.SetName("Height")
model.GetPolyData().GetPointData().AddArray(height)   # added through VTK, as in Slicer
d = model.GetDisplayNode()
d.SetColor(1, 1, 1)
""",
    )
    plain = threed(server3d)
    values = run(
        server3d,
        """
model = getNode('Sphere'); d = model.GetDisplayNode()
d.SetActiveScalarName("Height")
d.SetAndObserveColorNodeID("vtkMRMLColorTableNodeRainbow")
d.SetScalarVisibility(True)
h = arrayFromModelPointData(model, "Height")
__execResult = [float(h.min()), float(h.max()), d.GetScalarVisibility(), list(d.GetScalarRange())]
""",
    )
    assert values[0] == pytest.approx(-30, abs=0.5) and values[1] == pytest.approx(30, abs=0.5)
    coloured = threed(server3d)
    c = SIZE_3D // 2
    top, bottom = coloured[c - 12, c], coloured[c + 12, c]
    assert np.abs(top - bottom).sum() > 100  # different ends of the rainbow
    assert np.abs(plain[c - 12, c] - plain[c + 12, c]).sum() < 60  # white: both alike before
    run(server3d, "getNode('Sphere').GetDisplayNode().ScalarVisibilityOff()")
    assert np.abs(threed(server3d) - plain).max() <= 2
    run(server3d, "slicer.mrmlScene.RemoveNode(getNode('Sphere'))")


def test_view_background_color_set_by_script(server3d):
    run(server3d, "getNode('View1').SetBackgroundColor(0.2, 0.4, 0.6)")
    image = threed(server3d)
    assert np.abs(image[0, 0] - [51, 102, 153]).max() <= 1
    run(
        server3d,
        "getNode('View1').SetBackgroundColor(0.7568627450980392, 0.7647058823529411, 0.9098039215686274)",
    )


def test_unsupported_display_features_say_what_is_missing(server3d):
    assert "parallel projection" in run_error(
        server3d, "getNode('Camera').SetParallelProjection(True)"
    )
    assert "CreateDefaultVolumeRenderingNodes" in run_error(
        server3d, "slicer.modules.volumerendering.logic().CreateVolumeRenderingDisplayNode()"
    )
