"""What a slice render is made of: the view plane, the layers on it, and their colour maps.

Plain data and pure functions, shared by reslicing (``reslice``), thick slabs (``slab``), the
overlays and compositing (``slice``): the view geometry (``SliceGeometry``), one volume layer
(``Layer``), everything a view shows (``SliceLayers``), window/level and label lookups, and
the map from output pixels to a layer's voxels (``plane_in_ijk``). No scene, no HTTP.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

MAX_SIZE = 4096


@dataclass(frozen=True)
class SliceGeometry:
    """Where a slice image lies: plane (4x4 slice->RAS), field of view (mm), size (pixels)."""

    slice_to_ras: np.ndarray
    field_of_view: tuple[float, float]
    size: tuple[int, int]

    @property
    def spacing(self) -> float:
        """mm per pixel (square pixels; the whole field of view fits)."""
        w, h = self.size
        return max(self.field_of_view[0] / w, self.field_of_view[1] / h)

    def pixel_to_ras(self) -> np.ndarray:
        """4x4 mapping continuous pixel coordinates (u, v, 0, 1) -> RAS; pixel X spans [X, X+1)."""
        w, h = self.size
        s = self.spacing
        p = np.array(
            [[s, 0.0, 0.0, -w / 2 * s], [0.0, -s, 0.0, h / 2 * s], [0, 0, 1.0, 0], [0, 0, 0, 1.0]]
        )
        return np.asarray(self.slice_to_ras, dtype=float) @ p

    def ras_to_pixel(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) RAS points -> (N, 3) of (column, row, distance from the plane in mm)."""
        inv = np.linalg.inv(np.asarray(self.slice_to_ras, dtype=float))
        pts = np.c_[np.asarray(points, dtype=float).reshape(-1, 3), np.ones(len(points))]
        xyz = (inv @ pts.T).T[:, :3]
        w, h = self.size
        s = self.spacing
        return np.c_[xyz[:, 0] / s + w / 2 - 0.5, h / 2 - 0.5 - xyz[:, 1] / s, xyz[:, 2]]


@dataclass(frozen=True)
class Layer:
    """One volume as a slice layer. ``colors`` (N, 4) uint8 makes it a label layer."""

    array: np.ndarray
    ijk_to_ras: np.ndarray
    window: float = 1.0
    level: float = 0.5
    interpolate: bool = True
    opacity: float = 1.0
    colors: np.ndarray | None = None
    outline: bool = False
    slab: tuple[str, int, float] | None = None  # (mode, planes, spacing fraction): render/slab.py
    lut: np.ndarray | None = None  # (256, 3) uint8 color ramp for scalars; None is grey
    threshold: tuple[float, float] | None = None  # values outside are transparent

    @property
    def is_label(self) -> bool:
        return self.colors is not None


@dataclass(frozen=True)
class Glyph:
    """A fiducial to draw: RAS position, label text, RGB (0-1), diameter in mm."""

    position: tuple[float, float, float]
    label: str
    color: tuple[float, float, float]
    size_mm: float = 5.0


@dataclass
class SliceLayers:
    background: Layer | None = None
    foreground: Layer | None = None
    label: Layer | None = None
    glyphs: Sequence[Glyph] = field(default_factory=tuple)
    #: Segmentations drawn over the layers (``segment_overlay.SegmentOverlay``).
    segments: Sequence = field(default_factory=tuple)
    markups: Sequence = field(default_factory=tuple)  # markups_overlay.MarkupShape
    #: model cross-sections drawn over the layers (voxweb.render.intersections)
    intersections: Sequence = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return self.background is None and self.foreground is None and self.label is None


def parse_size(text: str) -> tuple[int, int]:
    """``512`` or ``640x480`` -> (width, height); ValueError with a clear message otherwise."""
    parts = text.lower().replace("*", "x").split("x")
    try:
        values = [int(float(p)) for p in parts]
    except ValueError:
        raise ValueError(f"size must be N or WxH in pixels, not {text!r}") from None
    if len(values) == 1:
        values *= 2
    if len(values) != 2 or not all(1 <= v <= MAX_SIZE for v in values):
        raise ValueError(f"size must be N or WxH with 1..{MAX_SIZE} pixels per side, not {text!r}")
    return values[0], values[1]


# ----------------------------------------------------------------------------- lookup tables


@functools.lru_cache(maxsize=32)
def _window_level_lut(dtype: str, window: float, level: float) -> np.ndarray:
    """uint8 table indexed by the raw bits of a 1- or 2-byte integer value."""
    dt = np.dtype(dtype)
    bits = 8 * dt.itemsize
    raw = np.arange(1 << bits, dtype=np.uint16 if bits == 16 else np.uint8)
    values = raw.view(dt).astype(np.float32)  # the same arithmetic as the float path
    return apply_window_level(values, window, level)


def apply_window_level(values: np.ndarray, window: float, level: float) -> np.ndarray:
    window = max(float(window), 1e-12)
    low = float(level) - window / 2.0
    out = (values - low) * (255.0 / window)
    return np.clip(np.nan_to_num(out, nan=0.0) + 0.5, 0, 255).astype(np.uint8)


def window_level(values: np.ndarray, window: float, level: float) -> np.ndarray:
    """Map values to uint8 grey: ``level - window/2`` -> 0 and ``level + window/2`` -> 255."""
    if values.dtype.kind in "iu" and values.dtype.itemsize <= 2:
        lut = _window_level_lut(values.dtype.str, float(window), float(level))
        unsigned = values.view(np.uint16 if values.dtype.itemsize == 2 else np.uint8)
        return lut[unsigned]
    return apply_window_level(values.astype(np.float32), window, level)


def threshold_alpha(values: np.ndarray, threshold: tuple[float, float]) -> np.ndarray:
    """uint8 alpha: 255 where ``lower <= value <= upper`` (Slicer's display threshold), else 0."""
    lower, upper = threshold
    return np.where((values >= lower) & (values <= upper), 255, 0).astype(np.uint8)


def label_colors(values: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """(..., 4) RGBA for integer labels; values outside the table are transparent."""
    idx = values.astype(np.int64, copy=False)
    idx = np.where((idx < 0) | (idx >= len(colors)), 0, idx)
    return colors[idx]


# ----------------------------------------------------------------------------- reslicing


def plane_in_ijk(layer: Layer, geometry: SliceGeometry) -> np.ndarray:
    """4x4: continuous pixel coordinates (u, v, 0, 1) -> continuous IJK of ``layer``."""
    return np.linalg.inv(np.asarray(layer.ijk_to_ras, dtype=float)) @ geometry.pixel_to_ras()
