"""Volume rendering: ``slicer.modules.volumerendering.logic()`` and its display, property and
ROI nodes, as views onto the 3-D views that show a volume.

voxweb's 3-D views each render at most one volume (``ThreeDView.volume_rendering_id``) with a
named preset (``volume_preset``) and an optional crop box (``volume_crop_box`` used when
``volume_cropping``). The volume rendering display node of a volume is a view of those fields
on its 3-D views (all of them, or the ones named by ``SetViewNodeIDs``): ``SetVisibility``
makes the views render the volume, copying a preset into its volume property node switches the
views' preset, and its ROI node moves the crop box.

What is not there: transfer functions edited point by point (``GetVolumeProperty()`` hands
out a real vtkVolumeProperty built from the preset, but edits to it do not reach the
renderer), shading/gradient-opacity settings, GPU/multi-volume rendering options, and a live
link to a markups ROI node of another module (``SetAndObserveROINodeID`` copies that node's
box once).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxweb.render.presets import PRESETS, find_preset, transfer_points_for
from voxweb.scene.nodes import LabelMapVolume, ScalarVolume
from voxweb.scene.views import ThreeDView
from voxweb.scripting.display import PropertyView, property_view
from voxweb.scripting.modules import _Logic, logic
from voxweb.scripting.registry import remember_synthetic, unwrap, wrap

#: what each rendering class is called; all of them draw with voxweb's one ray caster
RENDERING_CLASSES = (
    "vtkMRMLGPURayCastVolumeRenderingDisplayNode",
    "vtkMRMLCPURayCastVolumeRenderingDisplayNode",
    "vtkMRMLMultiVolumeRenderingDisplayNode",
)


def _volume(value: Any) -> ScalarVolume:
    node = unwrap(value)
    if not isinstance(node, ScalarVolume):
        raise TypeError(f"expected a volume node, got {node.slicer_class}")
    return node


# ----------------------------------------------------------------------------- presets


class vtkMRMLVolumePropertyNode:  # noqa: N801
    """A named transfer function (a preset, or what a display node renders with)."""

    def __init__(self, preset: str, display: vtkMRMLGPURayCastVolumeRenderingDisplayNode | None):
        self._preset = preset
        self._display = display
        if display is None:
            remember_synthetic(self.GetID(), self)

    def __repr__(self) -> str:
        return f"<vtkMRMLVolumePropertyNode {self.GetName()}>"

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"'vtkMRMLVolumePropertyNode' object has no attribute '{name}' (not provided by voxweb)"
        )

    def GetClassName(self) -> str:  # noqa: N802
        return "vtkMRMLVolumePropertyNode"

    def IsA(self, name: str) -> bool:  # noqa: N802
        return name in ("vtkMRMLVolumePropertyNode", "vtkMRMLStorableNode", "vtkMRMLNode")

    def _name(self) -> str:
        return self._display._preset() if self._display is not None else self._preset

    def GetName(self) -> str:  # noqa: N802
        return self._name()

    def GetID(self) -> str:  # noqa: N802
        if self._display is not None:
            return f"vtkMRMLVolumePropertyNode_{self._display._owner.id}"
        return f"vtkMRMLVolumePropertyNode{self._preset}"

    def Copy(self, other: Any) -> None:  # noqa: N802
        """Render with the other node's transfer function (a preset from GetPresetByName)."""
        if self._display is None:
            raise NotImplementedError("voxweb's presets are read-only")
        if not isinstance(other, vtkMRMLVolumePropertyNode):
            raise TypeError(f"expected a vtkMRMLVolumePropertyNode, got {type(other).__name__}")
        self._display._set_preset(other._name())

    CopyParameterSet = Copy  # noqa: N815

    def GetVolumeProperty(self) -> Any:  # noqa: N802
        """A real vtkVolumeProperty with this transfer function (a copy: edits stay there)."""
        from vtkmodules.vtkCommonDataModel import vtkPiecewiseFunction
        from vtkmodules.vtkRenderingCore import vtkColorTransferFunction, vtkVolumeProperty

        window, level = (1.0, 0.5)
        if self._display is not None:
            display = self._display._owner.display  # type: ignore[attr-defined]
            window, level = float(display.window), float(display.level)
        opacity, colour = transfer_points_for(self._name(), window, level)
        otf, ctf = vtkPiecewiseFunction(), vtkColorTransferFunction()
        for x, a in opacity:
            otf.AddPoint(x, a)
        for x, r, g, b in colour:
            ctf.AddRGBPoint(x, r, g, b)
        prop = vtkVolumeProperty()
        prop.SetScalarOpacity(otf)
        prop.SetColor(ctf)
        prop.ShadeOn()
        prop.SetInterpolationTypeToLinear()
        return prop

    def GetScalarOpacity(self) -> Any:  # noqa: N802
        return self.GetVolumeProperty().GetScalarOpacity()

    def GetColor(self) -> Any:  # noqa: N802
        return self.GetVolumeProperty().GetRGBTransferFunction()


