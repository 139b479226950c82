"""Markups nodes: point lists, lines, angles, open and closed curves, planes and ROIs.

Every markup is a list of control points (RAS, the node's own coordinates) plus the display
properties Slicer keeps in its markups display node, and each type adds its own state and
measurements: a line's length, an angle in degrees, a curve's interpolated points and length,
a closed curve's area, a plane's origin/axes/size, an ROI's centre/size/orientation and bounds.
Geometry is computed here from that state (pure numpy/scipy); nothing is cached, so there is
no second copy to go stale. No files, no HTTP, no rendering.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from voxweb.scene.nodes import _STORABLE, TransformableNode


@dataclass
class ControlPoint:
    """One control point, position in RAS (the node's own coordinates).

    ``position_status`` is Slicer's: ``defined``, ``preview`` or ``undefined`` (a slot that
    has no position yet; it is kept but not drawn or measured).
    """

    label: str
    position: tuple[float, float, float]
    selected: bool = True
    locked: bool = False
    visible: bool = True
    description: str = ""
    id: str = ""
    position_status: str = "defined"

    @property
    def defined(self) -> bool:
        return self.position_status == "defined"


@dataclass(frozen=True)
class Measurement:
    """One measurement of a markup: name, value, units, whether Slicer shows it."""

    name: str
    value: float
    units: str
    enabled: bool = True


#: Glyph type names: Slicer's enum order (vtkMRMLMarkupsDisplayNode::GlyphShapes, from 1),
#: then Diamond3D, which only its JSON schema names.
GLYPH_TYPES = (
    "StarBurst2D", "Cross2D", "CrossDot2D", "ThickCross2D", "Dash2D", "Sphere3D", "Vertex2D",
    "Circle2D", "Triangle2D", "Square2D", "Diamond2D", "Arrow2D", "ThickArrow2D",
    "HookedArrow2D", "Diamond3D",
)  # fmt: skip


class MarkupsNode(TransformableNode):
    """Control points and display properties shared by every markup type."""

    slicer_class = "vtkMRMLMarkupsNode"
    slicer_classes = ("vtkMRMLMarkupsNode",) + _STORABLE
    default_name = "M"
    #: The ``type`` of this markup in ``.mrk.json`` files.
    markup_type: ClassVar[str] = ""
    #: Most control points the type takes (None: any number).
    max_points: ClassVar[int | None] = None

    def __init__(self, name: str = "", points: Sequence[ControlPoint] = ()) -> None:
        super().__init__(name)
        self.control_points: list[ControlPoint] = list(points)
        self.color: tuple[float, float, float] = (0.4, 1.0, 1.0)
        self.selected_color: tuple[float, float, float] = (
            1.0,
            0.5000076295109483,
            0.5000076295109483,
        )
        self.active_color: tuple[float, float, float] = (0.4, 1.0, 0.0)
        self.glyph_scale: float = 3.0
        self.glyph_size: float = 5.0
        self.use_glyph_scale: bool = True
        self.glyph_type: str = "Sphere3D"
        self.text_scale: float = 3.0
        self.opacity: float = 1.0
        self.visible: bool = True
        self.visible_2d: bool = True
        self.visible_3d: bool = True
        self.point_labels_visible: bool = True
        self.properties_label_visible: bool = True
        self.line_thickness: float = 0.2  # fraction of the glyph size, as Slicer's
        self.locked: bool = False
        self.fixed_number_of_points: bool = False
        self.label_format: str = "%N-%d"
        self.last_used_point_number: int = 0

    # --- control points -----------------------------------------------------------------
    def _check_room(self) -> None:
        if self.max_points is not None and len(self.control_points) >= self.max_points:
            raise ValueError(
                f"{self.name!r} is a {self.markup_type or 'markup'} with room for "
                f"{self.max_points} control point(s); it has {len(self.control_points)}"
            )
        if self.fixed_number_of_points:
            raise ValueError(f"{self.name!r} has a fixed number of control points")

    def _new_point(self, position: Sequence[float], label: str | None) -> ControlPoint:
        n = max(self.last_used_point_number, len(self.control_points)) + 1
        self.last_used_point_number = n
        if label is None:
            label = self.label_format.replace("%N", self.name).replace("%d", str(n))
        return ControlPoint(label=label, position=_xyz(position), id=str(n))

    def add_point(self, position: Sequence[float], label: str | None = None) -> ControlPoint:
        """Append a control point; the default label follows ``label_format`` (``F-1``...)."""
        self._check_room()
        cp = self._new_point(position, label)
        self.control_points.append(cp)
        self.modified()
        return cp

    def insert_point(
        self, index: int, position: Sequence[float], label: str | None = None
    ) -> ControlPoint:
        """Insert a control point before ``index`` (at the end when ``index`` is past it)."""
        self._check_room()
        cp = self._new_point(position, label)
        self.control_points.insert(max(0, int(index)), cp)
        self.modified()
        return cp

    def point(self, index: int) -> ControlPoint:
        if not 0 <= index < len(self.control_points):
            raise IndexError(
                f"control point index {index} is out of range: {self.name!r} has "
                f"{len(self.control_points)} point(s)"
            )
        return self.control_points[index]

    def set_point_position(self, index: int, position: Sequence[float]) -> None:
        """Move control point ``index``; IndexError with a clear message when out of range."""
        cp = self.point(index)
        cp.position = _xyz(position)
        cp.position_status = "defined"
        self.modified()

    def remove_point(self, index: int) -> None:
        self.point(index)
        del self.control_points[index]
        self.modified()

    def clear_points(self) -> None:
        self.control_points.clear()
        self.modified()

    def positions(self) -> np.ndarray:
        """(N, 3) float array of the control points in RAS."""
        return np.array([cp.position for cp in self.control_points], dtype=float).reshape(-1, 3)

    def defined_positions(self) -> np.ndarray:
        """(N, 3) positions of the control points that have one."""
        pts = [cp.position for cp in self.control_points if cp.defined]
        return np.array(pts, dtype=float).reshape(-1, 3)

    def apply_transform(self, matrix: np.ndarray) -> None:
        """Move the markup by a 4x4 matrix (hardening a transform into it)."""
        m = np.asarray(matrix, dtype=float)
        for cp in self.control_points:
            cp.position = _xyz(m[:3, :3] @ np.asarray(cp.position) + m[:3, 3])
        self.modified()

    # --- geometry and measurements --------------------------------------------------------
    def polyline(self) -> tuple[np.ndarray, bool]:
        """(points, closed): what is drawn between the control points (none for point lists)."""
        return np.zeros((0, 3)), False

    def measurements(self) -> list[Measurement]:
        return []

    def measurement(self, name: str) -> Measurement | None:
        for m in self.measurements():
            if m.name.lower() == name.lower():
                return m
        return None


class MarkupsFiducial(MarkupsNode):
    """A point list (Slicer's fiducial markups node)."""

    slicer_class = "vtkMRMLMarkupsFiducialNode"
    slicer_classes = ("vtkMRMLMarkupsFiducialNode",) + MarkupsNode.slicer_classes
    default_name = "F"
    markup_type = "Fiducial"


class MarkupsLine(MarkupsNode):
    """A line between two control points; measures its length."""

    slicer_class = "vtkMRMLMarkupsLineNode"
    slicer_classes = ("vtkMRMLMarkupsLineNode",) + MarkupsNode.slicer_classes
    default_name = "L"
    markup_type = "Line"
    max_points = 2

    def polyline(self) -> tuple[np.ndarray, bool]:
        return self.defined_positions(), False

    def length(self) -> float:
        pts = self.defined_positions()
        return float(np.linalg.norm(pts[1] - pts[0])) if len(pts) == 2 else 0.0

    def measurements(self) -> list[Measurement]:
        if len(self.defined_positions()) < 2:
            return []
        return [Measurement("length", self.length(), "mm")]


class MarkupsAngle(MarkupsNode):
    """Two segments meeting at the second control point; measures the angle between them.

    ``mode`` is Slicer's angle measurement mode: ``Minimal`` (0-180 degrees),
    ``OrientedSigned`` (-180..180 around ``rotation_axis``) or ``OrientedPositive`` (0-360).
    """

    slicer_class = "vtkMRMLMarkupsAngleNode"
    slicer_classes = ("vtkMRMLMarkupsAngleNode",) + MarkupsNode.slicer_classes
    default_name = "A"
    markup_type = "Angle"
    max_points = 3
    MODES: ClassVar[tuple[str, ...]] = ("Minimal", "OrientedSigned", "OrientedPositive")

    def __init__(self, name: str = "", points: Sequence[ControlPoint] = ()) -> None:
        super().__init__(name, points)
        self.mode: str = "Minimal"
        self.rotation_axis: tuple[float, float, float] = (0.0, 0.0, 1.0)

    def polyline(self) -> tuple[np.ndarray, bool]:
        return self.defined_positions(), False

    def angle_degrees(self) -> float:
        pts = self.defined_positions()
        if len(pts) < 3:
            return 0.0
        a, b = pts[0] - pts[1], pts[2] - pts[1]
        na, nb = np.linalg.norm(a), np.linalg.norm(b)
        if na == 0 or nb == 0:
            return 0.0
        cross = np.cross(a, b)
        angle = float(np.degrees(np.arctan2(np.linalg.norm(cross), float(a @ b))))
        if self.mode == "Minimal":
            return angle
        if float(cross @ np.asarray(self.rotation_axis, dtype=float)) < 0:
            angle = -angle
        if self.mode == "OrientedPositive" and angle < 0:
            angle += 360.0
        return angle

    def measurements(self) -> list[Measurement]:
        if len(self.defined_positions()) < 3:
            return []
        return [Measurement("angle", self.angle_degrees(), "deg")]


#: Curve types, in Slicer's enum order (vtkMRMLMarkupsCurveNode::CurveType...).
CURVE_TYPES = (
    "Linear",
    "CardinalSpline",
    "KochanekSpline",
    "Polynomial",
    "ShortestDistanceOnSurface",
)


class MarkupsCurve(MarkupsNode):
    """An open curve through the control points, linear or a cubic spline.

    The spline is a natural cubic spline over chord length (periodic when closed), sampled
    ``points_per_segment`` times between control points, like Slicer's cardinal spline.
    """

    slicer_class = "vtkMRMLMarkupsCurveNode"
    slicer_classes = ("vtkMRMLMarkupsCurveNode",) + MarkupsNode.slicer_classes
    default_name = "OC"
    markup_type = "Curve"
    closed: ClassVar[bool] = False

    def __init__(self, name: str = "", points: Sequence[ControlPoint] = ()) -> None:
        super().__init__(name, points)
        self.curve_type: str = "CardinalSpline"
        self.points_per_segment: int = 10

    def curve_points(self) -> np.ndarray:
        """(M, 3) RAS points along the curve (the first repeated at the end when closed)."""
        pts = self.defined_positions()
        loop = np.vstack([pts, pts[:1]]) if self.closed and len(pts) >= 2 else pts
        if len(pts) < 2:
            return loop
        if self.curve_type == "Linear" or len(pts) < 3 and not self.closed:
            return _densify(loop, self.points_per_segment)
        if self.curve_type not in ("CardinalSpline", "KochanekSpline"):
            raise NotImplementedError(
                f"curve type {self.curve_type!r} is not supported by voxweb "
                "(it draws Linear and CardinalSpline curves)"
            )
        return _spline(loop, self.points_per_segment, self.closed)

    def polyline(self) -> tuple[np.ndarray, bool]:
        return self.curve_points(), False

    def length(self) -> float:
        pts = self.curve_points()
        return float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum()) if len(pts) > 1 else 0.0

    def measurements(self) -> list[Measurement]:
        if len(self.defined_positions()) < 2:
            return []
        return [Measurement("length", self.length(), "mm")]


