"""Markups: .mrk.json round trip (LPS/RAS), Slicer-shaped documents, legacy .fcsv, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voxweb.io import MarkupsFormatError
from voxweb.io import markups as mio
from voxweb.scene import MarkupsFiducial


def make() -> MarkupsFiducial:
    f = MarkupsFiducial(name="F")
    f.add_point((1.5, -2.0, 3.25))
    f.add_point((-4.0, 5.0, 6.0), label="tip")
    f.control_points[1].locked = True
    f.selected_color = (0.2, 0.3, 0.4)
    f.glyph_scale = 2.5
    return f


@pytest.mark.parametrize("system", ["LPS", "RAS"])
def test_roundtrip(tmp_path, system):
    f = make()
    path = tmp_path / "pts.mrk.json"
    mio.write_mrk_json(f, path, coordinate_system=system)
    doc = json.loads(path.read_text())
    assert doc["@schema"].endswith("markups-schema-v1.0.3.json#")
    m = doc["markups"][0]
    assert m["type"] == "Fiducial" and m["coordinateSystem"] == system
    expected0 = [-1.5, 2.0, 3.25] if system == "LPS" else [1.5, -2.0, 3.25]
    assert m["controlPoints"][0]["position"] == expected0
    (back,) = mio.read_markups(path)
    assert back.name == "pts"
    np.testing.assert_allclose(back.positions(), f.positions())
    assert [cp.label for cp in back.control_points] == ["F-1", "tip"]
    assert back.control_points[1].locked
    assert back.selected_color == (0.2, 0.3, 0.4) and back.glyph_scale == 2.5


def test_read_slicer_written_document(tmp_path):
    doc = {
        "@schema": mio.SCHEMA_URL,
        "markups": [
            {
                "type": "Fiducial",
                "coordinateSystem": "LPS",
                "controlPoints": [
                    {
                        "id": "1",
                        "label": "A",
                        "position": [10.0, 20.0, 30.0],
                        "positionStatus": "defined",
                    },
                    {"id": "2", "label": "B", "positionStatus": "undefined"},
                ],
                "display": {"selectedColor": [1.0, 0.0, 0.0], "glyphScale": 4.0},
            }
        ],
    }
    (tmp_path / "a.mrk.json").write_text(json.dumps(doc))
    (f,) = mio.read_mrk_json(tmp_path / "a.mrk.json")
    assert len(f.control_points) == 1
    assert f.control_points[0].position == (-10.0, -20.0, 30.0)
    assert f.selected_color == (1.0, 0.0, 0.0) and f.glyph_scale == 4.0


def test_fcsv(tmp_path):
    text = (
        "# Markups fiducial file version = 4.11\n# CoordinateSystem = LPS\n"
        "# columns = id,x,y,z,ow,ox,oy,oz,vis,sel,lock,label,desc,associatedNodeID\n"
        "vtkMRMLMarkupsFiducialNode_0,1,2,3,0,0,0,1,1,1,0,F-1,,\n"
        'vtkMRMLMarkupsFiducialNode_1,4,5,6,0,0,0,1,0,0,1,"a, b",desc,\n'
    )
    (tmp_path / "old.fcsv").write_text(text)
    (f,) = mio.read_markups(tmp_path / "old.fcsv")
    assert f.name == "old"
    np.testing.assert_allclose(f.positions(), [[-1, -2, 3], [-4, -5, 6]])
    assert f.control_points[1].label == "a, b" and f.control_points[1].locked
    assert not f.control_points[1].visible
    (tmp_path / "ras.fcsv").write_text("# CoordinateSystem = 0\nid,1,2,3,0,0,0,1,1,1,0,X,,\n")
    np.testing.assert_allclose(mio.read_fcsv(tmp_path / "ras.fcsv").positions(), [[1, 2, 3]])


@pytest.mark.parametrize(
    "content,message",
    [
        ("not json", "not valid JSON"),
        ("[]", "'markups' list"),
        ('{"markups": [{"type": "Spline", "controlPoints": []}]}', "known types"),
        ('{"markups": [{"coordinateSystem": "XYZ"}]}', "coordinateSystem"),
        ('{"markups": [{"controlPoints": [{"position": [1, 2]}]}]}', "3 numbers"),
    ],
)
def test_bad_markups(tmp_path, content, message):
    (tmp_path / "bad.mrk.json").write_text(content)
    with pytest.raises(MarkupsFormatError, match=message):
        mio.read_mrk_json(tmp_path / "bad.mrk.json")


# --- every markup type -------------------------------------------------------------------


def _all_types():
    from voxweb.scene import (
        MarkupsAngle,
        MarkupsClosedCurve,
        MarkupsCurve,
        MarkupsLine,
        MarkupsPlane,
        MarkupsROI,
    )

    line = MarkupsLine("L")
    line.add_point((1, 2, 3))
    line.add_point((1, 2, 13))
    angle = MarkupsAngle("A")
    for p in ((10, 0, 0), (0, 0, 0), (0, 10, 0)):
        angle.add_point(p)
    angle.mode = "OrientedPositive"
    curve = MarkupsCurve("C")
    for p in ((0, 0, 0), (5, 5, 0), (10, 0, 0)):
        curve.add_point(p)
    curve.curve_type = "Linear"
    closed = MarkupsClosedCurve("CC")
    for p in ((0, 0, 0), (4, 0, 0), (4, 4, 0)):
        closed.add_point(p)
    plane = MarkupsPlane("P")
    plane.set_origin((5, -6, 7))
    plane.set_normal((1, 1, 0))
    plane.size_mode, plane.size = "absolute", (30.0, 20.0)
    roi = MarkupsROI("R")
    roi.set_center((-5, 6, 7))
    roi.size = (10, 20, 30)
    roi.orientation = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]])
    return [line, angle, curve, closed, plane, roi]


@pytest.mark.parametrize("system", ["LPS", "RAS"])
def test_every_type_round_trips(tmp_path, system):
    for node in _all_types():
        path = tmp_path / f"{node.name}.mrk.json"
        mio.write_mrk_json(node, path, coordinate_system=system)
        (back,) = mio.read_markups(path)
        assert type(back) is type(node), node.name
        np.testing.assert_allclose(back.positions(), node.positions(), atol=1e-9)
        before = {m.name: m.value for m in node.measurements()}
        after = {m.name: m.value for m in back.measurements()}
        assert after == pytest.approx(before), node.name
    plane, roi = _all_types()[4:]
    (plane_back,) = mio.read_markups(tmp_path / "P.mrk.json")
    np.testing.assert_allclose(plane_back.axes(), plane.axes(), atol=1e-9)
    assert plane_back.plane_size() == pytest.approx((30.0, 20.0))
    (roi_back,) = mio.read_markups(tmp_path / "R.mrk.json")
    np.testing.assert_allclose(roi_back.bounds(), roi.bounds(), atol=1e-9)
    (angle_back,) = mio.read_markups(tmp_path / "A.mrk.json")
    assert angle_back.mode == "OrientedPositive"


def test_documents_follow_slicers_schema(tmp_path):
    line, angle, curve, closed, plane, roi = _all_types()
    doc = mio.mrk_json(line)["markups"][0]
    assert doc["type"] == "Line" and doc["coordinateSystem"] == "LPS"
    assert doc["controlPoints"][0]["position"] == [-1.0, -2.0, 3.0]
    assert doc["measurements"] == [
        {"name": "length", "enabled": True, "value": 10.0, "units": "mm",
         "printFormat": "%-#4.4g%s"}
    ]  # fmt: skip
    assert mio.mrk_json(angle)["markups"][0]["measurements"][0]["value"] == pytest.approx(90.0)
    doc = mio.mrk_json(roi)["markups"][0]
    assert doc["type"] == "ROI" and doc["roiType"] == "Box"
    assert doc["center"] == [5.0, -6.0, 7.0] and doc["size"] == [10.0, 20.0, 30.0]
    assert len(doc["orientation"]) == 9
    doc = mio.mrk_json(plane)["markups"][0]
    assert doc["planeType"] == "PointNormal" and doc["sizeMode"] == "absolute"
    np.testing.assert_allclose(doc["normal"], np.array([-1, -1, 0]) / np.sqrt(2), atol=1e-12)
    assert doc["planeBounds"] == [-15.0, 15.0, -10.0, 10.0]
    assert len(doc["objectToBase"]) == 16 and len(doc["baseToNode"]) == 16
    assert mio.mrk_json(closed)["markups"][0]["type"] == "ClosedCurve"


def test_read_a_slicer_roi_and_plane(tmp_path):
    doc = {
        "@schema": mio.SCHEMA_URL,
        "markups": [
            {
                "type": "ROI", "coordinateSystem": "LPS", "roiType": "Box",
                "center": [10.0, 20.0, 30.0], "size": [2.0, 4.0, 6.0],
                "orientation": [-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0],
                "controlPoints": [{"id": "1", "label": "R-1", "position": [10.0, 20.0, 30.0]}],
            },
            {
                "type": "Plane", "coordinateSystem": "LPS", "planeType": "PointNormal",
                "sizeMode": "absolute", "size": [50.0, 40.0, 0.0],
                "objectToBase": [0, 0, 1, 0, 0, 1, 0, 0, -1, 0, 0, 0, 0, 0, 0, 1],
                "baseToNode": [1, 0, 0, -3, 0, 1, 0, -4, 0, 0, 1, 5, 0, 0, 0, 1],
                "controlPoints": [{"id": "1", "label": "P-1", "position": [-3.0, -4.0, 5.0]}],
            },
        ],
    }  # fmt: skip
    (tmp_path / "two.mrk.json").write_text(json.dumps(doc))
    roi, plane = mio.read_mrk_json(tmp_path / "two.mrk.json")
    np.testing.assert_allclose(roi.center(), (-10, -20, 30))
    np.testing.assert_allclose(roi.orientation, np.eye(3))
    np.testing.assert_allclose(roi.bounds(), [-11, -9, -22, -18, 27, 33])
    np.testing.assert_allclose(plane.origin(), (3, 4, 5))
    np.testing.assert_allclose(np.abs(plane.normal()), (1, 0, 0), atol=1e-12)
    assert plane.plane_size() == (50.0, 40.0)
