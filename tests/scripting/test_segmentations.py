"""Segmentations through Slicer's scripting API: segments from masks, display in slice and 3-D
views, export/import, closed surfaces and SegmentStatistics, each checked over HTTP."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.scripting.support import properties, run, run_error, slice_image, volume_array
from tests.support.server import VoxwebProcess

SIZE = 200
# A 12 x 40 x 50 volume with 1.5 x 1 x 2 mm voxels: a bright box (j 10..24, i 15..34) over a
# darker ramp; the segment is the threshold of the box, drawn by script.
SETUP = """
k, j, i = np.indices((12, 40, 50))
voxels = (20 + i + j).astype(np.int16)
voxels[:, 10:25, 15:35] = 200
volume = slicer.util.addVolumeFromArray(voxels, name="Body")
volume.SetSpacing(1.5, 1.0, 2.0)
volume.GetDisplayNode().SetWindowLevel(400, 200)
setSliceViewerLayers(background=volume, fit=True)

seg = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "Seg")
seg.CreateDefaultDisplayNodes()
seg.SetReferenceImageGeometryParameterFromVolumeNode(volume)
box = seg.GetSegmentation().AddEmptySegment("box", "Box", [1.0, 0.0, 0.0])
mask = (arrayFromVolume(volume) > 150).astype(np.uint8)
updateSegmentBinaryLabelmapFromArray(mask, seg, box, volume)
__execResult = {"volume": volume.GetID(), "seg": seg.GetID()}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with VoxwebProcess(
        tmp_path_factory.mktemp("script-segmentations"),
        ["--auth", "none", "--enable-exec", "--no-sample-download", "--no-auto-volume-rendering"],
    ) as proc:
        proc.ids = run(proc, SETUP)
        yield proc


def _show(server, code: str = "") -> np.ndarray:
    """Reset the display to Slicer's defaults, run ``code``, render the Red view."""
    run(
        server,
        """
seg = getNode("Seg"); d = seg.GetDisplayNode()
d.SetVisibility(True); d.SetOpacity(1.0); d.SetOpacity2DFill(0.5); d.SetOpacity2DOutline(1.0)
d.SetVisibility2DFill(True); d.SetVisibility2DOutline(True); d.SetAllSegmentsVisibility(True)
"""
        + code,
    )
    return slice_image(server, size=SIZE)


def _voxel_of_pixels(server) -> tuple[np.ndarray, np.ndarray]:
    """(k, j, i) of the volume voxel under each pixel of the Red view, and a mask of pixels
    safely inside a voxel (not on a voxel border, where rounding could go either way)."""
    red = properties(server, "vtkMRMLSliceNodeRed")
    volume = properties(server, server.ids["volume"])
    slice_to_ras = np.array(red["SliceToRAS"])
    fov = red["FieldOfView"]
    s = max(fov[0] / SIZE, fov[1] / SIZE)
    cols, rows = np.meshgrid(np.arange(SIZE), np.arange(SIZE))
    x = (cols + 0.5 - SIZE / 2) * s
    y = (SIZE / 2 - rows - 0.5) * s
    xyz1 = np.stack([x, y, np.zeros_like(x), np.ones_like(x)], axis=-1)
    ras = xyz1 @ slice_to_ras.T
    ijk = ras @ np.linalg.inv(np.array(volume["IJKToRASMatrix"])).T
    index = np.floor(ijk[..., :3] + 0.5).astype(int)
    # in-plane axes only: the view sits between two slices of the even-sized volume (every
    # segment here spans all of them)
    frac = np.abs(ijk[..., :2] - np.round(ijk[..., :2]))
    safe = np.all(np.abs(frac - 0.5) > 0.05, axis=-1)
    return index[..., ::-1], safe


def _inside(kji: np.ndarray, mask: np.ndarray) -> np.ndarray:
    k, j, i = kji[..., 0], kji[..., 1], kji[..., 2]
    within = (k >= 0) & (k < mask.shape[0]) & (j >= 0) & (j < mask.shape[1])
    within &= (i >= 0) & (i < mask.shape[2])
    out = np.zeros(k.shape, dtype=bool)
    out[within] = mask[k[within], j[within], i[within]] != 0
    return out


