"""Scene nodes: volumes, transforms, fiducials, segmentations and models with their display state.

Plain Python classes holding numpy data in RAS. Each class names its Slicer class
(``slicer_class``) and the Slicer superclass chain (``slicer_classes``) so that the scene can
answer Slicer's is-a queries; that vocabulary stays in class attributes and is only used at the
edge. Nodes know nothing about files or HTTP. Assigning a public attribute bumps the node's
modification time; after changing an array in place call ``node.modified()``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from voxweb.scene import geometry

if TYPE_CHECKING:
    from voxweb.scene.scene import Scene

_mtime_counter = itertools.count(1)


def next_mtime() -> int:
    """A process-wide, strictly increasing modification stamp (like VTK's MTime)."""
    return next(_mtime_counter)


_NODE_CHAIN = ("vtkMRMLNode",)
_STORABLE = (
    "vtkMRMLDisplayableNode",
    "vtkMRMLTransformableNode",
    "vtkMRMLStorableNode",
) + _NODE_CHAIN


class Node:
    """Base of every scene node: ID (assigned by the scene), name, flags and modification time."""

    slicer_class: ClassVar[str] = "vtkMRMLNode"
    #: This class and its Slicer superclasses, most specific first.
    slicer_classes: ClassVar[tuple[str, ...]] = _NODE_CHAIN
    #: Prefix of default names ("Volume", "Transform"...).
    default_name: ClassVar[str] = "Node"
    #: Set on singleton classes: the node keeps its ID across ``Scene.clear``.
    singleton_tag: str | None = None

    def __init__(self, name: str = "") -> None:
        object.__setattr__(self, "_ready", False)
        self.id: str = ""
        self.name: str = name
        self.description: str = ""
        self.hide_from_editors: bool = False
        self.selectable: bool = True
        self.selected: bool = False
        self.attributes: dict[str, str] = {}
        self.scene: Scene | None = None
        self.mtime: int = next_mtime()
        object.__setattr__(self, "_ready", True)

    def __setattr__(self, key: str, value: Any) -> None:
        object.__setattr__(self, key, value)
        if key.startswith("_") or key in ("mtime", "scene", "id") or not self._ready:
            return
        self.modified()

    def modified(self) -> None:
        """Record a change: bump ``mtime`` and tell the scene (which notifies listeners)."""
        object.__setattr__(self, "mtime", next_mtime())
        scene = self.scene
        if scene is not None:
            scene._node_modified(self)

    def is_a(self, slicer_class: str) -> bool:
        """Slicer's IsA: true for the node's class and every Slicer superclass."""
        return slicer_class in self.slicer_classes

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.id!r} name={self.name!r}>"


class TransformableNode(Node):
    """A node that may sit under a parent transform (``parent_transform_id``)."""

    slicer_classes = ("vtkMRMLTransformableNode", "vtkMRMLStorableNode") + _NODE_CHAIN

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self.parent_transform_id: str | None = None


# ----------------------------------------------------------------------------- volumes


@dataclass
class ColorEntry:
    """One color-table row: a label value's name and RGBA (floats 0-1)."""

    name: str
    rgba: tuple[float, float, float, float]


@dataclass
class ColorTable:
    """A label-value -> (name, RGBA) table (Slicer's color node, minimal)."""

    name: str = "GenericAnatomyColors"
    entries: dict[int, ColorEntry] = field(default_factory=dict)

    def color_of(self, value: int) -> tuple[float, float, float, float]:
        """RGBA for a label; unlisted non-zero labels get a stable generated color, 0 is clear."""
        if value in self.entries:
            return self.entries[value].rgba
        if value == 0:
            return (0.0, 0.0, 0.0, 0.0)
        return (*generated_color(value), 1.0)


def generated_color(index: int) -> tuple[float, float, float]:
    """A stable, well-spread color for an integer (golden-ratio hue walk)."""
    import colorsys

    hue = (index * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.55, 0.9)
    return (round(r, 4), round(g, 4), round(b, 4))


class ColorTableNode(Node):
    """A color table of its own in the scene (a script's label names and colors)."""

    slicer_class = "vtkMRMLColorTableNode"
    slicer_classes = ("vtkMRMLColorTableNode", "vtkMRMLColorNode") + _NODE_CHAIN
    default_name = "ColorTable"

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self.table: ColorTable = ColorTable(name=name or "ColorTable", entries={})


