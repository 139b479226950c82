"""Markups through Slicer's scripting API: control points, every markup type, measurements,
display properties, rendering in slice and 3-D views, files, observers and the logic."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from tests.scripting.support import properties, run, run_error, slice_image
from tests.support.server import VoxwebProcess

# A 100 x 100 x 41 mm black volume centred on RAS 0: after a fit the Red view at size 100
# shows 1 mm per pixel, pixel (col, row) centred at R = 49.5 - col (patient right on the
# left, as Slicer's axial view), A = 49.5 - row.
BLANK = """
ijk = np.diag([1.0, 1.0, 1.0, 1.0]); ijk[:3, 3] = [-49.5, -49.5, -20]
blank = slicer.util.addVolumeFromArray(np.zeros((41, 100, 100), np.int16), ijk, "Blank")
blank.GetDisplayNode().SetWindowLevel(100, 50)  # zero is black
setSliceViewerLayers(background=blank, fit=True)
getNode("vtkMRMLSliceNodeRed").SetSliceOffset(0)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("markups-files")
    with VoxwebProcess(
        tmp_path_factory.mktemp("script-markups"),
        ["--auth", "none", "--enable-exec", "--no-sample-download", "--file-root", str(root)],
    ) as proc:
        proc.file_root = root
        run(proc, BLANK)
        yield proc


@pytest.fixture(autouse=True)
def clean(server):
    """Each test starts without markups (the blank volume stays)."""
    run(
        server,
        "for n in list(getNodesByClass('vtkMRMLMarkupsNode')): slicer.mrmlScene.RemoveNode(n)",
    )
    yield


def red(server) -> np.ndarray:
    return slice_image(server, "red", size="100x100", fiducials=1, offset=0)


def px(r: float, a: float) -> tuple[int, int]:
    """(row, col) of the pixel centred nearest to (R, A)."""
    return int(round(49.5 - a)), int(round(49.5 - r))


def lit(image: np.ndarray) -> np.ndarray:
    return image.max(axis=2) > 40


def threed(server, axis: str = "a") -> np.ndarray:
    r = server.get(f"/slicer/threeD?lookFromAxis={axis}&size=200&stateless=1")
    assert r.status_code == 200, r.text
    return np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB")).astype(int)


# --- control points ----------------------------------------------------------------------


def test_control_point_calls_and_their_results(server):
    result = run(
        server,
        """
f = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "P")
i0 = f.AddControlPoint(vtk.vtkVector3d(1, 2, 3))
i1 = f.AddControlPoint([4, 5, 6], "tip")
i2 = f.AddControlPoint(7, 8, 9)
f.InsertControlPoint(1, vtk.vtkVector3d(0, 0, 1), "inserted")
f.SetNthControlPointPosition(3, 70, 80, 90)
f.SetNthControlPointLabel(0, "first")
f.SetNthControlPointDescription(0, "the first one")
f.SetNthControlPointLocked(2, True)
f.SetNthControlPointVisibility(3, False)
f.SetNthControlPointSelected(1, False)
out = [0.0, 0.0, 0.0]
f.GetNthControlPointPosition(2, out)
arr = np.zeros(3)
f.GetNthControlPointPositionWorld(3, arr)
__execResult = {
    "indices": [i0, i1, i2],
    "n": f.GetNumberOfControlPoints(),
    "defined": f.GetNumberOfDefinedControlPoints(),
    "labels": [f.GetNthControlPointLabel(i) for i in range(4)],
    "out": out, "arr": arr.tolist(),
    "locked": f.GetNthControlPointLocked(2), "visible": f.GetNthControlPointVisibility(3),
    "array": arrayFromMarkupsControlPoints(f).tolist(),
    "id": f.GetID(),
}
""",
    )
    assert result["indices"] == [0, 1, 2] and result["n"] == 4 and result["defined"] == 4
    assert result["labels"] == ["first", "inserted", "tip", "P-3"]
    assert result["out"] == [4.0, 5.0, 6.0] and result["arr"] == [70.0, 80.0, 90.0]
    assert result["locked"] is True and result["visible"] is False
    assert result["array"] == [[1, 2, 3], [0, 0, 1], [4, 5, 6], [70, 80, 90]]
    props = properties(server, result["id"])
    points = props["ControlPoints"]
    assert [p["Label"] for p in points] == ["first", "inserted", "tip", "P-3"]
    assert points[0]["Description"] == "the first one" and points[2]["Locked"] is True
    assert points[1]["Selected"] is False and points[3]["Visibility"] is False
    # numpy in, numpy out; removing points
    result = run(
        server,
        """
f = getNode("P")
updateMarkupsControlPointsFromArray(f, np.array([[1.0, 1, 1], [2, 2, 2]]))
n_after_update = f.GetNumberOfControlPoints()
f.RemoveNthControlPoint(0)
points = vtk.vtkPoints()
f.GetControlPointPositionsWorld(points)
__execResult = [n_after_update, points.GetNumberOfPoints(), list(points.GetPoint(0))]
""",
    )
    assert result == [2, 1, [2.0, 2.0, 2.0]]


