"""Crop volume: ``slicer.modules.cropvolume.logic()``, its parameters node and ROI boxes.

A crop is either voxel based (the input's voxels whose centres lie in the ROI, copied with
no interpolation; the output keeps the input's grid and parent transform) or interpolated
(a new grid along the ROI's axes, the input's spacing times a factor, optionally isotropic,
filled by ``services.resample``). The ROI may be any node that tells its box: a markups ROI
(``GetCenterWorld``/``GetSizeWorld`` or ``GetCenter``/``GetSize``, with
``GetObjectToWorldMatrix`` for rotated boxes), an annotation ROI (``GetXYZ``/
``GetRadiusXYZ``, provided here) or a node with ``GetBounds``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxweb.scene.annotations import AnnotationROI
from voxweb.scene.nodes import LabelMapVolume, ScalarVolume
from voxweb.scene.parameters import (
    INTERPOLATION_BSPLINE,
    INTERPOLATION_LINEAR,
    INTERPOLATION_NEAREST,
    INTERPOLATION_WINDOWED_SINC,
    CropVolumeParameters,
)
from voxweb.scripting.modules import _Logic, logic
from voxweb.scripting.node import vtkMRMLNode
from voxweb.scripting.registry import register, unwrap, wrap
from voxweb.scripting.transformable import vtkMRMLTransformableNode, world_matrix
from voxweb.services import resample as resampling

_INTERPOLATIONS = {
    INTERPOLATION_NEAREST: "nearest",
    INTERPOLATION_LINEAR: "linear",
    INTERPOLATION_BSPLINE: "bspline",
}


def _node_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else unwrap(value).id


def _triple(args: tuple[Any, ...]) -> np.ndarray:
    values = args[0] if len(args) == 1 else args
    array = np.array(values, dtype=float).reshape(-1)
    if array.shape != (3,):
        raise TypeError(f"expected 3 values, got {array.size}")
    return array


def _fill(out: Any, values: np.ndarray) -> Any:
    if out is not None:
        out[: len(values)] = [float(v) for v in values]
        return out
    return tuple(float(v) for v in values)


# --------------------------------------------------------------------------- ROI boxes


def _ask(obj: Any, name: str, n: int) -> np.ndarray | None:
    """A vector from ``obj.name()`` or, VTK style, ``obj.name(out)``; None if absent."""
    method = getattr(obj, name, None)
    if method is None:
        return None
    try:
        value = method()
    except TypeError:
        value = None
    if value is None or np.size(value) != n:
        out = [0.0] * n
        value = method(out)
        if value is None or np.size(value) != n:
            value = out
    return np.array(value, dtype=float).reshape(n)


def roi_box(roi: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre, size, axes as columns) of a ROI in world RAS."""
    node = getattr(roi, "_node", None)
    if isinstance(node, AnnotationROI):
        m = world_matrix(node)
        axes = m[:3, :3]
        scale = np.linalg.norm(axes, axis=0)
        center = m[:3, :3] @ node.center + m[:3, 3]
        return center, 2 * np.abs(node.radius) * scale, axes / scale
    for center_name, size_name in (("GetCenterWorld", "GetSizeWorld"), ("GetCenter", "GetSize")):
        center, size = _ask(roi, center_name, 3), _ask(roi, size_name, 3)
        if center is not None and size is not None:
            axes = np.eye(3)
            if hasattr(roi, "GetObjectToWorldMatrix"):
                from vtkmodules.vtkCommonMath import vtkMatrix4x4

                from voxweb.scripting.vtkconvert import matrix_array

                matrix = vtkMatrix4x4()
                roi.GetObjectToWorldMatrix(matrix)
                rotation = matrix_array(matrix)[:3, :3]
                axes = rotation / np.linalg.norm(rotation, axis=0)
            return center, np.abs(size), axes
    center, radius = _ask(roi, "GetXYZ", 3), _ask(roi, "GetRadiusXYZ", 3)
    if center is not None and radius is not None:
        return center, 2 * np.abs(radius), np.eye(3)
    bounds = _ask(roi, "GetBounds", 6)
    if bounds is not None:
        low, high = bounds[0::2], bounds[1::2]
        return (low + high) / 2, np.abs(high - low), np.eye(3)
    raise TypeError(
        f"{type(roi).__name__} does not describe a box: a ROI needs GetCenter/GetSize, "
        "GetXYZ/GetRadiusXYZ or GetBounds"
    )


def roi_corners(roi: Any) -> np.ndarray:
    center, size, axes = roi_box(roi)
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    return center + (signs * size / 2) @ axes.T


