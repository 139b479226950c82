"""``slicer.util``: the non-GUI helpers Slicer scripts call, over one Workspace.

Node lookup, numpy access to volumes, transforms, markups, models and segments (views that
share memory where Slicer's do), loading and saving through the workspace (client paths stay
inside ``--file-root``), slice-viewer layers, and the observation helpers. GUI helpers either
log (``delayDisplay``, ``infoDisplay``) or raise ``HeadlessError`` (``confirmOkCancelDisplay``).
"""

from __future__ import annotations

import contextlib
import logging
import types
from collections.abc import Iterator
from typing import Any

import numpy as np

from voxweb.scene.markups import MarkupsNode
from voxweb.scene.nodes import (
    LabelMapVolume,
    LinearTransform,
    Model,
    ScalarVolume,
    Segmentation,
)
from voxweb.scripting.headless import HeadlessError
from voxweb.scripting.registry import unwrap, wrap
from voxweb.scripting.transformable import world_matrix
from voxweb.services.workspace import Workspace, fit_view_to_volume

log = logging.getLogger("voxweb.exec")


class MRMLNodeNotFoundException(Exception):  # noqa: N818 - Slicer's name
    """getNode found nothing."""


class VTKObservationMixin:
    """Slicer's mixin: ``self.addObserver(node, event, method)`` with bookkeeping."""

    def __init__(self) -> None:
        self.Observations: list[tuple[Any, Any, Any, int]] = []

    def _observations(self) -> list[tuple[Any, Any, Any, int]]:
        if not hasattr(self, "Observations"):
            self.Observations = []
        return self.Observations

    def addObserver(  # noqa: N802
        self, obj: Any, event: Any, method: Any, priority: float = 0.0, group: str = "none"
    ) -> int:
        tag = obj.AddObserver(event, method, priority)
        self._observations().append((obj, event, method, tag))
        return tag

    def removeObserver(self, obj: Any, event: Any, method: Any) -> None:  # noqa: N802
        for entry in list(self._observations()):
            if entry[0] is obj and entry[1] == event and entry[2] == method:
                obj.RemoveObserver(entry[3])
                self.Observations.remove(entry)

    def removeObservers(self, method: Any = None) -> None:  # noqa: N802
        for entry in list(self._observations()):
            if method is None or entry[2] == method:
                entry[0].RemoveObserver(entry[3])
                self.Observations.remove(entry)

    def hasObserver(self, obj: Any, event: Any, method: Any) -> bool:  # noqa: N802
        return any(e[0] is obj and e[1] == event and e[2] == method for e in self._observations())

    def observer(self, event: Any, method: Any) -> Any:
        for entry in self._observations():
            if entry[1] == event and entry[2] == method:
                return entry[0]
        return None


@contextlib.contextmanager
def NodeModify(node: Any) -> Iterator[None]:  # noqa: N802 - Slicer's name
    """Batch changes to a node: one Modified at the end."""
    was = node.StartModify()
    try:
        yield
    finally:
        node.EndModify(was)


