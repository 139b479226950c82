"""Slicer's legacy annotation ROI: an axis-aligned box given by its centre and half-sizes.

Old scripts (and crop volume) still make ``vtkMRMLAnnotationROINode`` boxes; this keeps the
box as state (RAS centre, radius per axis, visibility) under an optional parent transform.
No drawing here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from voxweb.scene.nodes import TransformableNode


class AnnotationROI(TransformableNode):
    slicer_class = "vtkMRMLAnnotationROINode"
    slicer_classes = (
        "vtkMRMLAnnotationROINode",
        "vtkMRMLAnnotationNode",
        "vtkMRMLDisplayableNode",
        "vtkMRMLTransformableNode",
        "vtkMRMLStorableNode",
        "vtkMRMLNode",
    )
    default_name = "R"

    def __init__(
        self,
        center: Sequence[float] = (0.0, 0.0, 0.0),
        radius: Sequence[float] = (0.0, 0.0, 0.0),
        name: str = "",
    ) -> None:
        super().__init__(name)
        self.center: np.ndarray = np.array(center, dtype=float).reshape(3)
        self.radius: np.ndarray = np.array(radius, dtype=float).reshape(3)
        self.visible: bool = True

    def bounds(self) -> np.ndarray:
        """(xmin, xmax, ymin, ymax, zmin, zmax) in the node's coordinates."""
        low, high = self.center - np.abs(self.radius), self.center + np.abs(self.radius)
        return np.column_stack([low, high]).reshape(-1)

    def extra_properties(self) -> dict[str, Any]:
        return {
            "XYZ": [float(v) for v in self.center],
            "RadiusXYZ": [float(v) for v in self.radius],
            "Visibility": bool(self.visible),
        }


__all__ = ["AnnotationROI"]
