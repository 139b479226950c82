"""View and layout singleton nodes: slice views (Red/Yellow/Green), 3-D views and the layout.

Minimal on purpose: enough state for the scene to list them (Slicer's ``vtkMRMLNode`` query
includes them) and for rendering to find orientation, offset and field of view. No drawing,
no HTTP here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voxweb.scene import geometry
from voxweb.scene.nodes import Node

_VIEW_CHAIN = ("vtkMRMLAbstractViewNode", "vtkMRMLNode")

#: The default slice views: name -> (orientation, layout color).
DEFAULT_SLICE_VIEWS: dict[str, str] = {"Red": "Axial", "Yellow": "Sagittal", "Green": "Coronal"}


class Layout(Node):
    """The application layout singleton; ``layout_name`` is a Slicer layout such as ``FourUp``."""

    slicer_class = "vtkMRMLLayoutNode"
    slicer_classes = ("vtkMRMLLayoutNode", "vtkMRMLAbstractLayoutNode", "vtkMRMLNode")
    default_name = "Layout"

    def __init__(self, layout_name: str = "FourUp") -> None:
        super().__init__("Layout")
        self.singleton_tag = "vtkMRMLLayoutNode"
        self.layout_name: str = layout_name


class SliceView(Node):
    """A 2-D slice view: orientation preset, offset along its normal (mm), field of view (mm).

    ``field_of_view`` is (width, height, thickness) in mm and ``dimensions`` is the image size
    (width, height, 1) in pixels, as in Slicer's slice node.
    """

    slicer_class = "vtkMRMLSliceNode"
    slicer_classes = ("vtkMRMLSliceNode",) + _VIEW_CHAIN
    default_name = "Slice"

    def __init__(self, name: str = "Red", orientation: str | None = None) -> None:
        super().__init__(name)
        self.singleton_tag = name
        self.orientation: str = orientation or DEFAULT_SLICE_VIEWS.get(name, "Axial")
        self.offset: float = 0.0
        self.field_of_view: tuple[float, float, float] = (250.0, 250.0, 1.0)
        self.dimensions: tuple[int, int, int] = (256, 256, 1)
        self.visible_in_3d: bool = False

    def slice_to_ras(self) -> np.ndarray:
        """4x4 matrix: slice plane (x, y, normal) -> RAS, translated by ``offset`` along the normal."""
        m = np.eye(4)
        m[:3, :3] = geometry.orientation_matrix(self.orientation)
        m[:3, 3] = m[:3, 2] * self.offset
        return m

    def set_field_of_view(self, fov: Sequence[float]) -> None:
        values = [float(v) for v in fov]
        if len(values) == 2:
            values.append(self.field_of_view[2])
        self.field_of_view = tuple(values[:3])  # type: ignore[assignment]


class ThreeDView(Node):
    """A 3-D view (Slicer's view node ``View1``); camera state comes in a later issue."""

    slicer_class = "vtkMRMLViewNode"
    slicer_classes = ("vtkMRMLViewNode",) + _VIEW_CHAIN
    default_name = "View"

    def __init__(self, tag: str = "1") -> None:
        super().__init__(f"View{tag}")
        self.singleton_tag = tag
        self.background: tuple[float, float, float] = (
            0.7568627450980392,
            0.7647058823529411,
            0.9098039215686274,
        )
