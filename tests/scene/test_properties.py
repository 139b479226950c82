"""``properties(node)``: the keys and types clients read from /mrml/properties."""

from __future__ import annotations

import numpy as np

from voxweb.scene import (
    LinearTransform,
    MarkupsFiducial,
    ScalarVolume,
    Scene,
    Segmentation,
    properties,
)


def test_common_keys_for_every_node():
    scene = Scene()
    scene.add(ScalarVolume(np.zeros((2, 3, 4), np.int16), name="v"))
    for node in scene.nodes():
        p = properties(node)
        for key in ("ID", "ClassName", "Name", "Debug", "MTime", "HideFromEditors", "Selectable",
                    "Selected", "UndoEnabled"):  # fmt: skip
            assert key in p, (node, key)
        assert p["ID"] == node.id and p["ClassName"] == node.slicer_class
    red = scene.get_node_by_id("vtkMRMLSliceNodeRed")
    assert properties(red)["SingletonTag"] == "Red"


def test_volume_properties():
    m = np.diag([-0.9375, -0.9375, 1.3, 1.0])
    v = ScalarVolume(np.zeros((5, 3, 4), np.uint16), m, name="v")
    p = properties(v)
    assert p["ImageData"]["Extent"] == [0, 3, 0, 2, 0, 4]
    assert all(isinstance(x, int) for x in p["ImageData"]["Extent"])
    assert p["ImageData"]["Dimensions"] == [4, 3, 5]
    assert p["ImageData"]["ScalarType"] == "unsigned short"
    assert p["Spacing"] == [0.9375, 0.9375, 1.3]
    assert p["IJKToRASDirections"][0] == [-1.0, 0.0, 0.0]


def test_segmentation_properties():
    seg = Segmentation((2, 2, 2))
    seg.add_segment("Liver", np.ones((2, 2, 2), bool), (0.5, 0.25, 1.0))
    p = properties(seg)
    assert p["Segmentation"]["Segments"]["Segment_1"]["Name"] == "Liver"
    assert p["Segmentation"]["Segments"]["Segment_1"]["Color"] == [0.5, 0.25, 1.0]


def test_fiducial_and_transform_properties():
    f = MarkupsFiducial(name="F")
    f.add_point((1, 2, 3))
    p = properties(f)
    assert p["NumberOfControlPoints"] == 1
    assert p["ControlPoints"][0]["Position"] == [1.0, 2.0, 3.0]
    t = LinearTransform(name="t")
    assert properties(t)["MatrixTransformToParent"][3] == [0.0, 0.0, 0.0, 1.0]
    v = ScalarVolume(name="v")
    v.parent_transform_id = "vtkMRMLLinearTransformNode1"
    assert properties(v)["Node references"] == {"transform": ["vtkMRMLLinearTransformNode1"]}
