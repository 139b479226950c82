"""Volumes through Slicer's scripting API: image data, geometry, display, logic, layers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.scripting.support import properties, run, run_error, slice_image, volume_array
from tests.support.server import VoxwebProcess

RAMP = """
k, j, i = np.indices((16, 20, 24))
ramp = (k * 20 + j * 3 + i).astype(np.int16)  # 0..380, every slice different
volume = slicer.util.addVolumeFromArray(ramp, name="Ramp")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with VoxwebProcess(
        tmp_path_factory.mktemp("script-volumes"),
        ["--auth", "none", "--enable-exec", "--no-sample-download"],
    ) as proc:
        run(proc, RAMP + "__execResult = volume.GetID()")
        yield proc


def test_image_data_is_the_volume_array_without_a_copy(server):
    result = run(
        server,
        """
volume = getNode("Ramp")
image = volume.GetImageData()
array = arrayFromVolume(volume)
from vtk.util.numpy_support import vtk_to_numpy
scalars = vtk_to_numpy(image.GetPointData().GetScalars())
scalars[5] = 1234                   # written through VTK ...
arrayFromVolumeModified(volume)
__execResult = {
    "dims": image.GetDimensions(),
    "shares": bool(np.shares_memory(scalars, array)),
    "seen": int(array.flat[5]),       # ... seen by numpy
    "same": image is volume.GetImageData(),
}
""",
    )
    assert result == {"dims": [24, 20, 16], "shares": True, "seen": 1234, "same": True}
    node_id = run(server, "__execResult = getNode('Ramp').GetID()")
    assert volume_array(server, node_id).flat[5] == 1234  # and served over HTTP


def test_vtk_filters_run_on_the_image_data_and_results_come_back(server):
    node_id = run(
        server,
        """
threshold = vtk.vtkImageThreshold()
threshold.SetInputData(getNode("Ramp").GetImageData())
threshold.ThresholdByUpper(200)
threshold.SetInValue(1)
threshold.SetOutValue(0)
threshold.SetOutputScalarTypeToUnsignedChar()
threshold.Update()
mask = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "Mask")
mask.SetAndObserveImageData(threshold.GetOutput())
mask.CopyOrientation = None
ijk = vtk.vtkMatrix4x4()
getNode("Ramp").GetIJKToRASMatrix(ijk)
mask.SetIJKToRASMatrix(ijk)
__execResult = mask.GetID()
""",
    )
    mask = volume_array(server, node_id)
    ramp = volume_array(server, run(server, "__execResult = getNode('Ramp').GetID()"))
    assert mask.dtype == np.uint8 and mask.shape == ramp.shape
    assert np.array_equal(mask, (ramp >= 200).astype(np.uint8))
    assert node_id.startswith("vtkMRMLLabelMapVolumeNode")