def _mask(server) -> np.ndarray:
    return volume_array(server, server.ids["volume"]) > 150


def test_segment_shows_in_its_color_where_the_mask_is_and_nowhere_else(server):
    hidden = _show(server, "d.SetVisibility(False)")
    shown = _show(server)
    kji, safe = _voxel_of_pixels(server)
    inside = _inside(kji, _mask(server))
    changed = np.any(shown != hidden, axis=-1)
    assert inside[safe].sum() > 500
    assert np.all(changed[inside & safe])  # every pixel of the segment is tinted...
    assert not np.any(changed[~inside & safe])  # ...and nothing outside it
    # tinted toward pure red: more red, less green than the grey underneath
    assert np.all(shown[inside & safe][:, 0] >= hidden[inside & safe][:, 0])
    assert np.all(shown[inside & safe][:, 1] < hidden[inside & safe][:, 1])


def test_fill_and_outline_opacity_change_the_pixels_as_asked(server):
    hidden = _show(server, "d.SetVisibility(False)")
    kji, safe = _voxel_of_pixels(server)
    inside = _inside(kji, _mask(server)) & safe
    # Opaque fill, no outline: every segment pixel is exactly the segment color.
    solid = _show(server, "d.SetOpacity2DFill(1.0); d.SetVisibility2DOutline(False)")
    assert np.all(solid[inside] == [255, 0, 0])
    # Half fill, no outline: halfway between the grey and red.
    half = _show(server, "d.SetVisibility2DOutline(False)")
    expected = (hidden[inside] + np.array([255, 0, 0])) / 2
    assert np.abs(half[inside] - expected).max() <= 1
    # Outline only: a thin red ring; the inside of the box stays as without the segment.
    ring = _show(server, "d.SetOpacity2DFill(0.0)")
    changed = np.any(ring != hidden, axis=-1)
    assert 0 < changed.sum() < inside.sum() / 3
    assert np.all(ring[changed] == [255, 0, 0])
    assert not np.any(changed & ~_inside(kji, _mask(server)))
    # The overall opacity scales both: zero hides the segment.
    assert np.array_equal(_show(server, "d.SetOpacity(0.0)"), hidden)
    props = run(server, "__execResult = [d.GetOpacity2DFill(), d.GetVisibility2DOutline()]")
    assert props == [0.5, True]


def test_segment_visibility_hides_one_segment_and_keeps_the_other(server):
    run(
        server,
        """
seg = getNode("Seg")
corner = seg.GetSegmentation().AddEmptySegment("corner", "Corner", [0.0, 0.0, 1.0])
m = np.zeros(arrayFromVolume(getNode("Body")).shape, np.uint8)
m[:, 30:38, 2:10] = 1
updateSegmentBinaryLabelmapFromArray(m, seg, corner, getNode("Body"))
""",
    )
    try:
        hidden = _show(server, "d.SetVisibility(False)")
        both = _show(server)
        only_box = _show(server, "d.SetSegmentVisibility('corner', False)")
        kji, safe = _voxel_of_pixels(server)
        corner = np.zeros(_mask(server).shape, bool)
        corner[:, 30:38, 2:10] = True
        in_corner = _inside(kji, corner) & safe
        in_box = _inside(kji, _mask(server)) & safe
        assert np.all(np.any(both[in_corner] != hidden[in_corner], axis=-1))
        assert np.array_equal(only_box[in_corner], hidden[in_corner])  # corner hidden
        assert np.array_equal(only_box[in_box], both[in_box])  # box untouched
        visible = run(
            server, "__execResult = getNode('Seg').GetDisplayNode().GetVisibleSegmentIDs()"
        )
        assert visible == ["box"]
        display = properties(server, server.ids["seg"])["Segmentation"]["Display"]
        assert display["SegmentVisibility"] == {"box": 1, "corner": 0}
    finally:
        run(server, "getNode('Seg').GetSegmentation().RemoveSegment('corner')")


