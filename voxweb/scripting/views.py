"""View nodes: slice nodes, slice composite nodes, slice logics, 3-D view nodes, selection
and layout singletons.

A slice node view moves the plane of the scene's ``SliceView`` (orientation, offset, field of
view, slice-to-RAS); its composite node view sets the layers (background, foreground, label,
opacities). Rendered images follow at once, since they are made from the same node.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxweb.scene.nodes import ScalarVolume
from voxweb.scene.views import LAYOUTS, Layout, Selection, SliceView, ThreeDView
from voxweb.scripting.display import PropertyView, property_view
from voxweb.scripting.node import vtkMRMLNode
from voxweb.scripting.registry import provide_synthetic, register, unwrap, wrap
from voxweb.scripting.reslice import slice_reslice, xy_to_ras
from voxweb.scripting.vtkconvert import fill_matrix, matrix_array


def _node_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return unwrap(value).id


@register
class vtkMRMLSliceNode(vtkMRMLNode):  # noqa: N801
    def _view(self) -> SliceView:
        return self._node  # type: ignore[return-value]

    def GetLayoutName(self) -> str:  # noqa: N802
        return self._node.name

    def GetOrientation(self) -> str:  # noqa: N802
        return self._node.orientation

    GetOrientationString = GetOrientation  # noqa: N815

    def SetOrientation(self, name: str) -> bool:  # noqa: N802
        self._view().set_orientation(str(name))
        return True

    def SetOrientationToAxial(self) -> None:  # noqa: N802
        self.SetOrientation("Axial")

    def SetOrientationToSagittal(self) -> None:  # noqa: N802
        self.SetOrientation("Sagittal")

    def SetOrientationToCoronal(self) -> None:  # noqa: N802
        self.SetOrientation("Coronal")

    def GetSliceOffset(self) -> float:  # noqa: N802
        return float(self._node.offset)

    def SetSliceOffset(self, offset: float) -> None:  # noqa: N802
        self._node.offset = float(offset)

    def GetFieldOfView(self) -> tuple[float, float, float]:  # noqa: N802
        return tuple(float(v) for v in self._node.field_of_view)  # type: ignore[return-value]

    def SetFieldOfView(self, x: float, y: float, z: float) -> None:  # noqa: N802
        self._view().set_field_of_view((x, y, z))

    def GetDimensions(self) -> tuple[int, int, int]:  # noqa: N802
        return tuple(int(v) for v in self._node.dimensions)  # type: ignore[return-value]

    def SetDimensions(self, x: int, y: int, z: int) -> None:  # noqa: N802
        self._node.dimensions = (int(x), int(y), int(z))

    def GetSliceToRAS(self, out: Any = None) -> Any:  # noqa: N802
        """A vtkMatrix4x4 copy; after changing it call UpdateMatrices() (as in Slicer)."""
        matrix = fill_matrix(out, self._view().slice_to_ras())
        self._node.__dict__["_scripting_slice_to_ras"] = matrix
        return matrix

    def SetSliceToRAS(self, matrix: Any) -> None:  # noqa: N802
        self._view().set_slice_to_ras(matrix_array(matrix))

    def UpdateMatrices(self) -> None:  # noqa: N802
        matrix = self._node.__dict__.get("_scripting_slice_to_ras")
        if matrix is not None:
            self._view().set_slice_to_ras(matrix_array(matrix))

    def SetSliceToRASByNTP(  # noqa: N802
        self, nx: float, ny: float, nz: float, tx: float, ty: float, tz: float,
        px: float, py: float, pz: float, orientation: int = 0,
    ) -> None:  # fmt: skip
        normal = np.array([nx, ny, nz], dtype=float)
        normal /= np.linalg.norm(normal)
        transverse = np.array([tx, ty, tz], dtype=float)
        transverse -= normal * (transverse @ normal)
        transverse /= np.linalg.norm(transverse)
        third = np.cross(normal, transverse)
        m = np.eye(4)
        m[:3, 0], m[:3, 1], m[:3, 2] = transverse, third, normal
        m[:3, 3] = (px, py, pz)
        self._view().set_slice_to_ras(m)

    def JumpSliceByCentering(self, r: float, a: float, s: float) -> None:  # noqa: N802
        view = self._view()
        axes = view.axes()
        local = axes.T @ np.array([r, a, s], dtype=float)
        view.center_xy = (float(local[0]), float(local[1]))
        view.offset = float(local[2])

    def JumpSliceByOffsetting(self, r: float, a: float, s: float) -> None:  # noqa: N802
        view = self._view()
        view.offset = float(view.axes()[:, 2] @ np.array([r, a, s], dtype=float))

    JumpSlice = JumpSliceByOffsetting  # noqa: N815

    def GetXYToRAS(self, out: Any = None) -> Any:  # noqa: N802
        """Pixel (x right, y up from the bottom-left, as Slicer's XY) -> RAS."""
        return fill_matrix(out, xy_to_ras(self._view()))

    def GetSliceVisible(self) -> bool:  # noqa: N802
        return bool(self._node.visible_in_3d)

    def SetSliceVisible(self, visible: Any) -> None:  # noqa: N802
        self._node.visible_in_3d = bool(visible)

    def RotateToVolumePlane(self, volume: Any) -> None:  # noqa: N802
        from voxweb.services.workspace import fit_view_to_volume

        fit_view_to_volume(self._view(), unwrap(volume))

    # label layer drawn as outlines (a slice-node property in Slicer)
    def GetUseLabelOutline(self) -> bool:  # noqa: N802
        return bool(self._node.label_outline)

    def SetUseLabelOutline(self, on: Any) -> None:  # noqa: N802
        self._node.label_outline = bool(on)

    def UseLabelOutlineOn(self) -> None:  # noqa: N802
        self.SetUseLabelOutline(True)

    def UseLabelOutlineOff(self) -> None:  # noqa: N802
        self.SetUseLabelOutline(False)


class vtkMRMLSliceCompositeNode(PropertyView):  # noqa: N801
    """The layers of one slice view; lives on the scene's SliceView."""

    slicer_class = "vtkMRMLSliceCompositeNode"
    slicer_classes = ("vtkMRMLSliceCompositeNode", "vtkMRMLNode")

    def GetID(self) -> str:  # noqa: N802
        return f"vtkMRMLSliceCompositeNode{self._owner.name}"

    def GetLayoutName(self) -> str:  # noqa: N802
        return self._owner.name

    def _set(self, field: str, value: Any) -> None:
        setattr(self._owner, field, value)

    def GetBackgroundVolumeID(self) -> str | None:  # noqa: N802
        return self._owner.background_volume_id

    def SetBackgroundVolumeID(self, value: Any) -> None:  # noqa: N802
        self._set("background_volume_id", _node_id(value))

    def GetForegroundVolumeID(self) -> str | None:  # noqa: N802
        return self._owner.foreground_volume_id

    def SetForegroundVolumeID(self, value: Any) -> None:  # noqa: N802
        self._set("foreground_volume_id", _node_id(value))

    def GetLabelVolumeID(self) -> str | None:  # noqa: N802
        return self._owner.label_volume_id

    def SetLabelVolumeID(self, value: Any) -> None:  # noqa: N802
        self._set("label_volume_id", _node_id(value))

    def GetForegroundOpacity(self) -> float:  # noqa: N802
        return float(self._owner.foreground_opacity)

    def SetForegroundOpacity(self, value: float) -> None:  # noqa: N802
        self._set("foreground_opacity", float(value))

    def GetLabelOpacity(self) -> float:  # noqa: N802
        return float(self._owner.label_opacity)

    def SetLabelOpacity(self, value: float) -> None:  # noqa: N802
        self._set("label_opacity", float(value))

    def SetLinkedControl(self, linked: Any) -> None:  # noqa: N802
        self._keep("linked", bool(linked))

    def GetLinkedControl(self) -> bool:  # noqa: N802
        return bool(self._extra.get("linked", False))


def composite_view(view: SliceView) -> vtkMRMLSliceCompositeNode:
    return property_view(view, vtkMRMLSliceCompositeNode)  # type: ignore[return-value]


class vtkMRMLSliceLogic:  # noqa: N801
    """The logic of one slice view (the non-GUI half of Slicer's slice widget)."""

    def __init__(self, view: SliceView) -> None:
        self._view = view

    def __repr__(self) -> str:
        return f"<vtkMRMLSliceLogic {self._view.name}>"

    def GetSliceNode(self) -> Any:  # noqa: N802
        return wrap(self._view)

    def GetSliceCompositeNode(self) -> Any:  # noqa: N802
        return composite_view(self._view)

    def GetName(self) -> str:  # noqa: N802
        return self._view.name

    def FitSliceToAll(self, width: int = -1, height: int = -1) -> None:  # noqa: N802
        from voxweb.services.workspace import fit_view_to_volume

        scene = self._view.scene
        volume = (
            None if scene is None else scene.get_node_by_id(self._view.background_volume_id or "")
        )
        if isinstance(volume, ScalarVolume):
            fit_view_to_volume(self._view, volume)

    def GetSliceOffset(self) -> float:  # noqa: N802
        return float(self._view.offset)

    def SetSliceOffset(self, offset: float) -> None:  # noqa: N802
        self._view.offset = float(offset)

    def StartSliceOffsetInteraction(self) -> None:  # noqa: N802
        return None

    def EndSliceOffsetInteraction(self) -> None:  # noqa: N802
        return None

    def SnapSliceOffsetToIJK(self) -> None:  # noqa: N802
        return None

    def GetBackgroundLayer(self) -> Any:  # noqa: N802
        return _Layer(self._view, "background_volume_id")

    def GetForegroundLayer(self) -> Any:  # noqa: N802
        return _Layer(self._view, "foreground_volume_id")

    def GetLabelLayer(self) -> Any:  # noqa: N802
        return _Layer(self._view, "label_volume_id")


class _Layer:
    """A slice layer logic: which volume it shows, and a reslice that extracts its slice."""

    def __init__(self, view: SliceView, field: str) -> None:
        self._view, self._field = view, field

    def _volume(self) -> Any:
        scene = self._view.scene
        node_id = getattr(self._view, self._field)
        return None if scene is None or not node_id else scene.get_node_by_id(node_id)

    def GetVolumeNode(self) -> Any:  # noqa: N802
        return wrap(self._volume())

    def GetReslice(self) -> Any:  # noqa: N802
        """A real vtkImageReslice that extracts this view's slice from the layer's volume
        (pixels as in GetXYToRAS); its slab settings are the view's thick-slab settings."""
        return slice_reslice(self._view, self._volume())


@register
class vtkMRMLSelectionNode(vtkMRMLNode):  # noqa: N801
    def _selection(self) -> Selection:
        return self._node  # type: ignore[return-value]

    def GetActiveVolumeID(self) -> str | None:  # noqa: N802
        return self._node.active_volume_id

    def SetActiveVolumeID(self, value: Any) -> None:  # noqa: N802
        self._node.active_volume_id = _node_id(value)

    SetReferenceActiveVolumeID = SetActiveVolumeID  # noqa: N815

    def GetActiveLabelVolumeID(self) -> str | None:  # noqa: N802
        return self._node.active_label_volume_id

    def SetActiveLabelVolumeID(self, value: Any) -> None:  # noqa: N802
        self._node.active_label_volume_id = _node_id(value)

    SetReferenceActiveLabelVolumeID = SetActiveLabelVolumeID  # noqa: N815

    def SetActivePlaceNodeClassName(self, name: str) -> None:  # noqa: N802
        self._node.attributes["voxweb.activePlaceNodeClassName"] = str(name)

    def SetReferenceActivePlaceNodeClassName(self, name: str) -> None:  # noqa: N802
        self.SetActivePlaceNodeClassName(name)

    def SetActivePlaceNodeID(self, value: Any) -> None:  # noqa: N802
        self._node.attributes["voxweb.activePlaceNodeID"] = _node_id(value) or ""

    def GetActivePlaceNodeID(self) -> str | None:  # noqa: N802
        return self._node.attributes.get("voxweb.activePlaceNodeID") or None


@register
class vtkMRMLLayoutNode(vtkMRMLNode):  # noqa: N801
    """Slicer's layout singleton, with the standard layout constants."""

    def GetViewArrangement(self) -> int:  # noqa: N802
        return LAYOUTS[self._node.layout_name]

    def SetViewArrangement(self, layout: Any) -> None:  # noqa: N802
        from voxweb.scripting.context import workspace_of

        workspace_of(self._node.scene).set_layout(layout)


for _name, _code in LAYOUTS.items():
    setattr(vtkMRMLLayoutNode, f"SlicerLayout{_name}View", _code)
vtkMRMLLayoutNode.SlicerLayoutNone = LAYOUTS["None"]


@register
class vtkMRMLViewNode(vtkMRMLNode):  # noqa: N801
    def _view(self) -> ThreeDView:
        return self._node  # type: ignore[return-value]

    def GetLayoutName(self) -> str:  # noqa: N802
        return self._node.singleton_tag or "1"

    def GetBackgroundColor(self) -> tuple[float, float, float]:  # noqa: N802
        return tuple(self._node.background)  # type: ignore[return-value]

    def SetBackgroundColor(self, *rgb: Any) -> None:  # noqa: N802
        values = rgb[0] if len(rgb) == 1 else rgb
        self._node.background = tuple(float(v) for v in values)

    SetBackgroundColor2 = SetBackgroundColor  # noqa: N815

    def GetBoxVisible(self) -> bool:  # noqa: N802
        return bool(self._node.box_visible)

    def SetBoxVisible(self, on: Any) -> None:  # noqa: N802
        self._node.box_visible = bool(on)

    def SetAxisLabelsVisible(self, on: Any) -> None:  # noqa: N802
        self._node.attributes["voxweb.axisLabelsVisible"] = "1" if on else "0"


__all__ = [
    "Layout",
    "composite_view",
    "vtkMRMLLayoutNode",
    "vtkMRMLSelectionNode",
    "vtkMRMLSliceCompositeNode",
    "vtkMRMLSliceLogic",
    "vtkMRMLSliceNode",
    "vtkMRMLViewNode",
]


class vtkMRMLInteractionNode(PropertyView):  # noqa: N801
    """The mouse mode singleton. Headless there is no mouse: the mode is only remembered."""

    slicer_class = "vtkMRMLInteractionNode"
    slicer_classes = ("vtkMRMLInteractionNode", "vtkMRMLNode")
    Place = 1
    ViewTransform = 2
    Select = 4
    AdjustWindowLevel = 5
    User = 6

    def GetID(self) -> str:  # noqa: N802
        return "vtkMRMLInteractionNodeSingleton"

    def GetCurrentInteractionMode(self) -> int:  # noqa: N802
        return int(self._extra.get("mode", self.ViewTransform))

    def SetCurrentInteractionMode(self, mode: int) -> None:  # noqa: N802
        self._extra["mode"] = int(mode)

    def SwitchToViewTransformMode(self) -> None:  # noqa: N802
        self.SetCurrentInteractionMode(self.ViewTransform)

    def SwitchToSinglePlaceMode(self) -> None:  # noqa: N802
        self.SetCurrentInteractionMode(self.Place)
        self._extra["persistent"] = False

    def SwitchToPersistentPlaceMode(self) -> None:  # noqa: N802
        self.SetCurrentInteractionMode(self.Place)
        self._extra["persistent"] = True

    def SetPlaceModePersistence(self, on: Any) -> None:  # noqa: N802
        self._extra["persistent"] = bool(on)

    def GetPlaceModePersistence(self) -> bool:  # noqa: N802
        return bool(self._extra.get("persistent", False))


@provide_synthetic
def _interaction(scene: Any) -> list[Any]:
    """The interaction singleton lives on the selection node; GetNodeByID finds it."""
    from voxweb.scripting.display import property_view

    selections = scene.nodes_of_class("vtkMRMLSelectionNode")
    return [property_view(selections[0], vtkMRMLInteractionNode)] if selections else []