@dataclass
class VolumeDisplay:
    """Display properties of a volume (Slicer's scalar volume display node)."""

    window: float = 1.0
    level: float = 0.5
    auto_window_level: bool = True
    color_table: str = "Grey"
    visible: bool = True
    opacity: float = 1.0
    interpolate: bool = True
    # Slicer's display threshold: voxels outside [lower, upper] are transparent when applied
    apply_threshold: bool = False
    lower_threshold: float | None = None
    upper_threshold: float | None = None


def auto_window_level(
    array: np.ndarray, low_percentile: float = 0.1, high_percentile: float = 99.9
) -> tuple[float, float]:
    """(window, level) covering the given percentiles of the data (large arrays are sampled)."""
    array = np.asarray(array)
    if array.size == 0:
        return (1.0, 0.5)
    sample = _sample(array, 1 << 18)
    if sample.dtype.kind in "iub" and sample.dtype.itemsize <= 2:
        return _window_level_by_histogram(sample, low_percentile, high_percentile)
    if sample.dtype.kind == "f":
        sample = sample[np.isfinite(sample)]
        if sample.size == 0:
            return (1.0, 0.5)
    lo, hi = np.percentile(sample, [low_percentile, high_percentile])
    lo, hi = float(lo), float(hi)
    if hi <= lo:
        lo, hi = float(sample.min()), float(sample.max())
    window = hi - lo if hi > lo else 1.0
    return (window, (hi + lo) / 2.0)


