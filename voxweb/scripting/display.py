"""Display and storage nodes: views onto properties that live on the data node in voxweb.

Slicer keeps a node's look in separate display nodes (window/level, color, opacity) and its
file in a storage node. voxweb keeps both on the data node itself, so these views have no
scene node of their own; they still have Slicer-style IDs (found by ``GetNodeByID``), and
every Set call marks the data node modified, which re-renders the views showing it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from voxweb.scene.nodes import Node
from voxweb.scripting.registry import remember_synthetic, wrap


class PropertyView:
    """Base of display/storage views: an owner scene node and a Slicer class name."""

    slicer_class: ClassVar[str] = "vtkMRMLDisplayNode"
    slicer_classes: ClassVar[tuple[str, ...]] = ("vtkMRMLDisplayNode", "vtkMRMLNode")

    def __init__(self, owner: Node) -> None:
        self._owner = owner
        self._extra: dict[str, Any] = {}  # properties voxweb keeps but does not use
        remember_synthetic(self.GetID(), self)

    def __repr__(self) -> str:
        return f"<{self.slicer_class} of {self._owner.id or self._owner.name!r}>"

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"'{self.slicer_class}' object has no attribute '{name}' (not provided by voxweb)"
        )

    def GetID(self) -> str:  # noqa: N802
        return f"{self.slicer_class}_{self._owner.id or id(self._owner)}"

    def GetName(self) -> str:  # noqa: N802
        return f"{self._owner.name} {self.slicer_class.removeprefix('vtkMRML')}"

    def GetClassName(self) -> str:  # noqa: N802
        return self.slicer_class

    def IsA(self, class_name: str) -> bool:  # noqa: N802
        return class_name in self.slicer_classes

    def Modified(self) -> None:  # noqa: N802
        self._owner.modified()

    def StartModify(self) -> int:  # noqa: N802
        return 0

    def EndModify(self, was_modifying: int) -> int:  # noqa: N802
        self._owner.modified()
        return 0

    def GetScene(self) -> Any:  # noqa: N802
        from voxweb.scripting.mrml_scene import scene_view

        return None if self._owner.scene is None else scene_view(self._owner.scene)

    def _changed(self) -> None:
        self._owner.modified()

    def _keep(self, key: str, value: Any) -> None:
        self._extra[key] = value
        self._changed()


class DisplayView(PropertyView):
    """Methods every display node shares."""

    def GetDisplayableNode(self) -> Any:  # noqa: N802
        return wrap(self._owner)

    def GetDisplayableNodeID(self) -> str:  # noqa: N802
        return self._owner.id

    # Visibility and opacity live on the family's display object (``_display``).
    @property
    def _display(self) -> Any:
        return self._owner.display  # type: ignore[attr-defined]

    def GetVisibility(self) -> bool:  # noqa: N802
        return bool(getattr(self._display, "visible", True))

    def SetVisibility(self, visible: Any) -> None:  # noqa: N802
        self._display.visible = bool(visible)
        self._changed()

    def VisibilityOn(self) -> None:  # noqa: N802
        self.SetVisibility(True)

    def VisibilityOff(self) -> None:  # noqa: N802
        self.SetVisibility(False)

    def GetVisibility2D(self) -> bool:  # noqa: N802
        return bool(self._extra.get("visibility2d", self.GetVisibility()))

    def SetVisibility2D(self, visible: Any) -> None:  # noqa: N802
        self._keep("visibility2d", bool(visible))

    def GetVisibility3D(self) -> bool:  # noqa: N802
        return bool(self._extra.get("visibility3d", self.GetVisibility()))

    def SetVisibility3D(self, visible: Any) -> None:  # noqa: N802
        self._keep("visibility3d", bool(visible))

    def GetOpacity(self) -> float:  # noqa: N802
        return float(getattr(self._display, "opacity", 1.0))

    def SetOpacity(self, opacity: float) -> None:  # noqa: N802
        self._display.opacity = float(opacity)
        self._changed()

    def GetViewNodeIDs(self) -> tuple[str, ...]:  # noqa: N802
        return tuple(self._extra.get("views", ()))

    def SetViewNodeIDs(self, ids: Any) -> None:  # noqa: N802
        self._keep("views", tuple(ids))

    def AddViewNodeID(self, view_id: str) -> None:  # noqa: N802
        self._keep("views", (*self.GetViewNodeIDs(), str(view_id)))

    def RemoveAllViewNodeIDs(self) -> None:  # noqa: N802
        self._keep("views", ())


class StorageView(PropertyView):
    """Where a node was read from or will be written to."""

    slicer_class = "vtkMRMLStorageNode"
    slicer_classes = ("vtkMRMLStorageNode", "vtkMRMLNode")

    def GetFileName(self) -> str | None:  # noqa: N802
        if "file" in self._extra:
            return self._extra["file"]
        scene = self._owner.scene
        if scene is None:
            return None
        from voxweb.scripting.context import workspace_of

        record = workspace_of(scene).storage.get(self._owner.id)
        return None if record is None else str(record.path)

    def SetFileName(self, path: str) -> None:  # noqa: N802
        self._extra["file"] = str(path)

    def GetUseCompression(self) -> bool:  # noqa: N802
        return bool(self._extra.get("compress", True))

    def SetUseCompression(self, on: Any) -> None:  # noqa: N802
        self._extra["compress"] = bool(on)

    def UseCompressionOn(self) -> None:  # noqa: N802
        self.SetUseCompression(True)

    def UseCompressionOff(self) -> None:  # noqa: N802
        self.SetUseCompression(False)

    def WriteData(self, node: Any) -> int:  # noqa: N802
        """Write to the file name, which must lie in a --file-root (as for saveNode)."""
        from voxweb.scripting.context import workspace_of
        from voxweb.scripting.registry import unwrap

        path = self.GetFileName()
        if not path:
            raise ValueError("the storage node has no file name (SetFileName first)")
        target = unwrap(node)
        props = {"useCompression": "1" if self.GetUseCompression() else "0"}
        workspace_of(target.scene).save_client_file(target, path, props)
        return 1

    def ReadData(self, node: Any) -> int:  # noqa: N802
        from voxweb.scripting.context import workspace_of
        from voxweb.scripting.registry import unwrap

        target = unwrap(node)
        return 1 if workspace_of(target.scene).reload([target]) else 0


def property_view(owner: Node, cls: type[PropertyView]) -> PropertyView:
    """One view per (node, class), so Set calls on a kept display node reach the same object."""
    views = owner.__dict__.setdefault("_scripting_views", {})
    view = views.get(cls.__name__)
    if view is None:
        view = cls(owner)
        views[cls.__name__] = view
    return view
