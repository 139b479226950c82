"""View and layout singleton nodes: slice views (Red/Yellow/Green), 3-D views and the layout.

The state the renderers read and the routes change: a slice view's plane (axes, in-plane
centre, offset), field of view and layers; a 3-D view's camera, background and volume
rendering; the layout name. Slicer's ``vtkMRMLNode`` query lists them too. No drawing, no
HTTP here (``voxweb.render`` draws them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voxweb.scene import geometry
from voxweb.scene.nodes import Node

_VIEW_CHAIN = ("vtkMRMLAbstractViewNode", "vtkMRMLNode")

#: The default slice views: name -> (orientation, layout color).
DEFAULT_SLICE_VIEWS: dict[str, str] = {"Red": "Axial", "Yellow": "Sagittal", "Green": "Coronal"}


#: Slicer's layouts: name -> the number of its ``SlicerLayout<Name>View`` constant.
LAYOUTS: dict[str, int] = {
    "Initial": 0, "Default": 1, "Conventional": 2, "FourUp": 3, "OneUp3D": 4,
    "OneUpRedSlice": 6, "OneUpYellowSlice": 7, "OneUpGreenSlice": 8, "Tabbed3D": 9,
    "TabbedSlice": 10, "Compare": 12, "None": 14, "Dual3D": 15, "ConventionalWidescreen": 16,
    "CompareWidescreen": 17, "Triple3DEndoscopy": 19, "ThreeOverThree": 21, "FourOverFour": 22,
    "CompareGrid": 23, "TwoOverTwo": 27, "SideBySide": 29, "FourByThreeSlice": 30,
    "FourByTwoSlice": 31, "FiveByTwoSlice": 32, "ThreeByThreeSlice": 33, "FourUpTable": 34,
    "3DTable": 35, "ConventionalPlot": 36, "FourUpPlot": 37, "FourUpPlotTable": 38,
    "OneUpPlot": 39, "ThreeOverThreePlot": 40, "DicomBrowser": 41, "DualMonitorFourUp": 42,
    "Final": 43, "Maximized": 98, "Custom": 99, "User": 100,
}  # fmt: skip


#: Where the views of a layout go: rows of view names, 3-D views as "3D:<tag>"; a name repeated
#: in a row or column spans cells. Screenshots and the viewer page (via /api/layouts) use it.
LAYOUT_GRIDS: dict[str, list[list[str]]] = {
    "FourUp": [["Red", "3D:1"], ["Yellow", "Green"]],
    "Conventional": [["3D:1"], ["Red", "Yellow", "Green"]],
    "ConventionalWidescreen": [["3D:1", "Red"], ["3D:1", "Yellow"], ["3D:1", "Green"]],
    "OneUp3D": [["3D:1"]],
    "OneUpRedSlice": [["Red"]],
    "OneUpYellowSlice": [["Yellow"]],
    "OneUpGreenSlice": [["Green"]],
    "SideBySide": [["Red", "Yellow"]],
    "Dual3D": [["3D:1", "3D:2"], ["Red", "Yellow", "Green"]],
    "TwoOverTwo": [["Red", "Yellow"], ["Green", "3D:1"]],
    "ThreeOverThree": [["Red", "Yellow", "Green"], ["3D:1", "3D:1", "3D:1"]],
    "Tabbed3D": [["3D:1"]],
    "TabbedSlice": [["Red"]],
}

#: The layouts a layout menu offers, in order, with their titles.
LAYOUT_TITLES: dict[str, str] = {
    "FourUp": "Four-up",
    "Conventional": "Conventional",
    "ConventionalWidescreen": "Conventional widescreen",
    "OneUp3D": "3D only",
    "OneUpRedSlice": "Red slice only",
    "OneUpYellowSlice": "Yellow slice only",
    "OneUpGreenSlice": "Green slice only",
    "SideBySide": "Side by side",
    "TwoOverTwo": "Two over two",
    "Dual3D": "Dual 3D",
}


def layout_name(value: str | int) -> str:
    """The layout name for a name in any case or a layout number; ValueError if unknown."""
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(value)
        for name, code in LAYOUTS.items():
            if code == number:
                return name
        raise ValueError(f"Unknown layout number: {number}")
    wanted = str(value).strip().lower()
    for name in sorted(LAYOUTS):
        if name.lower() == wanted:
            return name
    raise ValueError(f"Unknown layout name: {wanted}")


class Selection(Node):
    """Which volumes are active (Slicer's selection singleton)."""

    slicer_class = "vtkMRMLSelectionNode"
    slicer_classes = ("vtkMRMLSelectionNode", "vtkMRMLNode")
    default_name = "Selection"

    def __init__(self) -> None:
        super().__init__("Selection")
        self.singleton_tag = "Singleton"
        self.active_volume_id: str | None = None
        self.active_label_volume_id: str | None = None


class Layout(Node):
    """The application layout singleton; ``layout_name`` is a Slicer layout such as ``FourUp``."""

    slicer_class = "vtkMRMLLayoutNode"
    slicer_classes = ("vtkMRMLLayoutNode", "vtkMRMLAbstractLayoutNode", "vtkMRMLNode")
    default_name = "Layout"

    def __init__(self, layout_name: str = "FourUp") -> None:
        super().__init__("Layout")
        self.singleton_tag = "vtkMRMLLayoutNode"
        self.layout_name: str = layout_name
        self.gui_contents: str = "full"  # Slicer's /gui contents: "viewers" or "full"


class SliceView(Node):
    """A 2-D slice view: orientation, plane position, field of view (mm) and layers.

    ``field_of_view`` is (width, height, thickness) in mm and ``dimensions`` is the image size
    (width, height, 1) in pixels, as in Slicer's slice node. The plane is given by its axes
    (``rotation``: columns are the slice x axis, y axis and normal in RAS; ``None`` means the
    preset of ``orientation``), ``center_xy`` (the in-plane centre, along the x and y axes, mm)
    and ``offset`` (along the normal, mm): ``slice_to_ras()`` combines them.
    """

    slicer_class = "vtkMRMLSliceNode"
    slicer_classes = ("vtkMRMLSliceNode",) + _VIEW_CHAIN
    default_name = "Slice"

    def __init__(self, name: str = "Red", orientation: str | None = None) -> None:
        super().__init__(name)
        self.singleton_tag = name
        self.orientation: str = orientation or DEFAULT_SLICE_VIEWS.get(name, "Axial")
        self.rotation: np.ndarray | None = None  # oblique axes; None = orientation preset
        self.offset: float = 0.0
        self.center_xy: tuple[float, float] = (0.0, 0.0)
        self.field_of_view: tuple[float, float, float] = (250.0, 250.0, 1.0)
        self.dimensions: tuple[int, int, int] = (256, 256, 1)
        self.visible_in_3d: bool = False
        # Layers, as Slicer's slice composite node: node IDs and opacities.
        self.background_volume_id: str | None = None
        self.foreground_volume_id: str | None = None
        self.foreground_opacity: float = 0.0
        self.label_volume_id: str | None = None
        self.label_opacity: float = 1.0
        self.label_outline: bool = False
        # Thick-slab reconstruction of the layers (Slicer's reslice slab settings): "none",
        # "mean", "max", "min" or "sum" over ``slab_slices`` planes ``slab_spacing`` pixels
        # apart along the normal.
        self.slab_mode: str = "none"
        self.slab_slices: int = 1
        self.slab_spacing: float = 1.0

    def axes(self) -> np.ndarray:
        """3x3 matrix whose columns are the slice x axis, y axis and normal in RAS."""
        if self.rotation is not None:
            return np.array(self.rotation, dtype=float)
        return geometry.orientation_matrix(self.orientation)

    def slice_to_ras(self) -> np.ndarray:
        """4x4 matrix: slice plane (x, y, normal) -> RAS; the origin is the view centre."""
        m = np.eye(4)
        m[:3, :3] = self.axes()
        m[:3, 3] = m[:3, :3] @ np.array([self.center_xy[0], self.center_xy[1], self.offset])
        return m

    def set_slice_to_ras(self, matrix: np.ndarray) -> None:
        """Place the plane from a 4x4 slice-to-RAS (axes are orthonormalised; oblique allowed)."""
        m = np.asarray(matrix, dtype=float)
        u, _, vt = np.linalg.svd(m[:3, :3])
        rotation = u @ vt  # nearest orthogonal matrix (Slicer's sagittal preset is a reflection)
        centre = rotation.T @ m[:3, 3]
        preset = _preset_name(rotation)
        self.rotation = None if preset else rotation
        self.orientation = preset or "Reformat"
        self.center_xy = (float(centre[0]), float(centre[1]))
        self.offset = float(centre[2])

    def set_orientation(self, name: str) -> None:
        """Switch to a preset (``Axial``, ``Sagittal``, ``Coronal``; any case)."""
        geometry.orientation_matrix(name)  # ValueError when unknown
        self.rotation = None
        self.orientation = name.capitalize()

    def set_field_of_view(self, fov: Sequence[float]) -> None:
        values = [float(v) for v in fov]
        if len(values) == 2:
            values.append(self.field_of_view[2])
        self.field_of_view = tuple(values[:3])  # type: ignore[assignment]


def _preset_name(rotation: np.ndarray) -> str | None:
    for name, preset in geometry.ORIENTATION_PRESETS.items():
        if np.allclose(preset, rotation, atol=1e-9):
            return name
    return None


@dataclass(frozen=True)
class Camera:
    """A 3-D view camera in RAS mm: position, focal point, view-up and view angle (degrees)."""

    position: tuple[float, float, float] = (0.0, 500.0, 0.0)
    focal_point: tuple[float, float, float] = (0.0, 0.0, 0.0)
    view_up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    view_angle: float = 30.0


class ThreeDView(Node):
    """A 3-D view (Slicer's view node ``View1``): camera, background and what it shows.

    ``camera`` is ``None`` until something fits it (the renderer resets it to the scene bounds,
    looking from anterior like Slicer). ``volume_rendering_id`` names the volume shown by
    volume rendering with ``volume_preset`` (``MR-Default``, ``CT-AAA``, ``CT-Bone``...).
    """

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
        self.camera: Camera | None = None
        self.volume_rendering_id: str | None = None
        # True while the server chose that volume (it then follows the active volume); a
        # script choosing one through volume rendering logic turns it off.
        self.volume_rendering_auto: bool = False
        self.volume_preset: str = "auto"
        # cropping of the volume rendering: a RAS box (xmin, xmax, ymin, ymax, zmin, zmax)
        self.volume_crop_box: tuple[float, ...] | None = None
        self.volume_cropping: bool = False
        self.box_visible: bool = False