def _sample(array: np.ndarray, target: int) -> np.ndarray:
    """About ``target`` values spread over the array, reading whole rows (cache-friendly:
    a strided pick over a 32 MB volume touches every cache line and costs as much as a copy)."""
    if array.size <= target:
        return array.reshape(-1)
    if array.ndim == 3:
        step = max(1, int(np.sqrt(array.size / target)))
        return np.ascontiguousarray(array[::step, ::step, :]).reshape(-1)
    return array.reshape(-1)[:: max(1, array.size // target)]


def _window_level_by_histogram(sample: np.ndarray, low: float, high: float) -> tuple[float, float]:
    """Percentiles of small integer types from a histogram: O(n), no sort (np.percentile's
    partition took most of the time of a volume upload)."""
    info = np.iinfo(np.int16 if sample.dtype.kind == "b" else sample.dtype)
    counts = np.bincount((sample.astype(np.int32) - info.min).ravel(), minlength=1)
    cumulative = np.cumsum(counts)
    total = cumulative[-1]

    def at(percent: float) -> float:
        # numpy's default ("linear") percentile on integer data, from the cumulative counts.
        rank = percent / 100.0 * (total - 1)
        below, above = int(np.floor(rank)), int(np.ceil(rank))
        v0 = int(np.searchsorted(cumulative, below + 1)) + info.min
        v1 = int(np.searchsorted(cumulative, above + 1)) + info.min
        return v0 + (v1 - v0) * (rank - below)

    lo, hi = at(low), at(high)
    if hi <= lo:
        lo, hi = float(sample.min()), float(sample.max())
    window = hi - lo if hi > lo else 1.0
    return (window, (hi + lo) / 2.0)


class GridGeometry:
    """Spacing, origin and directions read off a node's 4x4 ``ijk_to_ras``."""

    ijk_to_ras: np.ndarray

    @property
    def spacing(self) -> np.ndarray:
        return geometry.spacing_of(self.ijk_to_ras)

    @property
    def origin(self) -> np.ndarray:
        return geometry.origin_of(self.ijk_to_ras)

    @property
    def directions(self) -> np.ndarray:
        """3x3, columns are the unit RAS directions of i, j, k."""
        return geometry.directions_of(self.ijk_to_ras)


class ScalarVolume(GridGeometry, TransformableNode):
    """A 3-D scalar image: ``array`` in (k, j, i) order, any dtype, and a 4x4 IJK->RAS matrix."""

    slicer_class = "vtkMRMLScalarVolumeNode"
    slicer_classes = ("vtkMRMLScalarVolumeNode", "vtkMRMLVolumeNode") + _STORABLE
    default_name = "Volume"

    def __init__(
        self,
        array: np.ndarray | None = None,
        ijk_to_ras: np.ndarray | None = None,
        name: str = "",
    ) -> None:
        super().__init__(name)
        self.array: np.ndarray = (
            np.zeros((1, 1, 1), dtype=np.int16) if array is None else np.asarray(array)
        )
        if self.array.ndim != 3:
            raise ValueError(f"a volume array must be 3-D (k, j, i), got shape {self.array.shape}")
        self.ijk_to_ras: np.ndarray = (
            np.eye(4) if ijk_to_ras is None else np.array(ijk_to_ras, dtype=float)
        )
        self.display = VolumeDisplay()
        if self.array.size:
            self.display.window, self.display.level = auto_window_level(self.array)

    # geometry helpers
    @property
    def shape_ijk(self) -> tuple[int, int, int]:
        """(ni, nj, nk): the image dimensions in Slicer/VTK order."""
        k, j, i = self.array.shape
        return (i, j, k)

    def set_geometry(
        self,
        spacing: Sequence[float] = (1.0, 1.0, 1.0),
        origin: Sequence[float] = (0.0, 0.0, 0.0),
        directions: np.ndarray | None = None,
    ) -> None:
        self.ijk_to_ras = geometry.ijk_to_ras_matrix(spacing, origin, directions)

    def ras_bounds(self) -> np.ndarray:
        return geometry.ras_bounds(self.ijk_to_ras, self.array.shape)

    def set_array(self, array: np.ndarray, ijk_to_ras: np.ndarray | None = None) -> None:
        """Replace voxels (and optionally geometry); refreshes auto window/level."""
        array = np.asarray(array)
        if array.ndim != 3:
            raise ValueError(f"a volume array must be 3-D (k, j, i), got shape {array.shape}")
        self.array = array
        if ijk_to_ras is not None:
            self.ijk_to_ras = np.array(ijk_to_ras, dtype=float)
        if self.display.auto_window_level and array.size:
            self.display.window, self.display.level = auto_window_level(array)
        self.modified()


class LabelMapVolume(ScalarVolume):
    """An integer label image with a color table (label value -> name, RGBA)."""

    slicer_class = "vtkMRMLLabelMapVolumeNode"
    slicer_classes = ("vtkMRMLLabelMapVolumeNode",) + ScalarVolume.slicer_classes
    default_name = "LabelMap"

    def __init__(
        self,
        array: np.ndarray | None = None,
        ijk_to_ras: np.ndarray | None = None,
        name: str = "",
        color_table: ColorTable | None = None,
    ) -> None:
        super().__init__(array, ijk_to_ras, name)
        self.color_table: ColorTable = color_table or ColorTable()
        self.display.color_table = self.color_table.name
        self.display.interpolate = False


# ----------------------------------------------------------------------------- transforms


class TransformNode(TransformableNode):
    """Common base of linear and grid transforms."""

    slicer_class = "vtkMRMLTransformNode"
    slicer_classes = ("vtkMRMLTransformNode",) + _STORABLE
    default_name = "Transform"


class LinearTransform(TransformNode):
    """A 4x4 RAS matrix mapping this node's children to its parent (``matrix_to_parent``)."""

    slicer_class = "vtkMRMLLinearTransformNode"
    slicer_classes = ("vtkMRMLLinearTransformNode",) + TransformNode.slicer_classes
    default_name = "LinearTransform"

    def __init__(self, matrix_to_parent: np.ndarray | None = None, name: str = "") -> None:
        super().__init__(name)
        m = np.eye(4) if matrix_to_parent is None else np.array(matrix_to_parent, dtype=float)
        if m.shape != (4, 4):
            raise ValueError(f"a linear transform needs a 4x4 matrix, got shape {m.shape}")
        self.matrix_to_parent: np.ndarray = m

    @property
    def matrix_from_parent(self) -> np.ndarray:
        return np.linalg.inv(self.matrix_to_parent)

    @matrix_from_parent.setter
    def matrix_from_parent(self, value: np.ndarray) -> None:
        self.matrix_to_parent = np.linalg.inv(np.asarray(value, dtype=float))


class GridTransform(GridGeometry, TransformNode):
    """A dense displacement field (k, j, i, 3) in RAS mm with its own IJK->RAS geometry.

    ``from_parent`` is True when the displacements map parent-space points to child space
    (ITK/resampling convention, what files contain); False for to-parent displacements.
    """

    slicer_class = "vtkMRMLGridTransformNode"
    slicer_classes = ("vtkMRMLGridTransformNode",) + TransformNode.slicer_classes
    default_name = "GridTransform"

    def __init__(
        self,
        displacement: np.ndarray | None = None,
        ijk_to_ras: np.ndarray | None = None,
        name: str = "",
        from_parent: bool = True,
    ) -> None:
        super().__init__(name)
        d = np.zeros((1, 1, 1, 3)) if displacement is None else np.asarray(displacement)
        if d.ndim != 4 or d.shape[3] != 3:
            raise ValueError(f"a displacement field must have shape (k, j, i, 3), got {d.shape}")
        self.displacement: np.ndarray = d
        self.ijk_to_ras: np.ndarray = (
            np.eye(4) if ijk_to_ras is None else np.array(ijk_to_ras, dtype=float)
        )
        self.from_parent: bool = from_parent


# ----------------------------------------------------------------------------- markups


# ControlPoint and MarkupsFiducial live in voxweb.scene.markups with the other markup types
# (the module __getattr__ at the end keeps both names importable from here).


# ----------------------------------------------------------------------------- segmentation


@dataclass
class Segment:
    """One segment: its voxels are ``layers[layer] == label_value`` in the owning segmentation."""

    id: str
    name: str
    color: tuple[float, float, float]
    label_value: int = 1
    layer: int = 0
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class SegmentDisplay:
    """How one segment is shown (Slicer's per-segment display properties); opacities multiply
    the segmentation-wide ones."""

    visible: bool = True
    visible_2d_fill: bool = True
    visible_2d_outline: bool = True
    visible_3d: bool = True
    opacity_2d_fill: float = 1.0
    opacity_2d_outline: float = 1.0
    opacity_3d: float = 1.0
    override_color: tuple[float, float, float] | None = None


@dataclass
class SegmentationDisplay:
    """How a segmentation is shown (Slicer's segmentation display node): every slice view draws
    visible segments filled and outlined; 3-D views show their closed surfaces."""

    visible: bool = True
    visible_2d: bool = True
    visible_3d: bool = True
    visible_2d_fill: bool = True
    visible_2d_outline: bool = True
    opacity: float = 1.0
    opacity_2d_fill: float = 0.5
    opacity_2d_outline: float = 1.0
    opacity_3d: float = 1.0
    preferred_3d: str = "Closed surface"
    segments: dict[str, SegmentDisplay] = field(default_factory=dict)

    def of(self, segment_id: str) -> SegmentDisplay:
        """The segment's display properties (defaults when none were set)."""
        return self.segments.get(segment_id) or SegmentDisplay()


class Segmentation(TransformableNode):
    """Binary-labelmap segmentation: shared geometry, integer layers, segments pointing into them.

    ``layers`` is a list of (k, j, i) integer arrays sharing ``ijk_to_ras``; a segment's mask
    is ``layers[segment.layer] == segment.label_value``. Overlapping segments live on
    different layers (as in Slicer's shared labelmaps and ``.seg.nrrd``).
    """

    slicer_class = "vtkMRMLSegmentationNode"
    slicer_classes = ("vtkMRMLSegmentationNode",) + _STORABLE
    default_name = "Segmentation"

    def __init__(
        self,
        shape_kji: Sequence[int] = (1, 1, 1),
        ijk_to_ras: np.ndarray | None = None,
        name: str = "",
        dtype: np.dtype | type = np.uint8,
    ) -> None:
        super().__init__(name)
        self.shape: tuple[int, int, int] = tuple(int(s) for s in shape_kji)  # type: ignore[assignment]
        self.ijk_to_ras: np.ndarray = (
            np.eye(4) if ijk_to_ras is None else np.array(ijk_to_ras, dtype=float)
        )
        self.dtype = np.dtype(dtype)
        self.layers: list[np.ndarray] = []
        self.segments: dict[str, Segment] = {}
        self.display: SegmentationDisplay = SegmentationDisplay()
        #: Whether the closed-surface representation exists (3-D views show it).
        self.closed_surface: bool = True

    # queries
    @property
    def segment_ids(self) -> list[str]:
        return list(self.segments)

    def segment(self, segment_id: str) -> Segment:
        try:
            return self.segments[segment_id]
        except KeyError:
            raise KeyError(
                f"segmentation {self.name!r} has no segment {segment_id!r} "
                f"(segments: {', '.join(self.segments) or 'none'})"
            ) from None

    def mask(self, segment_id: str) -> np.ndarray:
        """Boolean (k, j, i) mask of a segment."""
        seg = self.segment(segment_id)
        if seg.layer >= len(self.layers):
            return np.zeros(self.shape, dtype=bool)
        return self.layers[seg.layer] == seg.label_value

    # edits
    def _new_segment_id(self) -> str:
        n = len(self.segments) + 1
        while f"Segment_{n}" in self.segments:
            n += 1
        return f"Segment_{n}"

    def add_segment(
        self,
        name: str | None = None,
        mask: np.ndarray | None = None,
        color: Sequence[float] | None = None,
        segment_id: str | None = None,
    ) -> Segment:
        """Add a segment (empty or from a boolean mask); it goes to the first layer where it fits."""
        sid = segment_id or self._new_segment_id()
        if sid in self.segments:
            raise ValueError(f"segment ID {sid!r} already exists in {self.name!r}")
        rgb = (
            tuple(float(c) for c in color)
            if color is not None
            else generated_color(len(self.segments) + 1)
        )
        seg = Segment(id=sid, name=name or sid, color=rgb)  # type: ignore[arg-type]
        self.segments[sid] = seg
        self._place(seg, mask)
        self.modified()
        return seg

    def _place(self, seg: Segment, mask: np.ndarray | None) -> None:
        m = None if mask is None else np.asarray(mask, dtype=bool)
        if m is not None and m.shape != self.shape:
            raise ValueError(
                f"segment mask shape {m.shape} differs from the segmentation's {self.shape}"
            )
        for index, layer in enumerate(self.layers):
            if m is not None and np.any(layer[m] != 0):
                continue
            used = {
                s.label_value for s in self.segments.values() if s.layer == index and s is not seg
            }
            value = 1
            while value in used:
                value += 1
            if value > np.iinfo(self.dtype).max:
                continue
            seg.layer, seg.label_value = index, value
            if m is not None:
                layer[m] = value
            return
        self.layers.append(np.zeros(self.shape, dtype=self.dtype))
        seg.layer, seg.label_value = len(self.layers) - 1, 1
        if m is not None:
            self.layers[-1][m] = 1

    def set_mask(self, segment_id: str, mask: np.ndarray) -> None:
        """Replace a segment's voxels (it may move to another layer to avoid overlaps)."""
        seg = self.segment(segment_id)
        if seg.layer < len(self.layers):
            layer = self.layers[seg.layer]
            layer[layer == seg.label_value] = 0
        self._place(seg, mask)
        self.modified()

    def remove_segment(self, segment_id: str) -> None:
        seg = self.segment(segment_id)
        if seg.layer < len(self.layers):
            layer = self.layers[seg.layer]
            layer[layer == seg.label_value] = 0
        del self.segments[segment_id]
        self.display.segments.pop(segment_id, None)
        self.modified()

    def merged_labelmap(
        self, segment_ids: Sequence[str] | None = None
    ) -> tuple[np.ndarray, list[Segment]]:
        """One (k, j, i) label array with values 1..N in segment order (later segments win overlaps)."""
        ids = list(self.segments) if segment_ids is None else list(segment_ids)
        dtype = np.uint8 if len(ids) < 256 else np.uint16
        out = np.zeros(self.shape, dtype=dtype)
        segs = []
        for n, sid in enumerate(ids, start=1):
            out[self.mask(sid)] = n
            segs.append(self.segment(sid))
        return out, segs


# ----------------------------------------------------------------------------- models


class Model(TransformableNode):
    """A triangle surface: vertices (N, 3) RAS, faces (M, 3) vertex indices, optional normals."""

    slicer_class = "vtkMRMLModelNode"
    slicer_classes = ("vtkMRMLModelNode",) + _STORABLE
    default_name = "Model"

    def __init__(
        self,
        vertices: np.ndarray | None = None,
        faces: np.ndarray | None = None,
        name: str = "",
        normals: np.ndarray | None = None,
    ) -> None:
        super().__init__(name)
        self.vertices: np.ndarray = (
            np.zeros((0, 3))
            if vertices is None
            else np.asarray(vertices, dtype=float).reshape(-1, 3)
        )
        self.faces: np.ndarray = (
            np.zeros((0, 3), dtype=np.int64) if faces is None else np.asarray(faces).reshape(-1, 3)
        )
        self.normals: np.ndarray | None = (
            None if normals is None else np.asarray(normals, dtype=float)
        )
        self.color: tuple[float, float, float] = (0.5, 0.5, 0.5)
        self.opacity: float = 1.0
        self.visible: bool = True
        # the rest of Slicer's model display node
        self.visible_2d: bool = False  # cross-section drawn in slice views
        self.point_data: dict[str, np.ndarray] = {}  # per-vertex scalar arrays by name
        self.scalar_visible: bool = False  # colour by ``active_scalar`` through a ramp
        self.active_scalar: str | None = None
        self.scalar_color_table: str = "Viridis"
        self.scalar_range: tuple[float, float] | None = None  # None: the array's range
        self.representation: str = "surface"  # surface | wireframe | points
        self.edges_visible: bool = False
        self.edge_color: tuple[float, float, float] = (0.0, 0.0, 0.0)
