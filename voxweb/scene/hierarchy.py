"""The subject hierarchy: a tree of items (subjects, studies, folders, data nodes) over a scene.

One ``SubjectHierarchy`` node per scene holds every item: an integer ID, a parent, ordered
children, a name, a level (``Patient``, ``Study``, ``Folder``...), attributes, UIDs and,
for data items, the ID of the scene node the item stands for. The scene item is the root.
Once made (:func:`subject_hierarchy`), the node listens to its scene: every data node added
gets an item under the scene item, a removed node loses its item (its children move up to
the removed item's parent), and clearing the scene empties the tree. It knows nothing of
scripting, files or HTTP; removing the data nodes of a branch is left to the caller, which
gets their IDs back from :meth:`SubjectHierarchy.remove_item`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from voxweb.scene.nodes import Node
from voxweb.scene.scene import Scene, SceneEvent

#: The ID no item has (Slicer's invalid item ID).
INVALID_ITEM_ID = 0

#: Level names (as Slicer's subject hierarchy constants spell them).
LEVEL_SCENE = "Scene"
LEVEL_PATIENT = "Patient"
LEVEL_STUDY = "Study"
LEVEL_SERIES = "Series"
LEVEL_FOLDER = "Folder"


class HierarchyError(LookupError):
    """An item ID that is not in the hierarchy, or a move that would make a cycle."""


@dataclass
class HierarchyItem:
    id: int
    name: str
    parent: int | None
    level: str = ""
    data_node_id: str | None = None
    children: list[int] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    uids: dict[str, str] = field(default_factory=dict)
    expanded: bool = True


def is_data_node(node: Node) -> bool:
    """Nodes that get an item: not views or other singletons, not hidden from editors."""
    return (
        node.singleton_tag is None
        and not node.hide_from_editors
        and not isinstance(node, SubjectHierarchy)
    )


class SubjectHierarchy(Node):
    """The tree of items of one scene (Slicer's subject hierarchy node)."""

    slicer_class = "vtkMRMLSubjectHierarchyNode"
    slicer_classes = ("vtkMRMLSubjectHierarchyNode", "vtkMRMLNode")
    default_name = "SubjectHierarchy"

    def __init__(self, name: str = "SubjectHierarchy") -> None:
        super().__init__(name)
        # A singleton: it stays across Scene.clear (its items are reset then), ID as Slicer's.
        self.singleton_tag = "1"
        object.__setattr__(self, "_ids", itertools.count(1))
        object.__setattr__(self, "_items", {})
        object.__setattr__(self, "_by_node", {})
        object.__setattr__(self, "_listening", None)
        root = self._new_item(LEVEL_SCENE, None, LEVEL_SCENE)
        object.__setattr__(self, "scene_item_id", root)

    # ------------------------------------------------------------------ scene sync
    def attach(self, scene: Scene) -> None:
        """Make items for the scene's data nodes and follow the scene from now on."""
        for node in scene.nodes():
            if is_data_node(node) and node.id not in self._by_node:
                self._add_data_item(node, self.scene_item_id)
        if self._listening is None:
            object.__setattr__(
                self, "_listening", (scene, scene.add_listener(self._on_scene_event))
            )

    def _on_scene_event(self, event: SceneEvent) -> None:
        node = event.node
        if event.kind == "added" and node is not None and is_data_node(node):
            if node.id not in self._by_node:
                self._add_data_item(node, self.scene_item_id)
                self.modified()
        elif event.kind == "removed" and node is self:
            # Removed from its scene: stop following it (a new one is made on next use).
            scene, listener = self._listening
            object.__setattr__(self, "_listening", None)
            scene.remove_listener(listener)
        elif event.kind == "removed" and node is not None:
            item_id = self._by_node.get(node.id)
            if item_id is not None and item_id in self._items:
                self._drop(item_id, keep_children=True)
                self.modified()
        elif event.kind == "cleared":
            for item_id in list(self._items[self.scene_item_id].children):
                self._drop(item_id, keep_children=False)
            self.modified()

    # ------------------------------------------------------------------ items
    def _new_item(
        self, name: str, parent: int | None, level: str = "", data_node_id: str | None = None
    ) -> int:
        item_id = next(self._ids)
        self._items[item_id] = HierarchyItem(item_id, name, parent, level, data_node_id)
        if parent is not None:
            self._items[parent].children.append(item_id)
        if data_node_id is not None:
            self._by_node[data_node_id] = item_id
        return item_id

    def _add_data_item(self, node: Node, parent: int) -> int:
        return self._new_item(node.name, parent, "", node.id)

    def item(self, item_id: int) -> HierarchyItem:
        try:
            return self._items[int(item_id)]
        except KeyError:
            raise HierarchyError(f"the subject hierarchy has no item {item_id}") from None

    def has_item(self, item_id: int) -> bool:
        return int(item_id) in self._items

    def item_ids(self) -> list[int]:
        """Every item ID, the scene item first, then depth-first in child order."""
        return [self.scene_item_id, *self.children(self.scene_item_id, recursive=True)]

    def create_item(self, parent: int, name: str, level: str = "") -> int:
        """A new item without a data node (a subject, study or folder) under ``parent``."""
        self.item(parent)
        item_id = self._new_item(str(name), int(parent), str(level))
        self.modified()
        return item_id

    def item_of_node(self, node_id: str) -> int:
        """The item of a data node, or INVALID_ITEM_ID."""
        return self._by_node.get(node_id, INVALID_ITEM_ID)

    def ensure_data_item(self, node: Node, parent: int) -> int:
        """The data node's item under ``parent`` (made if the node has none yet)."""
        item_id = self.item_of_node(node.id)
        if item_id == INVALID_ITEM_ID:
            self.item(parent)
            item_id = self._add_data_item(node, int(parent))
            self.modified()
        else:
            self.set_parent(item_id, parent)
        return item_id

    def name_of(self, item_id: int) -> str:
        """The item's name; a data item is named as its node (renaming one renames the other)."""
        item = self.item(item_id)
        node = self._data_node(item)
        return node.name if node is not None else item.name

    def set_name(self, item_id: int, name: str) -> None:
        item = self.item(item_id)
        node = self._data_node(item)
        if node is not None:
            node.name = str(name)
        item.name = str(name)
        self.modified()

    def _data_node(self, item: HierarchyItem) -> Node | None:
        if item.data_node_id is None or self.scene is None:
            return None
        return self.scene.get_node_by_id(item.data_node_id)

    def data_node_id(self, item_id: int) -> str | None:
        return self.item(item_id).data_node_id

    def parent_of(self, item_id: int) -> int:
        parent = self.item(item_id).parent
        return INVALID_ITEM_ID if parent is None else parent

    def set_parent(self, item_id: int, parent: int) -> None:
        """Move an item (and its branch) under ``parent``; HierarchyError on a cycle."""
        item, new_parent = self.item(item_id), self.item(parent)
        if item.id == self.scene_item_id:
            raise HierarchyError("the scene item cannot be moved")
        walk: HierarchyItem | None = new_parent
        while walk is not None:
            if walk.id == item.id:
                raise HierarchyError(
                    f"moving item {item.id} under {new_parent.id} would put it inside itself"
                )
            walk = self._items.get(walk.parent) if walk.parent is not None else None
        if item.parent == new_parent.id:
            return
        if item.parent is not None:
            self._items[item.parent].children.remove(item.id)
        new_parent.children.append(item.id)
        item.parent = new_parent.id
        self.modified()

    def move_before(self, item_id: int, before_id: int) -> None:
        """Put an item just before a sibling (or last, for INVALID_ITEM_ID)."""
        item = self.item(item_id)
        if item.parent is None:
            raise HierarchyError("the scene item cannot be moved")
        siblings = self._items[item.parent].children
        if before_id != INVALID_ITEM_ID and before_id not in siblings:
            self.set_parent(item.id, self.parent_of(before_id))
            siblings = self._items[item.parent].children
        siblings.remove(item.id)
        index = siblings.index(before_id) if before_id in siblings else len(siblings)
        siblings.insert(index, item.id)
        self.modified()

    def children(self, item_id: int, recursive: bool = False) -> list[int]:
        """Child IDs in order; with ``recursive`` the whole branch, depth first."""
        out: list[int] = []
        for child in self.item(item_id).children:
            out.append(child)
            if recursive:
                out.extend(self.children(child, recursive=True))
        return out

    def find(self, name: str, parent: int | None = None, recursive: bool = True) -> int:
        """The first item named ``name`` (under ``parent`` if given), or INVALID_ITEM_ID."""
        candidates = (
            self.item_ids()[1:] if parent is None else self.children(parent, recursive=recursive)
        )
        for item_id in candidates:
            if self.name_of(item_id) == name:
                return item_id
        return INVALID_ITEM_ID

    def find_by_uid(self, uid_name: str, uid: str) -> int:
        for item_id in self.item_ids():
            if self._items[item_id].uids.get(uid_name) == uid:
                return item_id
        return INVALID_ITEM_ID

    def remove_item(self, item_id: int, recursive: bool = True) -> list[str]:
        """Remove an item (with its branch when ``recursive``; else its children move up).

        Returns the data node IDs of the removed items; the caller decides whether those
        nodes leave the scene too. The scene item itself stays: removing it empties the tree.
        """
        item = self.item(item_id)
        if item.id == self.scene_item_id:
            removed: list[str] = []
            for child in list(item.children):
                removed += self.remove_item(child, recursive)
            return removed
        branch = [item.id, *self.children(item.id, recursive=True)] if recursive else [item.id]
        node_ids = [
            self._items[i].data_node_id for i in branch if self._items[i].data_node_id is not None
        ]
        self._drop(item.id, keep_children=not recursive)
        self.modified()
        return node_ids  # type: ignore[return-value]

    def _drop(self, item_id: int, keep_children: bool) -> None:
        item = self._items[item_id]
        parent = self._items[item.parent] if item.parent is not None else None
        position = parent.children.index(item_id) if parent is not None else 0
        if parent is not None:
            parent.children.remove(item_id)
        for child in list(item.children):
            if keep_children and parent is not None:
                self._items[child].parent = parent.id
                parent.children.insert(position, child)
                position += 1
            else:
                self._drop(child, keep_children=False)
        del self._items[item_id]
        if item.data_node_id is not None and self._by_node.get(item.data_node_id) == item_id:
            del self._by_node[item.data_node_id]

    def set_attribute(self, item_id: int, key: str, value: str) -> None:
        self.item(item_id).attributes[str(key)] = str(value)
        self.modified()

    def remove_attribute(self, item_id: int, key: str) -> bool:
        found = self.item(item_id).attributes.pop(str(key), None) is not None
        if found:
            self.modified()
        return found

    def set_level(self, item_id: int, level: str) -> None:
        self.item(item_id).level = str(level)
        self.modified()

    def set_uid(self, item_id: int, uid_name: str, uid: str) -> None:
        self.item(item_id).uids[str(uid_name)] = str(uid)
        self.modified()

    def data_nodes_in_branch(self, item_id: int) -> list[Node]:
        """The scene nodes of an item and everything under it, in tree order."""
        nodes = []
        for i in [int(item_id), *self.children(item_id, recursive=True)]:
            node = self._data_node(self.item(i))
            if node is not None:
                nodes.append(node)
        return nodes

    # ------------------------------------------------------------------ properties
    def extra_properties(self) -> dict[str, Any]:
        """The tree for ``/mrml/properties``: one entry per item, in tree order."""
        rows = []
        for item_id in self.item_ids():
            item = self._items[item_id]
            row: dict[str, Any] = {
                "ID": item.id,
                "Name": self.name_of(item.id),
                "Parent": INVALID_ITEM_ID if item.parent is None else item.parent,
                "Level": item.level,
                "Children": list(item.children),
            }
            if item.data_node_id is not None:
                row["DataNodeID"] = item.data_node_id
            if item.attributes:
                row["Attributes"] = dict(item.attributes)
            if item.uids:
                row["UIDs"] = dict(item.uids)
            rows.append(row)
        return {"SceneItemID": self.scene_item_id, "Items": rows}


def subject_hierarchy(scene: Scene) -> SubjectHierarchy:
    """The scene's subject hierarchy node, made (and filled from the scene) on first use."""
    with scene.lock:
        for node in scene.nodes_of_class(SubjectHierarchy.slicer_class):
            if isinstance(node, SubjectHierarchy):
                return node
        hierarchy = SubjectHierarchy()
        scene.add(hierarchy)
        hierarchy.attach(scene)
        return hierarchy


__all__ = [
    "INVALID_ITEM_ID",
    "HierarchyError",
    "HierarchyItem",
    "SubjectHierarchy",
    "subject_hierarchy",
]