class _PresetsScene:
    """``GetPresetsScene()``: the presets as a read-only scene."""

    def __init__(self, nodes: list[vtkMRMLVolumePropertyNode]) -> None:
        self._nodes = nodes

    def GetNumberOfNodes(self) -> int:  # noqa: N802
        return len(self._nodes)

    def GetNodesByClass(self, class_name: str) -> list[vtkMRMLVolumePropertyNode]:  # noqa: N802
        return [n for n in self._nodes if n.IsA(class_name)]

    def GetNthNodeByClass(self, index: int, class_name: str) -> Any:  # noqa: N802
        nodes = self.GetNodesByClass(class_name)
        return nodes[int(index)] if 0 <= int(index) < len(nodes) else None

    def GetFirstNodeByName(self, name: str) -> Any:  # noqa: N802
        return next((n for n in self._nodes if n.GetName() == name), None)

    def GetNodes(self) -> list[vtkMRMLVolumePropertyNode]:  # noqa: N802
        return list(self._nodes)


_PRESET_NODES: dict[str, vtkMRMLVolumePropertyNode] = {}


def preset_node(name: str) -> vtkMRMLVolumePropertyNode | None:
    preset = find_preset(name)
    if preset is None:
        return None
    node = _PRESET_NODES.get(preset.name)
    if node is None:
        node = _PRESET_NODES[preset.name] = vtkMRMLVolumePropertyNode(preset.name, None)
    return node


# ----------------------------------------------------------------------------- display node


