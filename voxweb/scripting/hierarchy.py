"""``vtkMRMLSubjectHierarchyNode``: Slicer's subject hierarchy API over the scene's tree.

The items live in ``voxweb.scene.hierarchy.SubjectHierarchy`` (one per scene, made on first
use); this view only translates Slicer's calls. Item IDs are integers, 0 is invalid; an
``vtkIdList`` passed in is filled, as in Slicer. Lookups of an unknown item answer as
Slicer's do (empty name, invalid parent, no node) and log a warning; changes to an unknown
item raise ``HierarchyError``. Removing an item with its data nodes removes them through the
workspace, as ``mrmlScene.RemoveNode`` does. Showing or hiding a branch sets the visibility of
models, markups and segmentations, and puts volumes in or takes them out of the slice views.
"""

from __future__ import annotations

import logging
from typing import Any

from voxweb.scene import hierarchy as tree
from voxweb.scene.hierarchy import INVALID_ITEM_ID, HierarchyError, SubjectHierarchy
from voxweb.scene.nodes import ScalarVolume
from voxweb.scene.scene import Scene
from voxweb.scripting.collection import NodeCollection
from voxweb.scripting.node import vtkMRMLNode
from voxweb.scripting.registry import register, unwrap, wrap

log = logging.getLogger("voxweb.exec")


def subject_hierarchy(scene: Scene) -> Any:
    """The view of the scene's subject hierarchy node (made on first use)."""
    return wrap(tree.subject_hierarchy(scene))


def _scene_of(scene: Any) -> Scene:
    inner = getattr(scene, "_scene", scene)
    if not isinstance(inner, Scene):
        raise TypeError(f"expected slicer.mrmlScene, got {type(scene).__name__}")
    return inner


class vtkMRMLSubjectHierarchyConstants:  # noqa: N801
    """Level and UID names scripts pass to the hierarchy (Slicer's constant getters)."""

    @staticmethod
    def GetSubjectHierarchyLevelFolder() -> str:  # noqa: N802
        return tree.LEVEL_FOLDER

    @staticmethod
    def GetDICOMLevelPatient() -> str:  # noqa: N802
        return tree.LEVEL_PATIENT

    @staticmethod
    def GetDICOMLevelStudy() -> str:  # noqa: N802
        return tree.LEVEL_STUDY

    @staticmethod
    def GetDICOMLevelSeries() -> str:  # noqa: N802
        return tree.LEVEL_SERIES

    @staticmethod
    def GetDICOMUIDName() -> str:  # noqa: N802
        return "DICOM"

    @staticmethod
    def GetDICOMInstanceUIDName() -> str:  # noqa: N802
        return "DICOMInstanceUID"

    @staticmethod
    def GetDICOMPatientNameAttributeName() -> str:  # noqa: N802
        return "DICOM.PatientName"

    @staticmethod
    def GetDICOMPatientIDAttributeName() -> str:  # noqa: N802
        return "DICOM.PatientID"

    @staticmethod
    def GetDICOMStudyDescriptionAttributeName() -> str:  # noqa: N802
        return "DICOM.StudyDescription"

    @staticmethod
    def GetDICOMSeriesModalityAttributeName() -> str:  # noqa: N802
        return "DICOM.Modality"


