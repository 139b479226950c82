"""Markup types in the scene: control points, per-type geometry and measurements, properties."""

from __future__ import annotations

import numpy as np
import pytest

from voxweb.scene import (
    ControlPoint,
    MarkupsAngle,
    MarkupsClosedCurve,
    MarkupsCurve,
    MarkupsFiducial,
    MarkupsLine,
    MarkupsPlane,
    MarkupsROI,
    properties,
)


def test_fiducial_points_and_behaviour():
    f = MarkupsFiducial("F")
    f.add_point((1, 2, 3))
    f.add_point((4, 5, 6), label="tip")
    assert [cp.label for cp in f.control_points] == ["F-1", "tip"]
    assert isinstance(f.control_points[0], ControlPoint)
    assert f.is_a("vtkMRMLMarkupsNode") and f.is_a("vtkMRMLMarkupsFiducialNode")
    with pytest.raises(IndexError, match="out of range"):
        f.set_point_position(5, (0, 0, 0))
    f.remove_point(0)
    f.add_point((0, 0, 0))
    assert f.control_points[-1].label == "F-3"  # numbers are not reused


def test_line_length_and_point_limit():
    line = MarkupsLine("L")
    line.add_point((0, 0, 0))
    assert line.measurements() == []
    line.add_point((3, 4, 12))
    assert line.length() == pytest.approx(13.0)
    assert line.measurement("length").value == pytest.approx(13.0)
    with pytest.raises(ValueError, match="room for 2"):
        line.add_point((1, 1, 1))


@pytest.mark.parametrize(
    "mode,expected", [("Minimal", 90.0), ("OrientedSigned", -90.0), ("OrientedPositive", 270.0)]
)
def test_angle_modes(mode, expected):
    angle = MarkupsAngle("A")
    for p in ((0, 1, 0), (0, 0, 0), (1, 0, 0)):
        angle.add_point(p)
    angle.mode = mode
    assert angle.angle_degrees() == pytest.approx(expected)
    assert angle.measurement("angle").units == "deg"


def test_curves_linear_and_spline():
    curve = MarkupsCurve("C")
    for p in ((0, 0, 0), (10, 0, 0), (10, 10, 0)):
        curve.add_point(p)
    curve.curve_type = "Linear"
    assert curve.length() == pytest.approx(20.0)
    assert len(curve.curve_points()) == 21  # 10 per segment + the end
    curve.curve_type = "CardinalSpline"
    points = curve.curve_points()
    np.testing.assert_allclose(points[[0, 10, 20]], curve.positions(), atol=1e-9)
    assert 20.0 < curve.length() < 20.0 * 1.2  # rounds the corner: longer than the chords
    curve.curve_type = "Polynomial"
    with pytest.raises(NotImplementedError, match="Polynomial"):
        curve.curve_points()


def test_closed_curve_length_and_area():
    square = MarkupsClosedCurve("CC")
    for p in ((0, 0, 5), (10, 0, 5), (10, 10, 5), (0, 10, 5)):
        square.add_point(p)
    square.curve_type = "Linear"
    assert square.length() == pytest.approx(40.0)
    assert square.area() == pytest.approx(100.0)
    names = {m.name: m for m in square.measurements()}
    assert names["length"].enabled and not names["area"].enabled
    square.curve_type = "CardinalSpline"
    points = square.curve_points()
    np.testing.assert_allclose(points[0], points[-1])  # closed
    assert 100.0 < square.area() < 160.0


def test_roi_box_and_bounding_box():
    roi = MarkupsROI("R")
    roi.set_center((10, 20, 30))
    roi.size = (4, 6, 8)
    assert len(roi.control_points) == 1  # the centre is control point 0
    np.testing.assert_allclose(roi.bounds(), [8, 12, 17, 23, 26, 34])
    turn = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]])  # 90 degrees about S
    roi.orientation = turn
    np.testing.assert_allclose(roi.bounds(), [7, 13, 18, 22, 26, 34], atol=1e-9)
    box = MarkupsROI("B")
    box.roi_type = "BoundingBox"
    for p in ((0, 0, 0), (2, 5, 1), (-1, 3, 4)):
        box.add_point(p)
    np.testing.assert_allclose(box.center(), (0.5, 2.5, 2))
    np.testing.assert_allclose(box.box_size(), (3, 5, 4))


def test_plane_types():
    plane = MarkupsPlane("P")
    plane.set_origin((1, 2, 3))
    plane.set_normal((1, 0, 0))
    np.testing.assert_allclose(plane.normal(), (1, 0, 0), atol=1e-12)
    np.testing.assert_allclose(plane.axes().T @ plane.axes(), np.eye(3), atol=1e-12)
    plane.size_mode, plane.size = "absolute", (20.0, 10.0)
    corners = plane.corners()
    np.testing.assert_allclose(corners[:, 0], 1.0)  # all in the plane x = 1
    assert np.ptp(corners @ plane.axes()[:, 0]) == pytest.approx(20.0)
    three = MarkupsPlane("T")
    three.plane_type = "3Points"
    for p in ((0, 0, 0), (5, 0, 0), (0, 5, 0)):
        three.add_point(p)
    np.testing.assert_allclose(three.normal(), (0, 0, 1), atol=1e-12)
    assert three.plane_size() == pytest.approx((10.0, 10.0))  # auto: twice the extent


def test_properties_report_type_state_and_measurements():
    line = MarkupsLine("L")
    line.add_point((0, 0, 0))
    line.add_point((0, 0, 7))
    props = properties(line)
    assert props["ClassName"] == "vtkMRMLMarkupsLineNode"
    assert props["Measurements"]["length"] == {"Value": 7.0, "Units": "mm", "Enabled": True}
    assert props["ControlPoints"][1]["PositionStatus"] == "defined"
    roi = MarkupsROI("R")
    roi.set_center((1, 2, 3))
    roi.size = (2, 2, 2)
    props = properties(roi)
    assert props["Center"] == [1.0, 2.0, 3.0] and props["Bounds"] == [0, 2, 1, 3, 2, 4]
    plane = MarkupsPlane("P")
    plane.set_origin((0, 0, 9))
    assert properties(plane)["Normal"] == [0.0, 0.0, 1.0]
