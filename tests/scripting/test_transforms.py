"""Transforms through Slicer's scripting API: matrices, chains, events, grids, displacement."""

from __future__ import annotations

import numpy as np
import pytest

from tests.scripting.support import properties, run, volume_array
from tests.support.server import VoxwebProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with VoxwebProcess(
        tmp_path_factory.mktemp("script-transforms"),
        ["--auth", "none", "--enable-exec", "--no-sample-download"],
    ) as proc:
        run(
            proc,
            """
grid = addVolumeFromArray(np.zeros((4, 5, 6), np.int16), name="Grid")
grid.SetSpacing(2, 2, 2)
outer = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "Outer")
inner = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "Inner")
""",
        )
        yield proc


def test_chains_events_and_between_nodes(server):
    result = run(
        server,
        """
outer, inner = getNode("Outer"), getNode("Inner")
seen = []
tag = inner.AddObserver(slicer.vtkMRMLTransformNode.TransformModifiedEvent,
                        lambda caller, event: seen.append(event))
outer.SetAndObserveMatrixTransformToParent(vtkMatrixFromArray(np.diag([2.0, 2.0, 2.0, 1.0])))
shift = np.eye(4); shift[:3, 3] = [1, 2, 3]
inner.SetAndObserveMatrixTransformToParent(vtkMatrixFromArray(shift))
inner.SetAndObserveTransformNodeID(outer.GetID())
inner.RemoveObserver(tag)
world = vtk.vtkMatrix4x4(); inner.GetMatrixTransformToWorld(world)
between = vtk.vtkGeneralTransform()
slicer.vtkMRMLTransformNode.GetTransformBetweenNodes(inner, None, between)
__execResult = {"world": arrayFromVTKMatrix(world).tolist(),
                "point": list(between.TransformPoint([1, 1, 1])),
                "events": seen}
""",
    )
    expected = np.diag([2.0, 2.0, 2.0, 1.0]) @ np.array(
        [[1, 0, 0, 1], [0, 1, 0, 2], [0, 0, 1, 3], [0, 0, 0, 1.0]]
    )
    assert np.allclose(result["world"], expected)
    assert np.allclose(result["point"], [4, 6, 8])
    assert result["events"] and set(result["events"]) == {"TransformModifiedEvent"}


def test_displacement_magnitude_volume_matches_the_transform(server):
    node_id = run(
        server,
        """
shift = vtk.vtkTransform(); shift.Translate(3, 4, 0)
t = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "Shift")
t.SetMatrixTransformToParent(shift.GetMatrix())
volume = slicer.modules.transforms.logic().CreateDisplacementVolumeFromTransform(t, getNode("Grid"), True)
__execResult = volume.GetID()
""",
    )
    values = volume_array(server, node_id)
    assert values.shape == (4, 5, 6) and np.allclose(values, 5.0)
    assert properties(server, node_id)["Spacing"] == [2.0, 2.0, 2.0]


def test_convert_to_grid_keeps_name_parent_and_children(server):
    result = run(
        server,
        """
scale = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "Scale")
scale.SetMatrixTransformToParent(vtkMatrixFromArray(np.diag([1.5, 1.0, 1.0, 1.0])))
child = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "Child")
child.SetAndObserveTransformNodeID(scale.GetID())
slicer.modules.transforms.logic().ConvertToGridTransform(scale, getNode("Grid"))
grid = getNode("Scale")
__execResult = [grid.GetClassName(), grid.IsLinear(), getNode("Child").GetTransformNodeID() == grid.GetID(),
                float(np.abs(grid._node.displacement[..., 0]).max())]
""",
    )
    # i runs to 5 voxels * 2 mm: x up to 10 mm, scaled by 1.5 -> 5 mm displacement
    assert result == ["vtkMRMLGridTransformNode", False, True, 5.0]