def test_export_to_labelmap_is_served_by_volume(server):
    ids = run(
        server,
        """
seg = getNode("Seg")
extra = seg.GetSegmentation().AddEmptySegment("", "Extra", [0, 1, 0])
m = np.zeros(arrayFromVolume(getNode("Body")).shape, np.uint8); m[2:4, 1:5, 40:45] = 1
updateSegmentBinaryLabelmapFromArray(m, seg, extra, getNode("Body"))
ids = vtk.vtkStringArray()
ids.InsertNextValue("box"); ids.InsertNextValue(extra)
full = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "Full")
logic = slicer.modules.segmentations.logic()
logic.ExportSegmentsToLabelmapNode(seg, ids, full, getNode("Body"))
small = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "Small")
slicer.vtkSlicerSegmentationsModuleLogic.ExportAllSegmentsToLabelmapNode(seg, small)
seg.GetSegmentation().RemoveSegment(extra)
__execResult = [full.GetID(), small.GetID()]
""",
    )
    full = volume_array(server, ids[0])
    box = _mask(server)
    extra = np.zeros(box.shape, bool)
    extra[2:4, 1:5, 40:45] = True
    expected = np.where(box, 1, np.where(extra, 2, 0))
    assert full.shape == box.shape and np.array_equal(full, expected)
    # Without a reference the label map is cropped to the segments, its origin moved with it.
    small = volume_array(server, ids[1])
    assert small.shape == (12, 24, 30)  # k 0..11, j 1..24, i 15..44
    body, props = properties(server, server.ids["volume"]), properties(server, ids[1])
    ijk = np.array(body["IJKToRASMatrix"])
    assert np.allclose(np.array(props["IJKToRASMatrix"])[:3, 3], (ijk @ [15, 1, 0, 1])[:3])
    assert np.array_equal(small, expected[:, 1:25, 15:45])


def test_import_labelmap_makes_segments_shown_in_mrml(server):
    seg_id = run(
        server,
        """
labels = np.zeros((12, 40, 50), np.uint8)
labels[:, 5:9, 5:9] = 3
labels[:, 20:30, 40:45] = 7
lab = slicer.util.addVolumeFromArray(labels, name="Labels", nodeClassName="vtkMRMLLabelMapVolumeNode")
lab.SetSpacing(1.5, 1.0, 2.0)
imported = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "Imported")
slicer.modules.segmentations.logic().ImportLabelmapToSegmentationNode(lab, imported, "part")
seg_ids = imported.GetSegmentation().GetSegmentIDs()
counts = [int(arrayFromSegmentBinaryLabelmap(imported, s, getNode("Body")).sum()) for s in seg_ids]
__execResult = [imported.GetID(), counts]
""",
    )
    node_id, counts = seg_id
    assert counts == [12 * 16, 12 * 50]
    segments = properties(server, node_id)["Segmentation"]["Segments"]
    assert sorted(s["Name"] for s in segments.values()) == ["part_3", "part_7"]
    run(server, f"slicer.mrmlScene.RemoveNode(getNode('{node_id}'))")


def test_closed_surface_has_the_bounds_and_area_of_the_mask(server):
    result = run(
        server,
        """
seg = getNode("Seg")
before = seg.GetClosedSurfaceInternalRepresentation("box")
seg.GetSegmentation().SetConversionParameter("Smoothing factor", "0.0")
seg.CreateClosedSurfaceRepresentation()
poly = vtk.vtkPolyData()
ok = seg.GetClosedSurfaceRepresentation("box", poly)
mass = vtk.vtkMassProperties(); mass.SetInputData(poly); mass.Update()
import vtkSegmentationCorePython as vtkSegmentationCore
name = vtkSegmentationCore.vtkSegmentationConverter.GetSegmentationClosedSurfaceRepresentationName()
__execResult = {"before": before is None, "ok": ok, "bounds": list(poly.GetBounds()),
                "area": mass.GetSurfaceArea(), "volume": mass.GetVolume(),
                "contains": seg.GetSegmentation().ContainsRepresentation(name)}
""",
    )
    assert result["before"] and result["ok"] and result["contains"]
    ijk = np.array(properties(server, server.ids["volume"])["IJKToRASMatrix"])
    corners = np.array(
        [[i, j, k, 1] for i in (14.5, 34.5) for j in (9.5, 24.5) for k in (-0.5, 11.5)]
    )
    ras = corners @ ijk.T
    expected = [v for a in range(3) for v in (ras[:, a].min(), ras[:, a].max())]
    assert np.allclose(result["bounds"], expected, atol=1e-3)
    sx, sy, sz = (e - s for s, e in zip(expected[0::2], expected[1::2], strict=True))
    box_area = 2 * (sx * sy + sy * sz + sz * sx)
    assert 0.85 * box_area < result["area"] <= box_area  # chamfered edges, nothing more
    assert abs(result["volume"] - sx * sy * sz) < 0.1 * sx * sy * sz


