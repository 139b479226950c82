"""Which view class stands for which scene node, and one view per node.

A script that fetches the same node twice gets the same Python object (Slicer's wrappers
behave so: ``getNode('a') is getNode('a')``), which also keeps observers attached. The table
is weak: a node removed from the scene and forgotten by the script is freed.

The modules that define views hand them in here (``register``, ``provide_fallback``,
``provide_scene_views``) rather than this module importing them: views depend on the
registry, never the reverse.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from voxweb.scene.nodes import Node
from voxweb.scene.scene import Scene

if TYPE_CHECKING:
    from voxweb.scripting.node import vtkMRMLNode as MRMLNode

_VIEW_CLASSES: dict[str, type[MRMLNode]] = {}
_VIEWS: weakref.WeakKeyDictionary[Node, MRMLNode] = weakref.WeakKeyDictionary()
_FALLBACK: list[type[MRMLNode]] = []  # the view of a node no registered class claims
_SCENE_VIEW_CLASS: list[Callable[[Scene], Any]] = []
_SCENE_VIEWS: weakref.WeakKeyDictionary[Scene, Any] = weakref.WeakKeyDictionary()


def provide_fallback(view_class: type[MRMLNode]) -> type[MRMLNode]:
    """Class decorator: the view of nodes whose Slicer classes have no view of their own."""
    _FALLBACK[:] = [view_class]
    return view_class


def provide_scene_views(view_class: Callable[[Scene], Any]) -> Callable[[Scene], Any]:
    """Class decorator: the class of ``slicer.mrmlScene`` (one view per scene)."""
    _SCENE_VIEW_CLASS[:] = [view_class]
    return view_class


def scene_view(scene: Scene) -> Any:
    """The one ``vtkMRMLScene`` view of ``scene``."""
    view = _SCENE_VIEWS.get(scene)
    if view is None:
        view = _SCENE_VIEWS[scene] = _SCENE_VIEW_CLASS[0](scene)
    return view


def register(view_class: type[MRMLNode]) -> type[MRMLNode]:
    """Class decorator: the view class answers for its ``__name__`` (a Slicer class name)."""
    _VIEW_CLASSES[view_class.__name__] = view_class
    return view_class


def view_class(slicer_class: str) -> type[MRMLNode] | None:
    return _VIEW_CLASSES.get(slicer_class)


def known_classes() -> list[str]:
    return sorted(_VIEW_CLASSES)


def remember(node: Node, view: MRMLNode) -> None:
    _VIEWS[node] = view


def wrap(node: Node | None) -> Any:
    """The view of ``node`` (made on first use, from its most specific Slicer class)."""
    if node is None:
        return None
    view = _VIEWS.get(node)
    if view is not None:
        return view
    for name in node.slicer_classes:
        cls = _VIEW_CLASSES.get(name)
        if cls is not None:
            return cls(_node=node)
    return _FALLBACK[0](_node=node)


def unwrap(obj: Any) -> Node:
    """The scene node behind a view (or a scene node as it is)."""
    node = getattr(obj, "_node", None)
    if isinstance(node, Node):
        return node
    if isinstance(obj, Node):
        return obj
    raise TypeError(f"expected an MRML node, got {type(obj).__name__}")


def creatable(slicer_class: str) -> bool:
    cls = _VIEW_CLASSES.get(slicer_class)
    return cls is not None and cls.scene_class is not None


# Display and storage views are not scene nodes; they are found by ID through this table.
_SYNTHETIC: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()


def remember_synthetic(node_id: str, view: Any) -> None:
    _SYNTHETIC[node_id] = view


def synthetic_node(node_id: str) -> Any:
    return _SYNTHETIC.get(node_id)


# Views that stand for Slicer nodes voxweb keeps on other nodes (a 3-D view's camera...):
# providers list them per scene so class and name lookups find them like scene nodes.
_PROVIDERS: list[Any] = []


def provide_synthetic(provider: Any) -> Any:
    """Decorator: ``provider(scene)`` yields the synthetic views that scene has."""
    _PROVIDERS.append(provider)
    return provider


def synthetic_nodes(scene: Any) -> list[Any]:
    return [view for provider in _PROVIDERS for view in provider(scene)]
