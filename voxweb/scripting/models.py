"""Model nodes: a triangle surface handed out as ``vtkPolyData``."""

from __future__ import annotations

from typing import Any

from voxweb.scene.nodes import Model
from voxweb.scripting.registry import register
from voxweb.scripting.transformable import vtkMRMLTransformableNode
from voxweb.scripting.vtkconvert import arrays_from_polydata, polydata_from


@register
class vtkMRMLModelNode(vtkMRMLTransformableNode):  # noqa: N801
    scene_class = Model

    def GetPolyData(self) -> Any:  # noqa: N802
        return polydata_from(self._node.vertices, self._node.faces)

    def SetAndObservePolyData(self, poly: Any) -> None:  # noqa: N802
        vertices, faces = arrays_from_polydata(poly)
        node = self._node
        node.vertices, node.faces, node.normals = vertices, faces, None