def test_world_coordinates_follow_the_parent_transform(server):
    result = run(
        server,
        """
t = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "Shift")
m = vtk.vtkMatrix4x4(); m.SetElement(0, 3, 10); t.SetMatrixTransformToParent(m)
f = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "W")
f.SetAndObserveTransformNodeID(t.GetID())
f.AddControlPointWorld([15, 0, 0])
local = f.GetNthControlPointPosition(0)
pts = vtk.vtkPoints(); pts.InsertNextPoint(30, 1, 2)
f.SetControlPointPositionsWorld(pts)
roi = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "Box")
roi.SetAndObserveTransformNodeID(t.GetID())
roi.SetCenter(0, 0, 0); roi.SetSize(2, 4, 6)
bounds, ras = [0.0] * 6, [0.0] * 6
roi.GetBounds(bounds); roi.GetRASBounds(ras)
roi.HardenTransform()
center = roi.GetCenter()
__execResult = [local, f.GetNthControlPointPosition(0), bounds, ras, center]
""",
    )
    assert result[0] == [5.0, 0.0, 0.0]
    assert result[1] == [20.0, 1.0, 2.0]
    assert result[2] == [-1, 1, -2, 2, -3, 3] and result[3] == [9, 11, -2, 2, -3, 3]
    assert result[4] == [10.0, 0.0, 0.0]


def test_limits_and_unsupported_calls_say_what_is_missing(server):
    message = run_error(
        server,
        """
line = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsLineNode", "Two")
for p in ([0, 0, 0], [1, 0, 0], [2, 0, 0]): line.AddControlPoint(p)
""",
    )
    assert "room for 2" in message
    message = run_error(
        server,
        'c = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsCurveNode")\n'
        "c.SetCurveTypeToPolynomial()",
    )
    assert "Polynomial" in message and "not supported" in message
    message = run_error(server, "getNode('Two').GetNthControlPointPosition(7)")
    assert "out of range" in message


# --- measurements ------------------------------------------------------------------------