def test_geometry_setters_show_in_mrml_properties(server):
    node_id = run(
        server,
        """
v = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "Geo")
updateVolumeFromArray(v, np.zeros((4, 5, 6), np.uint8))
v.SetSpacing(0.5, 2.0, 3.0)
v.SetOrigin([10, -20, 30])
directions = np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 1]], dtype=float)
v.SetIJKToRASDirections(directions)
__execResult = v.GetID()
""",
    )
    props = properties(server, node_id)
    assert props["Spacing"] == [0.5, 2.0, 3.0]
    assert props["Origin"] == [10.0, -20.0, 30.0]
    assert props["IJKToRASDirections"] == [[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    assert props["ImageData"]["Dimensions"] == [6, 5, 4]
    matrix = run(
        server,
        """
m = vtk.vtkMatrix4x4(); getNode("Geo").GetRASToIJKMatrix(m)
__execResult = [m.GetElement(r, c) for r in range(4) for c in range(4)]
""",
    )
    expected = np.linalg.inv(np.array(props["IJKToRASMatrix"])).reshape(-1)
    assert np.allclose(matrix, expected)


def test_window_level_set_by_a_script_changes_the_rendered_slice(server):
    run(server, "setSliceViewerLayers(background=getNode('Ramp'), fit=True)")
    run(server, "getNode('Ramp').GetDisplayNode().SetWindowLevel(400, 200)")
    wide = slice_image(server)
    run(server, "getNode('Ramp').GetDisplayNode().SetWindowLevel(40, 200)")
    narrow = slice_image(server)
    assert not run(server, "__execResult = getNode('Ramp').GetDisplayNode().GetAutoWindowLevel()")
    # A narrow window saturates: more pure black and pure white pixels than the wide one.
    saturated = lambda img: int(((img == 0) | (img == 255)).all(axis=2).sum())  # noqa: E731
    assert saturated(narrow) > saturated(wide) + 100
    props = properties(server, run(server, "__execResult = getNode('Ramp').GetID()"))
    assert (props["Window"], props["Level"]) == (40.0, 200.0)


def test_clone_and_label_volume_logic(server):
    result = run(
        server,
        """
logic = slicer.modules.volumes.logic()
clone = logic.CloneVolume(slicer.mrmlScene, getNode("Ramp"), "RampCopy")
label = logic.CreateAndAddLabelVolume(getNode("Ramp"), "RampLabel")
arrayFromVolume(clone)[:] = 0    # the clone is a copy: the original keeps its voxels
__execResult = [clone.GetClassName(), label.GetClassName(), int(arrayFromVolume(getNode("Ramp")).max()),
                logic.CheckForLabelVolumeValidity(getNode("Ramp"), label)]
""",
    )
    assert result == ["vtkMRMLScalarVolumeNode", "vtkMRMLLabelMapVolumeNode", 1234, ""]


def test_slice_node_moves_and_the_image_follows(server):
    run(server, "setSliceViewerLayers(background=getNode('Ramp'), fit=True)")
    run(server, "getNode('Ramp').GetDisplayNode().SetWindowLevel(400, 200)")
    before = slice_image(server)
    offset = run(
        server,
        """
logic = slicer.app.layoutManager().sliceWidget("Red").sliceLogic()
node = logic.GetSliceNode()
node.SetSliceOffset(node.GetSliceOffset() + 5)
__execResult = node.GetSliceOffset()
""",
    )
    after = slice_image(server)
    assert not np.array_equal(before, after)
    assert run(server, "__execResult = getNode('vtkMRMLSliceNodeRed').GetSliceOffset()") == offset


def test_selection_propagates_to_every_slice_view(server):
    result = run(
        server,
        """
selection = slicer.app.applicationLogic().GetSelectionNode()
selection.SetActiveVolumeID(getNode("RampCopy").GetID())
slicer.app.applicationLogic().PropagateVolumeSelection(0)
lm = slicer.app.layoutManager()
__execResult = sorted({lm.sliceWidget(n).sliceLogic().GetSliceCompositeNode().GetBackgroundVolumeID()
                       for n in lm.sliceViewNames()})
""",
    )
    assert result == [run(server, "__execResult = getNode('RampCopy').GetID()")]


def test_transforms_harden_into_the_volume_geometry(server):
    result = run(
        server,
        """
t = slicer.vtkMRMLTransformNode()
slicer.mrmlScene.AddNode(t)
m = vtk.vtkMatrix4x4(); m.SetElement(0, 3, 15.0); m.SetElement(2, 3, -5.0)
t.SetMatrixTransformToParent(m)
v = getNode("Geo")
v.SetAndObserveTransformNodeID(t.GetID())
world = arrayFromTransformMatrix(t, toWorld=True)
v.HardenTransform()
__execResult = [v.GetTransformNodeID(), list(v.GetOrigin()), world[0, 3]]
""",
    )
    assert result == [None, [25.0, -20.0, 25.0], 15.0]


def test_gui_calls_fail_fast_and_say_why(server):
    message = run_error(server, "qt.QMessageBox.information(None, 'title', 'text')")
    assert "headless" in message and "QMessageBox.information" in message
    message = run_error(server, "getNode('Ramp').NoSuchMethod()")
    assert "vtkMRMLScalarVolumeNode" in message and "NoSuchMethod" in message
    message = run_error(server, "getNode('NoSuchNode')")
    assert "could not find nodes in the scene by name or id 'NoSuchNode'" in message


def test_observers_fire_on_changes(server):
    result = run(
        server,
        """
calls = []
class Watcher(VTKObservationMixin):
    def __init__(self):
        VTKObservationMixin.__init__(self)
        self.addObserver(getNode("Ramp"), vtk.vtkCommand.ModifiedEvent, self.changed)
    def changed(self, caller, event):
        calls.append((caller.GetName(), event))
watcher = Watcher()
getNode("Ramp").GetDisplayNode().SetWindow(300)
with NodeModify(getNode("Ramp")):
    getNode("Ramp").SetAttribute("a", "1")
    getNode("Ramp").SetAttribute("b", "2")
watcher.removeObservers()
getNode("Ramp").SetAttribute("c", "3")
__execResult = calls
""",
    )
    assert result and all(c == ["Ramp", "ModifiedEvent"] for c in result)
    assert len(result) <= 4


def test_reslice_extracts_the_slice_and_slab_modes_render(server):
    run(server, "setSliceViewerLayers(background=getNode('Ramp'), fit=True)")
    run(server, "getNode('Ramp').GetDisplayNode().SetWindowLevel(400, 200)")
    run(server, "getNode('vtkMRMLSliceNodeRed').SetSliceOffset(7.5)")
    single = slice_image(server)
    result = run(
        server,
        """
sliceNode = slicer.mrmlScene.GetNodeByID("vtkMRMLSliceNodeRed")
logic = slicer.app.applicationLogic().GetSliceLogic(sliceNode)
reslice = logic.GetBackgroundLayer().GetReslice()
reslice.Update()
image = vtk.vtkImageData(); image.DeepCopy(reslice.GetOutput())
values = vtk.util.numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())
xy = vtk.vtkMatrix4x4(); sliceNode.GetXYToRAS(xy)
centre = xy.MultiplyPoint([image.GetDimensions()[0] / 2, image.GetDimensions()[1] / 2, 0, 1])
__execResult = {"dims": image.GetDimensions(), "max": float(values.max()), "centre": centre[:3]}
""",
    )
    w, h, _ = result["dims"]
    assert (w, h) == (256, 256)
    # The axial plane at offset 7.5 crosses voxel k=7 or 8 of the ramp (k*20 + j*3 + i).
    assert 7 * 20 + 19 * 3 + 23 <= result["max"] <= 8 * 20 + 19 * 3 + 23
    assert abs(result["centre"][2] - 7.5) < 1e-6
    run(
        server,
        """
reslice = slicer.app.layoutManager().sliceWidget("Red").sliceLogic().GetBackgroundLayer().GetReslice()
reslice.SetSlabModeToMax()
reslice.SetSlabNumberOfSlices(600)
reslice.SetSlabSliceSpacingFraction(0.5)
getNode("vtkMRMLSliceNodeRed").Modified()
""",
    )
    mip = slice_image(server)
    # Values grow with k: the maximum over all slices is brighter than slice 7 wherever the
    # volume is, and the same outside it.
    inside = single.sum(axis=2) > 0
    assert mip[inside].mean() > single[inside].mean() + 30
    leaked = (mip[~inside] > 0).any(axis=-1).sum()
    assert leaked <= 2 * 256  # at most the one-pixel rim where the two samplers round apart
    run(server, "getNode('vtkMRMLSliceNodeRed')._node.slab_mode = 'none'")
    assert np.array_equal(slice_image(server), single)