class MarkupsClosedCurve(MarkupsCurve):
    """A closed curve; measures its length (with the closing segment) and the area it encloses."""

    slicer_class = "vtkMRMLMarkupsClosedCurveNode"
    slicer_classes = ("vtkMRMLMarkupsClosedCurveNode",) + MarkupsCurve.slicer_classes
    default_name = "CC"
    markup_type = "ClosedCurve"
    closed = True

    def area(self) -> float:
        """Area enclosed, measured in the curve's best-fit plane (exact for planar curves)."""
        pts = self.curve_points()
        if len(pts) < 4:
            return 0.0
        centred = pts - pts[:-1].mean(axis=0)
        vector_area = 0.5 * np.cross(centred[:-1], centred[1:]).sum(axis=0)
        return float(np.linalg.norm(vector_area))

    def measurements(self) -> list[Measurement]:
        if len(self.defined_positions()) < 2:
            return []
        # Slicer computes the area on request only: it is disabled until a script enables it.
        area_on = "area" in self.enabled_measurements
        return [
            Measurement("length", self.length(), "mm"),
            Measurement("area", self.area(), "mm2", area_on),
        ]

    @property
    def enabled_measurements(self) -> set[str]:
        return self.__dict__.setdefault("_enabled_measurements", set())


class MarkupsPlane(MarkupsNode):
    """A rectangle in space: origin, three axes (x, y in the plane; z its normal), size.

    ``plane_type`` says where the geometry comes from: ``PointNormal`` (origin is control
    point 0, axes are set), ``3Points`` (origin and x axis from points 0-1, normal from the
    three) or ``PlaneFit`` (least squares through every point). ``size_mode`` ``auto`` sizes
    the rectangle to the control points (times ``auto_scaling_factor``), ``absolute`` uses
    ``size``.
    """

    slicer_class = "vtkMRMLMarkupsPlaneNode"
    slicer_classes = ("vtkMRMLMarkupsPlaneNode",) + MarkupsNode.slicer_classes
    default_name = "P"
    markup_type = "Plane"
    PLANE_TYPES: ClassVar[tuple[str, ...]] = ("PointNormal", "3Points", "PlaneFit")

    def __init__(self, name: str = "", points: Sequence[ControlPoint] = ()) -> None:
        super().__init__(name, points)
        self.plane_type: str = "PointNormal"
        self.size_mode: str = "auto"
        self.auto_scaling_factor: float = 1.0
        self.size: tuple[float, float] = (100.0, 100.0)
        # columns: x axis, y axis, normal (node coordinates); used by PointNormal planes
        self.axes_matrix: np.ndarray = np.eye(3)
        self._origin: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def max_points(self) -> int | None:  # type: ignore[override]
        return {"PointNormal": 1, "3Points": 3}.get(self.plane_type)

    def origin(self) -> np.ndarray:
        pts = self.defined_positions()
        if self.plane_type == "PlaneFit" and len(pts):
            return pts.mean(axis=0)
        return pts[0] if len(pts) else np.asarray(self._origin, dtype=float)

    def set_origin(self, origin: Sequence[float]) -> None:
        """Move the plane (PointNormal: control point 0, added when missing)."""
        if self.plane_type == "PointNormal":
            if self.control_points:
                self.set_point_position(0, origin)
            else:
                self.add_point(origin)
            return
        shift = np.asarray(_xyz(origin)) - self.origin()
        for index, cp in enumerate(self.control_points):
            self.control_points[index].position = _xyz(np.asarray(cp.position) + shift)
        object.__setattr__(self, "_origin", _xyz(origin))
        self.modified()

    def axes(self) -> np.ndarray:
        """3x3 whose columns are the unit x axis, y axis and normal (node coordinates)."""
        pts = self.defined_positions()
        if self.plane_type == "3Points" and len(pts) == 3:
            x = pts[1] - pts[0]
            n = np.cross(x, pts[2] - pts[0])
            if np.linalg.norm(x) > 0 and np.linalg.norm(n) > 0:
                x, n = x / np.linalg.norm(x), n / np.linalg.norm(n)
                return np.column_stack([x, np.cross(n, x), n])
        if self.plane_type == "PlaneFit" and len(pts) >= 3:
            _, _, vt = np.linalg.svd(pts - pts.mean(axis=0))
            x, n = vt[0], vt[2]
            return np.column_stack([x, np.cross(n, x), n])
        return np.array(self.axes_matrix, dtype=float)

    def set_axes(self, x: Sequence[float], y: Sequence[float], z: Sequence[float]) -> None:
        m = np.column_stack([np.asarray(v, dtype=float) for v in (x, y, z)])
        norms = np.linalg.norm(m, axis=0)
        if np.any(norms == 0):
            raise ValueError("plane axes must not be zero vectors")
        self.axes_matrix = m / norms

    def normal(self) -> np.ndarray:
        return self.axes()[:, 2]

    def set_normal(self, normal: Sequence[float]) -> None:
        """Turn the plane to face ``normal`` by the smallest rotation of its current axes."""
        n = np.asarray(normal, dtype=float)
        if np.linalg.norm(n) == 0:
            raise ValueError("a plane normal must not be the zero vector")
        n = n / np.linalg.norm(n)
        self.axes_matrix = _rotation_between(self.axes()[:, 2], n) @ self.axes()

    def plane_size(self) -> tuple[float, float]:
        """(width along x, height along y) in mm."""
        if self.size_mode != "auto":
            return (float(self.size[0]), float(self.size[1]))
        pts = self.defined_positions()
        if len(pts) >= 2:
            local = (pts - self.origin()) @ self.axes()
            extent = 2 * np.abs(local[:, :2]).max(axis=0) * float(self.auto_scaling_factor)
            if np.all(extent > 0):
                return (float(extent[0]), float(extent[1]))
        return (float(self.size[0]), float(self.size[1]))

    def corners(self) -> np.ndarray:
        """(4, 3) corners of the rectangle in node coordinates, in drawing order."""
        w, h = self.plane_size()
        axes, origin = self.axes(), self.origin()
        out = []
        for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            out.append(origin + axes[:, 0] * sx * w / 2 + axes[:, 1] * sy * h / 2)
        return np.array(out)

    def object_to_node(self) -> np.ndarray:
        m = np.eye(4)
        m[:3, :3] = self.axes()
        m[:3, 3] = self.origin()
        return m

    def apply_transform(self, matrix: np.ndarray) -> None:
        m = np.asarray(matrix, dtype=float)
        self.axes_matrix = _orthonormal(m[:3, :3] @ np.asarray(self.axes_matrix, dtype=float))
        object.__setattr__(self, "_origin", _xyz(m[:3, :3] @ np.asarray(self._origin) + m[:3, 3]))
        super().apply_transform(m)