class vtkMRMLGPURayCastVolumeRenderingDisplayNode(PropertyView):  # noqa: N801
    """How a volume is volume-rendered: a view of the 3-D views that render it."""

    slicer_class = "vtkMRMLGPURayCastVolumeRenderingDisplayNode"
    slicer_classes = (
        "vtkMRMLGPURayCastVolumeRenderingDisplayNode",
        "vtkMRMLVolumeRenderingDisplayNode",
        "vtkMRMLDisplayNode",
        "vtkMRMLNode",
    )

    def _views(self) -> list[ThreeDView]:
        scene = self._owner.scene
        if scene is None:
            return []
        views = [v for v in scene.nodes_of_class("vtkMRMLViewNode") if isinstance(v, ThreeDView)]
        wanted = self._extra.get("views")
        return [v for v in views if v.id in wanted] if wanted else views

    def _shown_in(self) -> list[ThreeDView]:
        return [v for v in self._views() if v.volume_rendering_id == self._owner.id]

    def _first(self) -> ThreeDView | None:
        shown = self._shown_in()
        views = shown or self._views()
        return views[0] if views else None

    # --- what it shows ------------------------------------------------------------------
    def GetDisplayableNode(self) -> Any:  # noqa: N802
        return wrap(self._owner)

    GetVolumeNode = GetDisplayableNode  # noqa: N815

    def GetDisplayableNodeID(self) -> str:  # noqa: N802
        return self._owner.id

    def GetVisibility(self) -> bool:  # noqa: N802
        return bool(self._shown_in())

    def SetVisibility(self, visible: Any) -> None:  # noqa: N802
        for view in self._views():
            if visible:
                view.volume_rendering_id = self._owner.id
                view.volume_rendering_auto = False  # the script's choice: it stays
            elif view.volume_rendering_id == self._owner.id:
                view.volume_rendering_id = ""  # nothing, and no automatic volume either
                view.volume_rendering_auto = False

    def VisibilityOn(self) -> None:  # noqa: N802
        self.SetVisibility(True)

    def VisibilityOff(self) -> None:  # noqa: N802
        self.SetVisibility(False)

    GetVisibility3D = GetVisibility  # noqa: N815
    SetVisibility3D = SetVisibility  # noqa: N815

    def GetViewNodeIDs(self) -> tuple[str, ...]:  # noqa: N802
        return tuple(self._extra.get("views", ()))

    def SetViewNodeIDs(self, ids: Any) -> None:  # noqa: N802
        self._extra["views"] = tuple(str(i) for i in ids)

    def AddViewNodeID(self, view_id: str) -> None:  # noqa: N802
        self._extra["views"] = (*self.GetViewNodeIDs(), str(view_id))

    def RemoveAllViewNodeIDs(self) -> None:  # noqa: N802
        self._extra["views"] = ()

    def IsDisplayableInView(self, view_id: str) -> bool:  # noqa: N802
        return not self.GetViewNodeIDs() or str(view_id) in self.GetViewNodeIDs()

    # --- transfer function --------------------------------------------------------------
    def _preset(self) -> str:
        view = self._first()
        name = view.volume_preset if view is not None else "auto"
        preset = find_preset(name)
        if preset is not None:
            return preset.name
        kind = "ct" if name.lower().startswith("ct") else "mr" if name.lower() else ""
        if kind == "ct" or (kind != "mr" and self._looks_like_ct()):
            return "CT-Bone"  # what "auto" renders for CT: the same curves
        return "MR-Default"

    def _looks_like_ct(self) -> bool:
        display = self._owner.display  # type: ignore[attr-defined]
        return float(display.level) - float(display.window) / 2 < -200

    def _set_preset(self, name: str) -> None:
        for view in self._views():
            view.volume_preset = name

    def GetVolumePropertyNode(self) -> vtkMRMLVolumePropertyNode:  # noqa: N802
        node = self._extra.get("property")
        if node is None:
            node = self._extra["property"] = vtkMRMLVolumePropertyNode("", self)
            remember_synthetic(node.GetID(), node)
        return node

    def GetVolumePropertyNodeID(self) -> str:  # noqa: N802
        return self.GetVolumePropertyNode().GetID()

    def SetAndObserveVolumePropertyNodeID(self, node_id: str | None) -> None:  # noqa: N802
        name = str(node_id or "").removeprefix("vtkMRMLVolumePropertyNode")
        if find_preset(name) is None:
            raise ValueError(
                f"voxweb renders with its presets only ({', '.join(PRESETS)}), not {node_id!r}"
            )
        self._set_preset(name)

    # --- cropping -----------------------------------------------------------------------
    def GetCroppingEnabled(self) -> bool:  # noqa: N802
        view = self._first()
        return bool(view is not None and view.volume_cropping)

    def SetCroppingEnabled(self, on: Any) -> None:  # noqa: N802
        box = self._crop_box()
        for view in self._views():
            view.volume_crop_box = box
            view.volume_cropping = bool(on)

    def CroppingEnabledOn(self) -> None:  # noqa: N802
        self.SetCroppingEnabled(True)

    def CroppingEnabledOff(self) -> None:  # noqa: N802
        self.SetCroppingEnabled(False)

    def _crop_box(self) -> tuple[float, ...]:
        view = self._first()
        if view is not None and view.volume_crop_box is not None:
            return tuple(view.volume_crop_box)
        return tuple(float(v) for v in self._owner.ras_bounds())  # type: ignore[attr-defined]

    def _set_crop_box(self, bounds: Any) -> None:
        box = tuple(float(v) for v in bounds)
        if len(box) != 6 or any(box[2 * a] > box[2 * a + 1] for a in range(3)):
            raise ValueError(f"a crop box is (xmin, xmax, ymin, ymax, zmin, zmax), not {box}")
        for view in self._views():
            view.volume_crop_box = box

    def GetROINode(self) -> VolumeRenderingROI:  # noqa: N802
        return property_view(self._owner, VolumeRenderingROI)  # type: ignore[return-value]

    GetMarkupsROINode = GetROINode  # noqa: N815

    def GetROINodeID(self) -> str:  # noqa: N802
        return self.GetROINode().GetID()

    def SetAndObserveROINodeID(self, node_id: str | None) -> None:  # noqa: N802
        """Crop to another node's box: voxweb's own ROI, or any node answering GetBounds
        (a markups ROI); the box is copied now, later moves of that node do not follow."""
        if not node_id:
            return
        own = self.GetROINode()
        if node_id == own.GetID():
            return
        from voxweb.scripting.mrml_scene import scene_view

        node = scene_view(self._owner.scene).GetNodeByID(node_id)  # type: ignore[arg-type]
        if node is None:
            raise ValueError(f"no node {node_id!r} in the scene")
        bounds = [0.0] * 6
        try:
            node.GetBounds(bounds)
        except AttributeError:
            raise NotImplementedError(
                f"voxweb cannot crop to a {node.GetClassName()}: it needs a node with GetBounds"
            ) from None
        self._set_crop_box(bounds)

    SetAndObserveMarkupsROINodeID = SetAndObserveROINodeID  # noqa: N815

    # --- accepted, with nothing to change -------------------------------------------------
    def SetFollowVolumeDisplayNode(self, on: Any) -> None:  # noqa: N802
        self._extra["follow"] = bool(on)

    def GetFollowVolumeDisplayNode(self) -> bool:  # noqa: N802
        return bool(self._extra.get("follow", False))


