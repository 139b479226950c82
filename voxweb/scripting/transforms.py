"""Transform nodes: linear transforms as ``vtkMatrix4x4``/``vtkTransform``, grid transforms.

``vtkMRMLTransformNode()`` and ``vtkMRMLLinearTransformNode()`` both make a linear
transform (Slicer's generic transform node starts linear too). Matrices go in and out as real
VTK matrices; the scene keeps the 4x4 to-parent matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxweb.scene.nodes import GridTransform, LinearTransform
from voxweb.scripting.registry import register
from voxweb.scripting.transformable import vtkMRMLTransformableNode, world_matrix
from voxweb.scripting.vtkconvert import fill_matrix, matrix_array

TRANSFORM_MODIFIED_EVENT = 15000  # vtkMRMLTransformableNode::TransformModifiedEvent


def _vtk_transform(matrix: np.ndarray) -> Any:
    from vtkmodules.vtkCommonTransforms import vtkTransform

    transform = vtkTransform()
    transform.SetMatrix(fill_matrix(None, matrix))
    return transform


@register
class vtkMRMLTransformNode(vtkMRMLTransformableNode):  # noqa: N801
    scene_class = LinearTransform
    TransformModifiedEvent = TRANSFORM_MODIFIED_EVENT

    def _linear(self) -> LinearTransform:
        node = self._node
        if not isinstance(node, LinearTransform):
            raise TypeError(f"{node.name!r} is a grid transform, not a linear one")
        return node

    def IsLinear(self) -> bool:  # noqa: N802
        return isinstance(self._node, LinearTransform)

    def GetMatrixTransformToParent(self, out: Any = None) -> Any:  # noqa: N802
        return fill_matrix(out, self._linear().matrix_to_parent)

    def SetMatrixTransformToParent(self, matrix: Any) -> None:  # noqa: N802
        self._linear().matrix_to_parent = matrix_array(matrix)

    SetAndObserveMatrixTransformToParent = SetMatrixTransformToParent  # noqa: N815

    def GetMatrixTransformFromParent(self, out: Any = None) -> Any:  # noqa: N802
        return fill_matrix(out, np.linalg.inv(self._linear().matrix_to_parent))

    def SetMatrixTransformFromParent(self, matrix: Any) -> None:  # noqa: N802
        self._linear().matrix_to_parent = np.linalg.inv(matrix_array(matrix))

    SetAndObserveMatrixTransformFromParent = SetMatrixTransformFromParent  # noqa: N815

    def GetMatrixTransformToWorld(self, out: Any = None) -> Any:  # noqa: N802
        return fill_matrix(out, world_matrix(self) @ self._linear().matrix_to_parent)

    def GetMatrixTransformFromWorld(self, out: Any = None) -> Any:  # noqa: N802
        to_world = world_matrix(self) @ self._linear().matrix_to_parent
        return fill_matrix(out, np.linalg.inv(to_world))

    def GetMatrixTransformToNode(self, other: Any, out: Any = None) -> Any:  # noqa: N802
        to_world = world_matrix(self) @ self._linear().matrix_to_parent
        other_world = np.eye(4)
        if other is not None:
            other_world = world_matrix(other) @ other._linear().matrix_to_parent
        return fill_matrix(out, np.linalg.inv(other_world) @ to_world)

    def GetTransformToParent(self) -> Any:  # noqa: N802
        return _vtk_transform(self._linear().matrix_to_parent)

    def GetTransformFromParent(self) -> Any:  # noqa: N802
        return _vtk_transform(np.linalg.inv(self._linear().matrix_to_parent))

    def SetAndObserveTransformToParent(self, transform: Any) -> None:  # noqa: N802
        self._linear().matrix_to_parent = matrix_array(transform.GetMatrix())

    def SetAndObserveTransformFromParent(self, transform: Any) -> None:  # noqa: N802
        self._linear().matrix_to_parent = np.linalg.inv(matrix_array(transform.GetMatrix()))

    def GetTransformToWorld(self, out: Any = None) -> Any:  # noqa: N802
        to_world = world_matrix(self) @ self._linear().matrix_to_parent
        if out is not None and hasattr(out, "SetMatrix"):
            out.SetMatrix(fill_matrix(None, to_world))
            return out
        return _vtk_transform(to_world)

    def Inverse(self) -> None:  # noqa: N802
        node = self._linear()
        node.matrix_to_parent = np.linalg.inv(node.matrix_to_parent)

    def TransformPointToWorld(self, point: Any, out: Any = None) -> Any:  # noqa: N802
        to_world = world_matrix(self) @ self._linear().matrix_to_parent
        result = (to_world @ np.append(np.asarray(point, dtype=float)[:3], 1.0))[:3]
        if out is not None:
            out[:3] = result
            return out
        return tuple(result)

    def IsTransformToWorldLinear(self) -> bool:  # noqa: N802
        return self.IsLinear()


def _to_world(node: Any) -> np.ndarray:
    """A transform node's own matrix composed with its parents; identity for None."""
    if node is None:
        return np.eye(4)
    return world_matrix(node) @ node._linear().matrix_to_parent


def _between(source: Any, target: Any) -> np.ndarray:
    return np.linalg.inv(_to_world(target)) @ _to_world(source)


def _get_transform_between_nodes(source: Any, target: Any, out: Any) -> Any:
    """Fill ``out`` (vtkGeneralTransform/vtkTransform) with source -> target (None: world)."""
    matrix = fill_matrix(None, _between(source, target))
    out.Identity()
    out.Concatenate(matrix)
    return out


def _get_matrix_transform_between_nodes(source: Any, target: Any, out: Any = None) -> Any:
    return fill_matrix(out, _between(source, target))


vtkMRMLTransformNode.GetTransformBetweenNodes = staticmethod(_get_transform_between_nodes)
vtkMRMLTransformNode.GetMatrixTransformBetweenNodes = staticmethod(
    _get_matrix_transform_between_nodes
)
vtkMRMLTransformNode.IsGeneralTransformLinear = staticmethod(lambda transform, out=None: True)


@register
class vtkMRMLLinearTransformNode(vtkMRMLTransformNode):  # noqa: N801
    scene_class = LinearTransform


@register
class vtkMRMLGridTransformNode(vtkMRMLTransformNode):  # noqa: N801
    scene_class = GridTransform

    def IsLinear(self) -> bool:  # noqa: N802
        return False


__all__ = ["vtkMRMLGridTransformNode", "vtkMRMLLinearTransformNode", "vtkMRMLTransformNode"]