class MarkupsROI(MarkupsNode):
    """A box: centre, size along its own axes and orientation (columns: the box axes in node
    coordinates). ``roi_type`` ``Box`` keeps the centre in control point 0; ``BoundingBox``
    is the box around every control point."""

    slicer_class = "vtkMRMLMarkupsROINode"
    slicer_classes = ("vtkMRMLMarkupsROINode",) + MarkupsNode.slicer_classes
    default_name = "R"
    markup_type = "ROI"
    ROI_TYPES: ClassVar[tuple[str, ...]] = ("Box", "BoundingBox")

    def __init__(self, name: str = "", points: Sequence[ControlPoint] = ()) -> None:
        super().__init__(name, points)
        self.roi_type: str = "Box"
        self.size: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self.orientation: np.ndarray = np.eye(3)
        self.inside_out: bool = False
        self._center: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def max_points(self) -> int | None:  # type: ignore[override]
        return 1 if self.roi_type == "Box" else None

    def center(self) -> np.ndarray:
        pts = self.defined_positions()
        if self.roi_type == "BoundingBox" and len(pts):
            local = pts @ self.orientation
            middle = (local.min(axis=0) + local.max(axis=0)) / 2
            return self.orientation @ middle
        return pts[0] if len(pts) else np.asarray(self._center, dtype=float)

    def set_center(self, center: Sequence[float]) -> None:
        if self.roi_type == "Box":
            if self.control_points:
                self.set_point_position(0, center)
            else:
                self.add_point(center)
            return
        shift = np.asarray(_xyz(center)) - self.center()
        for cp in self.control_points:
            cp.position = _xyz(np.asarray(cp.position) + shift)
        object.__setattr__(self, "_center", _xyz(center))
        self.modified()

    def box_size(self) -> np.ndarray:
        pts = self.defined_positions()
        if self.roi_type == "BoundingBox" and len(pts):
            local = pts @ self.orientation
            return local.max(axis=0) - local.min(axis=0)
        return np.asarray(self.size, dtype=float)

    def object_to_node(self) -> np.ndarray:
        m = np.eye(4)
        m[:3, :3] = self.orientation
        m[:3, 3] = self.center()
        return m

    def apply_transform(self, matrix: np.ndarray) -> None:
        m = np.asarray(matrix, dtype=float)
        self.orientation = _orthonormal(m[:3, :3] @ np.asarray(self.orientation, dtype=float))
        object.__setattr__(self, "_center", _xyz(m[:3, :3] @ np.asarray(self._center) + m[:3, 3]))
        super().apply_transform(m)

    def corners(self) -> np.ndarray:
        """(8, 3) box corners in node coordinates; index bits are (x, y, z) low/high."""
        half = self.box_size() / 2
        signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
        return self.center() + (signs * half) @ np.asarray(self.orientation, dtype=float).T

    def bounds(self, matrix: np.ndarray | None = None) -> np.ndarray:
        """RAS bounds (xmin, xmax, ymin, ymax, zmin, zmax) of the box, through ``matrix``."""
        c = self.corners()
        if matrix is not None:
            c = c @ np.asarray(matrix)[:3, :3].T + np.asarray(matrix)[:3, 3]
        lo, hi = c.min(axis=0), c.max(axis=0)
        return np.array([lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]])

    def measurements(self) -> list[Measurement]:
        size = self.box_size()
        return [Measurement("volume", float(np.prod(size)), "mm3", False)]


