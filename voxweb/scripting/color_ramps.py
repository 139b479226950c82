"""Standard continuous color tables (Grey, Iron, Rainbow, Viridis, PET-Heat...) as color nodes.

The ramps are the ones the slice renderer draws (:mod:`voxweb.render.colormaps`), so
``GetColor(i)`` answers with the colour a voxel at that point of the window shows. They are
read-only: Slicer's built-in tables are not edited in place either (copy one into a new
``vtkMRMLColorTableNode`` to change it).
"""

from __future__ import annotations

from typing import Any

from voxweb.render import colormaps
from voxweb.scripting.colors import ColorTableView, color_node_id, provide_named_colors


class vtkMRMLProceduralColorRampNode(ColorTableView):  # noqa: N801
    """A named 256-entry ramp; class name as Slicer reports for its standard tables."""

    def __init__(self, name: str) -> None:
        self._ramp_name = name
        super().__init__(name=name)

    def GetClassName(self) -> str:  # noqa: N802
        return (
            "vtkMRMLColorTableNode"
            if self.GetID().startswith("vtkMRMLColorTable")
            else ("vtkMRMLPETProceduralColorNode")
        )

    def IsA(self, name: str) -> bool:  # noqa: N802
        return name in (self.GetClassName(), "vtkMRMLColorTableNode", "vtkMRMLColorNode",
                        "vtkMRMLProceduralColorNode", "vtkMRMLNode")  # fmt: skip

    def GetID(self) -> str:  # noqa: N802
        return color_node_id(self._ramp_name)

    def GetName(self) -> str:  # noqa: N802
        return self._ramp_name

    def GetNumberOfColors(self) -> int:  # noqa: N802
        return colormaps.SIZE

    def GetColor(self, index: int, out: Any = None) -> Any:  # noqa: N802
        index = int(index)
        if not 0 <= index < colormaps.SIZE:
            if out is not None:
                return False
            raise IndexError(f"{self._ramp_name} has {colormaps.SIZE} colors, not index {index}")
        rgba = tuple(float(v) for v in colormaps.ramp(self._ramp_name)[index])
        if out is not None:
            for i, value in enumerate(rgba[: len(out)]):
                out[i] = value
            return True
        return rgba

    def GetColorName(self, index: int) -> str:  # noqa: N802
        return f"{self._ramp_name}{int(index):03d}"

    def GetLookupTable(self) -> Any:  # noqa: N802
        """A real vtkLookupTable with the ramp (a copy: edits do not change the table)."""
        from vtkmodules.vtkCommonCore import vtkLookupTable

        table = vtkLookupTable()
        table.SetNumberOfTableValues(colormaps.SIZE)
        for index, rgba in enumerate(colormaps.ramp(self._ramp_name)):
            table.SetTableValue(index, *[float(v) for v in rgba])
        table.SetRange(0, colormaps.SIZE - 1)
        table.Build()
        return table

    def SetColor(self, *args: Any) -> int:  # noqa: N802
        raise NotImplementedError(
            f"voxweb's standard table {self._ramp_name!r} is read-only; make a "
            "vtkMRMLColorTableNode of your own to edit colors"
        )

    SetColorName = SetColor  # noqa: N815
    SetNumberOfColors = SetColor  # noqa: N815


@provide_named_colors
def ramp_color_node(name: str) -> vtkMRMLProceduralColorRampNode | None:
    """The color node of a standard ramp, or None if ``name`` is not one."""
    return vtkMRMLProceduralColorRampNode(name) if colormaps.has_ramp(name) else None


__all__ = ["ramp_color_node", "vtkMRMLProceduralColorRampNode"]
