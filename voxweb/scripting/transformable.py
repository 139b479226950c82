"""Methods every transformable node shares: parent transform, world matrix, hardening.

``SetAndObserveTransformNodeID`` puts a node under a transform (the scene checks the chain);
``HardenTransform`` bakes the node's world transform into its data and detaches it, per family:
a volume's IJK-to-RAS matrix, markup control points, model points, a transform's matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxweb.scene.markups import MarkupsNode
from voxweb.scene.nodes import (
    LinearTransform,
    Model,
    ScalarVolume,
    Segmentation,
)
from voxweb.scripting.node import vtkMRMLNode
from voxweb.scripting.registry import register, unwrap, wrap
from voxweb.scripting.vtkconvert import fill_matrix


def world_matrix(node: Any) -> np.ndarray:
    """The 4x4 from the node's coordinates to world (identity without a parent)."""
    node = unwrap(node)
    parent = getattr(node, "parent_transform_id", None)
    if not parent or node.scene is None:
        return np.eye(4)
    return node.scene.transform_to_world(parent)


def harden(node: Any) -> None:
    """Apply the parent chain to the node's own data, then detach it."""
    node = unwrap(node)
    matrix = world_matrix(node)
    if isinstance(node, ScalarVolume):
        node.ijk_to_ras = matrix @ node.ijk_to_ras
    elif isinstance(node, MarkupsNode):
        node.apply_transform(matrix)  # points, and an ROI's or plane's own axes
    elif isinstance(node, Model):
        node.vertices = (matrix[:3, :3] @ node.vertices.T).T + matrix[:3, 3]
        if node.normals is not None:
            normals = (np.linalg.inv(matrix[:3, :3]).T @ np.asarray(node.normals).T).T
            node.normals = normals / np.maximum(np.linalg.norm(normals, axis=1), 1e-12)[:, None]
    elif isinstance(node, LinearTransform):
        node.matrix_to_parent = matrix @ node.matrix_to_parent
    elif isinstance(node, Segmentation):
        node.ijk_to_ras = matrix @ node.ijk_to_ras
    else:
        raise TypeError(f"voxweb cannot harden a transform on a {node.slicer_class}")
    if node.scene is not None:
        node.scene.set_parent_transform(node, None)
    else:
        node.parent_transform_id = None


@register
class vtkMRMLTransformableNode(vtkMRMLNode):  # noqa: N801
    def SetAndObserveTransformNodeID(self, transform_id: str | None) -> None:  # noqa: N802
        node = self._node
        if node.scene is None:
            node.parent_transform_id = transform_id or None
        else:
            node.scene.set_parent_transform(node, transform_id or None)

    def SetAndObserveTransformNode(self, transform: Any) -> None:  # noqa: N802
        self.SetAndObserveTransformNodeID(None if transform is None else transform.GetID())

    def GetTransformNodeID(self) -> str | None:  # noqa: N802
        return self._node.parent_transform_id

    def GetParentTransformNode(self) -> Any:  # noqa: N802
        parent = self._node.parent_transform_id
        if not parent or self._node.scene is None:
            return None
        return wrap(self._node.scene.get_node_by_id(parent))

    def HardenTransform(self) -> None:  # noqa: N802
        harden(self)

    def CanApplyNonLinearTransforms(self) -> bool:  # noqa: N802
        return False

    def ApplyTransformMatrix(self, matrix: Any) -> None:  # noqa: N802
        from voxweb.scripting.vtkconvert import matrix_array

        node = self._node
        saved = node.parent_transform_id
        node.__dict__["parent_transform_id"] = None
        try:
            m = matrix_array(matrix)
            temp = LinearTransform(m)
            if node.scene is not None:
                node.scene.add(temp)
                node.scene.set_parent_transform(node, temp.id)
                harden(node)
                node.scene.remove(temp)
            else:
                raise ValueError("add the node to the scene before applying a matrix to it")
        finally:
            if saved and node.scene is not None:
                node.scene.set_parent_transform(node, saved)

    def GetTransformToWorld(self, out: Any = None) -> Any:  # noqa: N802
        return fill_matrix(out, world_matrix(self))


__all__ = ["harden", "vtkMRMLTransformableNode", "world_matrix"]
