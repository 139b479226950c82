"""VTK pipelines handed to scripting calls, user color tables, and the interaction singleton."""

from __future__ import annotations

import numpy as np
import pytest

from tests.scripting.support import run, slice_image
from tests.support.server import VoxwebProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with VoxwebProcess(
        tmp_path_factory.mktemp("script-pipelines"),
        ["--auth", "none", "--enable-exec", "--no-sample-download"],
    ) as proc:
        yield proc


def test_models_take_output_ports_and_pipeline_connections(server):
    result = run(
        server,
        """
box = vtk.vtkCubeSource(); box.SetXLength(30); box.SetYLength(20); box.SetZLength(10)
model = slicer.modules.models.logic().AddModel(box.GetOutputPort())  # a port, not data
bounds = [0] * 6; model.GetPolyData().GetBounds(bounds)
sphere = vtk.vtkSphereSource(); sphere.SetRadius(7)
model.SetPolyDataConnection(sphere.GetOutputPort())
radius = float(np.linalg.norm(arrayFromModelPoints(model), axis=1).max())
__execResult = {"bounds": bounds, "radius": radius, "id": model.GetID()}
""",
    )
    assert np.allclose(result["bounds"], [-15, 15, -10, 10, -5, 5])
    assert abs(result["radius"] - 7.0) < 1e-4


def test_a_scripts_color_table_colors_its_label_map(server):
    node_id = run(
        server,
        """
colors = slicer.mrmlScene.CreateNodeByClass("vtkMRMLColorTableNode")
colors.SetTypeToUser(); colors.HideFromEditorsOff()
slicer.mrmlScene.AddNode(colors); colors.UnRegister(None)
colors.SetNumberOfColors(8)
colors.SetColor(7, "lesion", 1.0, 0.0, 0.0, 1.0)
label = addVolumeFromArray(np.full((4, 32, 32), 7, np.int16), name="Lesions",
                           nodeClassName="vtkMRMLLabelMapVolumeNode")
label.GetDisplayNode().SetAndObserveColorNodeID(colors.GetID())
setSliceViewerLayers(background=None, label=label, labelOpacity=1.0, fit=True)
__execResult = [colors.GetID(), label.GetDisplayNode().GetColorNode().GetColorName(7)]
""",
    )
    assert node_id[0].startswith("vtkMRMLColorTableNode") and node_id[1] == "lesion"
    image = slice_image(server)
    red = (image[..., 0] > 200) & (image[..., 1] < 40) & (image[..., 2] < 40)
    assert red.sum() > 1000  # the label drawn in the table's red, not a generated color


def test_interaction_singleton_and_place_mode(server):
    result = run(
        server,
        """
slicer.modules.markups.logic().StartPlaceMode(1)
node = slicer.mrmlScene.GetNodeByID("vtkMRMLInteractionNodeSingleton")
placing = node.GetCurrentInteractionMode() == slicer.vtkMRMLInteractionNode.Place
node.SwitchToViewTransformMode()
__execResult = [placing, node.GetPlaceModePersistence(), node.GetCurrentInteractionMode(),
                node is slicer.app.applicationLogic().GetInteractionNode()]
""",
    )
    assert result == [True, True, 2, True]


def test_hierarchy_observers_get_call_data(server):
    result = run(
        server,
        """
seen = []
@vtk.calldata_type(vtk.VTK_LONG)
def changed(caller, event, item):
    seen.append(item)
sh = slicer.mrmlScene.GetSubjectHierarchyNode()
tag = sh.AddObserver(sh.SubjectHierarchyItemModifiedEvent, changed)
sh.CreateFolderItem(sh.GetSceneItemID(), "Folder")
sh.RemoveObserver(tag)
__execResult = [bool(seen), all(isinstance(i, int) for i in seen)]
""",
    )
    assert result == [True, True]
