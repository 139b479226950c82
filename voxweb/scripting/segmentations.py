"""Segmentation nodes (binary labelmap representation)."""

from __future__ import annotations

from voxweb.scene.nodes import Segmentation
from voxweb.scripting.registry import register
from voxweb.scripting.transformable import vtkMRMLTransformableNode


@register
class vtkMRMLSegmentationNode(vtkMRMLTransformableNode):  # noqa: N801
    scene_class = Segmentation
