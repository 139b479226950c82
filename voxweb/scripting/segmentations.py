"""Segmentation nodes: ``vtkMRMLSegmentationNode``, its display and storage nodes.

The node is a view of a ``scene.Segmentation``; ``GetSegmentation()`` gives the
``vtkSegmentation`` view of the same node (``segmentation_core``). Display properties (2-D
fill/outline, 3-D, per-segment visibility and opacity) live in the node's
``SegmentationDisplay``, which the slice and 3-D renderers read. A segmentation made by a script
has no closed surface until ``CreateClosedSurfaceRepresentation()``, as in Slicer; segmentations
loaded from files show their surfaces in 3-D at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxweb.scene.nodes import ScalarVolume, Segmentation, SegmentDisplay
from voxweb.scripting import segmentation_core as core
from voxweb.scripting.display import DisplayView, StorageView, property_view
from voxweb.scripting.registry import register, unwrap
from voxweb.scripting.transformable import vtkMRMLTransformableNode, world_matrix


def _new_segmentation() -> Segmentation:
    node = Segmentation()
    node.closed_surface = False  # Slicer: no surface until a script asks for one
    return node


@register
class vtkMRMLSegmentationNode(vtkMRMLTransformableNode):  # noqa: N801
    scene_class = Segmentation

    def __init__(self, _node: Segmentation | None = None) -> None:
        super().__init__(_node if _node is not None else _new_segmentation())

    def GetSegmentation(self) -> core.vtkSegmentation:  # noqa: N802
        return core.segmentation_view(self._node)

    # --- geometry -----------------------------------------------------------------------
    def SetReferenceImageGeometryParameterFromVolumeNode(self, volume: Any) -> None:  # noqa: N802
        """Put the segmentation on the volume's voxel grid (segments already drawn are
        resampled onto it); masks added later live on that grid."""
        source = unwrap(volume)
        if not isinstance(source, ScalarVolume):
            raise TypeError(f"a reference geometry comes from a volume, not {source.slicer_class}")
        # The grid is expressed in the segmentation's coordinates (through any transforms).
        matrix = np.linalg.inv(world_matrix(self)) @ world_matrix(source) @ source.ijk_to_ras
        core.set_reference_geometry(self._node, matrix, source.array.shape)

    def SetReferenceImageGeometryParameterFromVolume(self, volume: Any) -> None:  # noqa: N802
        self.SetReferenceImageGeometryParameterFromVolumeNode(volume)

    def GetSegmentCenter(self, segment_id: str) -> tuple[float, float, float] | None:  # noqa: N802
        """Centre of the segment's voxel bounding box, in the segmentation's coordinates."""
        extent = core.effective_extent(self._node.mask(str(segment_id)))
        if extent is None:
            return None
        ijk = np.array([(extent[0] + extent[1]) / 2, (extent[2] + extent[3]) / 2,
                        (extent[4] + extent[5]) / 2, 1.0])  # fmt: skip
        return tuple(float(v) for v in (self._node.ijk_to_ras @ ijk)[:3])  # type: ignore[return-value]

    def GetSegmentCenterRAS(self, segment_id: str) -> tuple[float, float, float] | None:  # noqa: N802
        local = self.GetSegmentCenter(segment_id)
        if local is None:
            return None
        m = world_matrix(self)
        return tuple(float(v) for v in m[:3, :3] @ np.asarray(local) + m[:3, 3])  # type: ignore[return-value]

    # --- representations ----------------------------------------------------------------
    def CreateClosedSurfaceRepresentation(self) -> bool:  # noqa: N802
        self._node.closed_surface = True
        return True

    def RemoveClosedSurfaceRepresentation(self) -> None:  # noqa: N802
        self._node.closed_surface = False

    def CreateBinaryLabelmapRepresentation(self) -> bool:  # noqa: N802
        return True

    def RemoveBinaryLabelmapRepresentation(self) -> None:  # noqa: N802
        raise NotImplementedError("the binary labelmap is where voxweb keeps the voxels")

    def SetSourceRepresentationToBinaryLabelmap(self) -> None:  # noqa: N802
        return None

    SetMasterRepresentationToBinaryLabelmap = SetSourceRepresentationToBinaryLabelmap  # noqa: N815

    def SetSourceRepresentationToClosedSurface(self) -> None:  # noqa: N802
        raise NotImplementedError("voxweb segmentations keep binary labelmaps as the source")

    SetMasterRepresentationToClosedSurface = SetSourceRepresentationToClosedSurface  # noqa: N815

    def GetClosedSurfaceInternalRepresentation(self, segment_id: str, out: Any = None) -> Any:  # noqa: N802
        """The segment's surface (vtkPolyData, segmentation coordinates); None without the
        closed surface representation (CreateClosedSurfaceRepresentation first)."""
        if not self._node.closed_surface or str(segment_id) not in self._node.segments:
            return None
        return core.copy_polydata(out, core.surface_polydata(self._node, str(segment_id)))

    def GetClosedSurfaceRepresentation(self, segment_id: str, out: Any = None) -> Any:  # noqa: N802
        """Fill ``out`` with a copy of the surface and return True (False when missing)."""
        poly = self.GetClosedSurfaceInternalRepresentation(segment_id)
        if out is None:
            return poly
        if poly is None:
            return False
        out.DeepCopy(poly)
        return True

    def GetBinaryLabelmapInternalRepresentation(self, segment_id: str, out: Any = None) -> Any:  # noqa: N802
        """The segment's labelmap layer, sharing memory: voxels equal to the segment's label
        value are the segment (other segments of the layer have other values)."""
        node = self._node
        segment = node.segment(str(segment_id))
        if segment.layer >= len(node.layers):
            return None
        target = out if out is not None else core.vtkOrientedImageData()
        return core.fill_image(target, node.layers[segment.layer], node.ijk_to_ras, share=True)

    def GetBinaryLabelmapRepresentation(self, segment_id: str, out: Any = None) -> Any:  # noqa: N802
        """A copy of the segment as 0/1 voxels, cropped to the voxels it covers (the extent
        says where); fills ``out`` and returns True, or returns a new image without ``out``."""
        node = self._node
        if str(segment_id) not in node.segments:
            return False if out is not None else None
        mask = node.mask(str(segment_id))
        extent = core.effective_extent(mask)
        target = out if out is not None else core.vtkOrientedImageData()
        if extent is None:
            core.fill_image(target, np.zeros((0, 0, 0), np.uint8), node.ijk_to_ras)
            target.SetExtent(0, -1, 0, -1, 0, -1)
        else:
            i0, i1, j0, j1, k0, k1 = extent
            crop = mask[k0 : k1 + 1, j0 : j1 + 1, i0 : i1 + 1].astype(np.uint8)
            core.fill_image(target, crop, node.ijk_to_ras, start=(i0, j0, k0))
        return True if out is not None else target

    def AddSegmentFromBinaryLabelmapRepresentation(  # noqa: N802
        self, image: Any, name: str = "", color: Any = None, segment_id: str = ""
    ) -> str:
        mask = core.mask_from_image(self._node, image)
        return self._add(mask, name, color, segment_id)

    def AddSegmentFromClosedSurfaceRepresentation(  # noqa: N802
        self, poly: Any, name: str = "", color: Any = None, segment_id: str = ""
    ) -> str:
        mask = core.mask_from_polydata(self._node, poly)
        return self._add(mask, name, color, segment_id)

    def _add(self, mask: np.ndarray, name: str, color: Any, segment_id: str) -> str:
        segmentation = self.GetSegmentation()
        sid = segmentation.AddEmptySegment(segment_id, name, color)
        self._node.set_mask(sid, mask)
        return sid

    def GenerateMergedLabelmapForAllSegments(  # noqa: N802
        self, out: Any, extent_mode: int = 3, geometry: Any = None, segment_ids: Any = None, *_: Any
    ) -> bool:
        """Label value n + 1 for the n-th segment; cropped unless EXTENT_REFERENCE_GEOMETRY."""
        from voxweb.scripting.segmentation_logic import merged_labelmap

        ids = core.string_list(segment_ids) or None
        array, matrix = merged_labelmap(self._node, ids, int(extent_mode))
        core.fill_image(out, array, matrix)
        return True

    # --- display and storage ----------------------------------------------------------
    def GetDisplayNode(self) -> Any:  # noqa: N802
        return property_view(self._node, vtkMRMLSegmentationDisplayNode)

    def GetStorageNode(self) -> Any:  # noqa: N802
        return property_view(self._node, vtkMRMLSegmentationStorageNode)


class vtkMRMLSegmentationDisplayNode(DisplayView):  # noqa: N801
    """2-D fill/outline and 3-D display of a segmentation and of each segment."""

    slicer_class = "vtkMRMLSegmentationDisplayNode"
    slicer_classes = ("vtkMRMLSegmentationDisplayNode", "vtkMRMLDisplayNode", "vtkMRMLNode")

    def _set(self, **values: Any) -> None:
        for key, value in values.items():
            setattr(self._display, key, value)
        self._changed()

    def _segment(self, segment_id: str) -> SegmentDisplay:
        sid = str(segment_id)
        self._owner.segment(sid)  # KeyError naming the segments when there is no such one
        return self._display.segments.setdefault(sid, SegmentDisplay())

    # whole segmentation
    def GetVisibility2D(self) -> bool:  # noqa: N802
        return bool(self._display.visible_2d)

    def SetVisibility2D(self, on: Any) -> None:  # noqa: N802
        self._set(visible_2d=bool(on))

    def GetVisibility3D(self) -> bool:  # noqa: N802
        return bool(self._display.visible_3d)

    def SetVisibility3D(self, on: Any) -> None:  # noqa: N802
        self._set(visible_3d=bool(on))

    def GetVisibility2DFill(self) -> bool:  # noqa: N802
        return bool(self._display.visible_2d_fill)

    def SetVisibility2DFill(self, on: Any) -> None:  # noqa: N802
        self._set(visible_2d_fill=bool(on))

    def GetVisibility2DOutline(self) -> bool:  # noqa: N802
        return bool(self._display.visible_2d_outline)

    def SetVisibility2DOutline(self, on: Any) -> None:  # noqa: N802
        self._set(visible_2d_outline=bool(on))

    def GetOpacity2DFill(self) -> float:  # noqa: N802
        return float(self._display.opacity_2d_fill)

    def SetOpacity2DFill(self, value: float) -> None:  # noqa: N802
        self._set(opacity_2d_fill=float(value))

    def GetOpacity2DOutline(self) -> float:  # noqa: N802
        return float(self._display.opacity_2d_outline)

    def SetOpacity2DOutline(self, value: float) -> None:  # noqa: N802
        self._set(opacity_2d_outline=float(value))

    def GetOpacity3D(self) -> float:  # noqa: N802
        return float(self._display.opacity_3d)

    def SetOpacity3D(self, value: float) -> None:  # noqa: N802
        self._set(opacity_3d=float(value))

    def GetPreferredDisplayRepresentationName3D(self) -> str:  # noqa: N802
        return str(self._display.preferred_3d)

    def SetPreferredDisplayRepresentationName3D(self, name: str) -> None:  # noqa: N802
        if name != core.CLOSED_SURFACE:
            raise NotImplementedError(
                f"voxweb shows segments in 3-D as closed surfaces, not {name!r}"
            )
        self._set(preferred_3d=str(name))

    def GetPreferredDisplayRepresentationName2D(self) -> str:  # noqa: N802
        return core.BINARY_LABELMAP

    def SetPreferredDisplayRepresentationName2D(self, name: str) -> None:  # noqa: N802
        if name != core.BINARY_LABELMAP:
            raise NotImplementedError(f"voxweb draws segments in 2-D from labelmaps, not {name!r}")

    # per segment
    def GetSegmentVisibility(self, segment_id: str) -> bool:  # noqa: N802
        return bool(self._display.of(str(segment_id)).visible)

    def SetSegmentVisibility(self, segment_id: str, on: Any) -> None:  # noqa: N802
        self._segment(segment_id).visible = bool(on)
        self._changed()

    def SetAllSegmentsVisibility(self, on: Any) -> None:  # noqa: N802
        for sid in self._owner.segments:
            self._display.segments.setdefault(sid, SegmentDisplay()).visible = bool(on)
        self._changed()

    def GetVisibleSegmentIDs(self, out: Any = None) -> Any:  # noqa: N802
        ids = [sid for sid in self._owner.segments if self._display.of(sid).visible]
        return ids if out is None else core.fill_string_array(out, ids)

    def _segment_property(name: str, kind: type) -> tuple[Any, Any]:  # type: ignore[misc]
        def getter(self: Any, segment_id: str) -> Any:
            return kind(getattr(self._display.of(str(segment_id)), name))

        def setter(self: Any, segment_id: str, value: Any) -> None:
            setattr(self._segment(segment_id), name, kind(value))
            self._changed()

        return getter, setter

    GetSegmentVisibility2DFill, SetSegmentVisibility2DFill = _segment_property(
        "visible_2d_fill", bool
    )  # noqa: N815
    GetSegmentVisibility2DOutline, SetSegmentVisibility2DOutline = _segment_property(  # noqa: N815
        "visible_2d_outline", bool
    )
    GetSegmentVisibility3D, SetSegmentVisibility3D = _segment_property("visible_3d", bool)  # noqa: N815
    GetSegmentOpacity2DFill, SetSegmentOpacity2DFill = _segment_property("opacity_2d_fill", float)  # noqa: N815
    GetSegmentOpacity2DOutline, SetSegmentOpacity2DOutline = _segment_property(  # noqa: N815
        "opacity_2d_outline", float
    )
    GetSegmentOpacity3D, SetSegmentOpacity3D = _segment_property("opacity_3d", float)  # noqa: N815
    del _segment_property

    def SetSegmentOpacity(self, segment_id: str, value: float) -> None:  # noqa: N802
        props = self._segment(segment_id)
        props.opacity_2d_fill = props.opacity_2d_outline = props.opacity_3d = float(value)
        self._changed()

    def SetSegmentOverrideColor(self, segment_id: str, *rgb: Any) -> None:  # noqa: N802
        values = rgb[0] if len(rgb) == 1 else rgb
        self._segment(segment_id).override_color = tuple(float(v) for v in list(values)[:3])  # type: ignore[assignment]
        self._changed()

    def UnsetSegmentOverrideColor(self, segment_id: str) -> None:  # noqa: N802
        self._segment(segment_id).override_color = None
        self._changed()

    def GetSegmentColor(self, segment_id: str) -> tuple[float, float, float]:  # noqa: N802
        override = self._display.of(str(segment_id)).override_color
        if override is not None:
            return tuple(override)  # type: ignore[return-value]
        return tuple(self._owner.segment(str(segment_id)).color)  # type: ignore[return-value]

    def SetAllSegmentsOpacity2DFill(self, value: float) -> None:  # noqa: N802
        for sid in self._owner.segments:
            self._display.segments.setdefault(sid, SegmentDisplay()).opacity_2d_fill = float(value)
        self._changed()

    def SetAllSegmentsOpacity2DOutline(self, value: float) -> None:  # noqa: N802
        for sid in self._owner.segments:
            self._display.segments.setdefault(sid, SegmentDisplay()).opacity_2d_outline = float(
                value
            )
        self._changed()

    def SetAllSegmentsOpacity3D(self, value: float) -> None:  # noqa: N802
        for sid in self._owner.segments:
            self._display.segments.setdefault(sid, SegmentDisplay()).opacity_3d = float(value)
        self._changed()


class vtkMRMLSegmentationStorageNode(StorageView):  # noqa: N801
    slicer_class = "vtkMRMLSegmentationStorageNode"
    slicer_classes = ("vtkMRMLSegmentationStorageNode", "vtkMRMLStorageNode", "vtkMRMLNode")


__all__ = [
    "vtkMRMLSegmentationDisplayNode",
    "vtkMRMLSegmentationNode",
    "vtkMRMLSegmentationStorageNode",
]
