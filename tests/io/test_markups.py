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
        ('{"markups": [{"type": "Line", "controlPoints": []}]}', "only point lists"),
        ('{"markups": [{"coordinateSystem": "XYZ"}]}', "coordinateSystem"),
        ('{"markups": [{"controlPoints": [{"position": [1, 2]}]}]}', "3 numbers"),
    ],
)
def test_bad_markups(tmp_path, content, message):
    (tmp_path / "bad.mrk.json").write_text(content)
    with pytest.raises(MarkupsFormatError, match=message):
        mio.read_mrk_json(tmp_path / "bad.mrk.json")