#: JSON ``type`` -> scene class, for files and for scripts.
MARKUP_TYPES: dict[str, type[MarkupsNode]] = {
    cls.markup_type: cls
    for cls in (
        MarkupsFiducial,
        MarkupsLine,
        MarkupsAngle,
        MarkupsCurve,
        MarkupsClosedCurve,
        MarkupsPlane,
        MarkupsROI,
    )
}


# ----------------------------------------------------------------------------- helpers


def _xyz(values: Any) -> tuple[float, float, float]:
    v = [float(x) for x in list(values)[:3]]
    if len(v) != 3:
        raise ValueError(f"a position needs 3 coordinates, got {len(v)}")
    return (v[0], v[1], v[2])


def _densify(points: np.ndarray, per_segment: int) -> np.ndarray:
    """Straight segments sampled ``per_segment`` times each (end points kept)."""
    n = max(1, int(per_segment))
    t = np.arange(n) / n
    pieces = [a + (b - a) * t[:, None] for a, b in zip(points[:-1], points[1:], strict=True)]
    return np.vstack([*pieces, points[-1:]])


def _spline(points: np.ndarray, per_segment: int, closed: bool) -> np.ndarray:
    from scipy.interpolate import CubicSpline

    chords = np.linalg.norm(np.diff(points, axis=0), axis=1)
    keep = np.r_[True, chords > 1e-9]
    if closed:
        keep[-1] = True  # the repeated first point closes the loop
    pts = points[keep]
    chords = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    if len(pts) < 3 or np.any(chords <= 1e-9):
        return _densify(pts, per_segment)
    t = np.r_[0.0, np.cumsum(chords)]
    spline = CubicSpline(t, pts, bc_type="periodic" if closed else "natural", axis=0)
    n = max(1, int(per_segment))
    samples = np.concatenate(
        [t[i] + (t[i + 1] - t[i]) * np.arange(n) / n for i in range(len(t) - 1)] + [t[-1:]]
    )
    return spline(samples)


def _orthonormal(m: np.ndarray) -> np.ndarray:
    """The rotation nearest to ``m`` (scaling and shear dropped), keeping its handedness."""
    u, _, vt = np.linalg.svd(np.asarray(m, dtype=float))
    r = u @ vt
    return r


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation taking unit vector ``a`` to unit vector ``b``."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    v, c = np.cross(a, b), float(a @ b)
    if np.linalg.norm(v) < 1e-12:
        if c > 0:
            return np.eye(3)
        helper = np.array([1.0, 0, 0]) if abs(a[0]) < 0.9 else np.array([0, 1.0, 0])
        axis = np.cross(a, helper)
        axis /= np.linalg.norm(axis)
        return 2 * np.outer(axis, axis) - np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1 + c)


__all__ = [
    "CURVE_TYPES",
    "ControlPoint",
    "GLYPH_TYPES",
    "MARKUP_TYPES",
    "MarkupsAngle",
    "MarkupsClosedCurve",
    "MarkupsCurve",
    "MarkupsFiducial",
    "MarkupsLine",
    "MarkupsNode",
    "MarkupsPlane",
    "MarkupsROI",
    "Measurement",
]