def test_measurements_of_each_type(server):
    result = run(
        server,
        """
new = slicer.mrmlScene.AddNewNodeByClass
line = new("vtkMRMLMarkupsLineNode", "L")
line.AddControlPoint([0, 0, 0]); line.AddControlPoint([3, 4, 12])
angle = new("vtkMRMLMarkupsAngleNode", "A")
for p in ([10, 0, 0], [0, 0, 0], [10, 10, 0]): angle.AddControlPoint(p)
curve = new("vtkMRMLMarkupsCurveNode", "C")
for p in ([0, 0, 0], [10, 0, 0], [10, 10, 0]): curve.AddControlPoint(p)
curve.SetCurveTypeToLinear()
linear = curve.GetCurveLengthWorld()
curve.SetCurveTypeToCardinalSpline()
closed = new("vtkMRMLMarkupsClosedCurveNode", "CC")
for p in ([0, 0, 0], [20, 0, 0], [20, 10, 0], [0, 10, 0]): closed.AddControlPoint(p)
closed.SetCurveTypeToLinear()
closed.GetMeasurement("area").SetEnabled(True)
length = line.GetMeasurement("length")
curve_points = curve.GetCurvePointsWorld()
__execResult = {
    "line": [line.GetLineLengthWorld(), length.GetValue(), length.GetUnits(), length.GetEnabled()],
    "angle": [angle.GetAngleDegrees(), angle.GetMeasurement("angle").GetValue()],
    "curve": [linear, curve.GetCurveLengthWorld(), curve_points.GetNumberOfPoints()],
    "curve_array": arrayFromMarkupsCurvePoints(curve).shape,
    "closed": [closed.GetCurveLengthWorld(), closed.GetMeasurement("area").GetValue()],
    "ids": [n.GetID() for n in (line, angle, closed)],
}
""",
    )
    assert result["line"] == [13.0, 13.0, "mm", True]
    assert result["angle"] == pytest.approx([45.0, 45.0])
    linear, spline, count = result["curve"]
    assert linear == pytest.approx(20.0) and 20.0 < spline < 24.0 and count == 21
    assert result["curve_array"] == [21, 3]
    assert result["closed"] == pytest.approx([60.0, 200.0])
    line_id, angle_id, closed_id = result["ids"]
    assert properties(server, line_id)["Measurements"]["length"]["Value"] == 13.0
    assert properties(server, angle_id)["Measurements"]["angle"]["Units"] == "deg"
    area = properties(server, closed_id)["Measurements"]["area"]
    assert area["Enabled"] is True and area["Value"] == pytest.approx(200.0)


# --- rendering ---------------------------------------------------------------------------


def test_point_shows_at_its_pixel_in_the_colour_the_script_sets(server):
    before = red(server)
    assert not lit(before).any()
    run(
        server,
        """
f = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "Dot")
f.AddControlPoint(10, -20, 0)
d = f.GetDisplayNode()
d.SetSelectedColor(1, 0, 0)
d.SetPointLabelsVisibility(False)
""",
    )
    image = red(server)
    row, col = px(10, -20)
    ys, xs = np.nonzero(lit(image))
    assert len(ys) and abs(ys.mean() - row) <= 1 and abs(xs.mean() - col) <= 1
    assert ys.max() - ys.min() <= 10 and xs.max() - xs.min() <= 10  # a glyph, nothing else
    assert (image[ys, xs][:, 0] > 200).all() and (image[ys, xs][:, 1:] < 60).all()  # red
    small = xs.max() - xs.min()
    run(
        server,
        """
f = getNode("Dot")
f.SetNthControlPointSelected(0, False)
f.GetDisplayNode().SetColor(0, 0, 1)
f.GetDisplayNode().SetGlyphScale(9)
""",
    )
    image = red(server)
    ys, xs = np.nonzero(lit(image))
    assert (image[ys, xs][:, 2] > 200).all() and (image[ys, xs][:, :2] < 60).all()  # blue
    assert xs.max() - xs.min() >= max(small + 3, 9)  # 9 % of the 100-pixel view
    run(server, "getNode('Dot').GetDisplayNode().SetOpacity(0.5)")
    assert 100 < red(server)[..., 2].max() < 160
    run(server, "getNode('Dot').GetDisplayNode().SetVisibility(False)")
    assert not lit(red(server)).any()


def test_line_is_drawn_between_its_ends_only(server):
    run(
        server,
        """
line = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsLineNode", "Ruler")
line.SetLineStartPosition(-30, 10, 0)
line.SetLineEndPosition(30, 10, 0)
d = line.GetDisplayNode()
d.SetPointLabelsVisibility(False); d.SetPropertiesLabelVisibility(False)
d.SetSelectedColor(0, 1, 0)
""",
    )
    image = red(server)
    ys, xs = np.nonzero(lit(image))
    row = px(0, 10)[0]
    assert lit(image)[row, px(0, 10)[1]]  # the middle of the segment
    assert abs(xs.min() - px(30, 0)[1]) <= 6 and abs(xs.max() - px(-30, 0)[1]) <= 6
    assert np.abs(ys - row).max() <= 6  # glyphs at the ends, the line between: one band
    assert (image[ys, xs][:, 1] > 150).all()