def test_closed_surface_shows_in_3d_in_the_segment_color(server):
    def red_pixels() -> int:
        r = server.get("/slicer/threeD?lookFromAxis=anterior&size=160&stateless=1")
        assert r.status_code == 200
        rgb = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB")).astype(int)
        return int(((rgb[..., 0] > 90) & (rgb[..., 1] < 40) & (rgb[..., 2] < 40)).sum())

    run(server, "getNode('Seg').RemoveClosedSurfaceRepresentation()")
    assert red_pixels() == 0  # no surface yet, as in Slicer
    run(server, "getNode('Seg').CreateClosedSurfaceRepresentation()")
    assert red_pixels() > 200
    run(server, "getNode('Seg').GetDisplayNode().SetSegmentVisibility3D('box', False)")
    assert red_pixels() == 0
    run(server, "getNode('Seg').GetDisplayNode().SetSegmentVisibility3D('box', True)")


def test_segment_statistics_match_numpy(server):
    stats = run(
        server,
        """
import SegmentStatistics
logic = SegmentStatistics.SegmentStatisticsLogic()
p = logic.getParameterNode()
p.SetParameter("Segmentation", getNode("Seg").GetID())
p.SetParameter("ScalarVolume", getNode("Body").GetID())
p.SetParameter("LabelmapSegmentStatisticsPlugin.centroid_ras.enabled", str(True))
logic.computeStatistics()
s = logic.getStatistics()
__execResult = {"ids": s["SegmentIDs"], "values": {k[1]: s[k] for k in s
                if isinstance(k, tuple) and k[0] == "box" and k[1] != "Segment"},
                "text": logic.getStatisticsValueAsString("box", "ScalarVolumeSegmentStatisticsPlugin.mean")}
""",
    )
    body = volume_array(server, server.ids["volume"])
    mask = body > 150
    props = properties(server, server.ids["volume"])
    ijk = np.array(props["IJKToRASMatrix"])
    voxel = abs(np.linalg.det(ijk[:3, :3]))
    values = stats["values"]
    assert stats["ids"] == ["box"]
    assert values["LabelmapSegmentStatisticsPlugin.voxel_count"] == int(mask.sum())
    assert values["LabelmapSegmentStatisticsPlugin.volume_mm3"] == pytest.approx(mask.sum() * voxel)
    assert values["LabelmapSegmentStatisticsPlugin.volume_cm3"] == pytest.approx(
        mask.sum() * voxel / 1000
    )
    kji = np.argwhere(mask).mean(axis=0)
    centroid = (ijk @ [kji[2], kji[1], kji[0], 1])[:3]
    assert np.allclose(values["LabelmapSegmentStatisticsPlugin.centroid_ras"], centroid)
    under = body[mask].astype(float)
    assert values["ScalarVolumeSegmentStatisticsPlugin.mean"] == pytest.approx(under.mean())
    assert values["ScalarVolumeSegmentStatisticsPlugin.stdev"] == pytest.approx(under.std())
    assert values["ScalarVolumeSegmentStatisticsPlugin.min"] == under.min()
    assert values["ScalarVolumeSegmentStatisticsPlugin.median"] == np.median(under)
    assert values["ScalarVolumeSegmentStatisticsPlugin.voxel_count"] == int(mask.sum())
    assert values["ClosedSurfaceSegmentStatisticsPlugin.volume_mm3"] == pytest.approx(
        mask.sum() * voxel, rel=0.1
    )
    assert float(stats["text"]) == pytest.approx(under.mean())


