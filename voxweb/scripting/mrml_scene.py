"""``slicer.mrmlScene``: Slicer's vtkMRMLScene methods over voxweb's one ``Scene``.

Nodes are looked up and added through the scene itself (IDs, unique names, events), so a node
a script adds appears at once in ``/slicer/mrml`` and in the viewer. Display and storage
nodes are not scene nodes in voxweb (their properties live on the data node); they still have
IDs, and ``GetNodeByID`` finds them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from voxweb.scene.scene import Scene
from voxweb.scripting import registry
from voxweb.scripting.collection import NodeCollection
from voxweb.scripting.colors import standard_color_node
from voxweb.scripting.hierarchy import subject_hierarchy
from voxweb.scripting.node import vtkMRMLNode
from voxweb.scripting.registry import scene_view, unwrap, wrap

# vtkMRMLScene event IDs (as Slicer defines them) for AddObserver.
NODE_ABOUT_TO_BE_ADDED_EVENT = 0x2000
NODE_ADDED_EVENT = 0x2001
NODE_ABOUT_TO_BE_REMOVED_EVENT = 0x2002
NODE_REMOVED_EVENT = 0x2003
END_CLOSE_EVENT = 0x2006


@registry.provide_scene_views
class vtkMRMLScene:  # noqa: N801
    NodeAboutToBeAddedEvent = NODE_ABOUT_TO_BE_ADDED_EVENT
    NodeAddedEvent = NODE_ADDED_EVENT
    NodeAboutToBeRemovedEvent = NODE_ABOUT_TO_BE_REMOVED_EVENT
    NodeRemovedEvent = NODE_REMOVED_EVENT
    EndCloseEvent = END_CLOSE_EVENT

    def __init__(self, scene: Scene) -> None:
        self._scene = scene
        self._observers: dict[int, Callable[[Any], None]] = {}

    def __repr__(self) -> str:
        return f"<vtkMRMLScene with {len(self._scene)} nodes>"

    # --- lookup ---------------------------------------------------------------------------
    def _views(self, nodes: Any) -> NodeCollection:
        return NodeCollection(wrap(n) for n in nodes)

    def GetNodeByID(self, node_id: str | None) -> Any:  # noqa: N802
        if not node_id:
            return None
        node = self._scene.get_node_by_id(str(node_id))
        if node is not None:
            return wrap(node)
        found = registry.synthetic_node(str(node_id))
        if found is None:
            found = next(
                (v for v in registry.synthetic_nodes(self._scene) if v.GetID() == node_id), None
            )
        if found is None:
            found = standard_color_node(str(node_id))
        return found

    def GetFirstNodeByName(self, name: str) -> Any:  # noqa: N802
        node = self._scene.get_first_node_by_name(str(name))
        if node is None:
            return next(
                (v for v in registry.synthetic_nodes(self._scene) if v.GetName() == name), None
            )
        return wrap(node)

    def GetFirstNodeByClass(self, class_name: str) -> Any:  # noqa: N802
        nodes = self._scene.nodes_of_class(str(class_name))
        if not nodes:
            found = self._synthetic_of_class(str(class_name))
            return found[0] if found else None
        return wrap(nodes[0]) if nodes else None

    def _synthetic_of_class(self, class_name: str) -> list[Any]:
        """Synthetic views (cameras...) of a class; none for the generic vtkMRMLNode."""
        if class_name == "vtkMRMLNode":
            return []
        return [v for v in registry.synthetic_nodes(self._scene) if v.IsA(class_name)]

    def GetFirstNode(  # noqa: N802
        self, name: str | None = None, class_name: str | None = None, *_: Any
    ) -> Any:
        for node in self._scene.nodes_of_class(class_name or "vtkMRMLNode"):
            if name is None or node.name == name:
                return wrap(node)
        return None

    def GetNodesByClass(self, class_name: str) -> NodeCollection:  # noqa: N802
        found = self._views(self._scene.nodes_of_class(str(class_name)))
        found.extend(self._synthetic_of_class(str(class_name)))
        return found

    def GetNodesByName(self, name: str) -> NodeCollection:  # noqa: N802
        return self._views(self._scene.nodes_by_name(str(name)))

    def GetNodesByClassByName(self, class_name: str, name: str) -> NodeCollection:  # noqa: N802
        return self._views(n for n in self._scene.nodes_of_class(class_name) if n.name == name)

    def GetNodes(self) -> NodeCollection:  # noqa: N802
        return self._views(self._scene.nodes)

    def GetNumberOfNodes(self) -> int:  # noqa: N802
        return len(self._scene)

    def GetNumberOfNodesByClass(self, class_name: str) -> int:  # noqa: N802
        return len(self.GetNodesByClass(class_name))

    def GetNthNode(self, index: int) -> Any:  # noqa: N802
        nodes = self._scene.nodes
        return wrap(nodes[int(index)]) if 0 <= int(index) < len(nodes) else None

    def GetNthNodeByClass(self, index: int, class_name: str) -> Any:  # noqa: N802
        nodes = self._scene.nodes_of_class(str(class_name))
        return wrap(nodes[int(index)]) if 0 <= int(index) < len(nodes) else None

    def IsNodePresent(self, node: Any) -> int:  # noqa: N802
        return 1 if unwrap(node) in self._scene else 0

    def GetUniqueNameByString(self, base: str) -> str:  # noqa: N802
        return self._scene.unique_name(str(base))

    def GenerateUniqueName(self, base: str) -> str:  # noqa: N802
        return self._scene.unique_name(str(base))

    # --- add / remove ---------------------------------------------------------------------
    def CreateNodeByClass(self, class_name: str) -> Any:  # noqa: N802
        cls = registry.view_class(str(class_name))
        if cls is None or cls.scene_class is None:
            raise ValueError(
                f"voxweb cannot create nodes of class {class_name!r}; it creates: "
                + ", ".join(c for c in registry.known_classes() if registry.creatable(c))
            )
        return cls()

    def AddNode(self, node: Any) -> Any:  # noqa: N802
        target = unwrap(node)
        if target.scene is self._scene:
            return wrap(target)
        view = wrap(target)
        with self._scene.lock:
            self._scene.add(target, target.name or None)
        view._attach_pending_observers()
        return view

    def AddNewNodeByClass(self, class_name: str, name: str = "") -> Any:  # noqa: N802
        view = self.CreateNodeByClass(class_name)
        if name:
            view._node.name = str(name)
        return self.AddNode(view)

    def AddNewNodeByClassWithID(self, class_name: str, name: str, node_id: str) -> Any:  # noqa: N802
        return self.AddNewNodeByClass(class_name, name)

    def RemoveNode(self, node: Any) -> None:  # noqa: N802
        if node is None:
            return
        if getattr(node, "_node", None) is None and hasattr(node, "GetID"):
            return  # a display, storage or color view: it lives on its data node
        target = unwrap(node)
        if target in self._scene:
            from voxweb.scripting.context import workspace_of

            workspace_of(self._scene).remove([target])

    def Clear(self, remove_singletons: int = 0) -> None:  # noqa: N802
        from voxweb.scripting.context import workspace_of

        workspace_of(self._scene).clear()

    # --- batch and undo: nothing to batch headless ------------------------------------------
    def StartState(self, state: int, *_: Any) -> None:  # noqa: N802
        return None

    def EndState(self, state: int) -> None:  # noqa: N802
        return None

    def IsBatchProcessing(self) -> bool:  # noqa: N802
        return False

    def IsImporting(self) -> bool:  # noqa: N802
        return False

    def IsClosing(self) -> bool:  # noqa: N802
        return False

    def GetURL(self) -> str:  # noqa: N802
        return ""

    # --- observers ------------------------------------------------------------------------
    def AddObserver(self, event: int, callback: Callable[..., Any], priority: float = 0.0) -> int:  # noqa: N802
        """NodeAddedEvent / NodeRemovedEvent / EndCloseEvent; the node is passed as call
        data when the callback asks for it (``@vtk.calldata_type(vtk.VTK_OBJECT)``)."""
        kinds = {
            NODE_ADDED_EVENT: "added",
            NODE_ABOUT_TO_BE_ADDED_EVENT: "added",
            NODE_REMOVED_EVENT: "removed",
            NODE_ABOUT_TO_BE_REMOVED_EVENT: "removed",
            END_CLOSE_EVENT: "cleared",
        }
        kind = kinds.get(int(event))
        if kind is None:
            raise ValueError(f"voxweb reports scene events {sorted(kinds)}, not {event}")
        wants_node = hasattr(callback, "CallDataType")
        view = self

        def listener(scene_event: Any) -> None:
            if scene_event.kind != kind:
                return
            if wants_node:
                callback(view, int(event), wrap(scene_event.node))
            else:
                callback(view, int(event))

        tag = id(listener)
        self._observers[tag] = listener
        self._scene.add_listener(listener)
        return tag

    def RemoveObserver(self, tag: int) -> None:  # noqa: N802
        listener = self._observers.pop(int(tag), None)
        if listener is not None:
            self._scene.remove_listener(listener)

    # --- subject hierarchy ------------------------------------------------------------------
    def GetSubjectHierarchyNode(self) -> Any:  # noqa: N802
        return subject_hierarchy(self._scene)


__all__ = ["NodeCollection", "scene_view", "vtkMRMLNode", "vtkMRMLScene"]