@register
class vtkMRMLAnnotationROINode(vtkMRMLTransformableNode):  # noqa: N801
    """Slicer's legacy box ROI: centre (XYZ) and half-sizes (RadiusXYZ) in RAS."""

    scene_class = AnnotationROI

    def SetXYZ(self, *center: Any) -> None:  # noqa: N802
        self._node.center = _triple(center)

    def GetXYZ(self, out: Any = None) -> Any:  # noqa: N802
        return _fill(out, self._node.center)

    def SetRadiusXYZ(self, *radius: Any) -> None:  # noqa: N802
        self._node.radius = _triple(radius)

    def GetRadiusXYZ(self, out: Any = None) -> Any:  # noqa: N802
        return _fill(out, self._node.radius)

    def GetRASBounds(self, out: Any = None) -> Any:  # noqa: N802
        corners = roi_corners(self)
        bounds = np.column_stack([corners.min(axis=0), corners.max(axis=0)]).reshape(-1)
        return _fill(out, bounds)

    GetBounds = GetRASBounds  # noqa: N815

    def SetDisplayVisibility(self, visible: Any) -> None:  # noqa: N802
        self._node.visible = bool(visible)

    SetROIAnnotationVisibility = SetDisplayVisibility  # noqa: N815

    def GetDisplayVisibility(self) -> int:  # noqa: N802
        return int(self._node.visible)

    GetROIAnnotationVisibility = GetDisplayVisibility  # noqa: N815


# --------------------------------------------------------------------------- parameters


@register
class vtkMRMLCropVolumeParametersNode(vtkMRMLNode):  # noqa: N801
    scene_class = CropVolumeParameters

    InterpolationNearestNeighbor = INTERPOLATION_NEAREST  # noqa: N815
    InterpolationLinear = INTERPOLATION_LINEAR  # noqa: N815
    InterpolationWindowedSinc = INTERPOLATION_WINDOWED_SINC  # noqa: N815
    InterpolationBSpline = INTERPOLATION_BSPLINE  # noqa: N815

    def SetScene(self, scene: Any) -> None:  # noqa: N802
        """Nothing to do: a node belongs to a scene once it is added to it."""

    def _get(self, node_id: str | None) -> Any:
        scene = self._node.scene
        if node_id is None or scene is None:
            return None
        return wrap(scene.get_node_by_id(node_id))

    def SetInputVolumeNodeID(self, node_id: Any) -> None:  # noqa: N802
        self._node.input_volume_id = _node_id(node_id)

    def GetInputVolumeNodeID(self) -> str | None:  # noqa: N802
        return self._node.input_volume_id

    def GetInputVolumeNode(self) -> Any:  # noqa: N802
        return self._get(self._node.input_volume_id)

    def SetROINodeID(self, node_id: Any) -> None:  # noqa: N802
        self._node.roi_id = _node_id(node_id)

    def GetROINodeID(self) -> str | None:  # noqa: N802
        return self._node.roi_id

    def GetROINode(self) -> Any:  # noqa: N802
        return self._get(self._node.roi_id)

    def SetOutputVolumeNodeID(self, node_id: Any) -> None:  # noqa: N802
        self._node.output_volume_id = _node_id(node_id)

    def GetOutputVolumeNodeID(self) -> str | None:  # noqa: N802
        return self._node.output_volume_id

    def GetOutputVolumeNode(self) -> Any:  # noqa: N802
        return self._get(self._node.output_volume_id)

    def SetVoxelBased(self, on: Any) -> None:  # noqa: N802
        self._node.voxel_based = bool(on)

    def GetVoxelBased(self) -> bool:  # noqa: N802
        return bool(self._node.voxel_based)

    def VoxelBasedOn(self) -> None:  # noqa: N802
        self.SetVoxelBased(True)

    def VoxelBasedOff(self) -> None:  # noqa: N802
        self.SetVoxelBased(False)

    def SetIsotropicResampling(self, on: Any) -> None:  # noqa: N802
        self._node.isotropic = bool(on)

    def GetIsotropicResampling(self) -> bool:  # noqa: N802
        return bool(self._node.isotropic)

    def IsotropicResamplingOn(self) -> None:  # noqa: N802
        self.SetIsotropicResampling(True)

    def IsotropicResamplingOff(self) -> None:  # noqa: N802
        self.SetIsotropicResampling(False)

    def SetSpacingScalingConst(self, value: float) -> None:  # noqa: N802
        if float(value) <= 0:
            raise ValueError(f"the spacing scale must be positive, not {value}")
        self._node.spacing_scale = float(value)

    def GetSpacingScalingConst(self) -> float:  # noqa: N802
        return float(self._node.spacing_scale)

    def SetInterpolationMode(self, mode: int) -> None:  # noqa: N802
        self._node.interpolation_mode = int(mode)

    def GetInterpolationMode(self) -> int:  # noqa: N802
        return int(self._node.interpolation_mode)

    def SetFillValue(self, value: float) -> None:  # noqa: N802
        self._node.fill_value = float(value)

    def GetFillValue(self) -> float:  # noqa: N802
        return float(self._node.fill_value)