def test_roi_and_plane_are_drawn_where_they_cut_the_slice(server):
    run(
        server,
        """
roi = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "Box")
roi.SetXYZ(-20, 20, 3)
roi.SetRadiusXYZ(10, 5, 20)
roi.GetDisplayNode().SetPropertiesLabelVisibility(False)
roi.GetDisplayNode().SetPointLabelsVisibility(False)
roi.SetNthControlPointVisibility(0, False)
""",
    )
    image = lit(red(server))
    ys, xs = np.nonzero(image)
    assert abs(xs.min() - px(-10, 0)[1]) <= 1 and abs(xs.max() - px(-30, 0)[1]) <= 1
    assert abs(ys.min() - px(0, 25)[0]) <= 1 and abs(ys.max() - px(0, 15)[0]) <= 1
    assert not image[px(-20, 20)]  # the outline, not a filled box
    run(
        server,
        """
roi = getNode("Box"); roi.GetDisplayNode().SetVisibility(False)
plane = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsPlaneNode", "Cut")
plane.SetOrigin(15, 0, 0)
plane.SetNormal(1, 0, 0)
plane.SetSize(40, 40)
plane.SetNthControlPointVisibility(0, False)
plane.GetDisplayNode().SetPropertiesLabelVisibility(False)
""",
    )
    ys, xs = np.nonzero(lit(red(server)))
    assert len(xs) and np.all(np.abs(xs - px(15, 0)[1]) <= 1)
    assert ys.max() - ys.min() >= 38


def test_markups_show_in_the_three_d_view(server):
    empty = threed(server)
    run(
        server,
        """
for name, x, rgb in (("Right", 40, (1, 0, 0)), ("Left", -40, (0, 0, 1))):
    f = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", name)
    f.AddControlPoint(x, 0, 0)
    f.GetDisplayNode().SetSelectedColor(*rgb)
    f.GetDisplayNode().SetGlyphScale(6)
line = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsLineNode", "Bar")
line.AddControlPoint(-40, 0, 30); line.AddControlPoint(40, 0, 30)
line.GetDisplayNode().SetSelectedColor(0, 1, 0)
slicer.util.resetThreeDViews()
""",
    )
    image = threed(server)
    assert np.abs(image - empty).sum() > 0
    redish = (image[..., 0] > 80) & (image[..., 0] > 2 * image[..., 1] + 20)
    blueish = (image[..., 2] > 80) & (image[..., 2] > 2 * image[..., 0] + 20)
    greenish = (image[..., 1] > 80) & (image[..., 1] > 2 * image[..., 0] + 20)
    assert redish.sum() > 20 and blueish.sum() > 20 and greenish.sum() > 20
    (ry, rx), (by, bx) = np.argwhere(redish).mean(axis=0), np.argwhere(blueish).mean(axis=0)
    gy = np.argwhere(greenish).mean(axis=0)[0]
    # seen from anterior, patient right (R = +40) is on the image's left
    assert rx < 100 < bx and abs(ry - by) < 3 and abs((rx + bx) / 2 - 100) < 3
    assert gy < ry - 10  # the line at S = 30 is above the points


# --- files -------------------------------------------------------------------------------


