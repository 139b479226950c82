"""``vtkMRMLNode``: the base of every MRML view, with Slicer's generic node methods.

A view holds one ``voxweb.scene`` node (``_node``) and nothing else of its own: names, IDs,
attributes and every family's data live in the scene node. Creating a view class
(``slicer.vtkMRMLScalarVolumeNode()``) makes a fresh scene node outside any scene, as Slicer
does before ``mrmlScene.AddNode``. Attributes a Slicer node does not have raise
``AttributeError`` naming the class, as VTK's wrappers do.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from typing import Any, ClassVar

from voxweb.scene.nodes import Node
from voxweb.scripting.registry import (
    provide_fallback,
    register,
    remember,
    scene_view,
    unwrap,
    wrap,
)

# vtkCommand event IDs scripts pass to AddObserver (values as VTK defines them).
MODIFIED_EVENT = 33
_tags = itertools.count(1)


@provide_fallback
@register
class vtkMRMLNode:  # noqa: N801 - Slicer's class names are the API
    """Generic node methods; families add theirs in subclasses."""

    #: The voxweb scene class a bare constructor makes (None: cannot be made by scripts).
    scene_class: ClassVar[type[Node] | None] = None

    def __init__(self, _node: Node | None = None) -> None:
        if _node is None:
            if self.scene_class is None:
                raise TypeError(f"voxweb cannot create a {type(self).__name__} on its own")
            _node = self.scene_class()
        object.__setattr__(self, "_node", _node)
        object.__setattr__(self, "_observers", {})
        object.__setattr__(self, "_modify_depth", 0)
        remember(_node, self)

    # --- identity -----------------------------------------------------------------------
    def __repr__(self) -> str:
        node = self._node
        return f"<{self.GetClassName()} {node.id or '(not in a scene)'} {node.name!r}>"

    def __getattr__(self, name: str) -> Any:
        # voxweb's own attributes (``node.array``, ``node.name``) for snippets that use them;
        # a Slicer-style name that is not here is an AttributeError like VTK's.
        if name[:1].islower() and not name.startswith("_"):
            try:
                return getattr(self._node, name)
            except AttributeError:
                pass
        raise AttributeError(
            f"'{self.GetClassName()}' object has no attribute '{name}' (not provided by voxweb)"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._node, name, value)

    def GetClassName(self) -> str:  # noqa: N802
        return self._node.slicer_class

    def IsA(self, class_name: str) -> bool:  # noqa: N802
        return self._node.is_a(class_name) or class_name in (c.__name__ for c in type(self).__mro__)

    def GetID(self) -> str | None:  # noqa: N802
        return self._node.id or None

    def GetName(self) -> str:  # noqa: N802
        return self._node.name

    def SetName(self, name: str) -> None:  # noqa: N802
        self._node.name = str(name)

    def GetDescription(self) -> str:  # noqa: N802
        return self._node.description

    def SetDescription(self, text: str) -> None:  # noqa: N802
        self._node.description = str(text)

    def GetScene(self) -> Any:  # noqa: N802
        return None if self._node.scene is None else scene_view(self._node.scene)

    def GetHideFromEditors(self) -> bool:  # noqa: N802
        return bool(self._node.hide_from_editors)

    def SetHideFromEditors(self, hide: bool) -> None:  # noqa: N802
        self._node.hide_from_editors = bool(hide)

    def HideFromEditorsOn(self) -> None:  # noqa: N802
        self.SetHideFromEditors(True)

    def HideFromEditorsOff(self) -> None:  # noqa: N802
        self.SetHideFromEditors(False)

    def UnRegister(self, other: Any = None) -> None:  # noqa: N802
        return None  # Python owns the view; VTK reference counting has nothing to do

    def Register(self, other: Any = None) -> None:  # noqa: N802
        return None

    def GetSelectable(self) -> bool:  # noqa: N802
        return bool(self._node.selectable)

    def SetSelectable(self, value: bool) -> None:  # noqa: N802
        self._node.selectable = bool(value)

    def GetSelected(self) -> bool:  # noqa: N802
        return bool(self._node.selected)

    def SetSelected(self, value: bool) -> None:  # noqa: N802
        self._node.selected = bool(value)

    def GetSingletonTag(self) -> str | None:  # noqa: N802
        return self._node.singleton_tag

    # --- attributes ---------------------------------------------------------------------
    def GetAttribute(self, key: str) -> str | None:  # noqa: N802
        return self._node.attributes.get(key)

    def SetAttribute(self, key: str, value: Any) -> None:  # noqa: N802
        self._node.attributes[str(key)] = str(value)
        self._node.modified()

    def RemoveAttribute(self, key: str) -> None:  # noqa: N802
        if self._node.attributes.pop(key, None) is not None:
            self._node.modified()

    def GetAttributeNames(self) -> tuple[str, ...]:  # noqa: N802
        return tuple(self._node.attributes)

    # --- modification -------------------------------------------------------------------
    def Modified(self) -> None:  # noqa: N802
        self._node.modified()

    def GetMTime(self) -> int:  # noqa: N802
        return int(self._node.mtime)

    def StartModify(self) -> int:  # noqa: N802
        depth = self._modify_depth
        self._modify_depth = depth + 1
        return 1 if depth else 0

    def EndModify(self, was_modifying: int) -> int:  # noqa: N802
        self._modify_depth = max(0, self._modify_depth - 1)
        if not was_modifying:
            self._node.modified()
        return self._modify_depth

    # --- observers ----------------------------------------------------------------------
    def AddObserver(self, event: Any, callback: Callable[..., Any], priority: float = 0.0) -> int:  # noqa: N802
        """Call ``callback(caller, event)`` when this node changes (ModifiedEvent and the
        family-specific events voxweb reports as modifications)."""
        tag = next(_tags)
        event_name = event if isinstance(event, str) else _EVENT_NAMES.get(int(event), event)
        view = self

        wants_data = hasattr(callback, "CallDataType")  # @vtk.calldata_type(...)

        def listener(scene_event: Any) -> None:
            if scene_event.kind == "modified" and scene_event.node is view._node:
                if wants_data:
                    callback(view, event_name, view._call_data(event_name))
                else:
                    callback(view, event_name)

        self._observers[tag] = listener
        if self._node.scene is not None:
            self._node.scene.add_listener(listener)
        else:
            self._pending_observers = [*getattr(self, "_pending_observers", []), listener]
        return tag

    def _call_data(self, event: Any) -> Any:
        """What an observer asking for call data gets (subclasses say more)."""
        return None

    def RemoveObserver(self, tag: int) -> None:  # noqa: N802
        listener = self._observers.pop(int(tag), None)
        if listener is not None and self._node.scene is not None:
            self._node.scene.remove_listener(listener)

    def RemoveAllObservers(self) -> None:  # noqa: N802
        for tag in list(self._observers):
            self.RemoveObserver(tag)

    def HasObserver(self, event: Any, callback: Any = None) -> int:  # noqa: N802
        return 1 if self._observers else 0

    def _attach_pending_observers(self) -> None:
        """Called when the node enters a scene: observers added before start listening."""
        for listener in getattr(self, "_pending_observers", []):
            self._node.scene.add_listener(listener)
        self._pending_observers = []

    # --- content ------------------------------------------------------------------------
    def Copy(self, other: Any) -> None:  # noqa: N802
        """Take a deep copy of the other node's content and its name (the ID stays)."""
        source = unwrap(other)
        _copy_content(source, self._node)
        self._node.name = source.name

    def CopyContent(self, other: Any, deep: bool = True) -> None:  # noqa: N802
        _copy_content(unwrap(other), self._node)

    # Storable/displayable defaults: nodes without display or storage say so as Slicer does.
    def GetDisplayNode(self) -> Any:  # noqa: N802
        return None

    def GetNumberOfDisplayNodes(self) -> int:  # noqa: N802
        return 1 if self.GetDisplayNode() is not None else 0

    def GetNthDisplayNode(self, index: int) -> Any:  # noqa: N802
        return self.GetDisplayNode() if int(index) == 0 else None

    def GetDisplayNodeID(self) -> str | None:  # noqa: N802
        display = self.GetDisplayNode()
        return None if display is None else display.GetID()

    def CreateDefaultDisplayNodes(self) -> None:  # noqa: N802
        """Display properties always exist in voxweb: nothing to create."""

    def GetStorageNode(self) -> Any:  # noqa: N802
        return None

    def CreateDefaultStorageNode(self) -> Any:  # noqa: N802
        return self.GetStorageNode()

    def AddDefaultStorageNode(self, filename: str | None = None) -> bool:  # noqa: N802
        return self.GetStorageNode() is not None


_EVENT_NAMES = {MODIFIED_EVENT: "ModifiedEvent", 15000: "TransformModifiedEvent"}
_IDENTITY = {"id", "name", "scene", "mtime", "_ready", "singleton_tag"}


def _copy_content(source: Node, target: Node) -> None:
    if not isinstance(target, type(source)) and not isinstance(source, type(target)):
        raise TypeError(f"cannot copy a {source.slicer_class} into a {target.slicer_class}")
    for key, value in vars(source).items():
        if key not in _IDENTITY and not key.startswith("_scripting"):
            object.__setattr__(target, key, copy.deepcopy(value))
    target.modified()


__all__ = ["MODIFIED_EVENT", "vtkMRMLNode", "unwrap", "wrap"]
