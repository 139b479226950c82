"""Subject hierarchy through Slicer's scripting API: items follow the scene, folders and
subjects organise them, removal takes data nodes along; checked through /slicer/mrml."""

from __future__ import annotations

import json

import pytest

from tests.scripting.support import properties, run, run_error
from tests.support.server import VoxwebProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with VoxwebProcess(
        tmp_path_factory.mktemp("script-hierarchy"),
        ["--auth", "none", "--enable-exec", "--no-sample-download"],
    ) as proc:
        yield proc


def _tree(server) -> dict:
    sh_id = run(server, "__execResult = slicer.mrmlScene.GetSubjectHierarchyNode().GetID()")
    props = properties(server, sh_id)
    return {item["ID"]: item for item in props["Items"]} | {"root": props["SceneItemID"]}


def _ids(server, node_class: str) -> list[str]:
    listing = json.loads(server.get(f"/slicer/mrml/ids?class={node_class}").text)
    return listing


def test_data_nodes_get_items_and_folders_organise_them(server):
    result = run(
        server,
        """
slicer.mrmlScene.Clear(0)
before = addVolumeFromArray(np.zeros((3, 4, 5), np.int16), name="Before")  # added first
shNode = slicer.mrmlScene.GetSubjectHierarchyNode()
after = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLModelNode", "After")  # added later
sceneItemID = shNode.GetSceneItemID()
subject = shNode.CreateSubjectItem(sceneItemID, "Patient 1")
study = shNode.CreateStudyItem(subject, "CT study")
folder = shNode.CreateFolderItem(sceneItemID, "Models")
shNode.SetItemParent(shNode.GetItemByDataNode(before), study)
shNode.SetItemParent(shNode.GetItemByDataNode(after), folder)
shNode.SetItemAttribute(study, "StudyDate", "20240102")
shNode.SetItemUID(study, "DICOM", "1.2.3.4")
children = vtk.vtkIdList()
shNode.GetItemChildren(sceneItemID, children, True)
__execResult = {
    "all": [children.GetId(i) for i in range(children.GetNumberOfIds())],
    "subject": subject, "study": study, "folder": folder,
    "direct": shNode.GetNumberOfItemChildren(sceneItemID),
    "levels": [shNode.GetItemLevel(subject), shNode.GetItemLevel(study), shNode.GetItemLevel(folder)],
    "byName": shNode.GetItemChildWithName(sceneItemID, "Models"),
    "dataNode": shNode.GetItemDataNode(shNode.GetItemByDataNode(after)).GetName(),
    "ancestor": shNode.GetItemAncestorAtLevel(shNode.GetItemByDataNode(before), "Patient"),
    "byUID": shNode.GetItemByUID("DICOM", "1.2.3.4"),
    "attrs": list(shNode.GetItemAttributeNames(study)),
    "same": slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(slicer.mrmlScene) is shNode,
    "invalid": shNode.GetItemByDataNode(None) == slicer.vtkMRMLSubjectHierarchyNode.GetInvalidItemID(),
    "folderLevel": slicer.vtkMRMLSubjectHierarchyConstants.GetSubjectHierarchyLevelFolder(),
}
""",
    )
    subject, study, folder = result["subject"], result["study"], result["folder"]
    assert result["direct"] == 2  # the subject and the folder
    assert result["levels"] == ["Patient", "Study", "Folder"]
    assert result["byName"] == folder and result["byUID"] == study
    assert result["ancestor"] == subject
    assert result["dataNode"] == "After" and result["attrs"] == ["StudyDate"]
    assert result["same"] and result["invalid"]
    assert result["folderLevel"] == "Folder"

    tree = _tree(server)
    root = tree["root"]
    assert tree[root]["Children"] == [subject, folder]
    assert tree[subject]["Children"] == [study]
    (volume_item,) = tree[study]["Children"]
    assert tree[volume_item]["Name"] == "Before"
    assert tree[volume_item]["DataNodeID"].startswith("vtkMRMLScalarVolumeNode")
    (model_item,) = tree[folder]["Children"]
    assert tree[model_item]["DataNodeID"].startswith("vtkMRMLModelNode")
    assert tree[study]["Attributes"] == {"StudyDate": "20240102"}
    assert tree[study]["UIDs"] == {"DICOM": "1.2.3.4"}
    assert result["all"] == [subject, study, volume_item, folder, model_item]


