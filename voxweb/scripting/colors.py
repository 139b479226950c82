"""Color nodes: Slicer's standard color node IDs and ``vtkMRMLColorTableNode`` views.

Volume display properties store a color table *name* (``Grey``, ``Iron``...); scripts speak
in color node IDs (``vtkMRMLColorTableNodeGrey``, ``vtkMRMLColorTableNodeFileGenericAnatomy
Colors.txt``, ``vtkMRMLPETProceduralColorNodePET-Heat``). This module maps between the two
and gives label-map color tables a view with Slicer's table methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from voxweb.scene.nodes import ColorEntry, ColorTable, ColorTableNode, Node
from voxweb.scripting.node import vtkMRMLNode
from voxweb.scripting.registry import register, remember_synthetic

# Prefixes of standard color node IDs, longest first.
_PREFIXES = (
    "vtkMRMLColorTableNodeFile",
    "vtkMRMLPETProceduralColorNode",
    "vtkMRMLProceduralColorNodeFile",
    "vtkMRMLProceduralColorNode",
    "vtkMRMLdGEMRICProceduralColorNode",
    "vtkMRMLColorTableNode",
)
# Tables whose IDs carry a file name.
_FILE_TABLES = {"GenericAnatomyColors", "GenericColors", "ColdToHotRainbow", "Viridis",
                "Magma", "Inferno", "Plasma", "Cividis"}  # fmt: skip
_PET_TABLES = {"PET-Heat", "PET-Rainbow", "PET-MaximumIntensityProjection"}


def color_name_from_id(node_id: str | None) -> str:
    """``vtkMRMLColorTableNodeIron`` -> ``Iron``; file IDs lose ``.txt``/``.ctbl``."""
    if not node_id:
        return "Grey"
    text = str(node_id)
    for prefix in _PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    for suffix in (".txt", ".ctbl", ".csv"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return text or "Grey"


def color_node_id(name: str) -> str:
    if name in _FILE_TABLES:
        return f"vtkMRMLColorTableNodeFile{name}.txt"
    if name in _PET_TABLES:
        return f"vtkMRMLPETProceduralColorNode{name}"
    return f"vtkMRMLColorTableNode{name}"


class _TableMethods:
    """Slicer's color table calls over ``self._table`` (a ColorTable)."""

    _table: ColorTable

    def _changed(self) -> None:
        raise NotImplementedError

    def SetTypeToUser(self) -> None:  # noqa: N802
        return None

    def SetNamesInitialised(self, on: Any) -> None:  # noqa: N802
        return None  # names are never generated over the ones a script sets

    def GetNumberOfColors(self) -> int:  # noqa: N802
        return (max(self._table.entries) + 1) if self._table.entries else 0

    def SetNumberOfColors(self, count: int) -> None:  # noqa: N802
        for value in [v for v in self._table.entries if v >= int(count)]:
            del self._table.entries[value]

    def GetColor(self, index: int, out: Any = None) -> Any:  # noqa: N802
        rgba = self._table.color_of(int(index))
        if out is not None:
            for i, value in enumerate(rgba[: len(out)]):
                out[i] = value
            return True
        return rgba

    def SetColor(self, index: int, *args: Any) -> int:  # noqa: N802
        """SetColor(i, name, r, g, b[, a]) or SetColor(i, r, g, b[, a])."""
        if args and isinstance(args[0], str):
            name, rgba = args[0], args[1:]
        else:
            name, rgba = self.GetColorName(index), args
        values = [float(v) for v in rgba]
        if len(values) == 3:
            values.append(1.0)
        if len(values) != 4:
            raise TypeError("SetColor needs r, g, b and optionally a")
        self._table.entries[int(index)] = ColorEntry(str(name), tuple(values))  # type: ignore[arg-type]
        self._changed()
        return 1

    def GetColorName(self, index: int) -> str:  # noqa: N802
        entry = self._table.entries.get(int(index))
        return entry.name if entry else ("background" if int(index) == 0 else f"Label{index}")

    def SetColorName(self, index: int, name: str) -> None:  # noqa: N802
        rgba = self._table.color_of(int(index))
        self._table.entries[int(index)] = ColorEntry(str(name), rgba)
        self._changed()

    def GetColorIndexByName(self, name: str) -> int:  # noqa: N802
        for value, entry in self._table.entries.items():
            if entry.name == name:
                return value
        return -1


@register
class vtkMRMLColorTableNode(vtkMRMLNode, _TableMethods):  # noqa: N801
    """A color table node of the scene (made by scripts)."""

    scene_class = ColorTableNode

    @property
    def _table(self) -> ColorTable:  # type: ignore[override]
        return self._node.table

    def _changed(self) -> None:
        self._node.modified()


class ColorTableView(_TableMethods):
    """A color table view: a label map's own table, or a named standard table."""

    def __init__(self, table: ColorTable | None = None, name: str | None = None) -> None:
        self._table = table if table is not None else ColorTable(name=name or "Labels")
        self._owner: Node | None = None
        remember_synthetic(self.GetID(), self)

    def __repr__(self) -> str:
        return f"<vtkMRMLColorTableNode {self.GetID()}>"

    def UnRegister(self, other: Any = None) -> None:  # noqa: N802
        return None

    def GetID(self) -> str:  # noqa: N802
        return color_node_id(self._table.name)

    def GetName(self) -> str:  # noqa: N802
        return self._table.name

    def SetName(self, name: str) -> None:  # noqa: N802
        self._table.name = str(name)

    def GetClassName(self) -> str:  # noqa: N802
        return "vtkMRMLColorTableNode"

    def IsA(self, name: str) -> bool:  # noqa: N802
        return name in ("vtkMRMLColorTableNode", "vtkMRMLColorNode", "vtkMRMLNode")

    def _changed(self) -> None:
        if self._owner is not None:
            self._owner.modified()


def table_view(owner: Node, table: ColorTable) -> ColorTableView:
    views = owner.__dict__.setdefault("_scripting_views", {})
    view = views.get("color")
    if view is None or view._table is not table:
        view = ColorTableView(table)
        view._owner = owner
        views["color"] = view
    return view


_STANDARD: dict[str, ColorTableView] = {}
_NAMED_SOURCES: list[Callable[[str], Any]] = []  # more named colour nodes (ramps)


def standard_color_node(node_id: str) -> ColorTableView | None:
    """A view of a standard table by ID (``vtkMRMLColorTableNodeRed``), or None."""
    if not any(str(node_id).startswith(p) for p in _PREFIXES):
        return None
    name = color_name_from_id(node_id)
    view = _STANDARD.get(name)
    if view is None:
        view = next((v for v in (s(name) for s in _NAMED_SOURCES) if v), None)
        view = view or ColorTableView(name=name)
        _STANDARD[name] = view
    return view


def provide_named_colors(source: Callable[[str], Any]) -> Callable[[str], Any]:
    """Another source of standard colour nodes by name (the procedural ramps register here)."""
    _NAMED_SOURCES.append(source)
    return source


__all__ = ["color_name_from_id", "color_node_id", "standard_color_node", "table_view"]
