"""The scene: an ordered registry of nodes with Slicer-style IDs, names, events and one lock.

This is the application state that every request reads or changes. It assigns IDs
(``vtkMRMLScalarVolumeNode1``...), answers lookups by ID, name, glob and is-a class, keeps a
scene-wide modification counter, notifies listeners and composes transform chains. It never
touches files or HTTP. Callers hold ``scene.lock`` (re-entrant) around multi-step changes; the
scene's own methods take it too.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from voxweb.scene.nodes import GridTransform, LinearTransform, Node, TransformNode, next_mtime
from voxweb.scene.views import DEFAULT_SLICE_VIEWS, Layout, Selection, SliceView, ThreeDView

log = logging.getLogger(__name__)


class NodeNotFoundError(LookupError):
    """No node matched an ID, name or pattern."""


class TransformChainError(ValueError):
    """A transform chain cannot be reduced to one matrix (grid transform, cycle, missing node)."""


@dataclass(frozen=True)
class SceneEvent:
    """What changed: ``kind`` is ``added``, ``removed``, ``modified`` or ``cleared``."""

    kind: str
    node: Node | None
    version: int


Listener = Callable[[SceneEvent], None]


class Scene:
    """Ordered node registry. Create with ``Scene()`` to get the default layout and views."""

    def __init__(self, default_views: bool = True) -> None:
        self.lock = threading.RLock()
        self._nodes: dict[str, Node] = {}
        self._id_counters: dict[str, int] = {}
        self._listeners: list[Listener] = []
        self.version: int = 0
        if default_views:
            self.add(Layout())
            for name in DEFAULT_SLICE_VIEWS:
                self.add(SliceView(name))
            self.add(ThreeDView("1"))
            self.add(Selection())

    # ------------------------------------------------------------------ events
    def add_listener(self, callback: Listener) -> Listener:
        """Call ``callback(SceneEvent)`` after every change (under the scene lock)."""
        with self.lock:
            self._listeners.append(callback)
        return callback

    def remove_listener(self, callback: Listener) -> None:
        with self.lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def _emit(self, kind: str, node: Node | None) -> None:
        self.version += 1
        event = SceneEvent(kind, node, self.version)
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:  # a broken listener must not break the scene
                log.exception("scene listener %r failed on %s", callback, kind)

    def _node_modified(self, node: Node) -> None:
        with self.lock:
            if self._nodes.get(node.id) is node:
                self._emit("modified", node)

    # ------------------------------------------------------------------ add / remove
    def _generate_id(self, node: Node) -> str:
        cls = node.slicer_class
        if node.singleton_tag is not None:
            return f"{cls}{node.singleton_tag}"
        n = self._id_counters.get(cls, 0)
        while True:
            n += 1
            candidate = f"{cls}{n}"
            if candidate not in self._nodes:
                self._id_counters[cls] = n
                return candidate

    def unique_name(self, base: str) -> str:
        """``base`` if no node has that name, else ``base_1``, ``base_2``..."""
        with self.lock:
            names = {n.name for n in self._nodes.values()}
            if base not in names:
                return base
            i = 1
            while f"{base}_{i}" in names:
                i += 1
            return f"{base}_{i}"

    def add(self, node: Node, name: str | None = None) -> Node:
        """Add a node, assign its ID (and a default name if it has none); returns the node."""
        with self.lock:
            if node.scene is not None:
                raise ValueError(f"node {node.id or node.name!r} is already in a scene")
            node_id = self._generate_id(node)
            if node_id in self._nodes:
                raise ValueError(f"a singleton node {node_id!r} is already in the scene")
            object.__setattr__(node, "id", node_id)
            if name is not None:
                object.__setattr__(node, "name", name)
            if not node.name:
                object.__setattr__(node, "name", self.unique_name(node.default_name))
            self._nodes[node_id] = node
            object.__setattr__(node, "scene", self)
            object.__setattr__(node, "mtime", next_mtime())
            self._emit("added", node)
            return node

    def remove(self, node: Node | str) -> None:
        """Remove a node (or node ID); children of a removed transform lose their parent."""
        with self.lock:
            target = self._resolve(node)
            del self._nodes[target.id]
            object.__setattr__(target, "scene", None)
            if isinstance(target, TransformNode):
                for other in self._nodes.values():
                    if getattr(other, "parent_transform_id", None) == target.id:
                        other.parent_transform_id = None  # type: ignore[attr-defined]
            self._emit("removed", target)

    def clear(self) -> None:
        """Remove every non-singleton node and reset ID counters (Slicer's ``Clear``)."""
        with self.lock:
            for node in list(self._nodes.values()):
                if node.singleton_tag is None:
                    del self._nodes[node.id]
                    object.__setattr__(node, "scene", None)
            self._id_counters.clear()
            self._emit("cleared", None)

    def rename(self, node: Node | str, name: str) -> None:
        with self.lock:
            self._resolve(node).name = name

    def _resolve(self, node: Node | str) -> Node:
        if isinstance(node, Node):
            if self._nodes.get(node.id) is not node:
                raise NodeNotFoundError(f"node {node.id or node.name!r} is not in this scene")
            return node
        found = self._nodes.get(node)
        if found is None:
            raise NodeNotFoundError(f"no node with ID {node!r} in the scene")
        return found

    # ------------------------------------------------------------------ lookups
    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[Node]:
        with self.lock:
            return iter(list(self._nodes.values()))

    def __contains__(self, node: object) -> bool:
        if isinstance(node, Node):
            return self._nodes.get(node.id) is node
        return node in self._nodes

    def nodes(self) -> list[Node]:
        """All nodes in scene order (insertion order)."""
        with self.lock:
            return list(self._nodes.values())

    def ids(self) -> list[str]:
        with self.lock:
            return list(self._nodes)

    def get_node_by_id(self, node_id: str) -> Node | None:
        """Exact ID lookup (no glob), None when absent."""
        with self.lock:
            return self._nodes.get(node_id)

    def nodes_by_name(self, name: str) -> list[Node]:
        """Nodes whose name equals ``name`` exactly, in scene order."""
        with self.lock:
            return [n for n in self._nodes.values() if n.name == name]

    def get_first_node_by_name(self, name: str) -> Node | None:
        found = self.nodes_by_name(name)
        return found[0] if found else None

    def nodes_of_class(self, slicer_class: str = "vtkMRMLNode") -> list[Node]:
        """Nodes that are-a ``slicer_class`` (subclasses included), in scene order."""
        with self.lock:
            return [n for n in self._nodes.values() if n.is_a(slicer_class)]

    def find_nodes(self, pattern: str) -> list[Node]:
        """Nodes whose name or ID matches a ``*?[]`` glob (case-sensitive), in scene order."""
        with self.lock:
            return [
                n
                for n in self._nodes.values()
                if fnmatch.fnmatchcase(n.name, pattern) or fnmatch.fnmatchcase(n.id, pattern)
            ]

    def get_node(self, pattern: str) -> Node:
        """First node whose name or ID glob-matches ``pattern`` (Slicer's ``getNode``).

        Raises NodeNotFoundError with Slicer's message when nothing matches.
        """
        found = self.find_nodes(pattern)
        if not found:
            raise NodeNotFoundError(f"could not find nodes in the scene by name or id '{pattern}'")
        return found[0]

    def glob_nodes_by_name(self, pattern: str) -> dict[str, Node]:
        """Slicer's ``getNodes``: glob matches keyed by node name, so a later node with the same
        name replaces an earlier one while keeping the first one's position."""
        out: dict[str, Node] = {}
        for node in self.find_nodes(pattern):
            out[node.name] = node
        return out

    # ------------------------------------------------------------------ transforms
    def set_parent_transform(self, node: Node | str, transform: Node | str | None) -> None:
        """Put ``node`` under ``transform`` (or remove its parent with None); rejects cycles."""
        with self.lock:
            target = self._resolve(node)
            if not hasattr(target, "parent_transform_id"):
                raise ValueError(f"{target.name!r} ({type(target).__name__}) cannot be transformed")
            if transform is None:
                target.parent_transform_id = None  # type: ignore[attr-defined]
                return
            parent = self._resolve(transform)
            if not isinstance(parent, TransformNode):
                raise ValueError(f"{parent.name!r} is not a transform")
            walk: Node | None = parent
            while walk is not None:
                if walk is target:
                    raise TransformChainError(
                        f"putting {target.name!r} under {parent.name!r} would make a transform cycle"
                    )
                pid = getattr(walk, "parent_transform_id", None)
                walk = self._nodes.get(pid) if pid else None
            target.parent_transform_id = parent.id  # type: ignore[attr-defined]

    def transform_to_world(self, node: Node | str) -> np.ndarray:
        """4x4 RAS matrix mapping the node's coordinates to world, composing linear parents.

        For a transform node the node's own matrix is included (Slicer's
        ``GetMatrixTransformToWorld``); for other nodes only the parents count. A grid
        transform anywhere in the chain raises TransformChainError: it has no matrix.
        """
        with self.lock:
            start = self._resolve(node)
            result = np.eye(4)
            seen: set[str] = set()
            current: Node | None = start if isinstance(start, TransformNode) else None
            if current is None:
                pid = getattr(start, "parent_transform_id", None)
                current = self._chain_node(start, pid) if pid else None
            while current is not None:
                if current.id in seen:
                    raise TransformChainError(f"transform cycle through {current.name!r}")
                seen.add(current.id)
                if isinstance(current, GridTransform):
                    raise TransformChainError(
                        f"{start.name!r} is under grid transform {current.name!r}; a grid "
                        "(non-linear) transform has no 4x4 matrix, so the chain cannot be composed"
                    )
                if isinstance(current, LinearTransform):
                    result = current.matrix_to_parent @ result
                pid = getattr(current, "parent_transform_id", None)
                current = self._chain_node(current, pid) if pid else None
            return result

    def _chain_node(self, child: Node, parent_id: str) -> Node:
        parent = self._nodes.get(parent_id)
        if parent is None:
            raise TransformChainError(
                f"{child.name!r} refers to parent transform {parent_id!r}, which is not in the scene"
            )
        return parent
