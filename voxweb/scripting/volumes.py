"""Volume nodes: scalar and label-map volumes, their display and storage nodes.

``GetImageData()`` is a real ``vtkImageData`` whose scalars are the node's numpy array (no
copy): a VTK filter reads the voxels in place, and writing through either side changes the
volume (call ``Modified()`` on the node to re-render, as in Slicer). Geometry lives in the
node's IJK-to-RAS matrix, so the image data has unit spacing and zero origin, as Slicer's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxweb.scene import geometry
from voxweb.scene.nodes import LabelMapVolume, ScalarVolume, auto_window_level
from voxweb.scripting.colors import color_name_from_id, color_node_id, standard_color_node
from voxweb.scripting.colors import table_view as color_table_view
from voxweb.scripting.display import DisplayView, StorageView, property_view
from voxweb.scripting.registry import register
from voxweb.scripting.transformable import vtkMRMLTransformableNode
from voxweb.scripting.vtkconvert import (
    array_from_image_data,
    fill_matrix,
    image_data_sharing,
    matrix_array,
)


def _triple(args: tuple[Any, ...]) -> list[float]:
    values = args[0] if len(args) == 1 else args
    values = [float(v) for v in values]
    if len(values) != 3:
        raise TypeError(f"expected 3 values, got {len(values)}")
    return values


@register
class vtkMRMLVolumeNode(vtkMRMLTransformableNode):  # noqa: N801
    """Geometry and voxels shared by every volume class."""

    # --- voxels -------------------------------------------------------------------------
    def GetImageData(self) -> Any:  # noqa: N802
        node = self._node
        array = node.array
        cached = node.__dict__.get("_scripting_image")
        if cached is not None and cached[0] is array:
            return cached[1]
        if not array.flags.c_contiguous:
            array = np.ascontiguousarray(array)
            object.__setattr__(node, "array", array)  # same voxels, now shareable
        image = image_data_sharing(array)
        node.__dict__["_scripting_image"] = (array, image)
        return image

    def SetAndObserveImageData(self, image: Any) -> None:  # noqa: N802
        node = self._node
        if image is None:
            node.set_array(np.zeros((1, 1, 1), dtype=node.array.dtype))
            return
        array = array_from_image_data(image)
        node.__dict__["_scripting_image"] = (array, image)
        node.set_array(array)

    def SetImageDataConnection(self, port: Any) -> None:  # noqa: N802
        producer = port.GetProducer()
        producer.Update()
        self.SetAndObserveImageData(producer.GetOutputDataObject(port.GetIndex()))

    def GetImageDataConnection(self) -> Any:  # noqa: N802
        from vtkmodules.vtkCommonExecutionModel import vtkTrivialProducer

        producer = vtkTrivialProducer()
        producer.SetOutput(self.GetImageData())
        self._node.__dict__["_scripting_producer"] = producer
        return producer.GetOutputPort()

    # --- geometry -----------------------------------------------------------------------
    def GetSpacing(self) -> tuple[float, float, float]:  # noqa: N802
        return tuple(float(v) for v in self._node.spacing)  # type: ignore[return-value]

    def SetSpacing(self, *spacing: Any) -> None:  # noqa: N802
        node = self._node
        node.ijk_to_ras = geometry.ijk_to_ras_matrix(_triple(spacing), node.origin, node.directions)

    def GetOrigin(self) -> tuple[float, float, float]:  # noqa: N802
        return tuple(float(v) for v in self._node.origin)  # type: ignore[return-value]

    def SetOrigin(self, *origin: Any) -> None:  # noqa: N802
        node = self._node
        node.ijk_to_ras = geometry.ijk_to_ras_matrix(node.spacing, _triple(origin), node.directions)

    def GetIJKToRASMatrix(self, out: Any = None) -> Any:  # noqa: N802
        return fill_matrix(out, self._node.ijk_to_ras)

    def SetIJKToRASMatrix(self, matrix: Any) -> None:  # noqa: N802
        self._node.ijk_to_ras = matrix_array(matrix)

    def GetRASToIJKMatrix(self, out: Any = None) -> Any:  # noqa: N802
        return fill_matrix(out, np.linalg.inv(self._node.ijk_to_ras))

    def SetRASToIJKMatrix(self, matrix: Any) -> None:  # noqa: N802
        self._node.ijk_to_ras = np.linalg.inv(matrix_array(matrix))

    def GetIJKToRASDirectionMatrix(self, out: Any = None) -> Any:  # noqa: N802
        m = np.eye(4)
        m[:3, :3] = self._node.directions
        return fill_matrix(out, m)

    def SetIJKToRASDirectionMatrix(self, matrix: Any) -> None:  # noqa: N802
        directions = matrix_array(matrix)[:3, :3]
        node = self._node
        node.ijk_to_ras = geometry.ijk_to_ras_matrix(node.spacing, node.origin, directions)

    def GetIJKToRASDirections(self, out: Any = None) -> Any:  # noqa: N802
        directions = self._node.directions
        if out is None:
            return directions.copy()
        out[:] = directions
        return out

    def SetIJKToRASDirections(self, *values: Any) -> None:  # noqa: N802
        directions = np.array(values[0] if len(values) == 1 else values, dtype=float).reshape(3, 3)
        node = self._node
        node.ijk_to_ras = geometry.ijk_to_ras_matrix(node.spacing, node.origin, directions)

    def GetRASBounds(self, out: list | None = None) -> list[float]:  # noqa: N802
        from voxweb.scripting.transformable import world_matrix

        corners = _corners(self._node)
        world = (world_matrix(self)[:3, :3] @ corners.T).T + world_matrix(self)[:3, 3]
        bounds = [v for axis in range(3) for v in (world[:, axis].min(), world[:, axis].max())]
        if out is not None:
            out[:] = bounds
        return bounds

    def GetBounds(self, out: list | None = None) -> list[float]:  # noqa: N802
        corners = _corners(self._node)
        bounds = [v for axis in range(3) for v in (corners[:, axis].min(), corners[:, axis].max())]
        if out is not None:
            out[:] = bounds
        return bounds

    # --- display and storage ----------------------------------------------------------
    def GetDisplayNode(self) -> Any:  # noqa: N802
        return property_view(self._node, vtkMRMLScalarVolumeDisplayNode)

    GetVolumeDisplayNode = GetDisplayNode  # noqa: N815
    GetScalarVolumeDisplayNode = GetDisplayNode  # noqa: N815

    def GetStorageNode(self) -> Any:  # noqa: N802
        return property_view(self._node, vtkMRMLVolumeArchetypeStorageNode)

    def GetVoxelValueQuantity(self) -> None:  # noqa: N802
        return None

    def SetVoxelValueUnits(self, units: Any) -> None:  # noqa: N802
        self._node.attributes["voxweb.units"] = str(units)


def _corners(node: ScalarVolume) -> np.ndarray:
    """RAS positions of the outer voxel corners (Slicer's bounds include half a voxel)."""
    i, j, k = node.shape_ijk
    ijk = np.array(
        [[x, y, z, 1.0] for x in (-0.5, i - 0.5) for y in (-0.5, j - 0.5) for z in (-0.5, k - 0.5)]
    )
    return (node.ijk_to_ras @ ijk.T).T[:, :3]


@register
class vtkMRMLScalarVolumeNode(vtkMRMLVolumeNode):  # noqa: N801
    scene_class = ScalarVolume

    def IsLabelMap(self) -> bool:  # noqa: N802
        return isinstance(self._node, LabelMapVolume)


@register
class vtkMRMLLabelMapVolumeNode(vtkMRMLScalarVolumeNode):  # noqa: N801
    scene_class = LabelMapVolume

    def GetDisplayNode(self) -> Any:  # noqa: N802
        return property_view(self._node, vtkMRMLLabelMapVolumeDisplayNode)

    GetVolumeDisplayNode = GetDisplayNode  # noqa: N815


class vtkMRMLScalarVolumeDisplayNode(DisplayView):  # noqa: N801
    """Window/level, color table, interpolation, threshold, opacity of a volume."""

    slicer_class = "vtkMRMLScalarVolumeDisplayNode"
    slicer_classes = (
        "vtkMRMLScalarVolumeDisplayNode",
        "vtkMRMLVolumeDisplayNode",
        "vtkMRMLDisplayNode",
        "vtkMRMLNode",
    )

    # window / level: setting either turns automatic window/level off, as in Slicer
    def GetWindow(self) -> float:  # noqa: N802
        return float(self._display.window)

    def SetWindow(self, window: float) -> None:  # noqa: N802
        self._display.auto_window_level = False
        self._display.window = float(window)
        self._changed()

    def GetLevel(self) -> float:  # noqa: N802
        return float(self._display.level)

    def SetLevel(self, level: float) -> None:  # noqa: N802
        self._display.auto_window_level = False
        self._display.level = float(level)
        self._changed()

    def SetWindowLevel(self, window: float, level: float) -> None:  # noqa: N802
        display = self._display
        display.auto_window_level = False
        display.window, display.level = float(window), float(level)
        self._changed()

    def SetWindowLevelMinMax(self, low: float, high: float) -> None:  # noqa: N802
        self.SetWindowLevel(float(high) - float(low), (float(high) + float(low)) / 2.0)

    def GetWindowLevelMin(self) -> float:  # noqa: N802
        return self.GetLevel() - self.GetWindow() / 2.0

    def GetWindowLevelMax(self) -> float:  # noqa: N802
        return self.GetLevel() + self.GetWindow() / 2.0

    def GetAutoWindowLevel(self) -> bool:  # noqa: N802
        return bool(self._display.auto_window_level)

    def SetAutoWindowLevel(self, on: Any) -> None:  # noqa: N802
        display = self._display
        display.auto_window_level = bool(on)
        if display.auto_window_level and self._owner.array.size:
            display.window, display.level = auto_window_level(self._owner.array)
        self._changed()

    def AutoWindowLevelOn(self) -> None:  # noqa: N802
        self.SetAutoWindowLevel(True)

    def AutoWindowLevelOff(self) -> None:  # noqa: N802
        self.SetAutoWindowLevel(False)

    # color
    def GetColorNodeID(self) -> str:  # noqa: N802
        return color_node_id(self._display.color_table)

    def SetAndObserveColorNodeID(self, node_id: str | None) -> None:  # noqa: N802
        from voxweb.scene.nodes import ColorTableNode

        owner = self._owner
        node = owner.scene.get_node_by_id(node_id or "") if owner.scene is not None else None
        if isinstance(node, ColorTableNode):
            # a script's own table: a label map draws its colors and names from it
            if hasattr(owner, "color_table"):
                owner.color_table = node.table
            self._display.color_table = node.table.name
        else:
            self._display.color_table = color_name_from_id(node_id)
        self._changed()

    SetColorNodeID = SetAndObserveColorNodeID  # noqa: N815

    def GetColorNode(self) -> Any:  # noqa: N802
        table = getattr(self._owner, "color_table", None)
        if table is not None and table.name == self._display.color_table:
            return color_table_view(self._owner, table)
        return standard_color_node(self.GetColorNodeID())

    # interpolation
    def GetInterpolate(self) -> bool:  # noqa: N802
        return bool(self._display.interpolate)

    def SetInterpolate(self, on: Any) -> None:  # noqa: N802
        self._display.interpolate = bool(on)
        self._changed()

    def InterpolateOn(self) -> None:  # noqa: N802
        self.SetInterpolate(True)

    def InterpolateOff(self) -> None:  # noqa: N802
        self.SetInterpolate(False)

    # threshold: kept on the display, shown by the slice renderer when applied
    def SetThreshold(self, lower: float, upper: float) -> None:  # noqa: N802
        self._set_threshold(lower=float(lower), upper=float(upper))

    def SetLowerThreshold(self, value: float) -> None:  # noqa: N802
        self._set_threshold(lower=float(value))

    def SetUpperThreshold(self, value: float) -> None:  # noqa: N802
        self._set_threshold(upper=float(value))

    def GetLowerThreshold(self) -> float:  # noqa: N802
        return float(self._threshold()[0])

    def GetUpperThreshold(self) -> float:  # noqa: N802
        return float(self._threshold()[1])

    def GetApplyThreshold(self) -> bool:  # noqa: N802
        return bool(getattr(self._display, "apply_threshold", False))

    def SetApplyThreshold(self, on: Any) -> None:  # noqa: N802
        self._display.apply_threshold = bool(on)
        self._changed()

    def ApplyThresholdOn(self) -> None:  # noqa: N802
        self.SetApplyThreshold(True)

    def ApplyThresholdOff(self) -> None:  # noqa: N802
        self.SetApplyThreshold(False)

    def SetAutoThreshold(self, on: Any) -> None:  # noqa: N802
        self._keep("auto_threshold", bool(on))

    def _threshold(self) -> tuple[float, float]:
        display = self._display
        lower = getattr(display, "lower_threshold", None)
        upper = getattr(display, "upper_threshold", None)
        array = self._owner.array
        lo = float(array.min()) if lower is None and array.size else (lower or 0.0)
        hi = float(array.max()) if upper is None and array.size else (upper or 0.0)
        return lo, hi

    def _set_threshold(self, lower: float | None = None, upper: float | None = None) -> None:
        display = self._display
        if lower is not None:
            display.lower_threshold = lower
        if upper is not None:
            display.upper_threshold = upper
        self._changed()

    def GetScalarRange(self) -> tuple[float, float]:  # noqa: N802
        array = self._owner.array
        return (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)


class vtkMRMLLabelMapVolumeDisplayNode(vtkMRMLScalarVolumeDisplayNode):  # noqa: N801
    slicer_class = "vtkMRMLLabelMapVolumeDisplayNode"
    slicer_classes = ("vtkMRMLLabelMapVolumeDisplayNode",) + (
        vtkMRMLScalarVolumeDisplayNode.slicer_classes[1:]
    )


class vtkMRMLVolumeArchetypeStorageNode(StorageView):  # noqa: N801
    slicer_class = "vtkMRMLVolumeArchetypeStorageNode"
    slicer_classes = ("vtkMRMLVolumeArchetypeStorageNode", "vtkMRMLStorageNode", "vtkMRMLNode")


__all__ = [
    "vtkMRMLLabelMapVolumeDisplayNode",
    "vtkMRMLLabelMapVolumeNode",
    "vtkMRMLScalarVolumeDisplayNode",
    "vtkMRMLScalarVolumeNode",
    "vtkMRMLVolumeArchetypeStorageNode",
    "vtkMRMLVolumeNode",
]
