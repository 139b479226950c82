"""The subset of Slicer's scripting API that exec snippets use, as adapters over voxweb.

``slicer.mrmlScene`` (GetNodeByID, GetFirstNodeByName, GetNodesByClass, AddNewNodeByClass,
RemoveNode, Clear...), ``slicer.util`` (getNode, getNodes, arrayFromVolume,
updateVolumeFromArray, addVolumeFromArray, loadVolume, saveNode...), node methods (GetID,
GetName, SetName, GetClassName...), ``slicer.app.layoutManager().setLayout(...)`` with the
``slicer.vtkMRMLLayoutNode.SlicerLayout*`` constants, and the ``SampleData`` module. Only what
clients are known to send; everything routes through the Workspace, so exec and the HTTP
routes change the scene the same way.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from voxweb.scene import (
    GridTransform,
    LabelMapVolume,
    LinearTransform,
    MarkupsFiducial,
    Model,
    Node,
    ScalarVolume,
    Segmentation,
)
from voxweb.scene.views import LAYOUTS
from voxweb.services.workspace import Workspace

# Classes AddNewNodeByClass can create, by Slicer class name.
_CREATABLE = {
    "vtkMRMLScalarVolumeNode": ScalarVolume,
    "vtkMRMLLabelMapVolumeNode": LabelMapVolume,
    "vtkMRMLLinearTransformNode": LinearTransform,
    "vtkMRMLTransformNode": LinearTransform,
    "vtkMRMLGridTransformNode": GridTransform,
    "vtkMRMLMarkupsFiducialNode": MarkupsFiducial,
    "vtkMRMLSegmentationNode": Segmentation,
    "vtkMRMLModelNode": Model,
}


class MRMLNode:
    """A Slicer-flavoured handle on a voxweb node; other attributes pass through to it."""

    def __init__(self, node: Node) -> None:
        object.__setattr__(self, "node", node)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.node, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.node, name, value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MRMLNode) and other.node is self.node

    def __hash__(self) -> int:
        return id(self.node)

    def __repr__(self) -> str:
        return f"<{self.node.slicer_class} {self.node.id} {self.node.name!r}>"

    def GetID(self) -> str:  # noqa: N802 - Slicer's method names
        return self.node.id

    def GetName(self) -> str:  # noqa: N802
        return self.node.name

    def SetName(self, name: str) -> None:  # noqa: N802
        self.node.name = str(name)

    def GetClassName(self) -> str:  # noqa: N802
        return self.node.slicer_class

    def IsA(self, class_name: str) -> bool:  # noqa: N802
        return self.node.is_a(class_name)

    def Modified(self) -> None:  # noqa: N802
        self.node.modified()

    def GetAttribute(self, key: str) -> str | None:  # noqa: N802
        return self.node.attributes.get(key)

    def SetAttribute(self, key: str, value: str) -> None:  # noqa: N802
        self.node.attributes[key] = str(value)
        self.node.modified()

    # Volumes
    def GetImageData(self) -> _ImageData:  # noqa: N802
        return _ImageData(self.node)

    def GetSpacing(self) -> tuple[float, ...]:  # noqa: N802
        return tuple(float(v) for v in self.node.spacing)

    def GetOrigin(self) -> tuple[float, ...]:  # noqa: N802
        return tuple(float(v) for v in self.node.origin)

    # Markups
    def GetNumberOfControlPoints(self) -> int:  # noqa: N802
        return len(self.node.control_points)

    def AddControlPoint(self, *position: Any) -> int:  # noqa: N802
        point = position[0] if len(position) == 1 else position[:3]
        label = position[3] if len(position) > 3 else None
        self.node.add_point([float(v) for v in point], label)
        return len(self.node.control_points) - 1

    def SetNthControlPointPosition(self, index: int, *position: Any) -> None:  # noqa: N802
        point = position[0] if len(position) == 1 else position
        self.node.set_point_position(int(index), [float(v) for v in point])

    def GetNthControlPointPosition(self, index: int, out: list | None = None) -> list[float]:  # noqa: N802
        position = [float(v) for v in self.node.control_points[int(index)].position]
        if out is not None:
            out[:] = position
        return position

    # Transforms
    def SetMatrixTransformToParent(self, matrix: Any) -> None:  # noqa: N802
        self.node.matrix_to_parent = np.array(matrix, dtype=float).reshape(4, 4)

    def GetMatrixTransformToParent(self, out: Any = None) -> np.ndarray:  # noqa: N802
        return np.array(self.node.matrix_to_parent)

    def SetAndObserveTransformNodeID(self, transform_id: str | None) -> None:  # noqa: N802
        self.node.scene.set_parent_transform(self.node, transform_id)


class _ImageData:
    """Just enough of vtkImageData for snippets that ask for dimensions and ranges."""

    def __init__(self, node: ScalarVolume) -> None:
        self._node = node

    def GetDimensions(self) -> tuple[int, int, int]:  # noqa: N802
        return tuple(int(v) for v in self._node.shape_ijk)

    def GetExtent(self) -> tuple[int, ...]:  # noqa: N802
        i, j, k = self._node.shape_ijk
        return (0, i - 1, 0, j - 1, 0, k - 1)

    def GetScalarRange(self) -> tuple[float, float]:  # noqa: N802
        array = self._node.array
        return (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)


def wrap(node: Node | None) -> MRMLNode | None:
    return None if node is None else MRMLNode(node)


def unwrap(node: Any) -> Node:
    if isinstance(node, MRMLNode):
        return node.node
    if isinstance(node, Node):
        return node
    raise TypeError(f"expected a node, got {type(node).__name__}")


class _NodeCollection(list):
    """What GetNodesByClass returns: a list that also answers VTK collection calls."""

    def GetNumberOfItems(self) -> int:  # noqa: N802
        return len(self)

    def GetItemAsObject(self, index: int) -> MRMLNode:  # noqa: N802
        return self[index]


class MRMLScene:
    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    def GetNodeByID(self, node_id: str) -> MRMLNode | None:  # noqa: N802
        return wrap(self._ws.scene.get_node_by_id(node_id))

    def GetFirstNodeByName(self, name: str) -> MRMLNode | None:  # noqa: N802
        return wrap(self._ws.scene.get_first_node_by_name(name))

    def GetNodesByClass(self, class_name: str) -> _NodeCollection:  # noqa: N802
        return _NodeCollection(MRMLNode(n) for n in self._ws.scene.nodes_of_class(class_name))

    def GetNodesByName(self, name: str) -> _NodeCollection:  # noqa: N802
        return _NodeCollection(MRMLNode(n) for n in self._ws.scene.nodes_by_name(name))

    def GetNumberOfNodes(self) -> int:  # noqa: N802
        return len(self._ws.scene)

    def AddNewNodeByClass(self, class_name: str, name: str = "") -> MRMLNode:  # noqa: N802
        cls = _CREATABLE.get(class_name)
        if cls is None:
            raise ValueError(
                f"voxweb cannot create nodes of class {class_name!r}; known: {', '.join(_CREATABLE)}"
            )
        node = self._ws.scene.add(cls(name=name) if name else cls())
        return MRMLNode(node)

    def AddNode(self, node: Any) -> MRMLNode:  # noqa: N802
        return MRMLNode(self._ws.scene.add(unwrap(node)))

    def RemoveNode(self, node: Any) -> None:  # noqa: N802
        if node is not None:
            self._ws.remove([unwrap(node)])

    def Clear(self, close: int = 0) -> None:  # noqa: N802
        self._ws.clear()


class LayoutManager:
    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    def setLayout(self, layout: int | str) -> None:  # noqa: N802
        self._ws.set_layout(layout)

    def layout(self) -> int:
        return LAYOUTS[self._ws.layout().layout_name]


class Application:
    def __init__(self, workspace: Workspace) -> None:
        self._layout_manager = LayoutManager(workspace)

    def layoutManager(self) -> LayoutManager:  # noqa: N802
        return self._layout_manager

    def processEvents(self) -> None:  # noqa: N802 - nothing to process without a GUI
        return None


def _util_module(workspace: Workspace) -> types.ModuleType:
    util = types.ModuleType("slicer.util", "Slicer's slicer.util, as far as voxweb provides it")

    def getNode(pattern: str = "*", index: int = 0) -> MRMLNode:  # noqa: N802
        matches = workspace.scene.find_nodes(pattern)
        if not matches:
            raise util.MRMLNodeNotFoundException(
                f"could not find nodes in the scene by name or id '{pattern}'"
            )
        return MRMLNode(matches[index])

    def getNodes(pattern: str = "*", useLists: bool = False) -> dict:  # noqa: N802, N803
        if useLists:
            out: dict[str, list[MRMLNode]] = {}
            for node in workspace.scene.find_nodes(pattern):
                out.setdefault(node.name, []).append(MRMLNode(node))
            return out
        return {
            name: MRMLNode(n) for name, n in workspace.scene.glob_nodes_by_name(pattern).items()
        }

    def getNodesByClass(class_name: str) -> list[MRMLNode]:  # noqa: N802
        return [MRMLNode(n) for n in workspace.scene.nodes_of_class(class_name)]

    def getFirstNodeByClassByName(class_name: str, name: str) -> MRMLNode | None:  # noqa: N802
        for node in workspace.scene.nodes_of_class(class_name):
            if node.name == name:
                return MRMLNode(node)
        return None

    def arrayFromVolume(volume: Any) -> np.ndarray:  # noqa: N802
        # Slicer returns a (k, j, i) view that shares memory with the volume.
        return unwrap(volume).array

    def updateVolumeFromArray(volume: Any, array: np.ndarray) -> None:  # noqa: N802
        node = unwrap(volume)
        with workspace.scene.lock:
            node.set_array(np.asarray(array))
            if (
                node.id == workspace.selection().active_volume_id
                or workspace.selection().active_volume_id is None
            ):
                workspace.show_volume(node, fit=False)

    def arrayFromVolumeModified(volume: Any) -> None:  # noqa: N802
        unwrap(volume).modified()

    def addVolumeFromArray(  # noqa: N802
        array: np.ndarray,
        ijkToRAS: Any = None,
        name: str | None = None,
        nodeClassName: str | None = None,  # noqa: N803
    ) -> MRMLNode:
        cls = LabelMapVolume if nodeClassName == "vtkMRMLLabelMapVolumeNode" else ScalarVolume
        matrix = None if ijkToRAS is None else np.array(ijkToRAS, dtype=float).reshape(4, 4)
        node = cls(np.asarray(array), matrix, name=name or "")
        with workspace.scene.lock:
            workspace.scene.add(node)
            workspace.show_volume(node)
        return MRMLNode(node)

    def _load(path: str, filetype: str, properties: dict | None) -> MRMLNode:
        nodes = workspace.load_client_file(str(path), filetype, properties or {})
        if not nodes:
            raise RuntimeError(f"nothing was loaded from {path}")
        return MRMLNode(nodes[0])

    def loadVolume(filename: str, properties: dict | None = None, returnNode: bool = False):  # noqa: N802, N803
        node = _load(filename, "VolumeFile", properties)
        return (True, node) if returnNode else node

    def loadLabelVolume(filename: str, properties: dict | None = None):  # noqa: N802
        return _load(filename, "VolumeFile", {**(properties or {}), "labelmap": "true"})

    def loadSegmentation(filename: str, properties: dict | None = None):  # noqa: N802
        return _load(filename, "SegmentationFile", properties)

    def loadMarkups(filename: str, properties: dict | None = None):  # noqa: N802
        return _load(filename, "MarkupsFile", properties)

    def loadTransform(filename: str, properties: dict | None = None):  # noqa: N802
        return _load(filename, "TransformFile", properties)

    def loadModel(filename: str, properties: dict | None = None):  # noqa: N802
        return _load(filename, "ModelFile", properties)

    def loadNodeFromFile(
        filename: str, filetype: str, properties: dict | None = None, returnNode: bool = False
    ):  # noqa: N802, N803
        node = _load(filename, filetype, properties)
        return (True, node) if returnNode else node

    def saveNode(node: Any, filename: str, properties: dict | None = None) -> bool:  # noqa: N802
        workspace.save_client_file(unwrap(node), str(filename), properties or {})
        return True

    def setSliceViewerLayers(
        background: Any = None, label: Any = None, fit: bool = False, **_: Any
    ) -> None:  # noqa: N802
        if background is not None:
            workspace.show_volume(unwrap(background), fit=fit)
        if label is not None:
            workspace.show_volume(unwrap(label), fit=False)

    class MRMLNodeNotFoundException(Exception):  # noqa: N818 - Slicer's name
        pass

    for function in (
        getNode, getNodes, getNodesByClass, getFirstNodeByClassByName, arrayFromVolume,
        updateVolumeFromArray, arrayFromVolumeModified, addVolumeFromArray, loadVolume,
        loadLabelVolume, loadSegmentation, loadMarkups, loadTransform, loadModel,
        loadNodeFromFile, saveNode, setSliceViewerLayers,
    ):  # fmt: skip
        setattr(util, function.__name__, function)
    util.MRMLNodeNotFoundException = MRMLNodeNotFoundException
    return util


def _layout_constants() -> type:
    attributes = {f"SlicerLayout{name}View": code for name, code in LAYOUTS.items()}
    attributes["SlicerLayoutNone"] = LAYOUTS["None"]
    return type("vtkMRMLLayoutNode", (), attributes)


def slicer_module(workspace: Workspace) -> types.ModuleType:
    module = types.ModuleType("slicer", "voxweb's stand-in for Slicer's scripting module")
    module.mrmlScene = MRMLScene(workspace)
    module.util = _util_module(workspace)
    module.app = Application(workspace)
    module.vtkMRMLLayoutNode = _layout_constants()
    return module


def sampledata_module(workspace: Workspace) -> types.ModuleType:
    module = types.ModuleType(
        "SampleData", "Slicer's SampleData module over voxweb's sample registry"
    )

    class SampleDataLogic:
        def downloadSample(self, name: str) -> MRMLNode:  # noqa: N802
            return MRMLNode(workspace.load_sample(name)[0])

        def downloadSamples(self, name: str) -> list[MRMLNode]:  # noqa: N802
            return [MRMLNode(n) for n in workspace.load_sample(name)]

        def __getattr__(self, attribute: str) -> Any:
            # downloadMRHead(), downloadCTChest()... as in Slicer.
            if attribute.startswith("download") and len(attribute) > len("download"):
                name = attribute[len("download") :]
                return lambda: self.downloadSample(name)
            raise AttributeError(attribute)

    module.SampleDataLogic = SampleDataLogic
    module.downloadSample = lambda name: SampleDataLogic().downloadSample(name)
    module.downloadSamples = lambda name: SampleDataLogic().downloadSamples(name)
    return module