# --------------------------------------------------------------------------- logic


def _volume(value: Any, what: str) -> ScalarVolume:
    node = unwrap(value)
    if not isinstance(node, ScalarVolume):
        raise TypeError(f"the {what} must be a scalar volume, not a {node.slicer_class}")
    return node


def store_volume(
    scene: Any,
    target: Any,
    like: ScalarVolume,
    array: np.ndarray,
    matrix: np.ndarray,
    name: str,
) -> ScalarVolume:
    """Put voxels and geometry into ``target`` (a volume view, or None: a new volume of the
    class of ``like``, with its display settings, named ``name``); returns the volume."""
    if target is not None:
        node = _volume(target, "output volume")
        node.set_array(array, matrix)
        return node
    node = type(like)(array, matrix)
    node.display = type(like.display)(**vars(like.display))
    if isinstance(like, LabelMapVolume):
        node.color_table = like.color_table
    scene.add(node, scene.unique_name(name))
    return node


@logic("cropvolume")
class CropVolumeLogic(_Logic):
    """Crop and resample a volume to a ROI."""

    def Apply(self, parameters: Any) -> bool:  # noqa: N802
        """Crop as the parameters node says; a new output volume is made if none is set."""
        params: CropVolumeParameters = unwrap(parameters)  # type: ignore[assignment]
        scene = self._scene
        with scene.lock:
            volume = scene.get_node_by_id(params.input_volume_id or "")
            roi = scene.get_node_by_id(params.roi_id or "")
            if volume is None:
                raise ValueError("the crop parameters have no input volume (SetInputVolumeNodeID)")
            if roi is None:
                raise ValueError("the crop parameters have no ROI (SetROINodeID)")
            output = scene.get_node_by_id(params.output_volume_id or "")
            if params.voxel_based:
                result = self._crop_voxels(wrap(roi), volume, output, True, params.fill_value)
            else:
                result = self._crop_interpolated(
                    wrap(roi),
                    volume,
                    output,
                    params.isotropic,
                    params.spacing_scale,
                    params.interpolation_mode,
                    params.fill_value,
                )
            params.output_volume_id = result.id
        return True

    def CropVoxelBased(  # noqa: N802
        self,
        roi: Any,
        inputVolume: Any,  # noqa: N803
        outputVolume: Any,  # noqa: N803
        limitToInputExtent: bool = True,  # noqa: N803
        fillValue: float = 0.0,  # noqa: N803
    ) -> bool:
        with self._scene.lock:
            self._crop_voxels(roi, _volume(inputVolume, "input volume"), outputVolume,
                              bool(limitToInputExtent), float(fillValue))  # fmt: skip
        return True

    def CropInterpolated(  # noqa: N802
        self,
        roi: Any,
        inputVolume: Any,  # noqa: N803
        outputVolume: Any,  # noqa: N803
        isotropicResampling: bool = False,  # noqa: N803
        spacingScale: float = 1.0,  # noqa: N803
        interpolationMode: int = INTERPOLATION_LINEAR,  # noqa: N803
        fillValue: float = 0.0,  # noqa: N803
    ) -> bool:
        with self._scene.lock:
            self._crop_interpolated(roi, _volume(inputVolume, "input volume"), outputVolume,
                                    bool(isotropicResampling), float(spacingScale),
                                    int(interpolationMode), float(fillValue))  # fmt: skip
        return True

    def _crop_voxels(
        self, roi: Any, volume: ScalarVolume, output: Any, limit: bool, fill: float
    ) -> ScalarVolume:
        local_to_world = world_matrix(volume) @ volume.ijk_to_ras
        low, high = resampling.voxel_crop_box(
            local_to_world, volume.array.shape, roi_corners(roi), limit
        )
        shape = tuple(int(v) for v in (high - low + 1)[::-1])
        array = np.full(shape, fill, dtype=volume.array.dtype)
        src_lo = np.maximum(low, 0)
        src_hi = np.minimum(high, np.array(volume.shape_ijk) - 1)
        if np.all(src_hi >= src_lo):
            dst = tuple(
                slice(a - b, c - b + 1) for a, b, c in zip(src_lo, low, src_hi, strict=True)
            )[::-1]
            src = tuple(slice(a, c + 1) for a, c in zip(src_lo, src_hi, strict=True))[::-1]
            array[dst] = volume.array[src]
        matrix = volume.ijk_to_ras.copy()
        matrix[:3, 3] = volume.ijk_to_ras[:3, :3] @ low + volume.ijk_to_ras[:3, 3]
        result = store_volume(self._scene, output, volume, array, matrix, f"{volume.name} cropped")
        if output is None and volume.parent_transform_id:
            self._scene.set_parent_transform(result, volume.parent_transform_id)
        return result

    def _crop_interpolated(
        self,
        roi: Any,
        volume: ScalarVolume,
        output: Any,
        isotropic: bool,
        scale: float,
        mode: int,
        fill: float,
    ) -> ScalarVolume:
        if mode == INTERPOLATION_WINDOWED_SINC:
            raise NotImplementedError(
                "voxweb has no windowed-sinc interpolation; choose InterpolationNearestNeighbor, "
                "InterpolationLinear or InterpolationBSpline"
            )
        if mode not in _INTERPOLATIONS:
            raise ValueError(f"unknown crop interpolation mode {mode}")
        interpolation = _INTERPOLATIONS[mode]
        if isinstance(volume, LabelMapVolume):
            interpolation = "nearest"  # label values must not be blended (as Slicer does)
        center, size, axes = roi_box(roi)
        spacing = np.array(volume.spacing, float) * float(scale)
        if isotropic:
            spacing = np.full(3, spacing.min())
        shape, matrix = resampling.roi_grid(center, size, axes, spacing)
        array = resampling.resample(
            volume.array,
            world_matrix(volume) @ volume.ijk_to_ras,
            shape,
            matrix,
            interpolation,
            fill,
            max_bytes=self._workspace.max_volume_size,
        )
        return store_volume(self._scene, output, volume, array, matrix, f"{volume.name} cropped")

    def FitROIToInputVolume(self, parameters: Any) -> bool:  # noqa: N802
        """Set the ROI to the input volume's box (world RAS, whole voxels)."""
        params: CropVolumeParameters = unwrap(parameters)  # type: ignore[assignment]
        scene = self._scene
        volume = scene.get_node_by_id(params.input_volume_id or "")
        roi = wrap(scene.get_node_by_id(params.roi_id or ""))
        if volume is None or roi is None:
            raise ValueError("set the input volume and the ROI of the parameters first")
        bounds = np.array(wrap(volume).GetRASBounds(), float)
        center, size = (bounds[0::2] + bounds[1::2]) / 2, bounds[1::2] - bounds[0::2]
        if hasattr(roi, "SetXYZ"):
            roi.SetXYZ(center)
            roi.SetRadiusXYZ(size / 2)
        elif hasattr(roi, "SetCenter") and hasattr(roi, "SetSize"):
            roi.SetCenter(*center)
            roi.SetSize(*size)
        else:
            raise TypeError(f"cannot set the box of a {roi.GetClassName()}")
        return True

    def SnapROIToVoxelGrid(self, parameters: Any) -> bool:  # noqa: N802
        """Axis-aligned volumes need no snapping; rotating a ROI is not supported yet."""
        params: CropVolumeParameters = unwrap(parameters)  # type: ignore[assignment]
        volume = self._scene.get_node_by_id(params.input_volume_id or "")
        if volume is None:
            raise ValueError("the crop parameters have no input volume")
        directions = np.abs(volume.directions)
        if np.allclose(np.sort(directions, axis=0)[-1], 1.0, atol=1e-6):
            return True
        raise NotImplementedError("voxweb cannot rotate a ROI onto an oblique volume's axes yet")

    def IsROIAlignedWithInputVolume(self, parameters: Any) -> bool:  # noqa: N802
        params: CropVolumeParameters = unwrap(parameters)  # type: ignore[assignment]
        scene = self._scene
        volume = scene.get_node_by_id(params.input_volume_id or "")
        roi = scene.get_node_by_id(params.roi_id or "")
        if volume is None or roi is None:
            return False
        _, _, axes = roi_box(wrap(roi))
        directions = (world_matrix(volume) @ volume.ijk_to_ras)[:3, :3]
        directions = directions / np.linalg.norm(directions, axis=0)
        cosines = np.abs(axes.T @ directions)
        return bool(np.allclose(np.sort(cosines, axis=1)[:, -1], 1.0, atol=1e-6))


__all__ = [
    "CropVolumeLogic",
    "roi_box",
    "roi_corners",
    "store_volume",
    "vtkMRMLAnnotationROINode",
    "vtkMRMLCropVolumeParametersNode",
]