class VolumeRenderingROI(PropertyView):
    """The crop box of a volume's rendering, as Slicer's markups ROI (centre and radius)."""

    slicer_class = "vtkMRMLMarkupsROINode"
    slicer_classes = ("vtkMRMLMarkupsROINode", "vtkMRMLMarkupsNode", "vtkMRMLNode")

    def _display_node(self) -> vtkMRMLGPURayCastVolumeRenderingDisplayNode:
        return display_node(self._owner)  # type: ignore[arg-type]

    def GetName(self) -> str:  # noqa: N802
        return "VolumeRenderingROI"

    def _box(self) -> np.ndarray:
        return np.asarray(self._display_node()._crop_box(), dtype=float).reshape(3, 2)

    def _place(self, centre: np.ndarray, radius: np.ndarray) -> None:
        radius = np.abs(radius)
        box = np.stack([centre - radius, centre + radius], axis=1).reshape(-1)
        self._display_node()._set_crop_box(box)

    def GetXYZ(self, out: Any = None) -> Any:  # noqa: N802
        centre = tuple(float(v) for v in self._box().mean(axis=1))
        if out is not None:
            out[:3] = centre
            return out
        return centre

    GetCenter = GetXYZ  # noqa: N815

    def SetXYZ(self, *xyz: Any) -> None:  # noqa: N802
        centre = np.asarray(xyz[0] if len(xyz) == 1 else xyz, dtype=float)
        box = self._box()
        self._place(centre, (box[:, 1] - box[:, 0]) / 2)

    SetCenter = SetXYZ  # noqa: N815

    def GetRadiusXYZ(self, out: Any = None) -> Any:  # noqa: N802
        box = self._box()
        radius = tuple(float(v) for v in (box[:, 1] - box[:, 0]) / 2)
        if out is not None:
            out[:3] = radius
            return out
        return radius

    def SetRadiusXYZ(self, *xyz: Any) -> None:  # noqa: N802
        radius = np.asarray(xyz[0] if len(xyz) == 1 else xyz, dtype=float)
        self._place(self._box().mean(axis=1), radius)

    def GetSize(self, out: Any = None) -> Any:  # noqa: N802
        size = tuple(2 * r for r in self.GetRadiusXYZ())
        if out is not None:
            out[:3] = size
            return out
        return size

    def SetSize(self, *xyz: Any) -> None:  # noqa: N802
        size = np.asarray(xyz[0] if len(xyz) == 1 else xyz, dtype=float)
        self._place(self._box().mean(axis=1), size / 2)

    def GetBounds(self, out: Any = None) -> Any:  # noqa: N802
        bounds = [float(v) for v in self._box().reshape(-1)]
        if out is not None:
            out[:6] = bounds
            return out
        return bounds

    GetRASBounds = GetBounds  # noqa: N815

    def SetDisplayVisibility(self, visible: Any) -> None:  # noqa: N802
        self._extra["shown"] = bool(visible)  # voxweb does not draw the box itself

    def GetDisplayVisibility(self) -> bool:  # noqa: N802
        return bool(self._extra.get("shown", False))