def test_save_node_writes_slicer_json_that_reads_back(server):
    root = server.file_root
    result = run(
        server,
        f"""
root = {str(root)!r}
roi = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "SavedBox")
roi.SetCenter(1, 2, 3); roi.SetSize(4, 5, 6)
line = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsLineNode", "SavedLine")
line.AddControlPoint(1, 2, 3); line.AddControlPoint(1, 2, 13)
line.GetDisplayNode().SetSelectedColor(0.25, 0.5, 0.75)
saveNode(roi, root + "/box.mrk.json")
storage = line.GetStorageNode()
storage.SetFileName(root + "/line.mrk.json")
storage.WriteData(line)
box = loadMarkups(root + "/box.mrk.json")
again = slicer.util.loadMarkups(root + "/line.mrk.json")
__execResult = [box.GetClassName(), list(box.GetCenter()), list(box.GetSize()),
                again.GetClassName(), again.GetLineLengthWorld(),
                list(again.GetDisplayNode().GetSelectedColor())]
""",
    )
    assert result[0] == "vtkMRMLMarkupsROINode"
    assert result[1] == [1.0, 2.0, 3.0] and result[2] == [4.0, 5.0, 6.0]
    assert result[3] == "vtkMRMLMarkupsLineNode" and result[4] == 10.0
    assert result[5] == [0.25, 0.5, 0.75]
    doc = json.loads((root / "box.mrk.json").read_text())
    markup = doc["markups"][0]
    assert doc["@schema"].startswith("https://raw.githubusercontent.com/slicer/slicer/")
    assert markup["type"] == "ROI" and markup["coordinateSystem"] == "LPS"
    assert markup["center"] == [-1.0, -2.0, 3.0] and markup["size"] == [4.0, 5.0, 6.0]
    line_doc = json.loads((root / "line.mrk.json").read_text())["markups"][0]
    assert line_doc["type"] == "Line"
    assert line_doc["controlPoints"][1]["position"] == [-1.0, -2.0, 13.0]
    assert line_doc["measurements"][0]["name"] == "length"
    assert line_doc["measurements"][0]["value"] == 10.0


# --- observers and logic ---------------------------------------------------------------


def test_point_events_reach_observers_with_the_point_index(server):
    result = run(
        server,
        """
seen = []
f = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "Watched")
f.AddControlPoint(0, 0, 0)

@vtk.calldata_type(vtk.VTK_INT)
def moved(caller, event, index):
    seen.append(("moved", event, index, caller.GetNthControlPointPosition(index)))

def added(caller, event):
    seen.append(("added", event, caller.GetNumberOfControlPoints()))

tag = f.AddObserver(slicer.vtkMRMLMarkupsNode.PointModifiedEvent, moved)
f.AddObserver(slicer.vtkMRMLMarkupsNode.PointAddedEvent, added)
f.SetNthControlPointPosition(0, 5, 6, 7)
f.AddControlPoint(1, 1, 1)
f.RemoveObserver(tag)
f.SetNthControlPointPosition(0, 8, 8, 8)
__execResult = seen
""",
    )
    assert result == [
        ["moved", "PointModifiedEvent", 0, [5.0, 6.0, 7.0]],
        ["added", "PointAddedEvent", 2],
    ]


def test_markups_logic(server):
    result = run(
        server,
        """
logic = slicer.modules.markups.logic()
node_id = logic.AddNewFiducialNode("Placed")
index = logic.AddControlPoint(5, 6, -7)
curve = logic.AddNewMarkupsNode("vtkMRMLMarkupsClosedCurveNode", "Loop")
logic.JumpSlicesToLocation(5, 6, -7, True)
logic.SetAllControlPointsLocked(getNode(node_id), True)
__execResult = [node_id, index, logic.GetActiveListID(), curve.GetClassName(),
                getNode(node_id).GetNthControlPointLocked(0),
                getNode("vtkMRMLSliceNodeRed").GetSliceOffset()]
""",
    )
    node_id, index, active, cls, locked, offset = result
    assert index == 0 and active == node_id and cls == "vtkMRMLMarkupsClosedCurveNode"
    assert locked is True and offset == pytest.approx(-7.0)
    assert properties(server, node_id)["ControlPoints"][0]["Position"] == [5.0, 6.0, -7.0]
    run(server, 'getNode("vtkMRMLSliceNodeRed").SetSliceOffset(0)')