def test_renaming_an_item_renames_its_node_and_back(server):
    node_id = run(
        server,
        """
shNode = slicer.mrmlScene.GetSubjectHierarchyNode()
volume = getNode("Before")
shNode.SetItemName(shNode.GetItemByDataNode(volume), "Renamed")
__execResult = volume.GetID()
""",
    )
    assert properties(server, node_id)["Name"] == "Renamed"
    name = run(
        server,
        """
getNode("Renamed").SetName("Before")
shNode = slicer.mrmlScene.GetSubjectHierarchyNode()
__execResult = shNode.GetItemName(shNode.GetItemByDataNode(getNode("Before")))
""",
    )
    assert name == "Before"


def test_removing_a_node_removes_its_item_and_removing_a_folder_removes_its_nodes(server):
    result = run(
        server,
        """
shNode = slicer.mrmlScene.GetSubjectHierarchyNode()
sceneItemID = shNode.GetSceneItemID()
folder = shNode.CreateFolderItem(sceneItemID, "Scratch")
nodes = [slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLinearTransformNode", f"T{i}") for i in range(3)]
items = [shNode.GetItemByDataNode(n) for n in nodes]
for item in items:
    shNode.SetItemParent(item, folder)
slicer.mrmlScene.RemoveNode(nodes[0])           # the item goes with the node
left = shNode.GetNumberOfItemChildren(folder)
ids = [n.GetID() for n in nodes]
shNode.RemoveItem(folder)                        # folder, items and data nodes
__execResult = {"left": left, "ids": ids, "folderGone": shNode.GetItemChildWithName(sceneItemID, "Scratch"),
                "itemGone": shNode.GetItemName(items[1])}
""",
    )
    assert result["left"] == 2
    assert result["folderGone"] == 0 and result["itemGone"] == ""
    remaining = _ids(server, "vtkMRMLLinearTransformNode")
    assert not set(result["ids"]) & set(remaining)


def test_remove_item_can_keep_the_data_nodes(server):
    result = run(
        server,
        """
shNode = slicer.mrmlScene.GetSubjectHierarchyNode()
folder = shNode.CreateFolderItem(shNode.GetSceneItemID(), "Keep")
node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "Kept")
shNode.SetItemParent(shNode.GetItemByDataNode(node), folder)
shNode.RemoveItem(folder, False, True)
__execResult = [node.GetID(), slicer.mrmlScene.IsNodePresent(node), shNode.GetItemByDataNode(node)]
""",
    )
    node_id, present, item = result
    assert present == 1 and item == 0
    assert node_id in _ids(server, "vtkMRMLLinearTransformNode")


def test_hiding_a_folder_hides_its_models(server):
    node_id = run(
        server,
        """
shNode = slicer.mrmlScene.GetSubjectHierarchyNode()
folder = shNode.CreateFolderItem(shNode.GetSceneItemID(), "Shapes")
model = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLModelNode", "Shape")
shNode.SetItemParent(shNode.GetItemByDataNode(model), folder)
shNode.SetItemDisplayVisibility(folder, 0)
assert shNode.GetItemDisplayVisibility(folder) == 0
__execResult = model.GetID()
""",
    )
    assert properties(server, node_id)["Visibility"] is False


def test_clear_empties_the_tree_and_bad_moves_fail_clearly(server):
    message = run_error(
        server,
        """
shNode = slicer.mrmlScene.GetSubjectHierarchyNode()
a = shNode.CreateFolderItem(shNode.GetSceneItemID(), "A")
b = shNode.CreateFolderItem(a, "B")
shNode.SetItemParent(a, b)
""",
    )
    assert "inside itself" in message
    run(server, "slicer.mrmlScene.Clear(0)")
    tree = _tree(server)
    assert tree[tree["root"]]["Children"] == []
    assert run_error(server, "slicer.mrmlScene.GetSubjectHierarchyNode().SetItemParent(999, 1)")