def display_node(volume: ScalarVolume) -> vtkMRMLGPURayCastVolumeRenderingDisplayNode:
    return property_view(volume, vtkMRMLGPURayCastVolumeRenderingDisplayNode)  # type: ignore[return-value]


def _has_display_node(volume: ScalarVolume) -> bool:
    views = volume.__dict__.get("_scripting_views", {})
    return vtkMRMLGPURayCastVolumeRenderingDisplayNode.__name__ in views


# ----------------------------------------------------------------------------- logic


@logic("volumerendering")
class VolumeRenderingLogic(_Logic):
    """Slicer's volume rendering module logic over voxweb's 3-D views."""

    def CreateDefaultVolumeRenderingNodes(self, volume_node: Any) -> Any:  # noqa: N802
        volume = _volume(volume_node)
        if isinstance(volume, LabelMapVolume):
            raise NotImplementedError("voxweb volume-renders scalar volumes, not label maps")
        return display_node(volume)

    def CreateVolumeRenderingDisplayNode(self, *args: Any) -> Any:  # noqa: N802
        raise NotImplementedError(
            "voxweb's volume rendering display nodes belong to a volume: use "
            "CreateDefaultVolumeRenderingNodes(volumeNode)"
        )

    def UpdateDisplayNodeFromVolumeNode(self, display: Any, volume_node: Any, *_: Any) -> None:  # noqa: N802
        if display is not display_node(_volume(volume_node)):
            raise NotImplementedError("voxweb's display nodes cannot move to another volume")

    def GetFirstVolumeRenderingDisplayNode(self, volume_node: Any) -> Any:  # noqa: N802
        volume = _volume(volume_node)
        node = display_node(volume) if _has_display_node(volume) else None
        if node is None and volume.scene is not None:
            shown = any(
                getattr(v, "volume_rendering_id", None) == volume.id
                for v in volume.scene.nodes_of_class("vtkMRMLViewNode")
            )
            node = display_node(volume) if shown else None
        return node

    def GetVolumeRenderingDisplayNodeForViewNode(self, volume_node: Any, view_node: Any) -> Any:  # noqa: N802
        node = self.GetFirstVolumeRenderingDisplayNode(volume_node)
        view_id = unwrap(view_node).id
        return node if node is not None and node.IsDisplayableInView(view_id) else None

    def GetPresetByName(self, name: str) -> Any:  # noqa: N802
        return preset_node(str(name))

    def GetPresetsScene(self) -> _PresetsScene:  # noqa: N802
        return _PresetsScene([preset_node(name) for name in PRESETS])  # type: ignore[misc]

    def CopyDisplayToVolumeRenderingDisplayNode(self, display: Any, *_: Any) -> None:  # noqa: N802
        """Render with a ramp over the volume's window/level (MR-Default follows the window)."""
        display._set_preset("MR-Default")

    def SetRecommendedVolumeRenderingProperties(self, volume_node: Any, *_: Any) -> None:  # noqa: N802
        """Pick the preset that suits the data: CT-Bone for CT numbers, MR-Default otherwise."""
        node = display_node(_volume(volume_node))
        node._set_preset("CT-Bone" if node._looks_like_ct() else "MR-Default")

    def FitROIToVolume(self, display: Any) -> None:  # noqa: N802
        display._set_crop_box(display._owner.ras_bounds())

    def ChangeVolumeRenderingMethod(self, *_: Any) -> None:  # noqa: N802
        return None  # one ray caster draws every method's nodes

    def SetDefaultRenderingMethod(self, *_: Any) -> None:  # noqa: N802
        return None

    def GetDefaultRenderingMethod(self) -> str:  # noqa: N802
        return RENDERING_CLASSES[0]


__all__ = [
    "VolumeRenderingLogic",
    "VolumeRenderingROI",
    "display_node",
    "vtkMRMLGPURayCastVolumeRenderingDisplayNode",
    "vtkMRMLVolumePropertyNode",
]