def util_module(workspace: Workspace) -> types.ModuleType:
    """A ``slicer.util`` bound to ``workspace``."""
    util = types.ModuleType("slicer.util", "Slicer's slicer.util over a voxweb workspace")
    scene = workspace.scene

    # --- lookup -------------------------------------------------------------------------
    def getNode(pattern: str = "*", index: int = 0, scene_: Any = None) -> Any:  # noqa: N802
        matches = scene.find_nodes(str(pattern))
        if not matches:  # views voxweb keeps on other nodes (cameras): by ID or name
            from fnmatch import fnmatchcase

            from voxweb.scripting.registry import synthetic_nodes

            synthetic = [
                v
                for v in synthetic_nodes(scene)
                if v.GetID() == pattern or fnmatchcase(v.GetName(), str(pattern))
            ]
            if int(index) < len(synthetic):
                return synthetic[int(index)]
        if not matches or int(index) >= len(matches):
            raise MRMLNodeNotFoundException(
                f"could not find nodes in the scene by name or id '{pattern}'"
            )
        return wrap(matches[int(index)])

    def getNodes(pattern: str = "*", scene_: Any = None, useLists: bool = False) -> dict:  # noqa: N802, N803
        if useLists:
            out: dict[str, list[Any]] = {}
            for node in scene.find_nodes(str(pattern)):
                out.setdefault(node.name, []).append(wrap(node))
            return out
        return {name: wrap(n) for name, n in scene.glob_nodes_by_name(str(pattern)).items()}

    def getNodesByClass(className: str, scene_: Any = None) -> list[Any]:  # noqa: N802, N803
        from voxweb.scripting.mrml_scene import scene_view

        return list(scene_view(scene).GetNodesByClass(str(className)))

    def getFirstNodeByClassByName(className: str, name: str, scene_: Any = None) -> Any:  # noqa: N802, N803
        for node in scene.nodes_of_class(str(className)):
            if node.name == name:
                return wrap(node)
        return None

    def getFirstNodeByName(name: str, className: str | None = None) -> Any:  # noqa: N802, N803
        for node in scene.nodes_of_class(className or "vtkMRMLNode"):
            if node.name.startswith(str(name)):
                return wrap(node)
        return None

    # --- volumes ------------------------------------------------------------------------
    def arrayFromVolume(volumeNode: Any) -> np.ndarray:  # noqa: N802, N803
        """The voxels as (k, j, i), sharing memory with the volume (no copy)."""
        node = unwrap(volumeNode)
        if isinstance(node, ScalarVolume):
            return node.array
        raise TypeError(f"arrayFromVolume needs a volume node, got {node.slicer_class}")

    def arrayFromVolumeModified(volumeNode: Any) -> None:  # noqa: N802, N803
        node = unwrap(volumeNode)
        cached = node.__dict__.get("_scripting_image")
        if cached is not None:  # VTK caches ranges: tell the shared image data too
            cached[1].GetPointData().GetScalars().Modified()
            cached[1].Modified()
        if node.display.auto_window_level and node.array.size:
            from voxweb.scene.nodes import auto_window_level

            node.display.window, node.display.level = auto_window_level(node.array)
        node.modified()

    def updateVolumeFromArray(volumeNode: Any, narray: Any) -> None:  # noqa: N802, N803
        node = unwrap(volumeNode)
        array = np.asarray(narray)
        if array.ndim == 2:
            array = array[np.newaxis]
        with scene.lock:
            first_voxels = node.array.size <= 1
            node.set_array(array)
            active = workspace.selection().active_volume_id
            if node.scene is scene and (active is None or active == node.id or first_voxels):
                workspace.show_volume(node, fit=first_voxels)

    def addVolumeFromArray(  # noqa: N802
        narray: Any,
        ijkToRAS: Any = None,  # noqa: N803
        name: str | None = None,
        nodeClassName: str | None = None,  # noqa: N803
    ) -> Any:
        from voxweb.scripting.vtkconvert import matrix_array

        label = nodeClassName == "vtkMRMLLabelMapVolumeNode"
        cls = LabelMapVolume if label else ScalarVolume
        matrix = None if ijkToRAS is None else matrix_array(ijkToRAS)
        array = np.asarray(narray)
        if array.ndim == 2:
            array = array[np.newaxis]
        node = cls(array, matrix, name=name or "")
        with scene.lock:
            scene.add(node)
            workspace.show_volume(node)
        return wrap(node)

    # --- transforms -----------------------------------------------------------------------
    def arrayFromTransformMatrix(transformNode: Any, toWorld: bool = False) -> np.ndarray:  # noqa: N802, N803
        node = unwrap(transformNode)
        if not isinstance(node, LinearTransform):
            raise TypeError(f"{node.name!r} is not a linear transform")
        matrix = np.array(node.matrix_to_parent)
        return world_matrix(node) @ matrix if toWorld else matrix

    def updateTransformMatrixFromArray(  # noqa: N802
        transformNode: Any,
        narray: Any,
        toWorld: bool = False,  # noqa: N803
    ) -> None:
        node = unwrap(transformNode)
        matrix = np.asarray(narray, dtype=float).reshape(4, 4)
        if toWorld:
            matrix = np.linalg.inv(world_matrix(node)) @ matrix
        node.matrix_to_parent = matrix

    def vtkMatrixFromArray(narray: Any) -> Any:  # noqa: N802
        from voxweb.scripting.vtkconvert import fill_matrix

        return fill_matrix(None, np.asarray(narray, dtype=float))

    def arrayFromVTKMatrix(vmatrix: Any) -> np.ndarray:  # noqa: N802
        n = 4 if vmatrix.IsA("vtkMatrix4x4") else 3
        return np.array([[vmatrix.GetElement(r, c) for c in range(n)] for r in range(n)])

    def updateVTKMatrixFromArray(vmatrix: Any, narray: Any) -> None:  # noqa: N802
        from voxweb.scripting.vtkconvert import fill_matrix

        fill_matrix(vmatrix, np.asarray(narray, dtype=float))

    # --- markups ------------------------------------------------------------------------
    # markups arrays: voxweb.scripting.markups_logic adds them for every markup type

    # --- models -------------------------------------------------------------------------
    def arrayFromModelPoints(modelNode: Any) -> np.ndarray:  # noqa: N802, N803
        """The (N, 3) vertices, sharing memory with the model."""
        node = unwrap(modelNode)
        if not node.vertices.flags.writeable or node.vertices.dtype != np.float64:
            object.__setattr__(node, "vertices", np.array(node.vertices, dtype=float))
        return node.vertices

    def arrayFromModelPointsModified(modelNode: Any) -> None:  # noqa: N802, N803
        unwrap(modelNode).modified()

    def arrayFromModelPointData(modelNode: Any, arrayName: str) -> np.ndarray:  # noqa: N802, N803
        """A per-point array of the model by name, sharing memory with it."""
        from voxweb.scripting.models import adopt_point_arrays

        node = unwrap(modelNode)
        adopt_point_arrays(node)
        if arrayName not in node.point_data:
            raise ValueError(
                f"the model has no point data array {arrayName!r} "
                f"(it has: {', '.join(node.point_data) or 'none'})"
            )
        return node.point_data[arrayName]

    def arrayFromModelPointDataModified(modelNode: Any, arrayName: str = "") -> None:  # noqa: N802, N803
        unwrap(modelNode).modified()

    def arrayFromModelCellData(modelNode: Any, arrayName: str) -> np.ndarray:  # noqa: N802, N803
        raise NotImplementedError("voxweb models carry point data arrays only, no cell data")

    def arrayFromModelPolyIds(modelNode: Any) -> np.ndarray:  # noqa: N802, N803
        """VTK's cell array layout: 3, a, b, c, 3, d, e, f..."""
        faces = unwrap(modelNode).faces
        return np.hstack([np.full((len(faces), 1), 3), faces]).reshape(-1)

    # --- segmentations ---------------------------------------------------------------------
    def arrayFromSegmentBinaryLabelmap(  # noqa: N802
        segmentationNode: Any,
        segmentId: str,  # noqa: N803
        referenceVolumeNode: Any = None,  # noqa: N803
    ) -> np.ndarray:
        from voxweb.scripting.segmentation_logic import segment_array

        return segment_array(segmentationNode, segmentId, referenceVolumeNode)

    def arrayFromSegmentInternalBinaryLabelmap(segmentationNode: Any, segmentId: str) -> Any:  # noqa: N802, N803
        from voxweb.scripting.segmentation_logic import segment_internal_array

        return segment_internal_array(segmentationNode, segmentId)

    def updateSegmentBinaryLabelmapFromArray(  # noqa: N802
        narray: Any,
        segmentationNode: Any,  # noqa: N803
        segmentId: str,  # noqa: N803
        referenceVolumeNode: Any = None,  # noqa: N803
    ) -> None:
        from voxweb.scripting.segmentation_logic import update_segment_from_array

        with scene.lock:
            update_segment_from_array(narray, segmentationNode, segmentId, referenceVolumeNode)

    # --- any node -----------------------------------------------------------------------
    def array(pattern: str = "", index: int = 0) -> np.ndarray:
        node = unwrap(getNode(pattern, index))
        if isinstance(node, ScalarVolume):
            return arrayFromVolume(node)
        if isinstance(node, Model):
            return arrayFromModelPoints(node)
        if isinstance(node, MarkupsNode):
            return util.arrayFromMarkupsControlPoints(node)
        if isinstance(node, LinearTransform):
            return arrayFromTransformMatrix(node)
        if isinstance(node, Segmentation):
            raise TypeError("use arrayFromSegmentBinaryLabelmap for segmentations")
        raise TypeError(f"no array for a {node.slicer_class}")

    # --- files --------------------------------------------------------------------------
    def _load(path: Any, filetype: str, properties: dict | None) -> Any:
        nodes = workspace.load_client_file(str(path), filetype, properties or {})
        if not nodes:
            raise RuntimeError(f"nothing was loaded from {path}")
        return wrap(nodes[0])

    def loadVolume(filename: str, properties: dict | None = None, returnNode: bool = False):  # noqa: N802, N803
        node = _load(filename, "VolumeFile", properties)
        return (True, node) if returnNode else node

    def loadLabelVolume(filename: str, properties: dict | None = None, returnNode: bool = False):  # noqa: N802, N803
        node = _load(filename, "VolumeFile", {**(properties or {}), "labelmap": "true"})
        return (True, node) if returnNode else node

    def loadSegmentation(filename: str, properties: dict | None = None, returnNode: bool = False):  # noqa: N802, N803
        node = _load(filename, "SegmentationFile", properties)
        return (True, node) if returnNode else node

    def loadMarkups(filename: str, properties: dict | None = None):  # noqa: N802
        return _load(filename, "MarkupsFile", properties)

    def loadTransform(filename: str, properties: dict | None = None, returnNode: bool = False):  # noqa: N802, N803
        node = _load(filename, "TransformFile", properties)
        return (True, node) if returnNode else node

    def loadModel(filename: str, properties: dict | None = None, returnNode: bool = False):  # noqa: N802, N803
        node = _load(filename, "ModelFile", properties)
        return (True, node) if returnNode else node

    def loadNodeFromFile(  # noqa: N802
        filename: str,
        filetype: str,
        properties: dict | None = None,
        returnNode: bool = False,  # noqa: N803
    ):
        node = _load(filename, filetype, properties)
        return (True, node) if returnNode else node

    def saveNode(node: Any, filename: str, properties: dict | None = None) -> bool:  # noqa: N802
        workspace.save_client_file(unwrap(node), str(filename), properties or {})
        return True

    def exportNode(  # noqa: N802
        node: Any, filename: str, properties: dict | None = None, world: bool = False
    ) -> bool:
        target = unwrap(node)
        if world and getattr(target, "parent_transform_id", None):
            import copy

            from voxweb.scripting.transformable import harden

            clone = copy.deepcopy(target)
            object.__setattr__(clone, "scene", None)
            matrix = world_matrix(target)
            holder = LinearTransform(matrix)
            with scene.lock:
                scene.add(holder)
                try:
                    clone.parent_transform_id = None
                    scene.add(clone)
                    scene.set_parent_transform(clone, holder.id)
                    harden(clone)
                    workspace.save_client_file(clone, str(filename), properties or {})
                finally:
                    for temporary in (clone, holder):
                        if temporary.scene is scene:
                            scene.remove(temporary)
            return True
        workspace.save_client_file(target, str(filename), properties or {})
        return True

    def saveScene(filename: str, properties: dict | None = None) -> bool:  # noqa: N802
        raise NotImplementedError(
            "voxweb does not write MRML scene files yet; save nodes with saveNode/exportNode"
        )

    def loadScene(filename: str, properties: dict | None = None) -> Any:  # noqa: N802
        raise NotImplementedError("voxweb does not read MRML scene files (.mrml/.mrb) yet")

    # --- views --------------------------------------------------------------------------
    def setSliceViewerLayers(  # noqa: N802
        background: Any = "keep-current",
        foreground: Any = "keep-current",
        label: Any = "keep-current",
        foregroundOpacity: float | None = None,  # noqa: N803
        labelOpacity: float | None = None,  # noqa: N803
        fit: bool = False,
        rotateToVolumePlane: bool = False,  # noqa: N803
    ) -> None:
        def node_id(value: Any) -> str | None:
            if value is None:
                return None
            if isinstance(value, str):
                return value
            return unwrap(value).id

        with scene.lock:
            selection = workspace.selection()
            for view in workspace.slice_views():
                if background != "keep-current":
                    view.background_volume_id = node_id(background)
                if foreground != "keep-current":
                    view.foreground_volume_id = node_id(foreground)
                if label != "keep-current":
                    view.label_volume_id = node_id(label)
                if foregroundOpacity is not None:
                    view.foreground_opacity = float(foregroundOpacity)
                if labelOpacity is not None:
                    view.label_opacity = float(labelOpacity)
            if background not in ("keep-current", None):
                selection.active_volume_id = node_id(background)
            if label not in ("keep-current", None):
                selection.active_label_volume_id = node_id(label)
            if fit:
                resetSliceViews()

    def resetSliceViews() -> None:  # noqa: N802
        """Fit every slice view to its background volume (Slicer's reset field of view)."""
        with scene.lock:
            for view in workspace.slice_views():
                volume = scene.get_node_by_id(view.background_volume_id or "")
                if isinstance(volume, ScalarVolume):
                    fit_view_to_volume(view, volume)

    def resetThreeDViews() -> None:  # noqa: N802
        with scene.lock:
            for view in scene.nodes_of_class("vtkMRMLViewNode"):
                view.camera = None  # the renderer fits the camera to the scene again

    def forceRenderAllViews() -> None:  # noqa: N802
        return None  # views render on request

    # --- messages -----------------------------------------------------------------------
    def delayDisplay(message: str, autoCloseMsec: int = 1000, **_: Any) -> None:  # noqa: N802, N803
        log.info("%s", message)

    def infoDisplay(text: str, *args: Any, **kwargs: Any) -> None:  # noqa: N802
        log.info("%s", text)

    def warningDisplay(text: str, *args: Any, **kwargs: Any) -> None:  # noqa: N802
        log.warning("%s", text)

    def errorDisplay(text: str, *args: Any, **kwargs: Any) -> None:  # noqa: N802
        log.error("%s", text)

    def _headless(name: str) -> Any:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise HeadlessError(f"headless: slicer.util.{name}() needs a GUI")

        refuse.__name__ = name
        return refuse

    def mainWindow(verbose: bool = False) -> None:  # noqa: N802
        return None  # as Slicer without a main window

    functions = [
        getNode, getNodes, getNodesByClass, getFirstNodeByClassByName, getFirstNodeByName,
        arrayFromVolume, arrayFromVolumeModified, updateVolumeFromArray, addVolumeFromArray,
        arrayFromTransformMatrix, updateTransformMatrixFromArray, vtkMatrixFromArray,
        arrayFromVTKMatrix, updateVTKMatrixFromArray, arrayFromModelPoints,
        arrayFromModelPointsModified,
        arrayFromModelPolyIds, arrayFromModelPointData, arrayFromModelPointDataModified,
        arrayFromModelCellData, arrayFromSegmentBinaryLabelmap,
        arrayFromSegmentInternalBinaryLabelmap,
        updateSegmentBinaryLabelmapFromArray, array, loadVolume, loadLabelVolume,
        loadSegmentation, loadMarkups, loadTransform, loadModel, loadNodeFromFile, saveNode,
        exportNode, saveScene, loadScene, setSliceViewerLayers, resetSliceViews,
        resetThreeDViews, forceRenderAllViews, delayDisplay, infoDisplay, warningDisplay,
        errorDisplay, mainWindow,
    ]  # fmt: skip
    for function in functions:
        setattr(util, function.__name__, function)
    util.arrayFromSegment = arrayFromSegmentBinaryLabelmap  # Slicer's older name
    for name in ("confirmOkCancelDisplay", "confirmYesNoDisplay", "findChild", "findChildren",
                 "selectModule", "pip_install", "openAddDataDialog", "messageBox"):  # fmt: skip
        setattr(util, name, _headless(name))
    from voxweb.scripting.markups_logic import add_util_functions

    add_util_functions(
        util, workspace
    )  # markups helpers for every type (they replace the point-list versions above)
    util.MRMLNodeNotFoundException = MRMLNodeNotFoundException
    util.VTKObservationMixin = VTKObservationMixin
    util.NodeModify = NodeModify
    util.HeadlessError = HeadlessError
    util.__all__ = [n for n in vars(util) if not n.startswith("_")]
    return util
