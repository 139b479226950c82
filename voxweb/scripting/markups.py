"""Markups nodes: the point list (``vtkMRMLMarkupsFiducialNode``) and its control points."""

from __future__ import annotations

from typing import Any

from voxweb.scene.nodes import MarkupsFiducial
from voxweb.scripting.registry import register
from voxweb.scripting.transformable import vtkMRMLTransformableNode, world_matrix


def _position(args: tuple[Any, ...]) -> list[float]:
    values = args[0] if len(args) == 1 else args[:3]
    return [float(v) for v in list(values)[:3]]


@register
class vtkMRMLMarkupsNode(vtkMRMLTransformableNode):  # noqa: N801
    def GetNumberOfControlPoints(self) -> int:  # noqa: N802
        return len(self._node.control_points)

    def AddControlPoint(self, *args: Any) -> int:  # noqa: N802
        """AddControlPoint([x, y, z][, label]) or AddControlPoint(x, y, z[, label])."""
        if len(args) >= 3 and not hasattr(args[0], "__len__"):
            point, label = args[:3], (args[3] if len(args) > 3 else None)
        else:
            point, label = args[0], (args[1] if len(args) > 1 else None)
        self._node.add_point([float(v) for v in list(point)[:3]], label or None)
        return len(self._node.control_points) - 1

    def SetNthControlPointPosition(self, index: int, *position: Any) -> None:  # noqa: N802
        self._node.set_point_position(int(index), _position(position))

    def GetNthControlPointPosition(self, index: int, out: Any = None) -> Any:  # noqa: N802
        position = [float(v) for v in self._node.control_points[int(index)].position]
        if out is not None:
            out[:3] = position
            return out
        return position

    def GetNthControlPointPositionWorld(self, index: int, out: Any = None) -> Any:  # noqa: N802
        local = self.GetNthControlPointPosition(index)
        m = world_matrix(self)
        world = [float(v) for v in (m[:3, :3] @ local + m[:3, 3])]
        if out is not None:
            out[:3] = world
            return out
        return world

    def GetNthControlPointLabel(self, index: int) -> str:  # noqa: N802
        return self._node.control_points[int(index)].label

    def SetNthControlPointLabel(self, index: int, label: str) -> None:  # noqa: N802
        self._node.control_points[int(index)].label = str(label)
        self._node.modified()

    def RemoveAllControlPoints(self) -> None:  # noqa: N802
        self._node.control_points.clear()
        self._node.modified()

    def RemoveNthControlPoint(self, index: int) -> None:  # noqa: N802
        del self._node.control_points[int(index)]
        self._node.modified()


@register
class vtkMRMLMarkupsFiducialNode(vtkMRMLMarkupsNode):  # noqa: N801
    scene_class = MarkupsFiducial