@register
class vtkMRMLSubjectHierarchyNode(vtkMRMLNode):  # noqa: N801
    """Items: integer IDs under the scene item; data items stand for scene nodes."""

    @staticmethod
    def GetSubjectHierarchyNode(scene: Any) -> Any:  # noqa: N802
        return subject_hierarchy(_scene_of(scene))

    @staticmethod
    def GetInvalidItemID() -> int:  # noqa: N802
        return INVALID_ITEM_ID

    invalidItemID = INVALID_ITEM_ID  # noqa: N815

    # Item events (values as Slicer's); voxweb reports each as a change of the hierarchy,
    # with the scene item as call data.
    SubjectHierarchyItemAddedEvent = 20000
    SubjectHierarchyItemAboutToBeRemovedEvent = 20001
    SubjectHierarchyItemRemovedEvent = 20002
    SubjectHierarchyItemModifiedEvent = 20003
    SubjectHierarchyItemReparentedEvent = 20005

    def _call_data(self, event: Any) -> Any:
        return self.GetSceneItemID()

    @property
    def _tree(self) -> SubjectHierarchy:
        return self._node  # type: ignore[return-value]

    def _known(self, item: Any, what: str) -> bool:
        if self._tree.has_item(int(item)):
            return True
        log.warning("subject hierarchy %s: no item %s", what, item)
        return False

    # --- the scene item and creation ------------------------------------------------------
    def GetSceneItemID(self) -> int:  # noqa: N802
        return self._tree.scene_item_id

    def GetNumberOfItems(self) -> int:  # noqa: N802
        return len(self._tree.item_ids())

    def CreateHierarchyItem(self, parent: int, name: str, level: str) -> int:  # noqa: N802
        return self._tree.create_item(int(parent), str(name), str(level))

    def CreateSubjectItem(self, parent: int, name: str) -> int:  # noqa: N802
        return self._tree.create_item(int(parent), str(name), tree.LEVEL_PATIENT)

    def CreateStudyItem(self, parent: int, name: str) -> int:  # noqa: N802
        return self._tree.create_item(int(parent), str(name), tree.LEVEL_STUDY)

    def CreateFolderItem(self, parent: int, name: str) -> int:  # noqa: N802
        return self._tree.create_item(int(parent), str(name), tree.LEVEL_FOLDER)

    def CreateItem(self, parent: int, data_node: Any, *_: Any) -> int:  # noqa: N802
        """The data node's item, put under ``parent`` (made if the node had none)."""
        node = unwrap(data_node)
        if node.scene is not self._tree.scene:
            raise HierarchyError(f"{node.name!r} is not in this hierarchy's scene (AddNode first)")
        return self._tree.ensure_data_item(node, int(parent))

    # --- data nodes -----------------------------------------------------------------------
    def GetItemByDataNode(self, data_node: Any) -> int:  # noqa: N802
        if data_node is None:
            return INVALID_ITEM_ID
        return self._tree.item_of_node(unwrap(data_node).id)

    def GetItemDataNode(self, item: int) -> Any:  # noqa: N802
        if not self._known(item, "GetItemDataNode"):
            return None
        node_id = self._tree.data_node_id(int(item))
        scene = self._tree.scene
        return None if node_id is None or scene is None else wrap(scene.get_node_by_id(node_id))

    def GetDataNodesInBranch(  # noqa: N802
        self, item: int, collection: Any = None, child_class: str | None = None
    ) -> Any:
        """The data nodes of a branch. voxweb's nodes are Python views, not VTK objects, so
        they cannot go into a ``vtkCollection``: call it without one to get a collection."""
        nodes = [
            wrap(n)
            for n in self._tree.data_nodes_in_branch(int(item))
            if child_class is None or n.is_a(str(child_class))
        ]
        if collection is None:
            return NodeCollection(nodes)
        if isinstance(collection, list):
            collection.extend(nodes)
            return collection
        raise TypeError(
            "voxweb's MRML nodes are Python views, not VTK objects, so they cannot be added "
            "to a vtkCollection: call GetDataNodesInBranch(itemID) (or pass a list) instead"
        )

    # --- tree -----------------------------------------------------------------------------
    def GetItemParent(self, item: int) -> int:  # noqa: N802
        if not self._known(item, "GetItemParent"):
            return INVALID_ITEM_ID
        return self._tree.parent_of(int(item))

    def SetItemParent(self, item: int, parent: int, *_: Any) -> None:  # noqa: N802
        self._tree.set_parent(int(item), int(parent))

    def GetItemChildren(self, item: int, ids: Any = None, recursive: bool = False) -> Any:  # noqa: N802
        """Fill the vtkIdList with the child IDs (the whole branch with ``recursive``);
        without a list, return the IDs as a list."""
        if isinstance(ids, bool):  # GetItemChildren(item, recursive) from list-style callers
            ids, recursive = None, ids
        children = (
            self._tree.children(int(item), bool(recursive))
            if self._known(item, "GetItemChildren")
            else []
        )
        if ids is None:
            return children
        ids.Reset()
        for child in children:
            ids.InsertNextId(child)
        return None

    def GetNumberOfItemChildren(self, item: int, recursive: bool = False) -> int:  # noqa: N802
        if not self._known(item, "GetNumberOfItemChildren"):
            return 0
        return len(self._tree.children(int(item), bool(recursive)))

    def GetItemChildWithName(self, parent: int, name: str, recursive: bool = False) -> int:  # noqa: N802
        if not self._known(parent, "GetItemChildWithName"):
            return INVALID_ITEM_ID
        return self._tree.find(str(name), int(parent), bool(recursive))

    def GetItemByName(self, name: str) -> int:  # noqa: N802
        return self._tree.find(str(name))

    def GetItemsByName(self, name: str, ids: Any) -> None:  # noqa: N802
        ids.Reset()
        for item in self._tree.item_ids()[1:]:
            if self._tree.name_of(item) == name:
                ids.InsertNextId(item)

    def GetItemPositionUnderParent(self, item: int) -> int:  # noqa: N802
        parent = self.GetItemParent(item)
        if parent == INVALID_ITEM_ID:
            return -1
        return self._tree.children(parent).index(int(item))

    def GetItemByPositionUnderParent(self, parent: int, position: int) -> int:  # noqa: N802
        children = self._tree.children(int(parent)) if self._known(parent, "position") else []
        return children[int(position)] if 0 <= int(position) < len(children) else INVALID_ITEM_ID

    def MoveItem(self, item: int, before: int) -> bool:  # noqa: N802
        self._tree.move_before(int(item), int(before))
        return True

    def GetItemAncestorAtLevel(self, item: int, level: str) -> int:  # noqa: N802
        walk = self.GetItemParent(item)
        while walk != INVALID_ITEM_ID:
            if self._tree.item(walk).level == level:
                return walk
            walk = self._tree.parent_of(walk)
        return INVALID_ITEM_ID

    def IsAnyNodeInBranchTransformed(self, item: int, *_: Any) -> bool:  # noqa: N802
        nodes = self._tree.data_nodes_in_branch(int(item))
        return any(getattr(n, "parent_transform_id", None) for n in nodes)

    # --- removal --------------------------------------------------------------------------
    def RemoveItem(  # noqa: N802
        self, item: int, remove_data_node: bool = True, recursive: bool = True
    ) -> bool:
        node_ids = self._tree.remove_item(int(item), bool(recursive))
        if remove_data_node:
            self._remove_nodes(node_ids)
        return True

    def RemoveItemChildren(  # noqa: N802
        self, item: int, remove_data_nodes: bool = True, recursive: bool = True
    ) -> None:
        for child in self._tree.children(int(item)):
            self.RemoveItem(child, remove_data_nodes, recursive)

    def RemoveAllItems(self, remove_data_node: bool = False) -> None:  # noqa: N802
        self.RemoveItem(self.GetSceneItemID(), remove_data_node, True)

    def _remove_nodes(self, node_ids: list[str]) -> None:
        scene = self._tree.scene
        if scene is None or not node_ids:
            return
        from voxweb.scripting.context import workspace_of

        nodes = [scene.get_node_by_id(i) for i in node_ids]
        workspace_of(scene).remove([n for n in nodes if n is not None])

    # --- name, level, attributes, UIDs ----------------------------------------------------
    def GetItemName(self, item: int) -> str:  # noqa: N802
        return self._tree.name_of(int(item)) if self._known(item, "GetItemName") else ""

    def SetItemName(self, item: int, name: str) -> None:  # noqa: N802
        self._tree.set_name(int(item), str(name))

    def GetItemLevel(self, item: int) -> str:  # noqa: N802
        return self._tree.item(int(item)).level if self._known(item, "GetItemLevel") else ""

    def SetItemLevel(self, item: int, level: str) -> None:  # noqa: N802
        self._tree.set_level(int(item), str(level))

    def IsItemLevel(self, item: int, level: str) -> bool:  # noqa: N802
        return self.GetItemLevel(item) == level

    def GetItemAttribute(self, item: int, name: str) -> str:  # noqa: N802
        if not self._known(item, "GetItemAttribute"):
            return ""
        return self._tree.item(int(item)).attributes.get(str(name), "")

    def SetItemAttribute(self, item: int, name: str, value: Any) -> None:  # noqa: N802
        self._tree.set_attribute(int(item), str(name), str(value))

    def HasItemAttribute(self, item: int, name: str) -> bool:  # noqa: N802
        return self._known(item, "HasItemAttribute") and (
            str(name) in self._tree.item(int(item)).attributes
        )

    def RemoveItemAttribute(self, item: int, name: str) -> bool:  # noqa: N802
        return self._tree.remove_attribute(int(item), str(name))

    def GetItemAttributeNames(self, item: int) -> tuple[str, ...]:  # noqa: N802
        if not self._known(item, "GetItemAttributeNames"):
            return ()
        return tuple(self._tree.item(int(item)).attributes)

    def GetItemUID(self, item: int, uid_name: str) -> str:  # noqa: N802
        if not self._known(item, "GetItemUID"):
            return ""
        return self._tree.item(int(item)).uids.get(str(uid_name), "")

    def SetItemUID(self, item: int, uid_name: str, uid: str) -> None:  # noqa: N802
        self._tree.set_uid(int(item), str(uid_name), str(uid))

    def GetItemByUID(self, uid_name: str, uid: str) -> int:  # noqa: N802
        return self._tree.find_by_uid(str(uid_name), str(uid))

    # --- GUI-side state that has a meaning headless -----------------------------------------
    def GetItemExpanded(self, item: int) -> bool:  # noqa: N802
        return self._tree.item(int(item)).expanded if self._known(item, "expanded") else False

    def SetItemExpanded(self, item: int, expanded: bool) -> None:  # noqa: N802
        self._tree.item(int(item)).expanded = bool(expanded)  # no tree widget to redraw

    def GetItemOwnerPluginName(self, item: int) -> str:  # noqa: N802
        return ""  # voxweb has no subject hierarchy plugins

    def ItemModified(self, item: int) -> None:  # noqa: N802
        self._tree.item(int(item))
        self._tree.modified()

    def SetItemDisplayVisibility(self, item: int, visible: Any) -> None:  # noqa: N802
        """Show or hide the data nodes of a branch in the views."""
        scene = self._tree.scene
        if scene is None:
            return
        from voxweb.scripting.context import workspace_of

        workspace = workspace_of(scene)
        show = bool(visible)
        with scene.lock:
            for node in self._tree.data_nodes_in_branch(int(item)):
                if isinstance(node, ScalarVolume):
                    _show_volume(workspace, node, show)
                elif hasattr(node, "visible"):
                    node.visible = show  # type: ignore[attr-defined]

    def GetItemDisplayVisibility(self, item: int) -> int:  # noqa: N802
        scene = self._tree.scene
        if scene is None:
            return 0
        from voxweb.scripting.context import workspace_of

        workspace = workspace_of(scene)
        for node in self._tree.data_nodes_in_branch(int(item)):
            if isinstance(node, ScalarVolume):
                if _shown(workspace, node):
                    return 1
            elif getattr(node, "visible", False):
                return 1
        return 0


def _shown(workspace: Any, volume: ScalarVolume) -> bool:
    layers = ("background_volume_id", "foreground_volume_id", "label_volume_id")
    return any(getattr(v, a) == volume.id for v in workspace.slice_views() for a in layers)


def _show_volume(workspace: Any, volume: ScalarVolume, show: bool) -> None:
    if show:
        if not _shown(workspace, volume):
            workspace.show_volume(volume, fit=False)
        return
    for view in workspace.slice_views():
        for layer in ("background_volume_id", "foreground_volume_id", "label_volume_id"):
            if getattr(view, layer) == volume.id:
                setattr(view, layer, None)


__all__ = [
    "subject_hierarchy",
    "vtkMRMLSubjectHierarchyConstants",
    "vtkMRMLSubjectHierarchyNode",
]