def test_segment_views_and_oriented_image_data(server):
    result = run(
        server,
        """
seg = getNode("Seg")
segmentation = seg.GetSegmentation()
segment = segmentation.GetSegment("box")
segment.SetName("Tumour"); segment.SetColor(0.2, 0.4, 0.6)
slicer.vtkSlicerSegmentationsModuleLogic.SetSegmentStatus(segment, 2)
status = vtk.mutable("")
found = segment.GetTag("Segmentation.Status", status)
image = slicer.vtkOrientedImageData()
seg.GetBinaryLabelmapRepresentation("box", image)
m = vtk.vtkMatrix4x4(); image.GetImageToWorldMatrix(m)
ids = vtk.vtkStringArray(); segmentation.GetSegmentIDs(ids)
__execResult = {
    "same": segment is segmentation.GetSegment("box") is segmentation.GetNthSegment(0),
    "byName": segmentation.GetSegmentIdBySegmentName("tumour"),
    "status": [found, str(status), slicer.vtkSlicerSegmentationsModuleLogic.GetSegmentStatus(segment)],
    "extent": list(image.GetExtent()),
    "spacing": [m.GetElement(0, 0), m.GetElement(1, 1), m.GetElement(2, 2)],
    "ids": [ids.GetValue(0)], "source": segmentation.GetSourceRepresentationName(),
}
segment.SetName("Box"); segment.SetColor(1, 0, 0)
""",
    )
    assert result["same"] and result["byName"] == "box"
    assert result["status"] == [True, "completed", 2]
    assert result["extent"] == [15, 34, 10, 24, 0, 11]
    assert result["spacing"] == [1.5, 1.0, 2.0]
    assert result["ids"] == ["box"] and result["source"] == "Binary labelmap"
    props = properties(server, server.ids["seg"])["Segmentation"]["Segments"]["box"]
    assert props["Name"] == "Box" and props["Color"] == [1.0, 0.0, 0.0]


def test_segment_from_vtk_image_and_from_a_model(server):
    result = run(
        server,
        """
seg = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "Shapes")
seg.SetReferenceImageGeometryParameterFromVolumeNode(getNode("Body"))
threshold = vtk.vtkImageThreshold()
threshold.SetInputData(getNode("Body").GetImageData())
threshold.ThresholdByUpper(150); threshold.SetInValue(1); threshold.SetOutValue(0)
threshold.SetOutputScalarTypeToUnsignedChar(); threshold.Update()
image = slicer.vtkOrientedImageData()
image.ShallowCopy(threshold.GetOutput())
ijkToRas = vtk.vtkMatrix4x4(); getNode("Body").GetIJKToRASMatrix(ijkToRas)
image.SetImageToWorldMatrix(ijkToRas)
a = seg.AddSegmentFromBinaryLabelmapRepresentation(image, "FromImage", [0, 1, 0])
sphere = vtk.vtkSphereSource(); sphere.SetCenter(getNode("Body").GetRASBounds()[1] / 2, 20, 10)
sphere.SetRadius(6); sphere.SetPhiResolution(40); sphere.SetThetaResolution(40); sphere.Update()
model = slicer.modules.models.logic().AddModel(sphere.GetOutput())
slicer.modules.segmentations.logic().ImportModelToSegmentationNode(model, seg)
b = seg.GetSegmentation().GetNthSegmentID(1)
same = bool(np.array_equal(arrayFromSegmentBinaryLabelmap(seg, a, getNode("Body")),
                           arrayFromSegmentBinaryLabelmap(getNode("Seg"), "box", getNode("Body"))))
ball = int(arrayFromSegmentBinaryLabelmap(seg, b).sum()) * 3.0
slicer.mrmlScene.RemoveNode(seg); slicer.mrmlScene.RemoveNode(model)
__execResult = {"same": same, "ball_mm3": ball}
""",
    )
    assert result["same"]
    assert result["ball_mm3"] == pytest.approx(4 / 3 * np.pi * 6**3, rel=0.15)


def test_unsupported_calls_say_what_is_missing(server):
    message = run_error(
        server,
        "getNode('Seg').GetDisplayNode().SetPreferredDisplayRepresentationName3D('Planar contour')",
    )
    assert "closed surfaces" in message
    message = run_error(
        server,
        """
import SegmentStatistics
SegmentStatistics.SegmentStatisticsLogic().exportToTable(None)
""",
    )
    assert "table" in message
