"""Slice rendering: reslice volumes on a view plane, window/level, blend layers, draw fiducials.

Pure functions from a snapshot of scene state (arrays, matrices, display numbers) to a Pillow
image; no locks, no scene lookups, no HTTP. Pixel convention: output pixel (col X, row Y) has
its centre at slice coordinates ``x = (X + 0.5 - W/2)·s``, ``y = (H/2 - Y - 0.5)·s`` (row 0 at
the top, the slice y axis pointing up), where ``s = max(fov_w/W, fov_h/H)`` mm per pixel so the
whole field of view is visible whatever the aspect of the requested size.

Fast path: when the plane is parallel to a voxel plane of a layer (every axial/sagittal/coronal
view of a non-oblique volume), one 2-D slab is taken from the array (two slabs blended when
interpolating between voxel planes), mapped through a 64K window/level lookup table and resampled
by Pillow's C affine transform. Otherwise scipy's ``map_coordinates`` reslices in 3-D.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

logger = logging.getLogger(__name__)

MAX_SIZE = 4096
_EPS = 1e-6


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
    return _apply_window_level(values, window, level)


def _apply_window_level(values: np.ndarray, window: float, level: float) -> np.ndarray:
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
    return _apply_window_level(values.astype(np.float32), window, level)


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


def _plane_in_ijk(layer: Layer, geometry: SliceGeometry) -> np.ndarray:
    """4x4: continuous pixel coordinates (u, v, 0, 1) -> continuous IJK of ``layer``."""
    return np.linalg.inv(np.asarray(layer.ijk_to_ras, dtype=float)) @ geometry.pixel_to_ras()


def _aligned_axis(m: np.ndarray) -> int | None:
    """The IJK axis that stays constant over the image, if the plane is a voxel plane."""
    for axis in range(3):
        if abs(m[axis, 0]) < _EPS and abs(m[axis, 1]) < _EPS:
            others = [a for a in range(3) if a != axis]
            # each remaining axis must vary along the image: the slab maps affinely
            if abs(np.linalg.det(m[np.ix_(others, [0, 1])])) > _EPS:
                return axis
    return None


def _slab(array: np.ndarray, axis: int, index: int) -> np.ndarray:
    """2-D slab at IJK ``index`` along IJK ``axis``; rows = the higher, columns = the lower axis."""
    return np.take(array, index, axis=2 - axis)


def reslice_layer(layer: Layer, geometry: SliceGeometry, alpha: bool = True) -> Image.Image:
    """A layer on the view plane: ``LA`` (grey + coverage) for scalars, ``RGBA`` for labels;
    ``L`` for scalars when ``alpha`` is False (outside the volume is then just black)."""
    if layer.slab is not None and not layer.is_label:
        from voxweb.render.slab import slab_layer

        return slab_layer(layer, geometry, alpha)
    m = _plane_in_ijk(layer, geometry)
    axis = _aligned_axis(m)
    if axis is not None:
        return _reslice_aligned(layer, geometry, m, axis, alpha)
    image = _reslice_general(layer, geometry, m)
    return image.getchannel(0) if image.mode == "LA" and not alpha else image


def _reslice_aligned(
    layer: Layer, geometry: SliceGeometry, m: np.ndarray, axis: int, alpha: bool
) -> Image.Image:
    w, h = geometry.size
    n = layer.array.shape[2 - axis]
    c = float(m[axis, 3])
    label = layer.is_label
    mode = "RGBA" if label else ("LA" if alpha else "L")
    if not -0.5 - 1e-6 <= c <= n - 0.5 + 1e-6:
        return Image.new(mode, (w, h))
    interpolate = layer.interpolate and not label
    lower = min(max(int(np.floor(c)), 0), n - 1)
    frac = c - lower
    if interpolate and frac > 1e-3 and lower + 1 < n and frac < 1 - 1e-3:
        s0 = _slab(layer.array, axis, lower).astype(np.float32)
        s1 = _slab(layer.array, axis, lower + 1).astype(np.float32)
        values = s0 + (s1 - s0) * np.float32(frac)
        pixels = _apply_window_level(values, layer.window, layer.level)
    else:
        values = _slab(layer.array, axis, min(max(int(np.floor(c + 0.5)), 0), n - 1))
        if label:
            pixels = label_colors(values, layer.colors)  # type: ignore[arg-type]
        else:
            pixels = window_level(values, layer.window, layer.level)
    if mode == "LA":
        coverage = (
            np.full(pixels.shape, 255, dtype=np.uint8)
            if layer.threshold is None
            else threshold_alpha(values, layer.threshold)
        )
        pixels = np.dstack([pixels, coverage])
    col, row = sorted(a for a in range(3) if a != axis)
    # Pillow: input (x, y) = affine(output (x, y)), both in continuous pixel coordinates.
    coeffs = np.array(
        [[m[col, 0], m[col, 1], m[col, 3] + 0.5], [m[row, 0], m[row, 1], m[row, 3] + 0.5]]
    )
    resample = Image.Resampling.BILINEAR if interpolate else Image.Resampling.NEAREST
    source = Image.fromarray(np.ascontiguousarray(pixels))
    scaled = _resample_by_resize(source, coeffs, (w, h), resample)
    if scaled is not None:
        return scaled
    data = tuple(coeffs.reshape(-1))
    return source.transform((w, h), Image.Transform.AFFINE, data, resample=resample)


def _resample_by_resize(
    source: Image.Image, coeffs: np.ndarray, size: tuple[int, int], resample: int
) -> Image.Image | None:
    """The affine resampling done with flips + ``Image.resize`` (several times faster than
    ``transform``) when it is a pure scale along each axis, possibly with the axes swapped;
    None when it has a shear or rotation."""
    a = coeffs[:, :2]
    if abs(a[0, 1]) < _EPS and abs(a[1, 0]) < _EPS:
        pass
    elif abs(a[0, 0]) < _EPS and abs(a[1, 1]) < _EPS:
        # output x follows input y: transpose the source, swap the rows of the mapping
        source = source.transpose(Image.Transpose.TRANSPOSE)
        coeffs = coeffs[::-1].copy()
    else:
        return None
    sx, bx = coeffs[0, 0], coeffs[0, 2]
    sy, by = coeffs[1, 1], coeffs[1, 2]
    if abs(sx) < _EPS or abs(sy) < _EPS:
        return None
    sw, sh = source.size
    if sx < 0:
        source = source.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        sx, bx = -sx, sw - bx
    if sy < 0:
        source = source.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        sy, by = -sy, sh - by
    w, h = size
    # the output span whose box stays inside the source
    x0 = min(max(int(np.ceil(-bx / sx - 1e-9)), 0), w)
    x1 = min(max(int(np.floor((sw - bx) / sx + 1e-9)), 0), w)
    y0 = min(max(int(np.ceil(-by / sy - 1e-9)), 0), h)
    y1 = min(max(int(np.floor((sh - by) / sy + 1e-9)), 0), h)
    canvas = Image.new(source.mode, (w, h))
    if x1 <= x0 or y1 <= y0:
        return canvas
    box = (
        max(sx * x0 + bx, 0.0),
        max(sy * y0 + by, 0.0),
        min(sx * x1 + bx, float(sw)),
        min(sy * y1 + by, float(sh)),
    )
    part = source.resize((x1 - x0, y1 - y0), resample, box=box)
    if (x0, y0, x1, y1) == (0, 0, w, h):
        return part
    canvas.paste(part, (x0, y0))
    return canvas


def _reslice_general(layer: Layer, geometry: SliceGeometry, m: np.ndarray) -> Image.Image:
    """Oblique planes: trilinear (or nearest) sampling with scipy's ``map_coordinates``.

    When output pixels are much smaller than voxels, the plane is sampled on a coarser grid
    (about one sample per voxel) and scaled up bilinearly: the same picture for a fraction of
    the samples.
    """
    from scipy.ndimage import map_coordinates

    w, h = geometry.size
    voxel = float(np.min(np.linalg.norm(np.asarray(layer.ijk_to_ras)[:3, :3], axis=0)))
    factor = min(1.0, geometry.spacing / voxel) if not layer.is_label else 1.0
    cw, ch = max(1, int(np.ceil(w * factor))), max(1, int(np.ceil(h * factor)))
    u = (np.arange(cw, dtype=np.float64) + 0.5) * (w / cw)
    v = (np.arange(ch, dtype=np.float64) + 0.5) * (h / ch)
    ijk = (
        m[:3, 0, None, None] * u[None, None, :]
        + m[:3, 1, None, None] * v[None, :, None]
        + m[:3, 3, None, None]
    )  # (3, ch, cw)
    shape_ijk = layer.array.shape[::-1]
    inside = np.ones((ch, cw), dtype=bool)
    for a in range(3):
        inside &= (ijk[a] >= -0.5) & (ijk[a] <= shape_ijk[a] - 0.5)
    coords = np.stack([ijk[2], ijk[1], ijk[0]]).astype(np.float32)  # numpy (k, j, i) order
    if layer.is_label:
        values = map_coordinates(layer.array, coords, order=0, mode="nearest")
        rgba = label_colors(values, layer.colors)  # type: ignore[arg-type]
        rgba[~inside] = 0
        return Image.fromarray(np.ascontiguousarray(rgba))
    order = 1 if layer.interpolate else 0
    values = map_coordinates(
        layer.array, coords, order=order, mode="nearest", output=np.float32, prefilter=False
    )
    out = np.empty((ch, cw, 2), dtype=np.uint8)
    out[..., 0] = _apply_window_level(values, layer.window, layer.level)
    out[..., 1] = np.where(inside, 255, 0)
    if layer.threshold is not None:
        out[..., 1] &= threshold_alpha(values, layer.threshold)
    out[..., 0][~inside] = 0
    image = Image.fromarray(out)
    if (cw, ch) != (w, h):
        resample = Image.Resampling.BILINEAR if layer.interpolate else Image.Resampling.NEAREST
        image = image.resize((w, h), resample)
    return image


# ----------------------------------------------------------------------------- compositing


def render_slice(geometry: SliceGeometry, layers: SliceLayers) -> Image.Image:
    """Composite background, foreground (opacity) and label (opacity, outline) on the plane.

    Returns ``L`` when only a grey background is shown (smaller and faster to encode), else
    ``RGB``. Outside every volume the image is black, as in Slicer.
    """
    w, h = geometry.size
    base: Image.Image | None = None
    background = layers.background
    plain = background is not None and _plain(background)
    if plain:
        bg = reslice_layer(background, geometry, alpha=False)  # type: ignore[arg-type]
        base = bg if bg.mode == "L" else bg.convert("RGB")
    overlays = layers.glyphs or layers.segments or layers.markups or layers.intersections
    if layers.foreground is None and layers.label is None and not overlays:
        if background is None:
            return Image.new("L", (w, h))
        if plain:
            return base  # type: ignore[return-value]
    out = (
        np.zeros((h, w, 3), dtype=np.float32)
        if base is None
        else np.asarray(base.convert("RGB"), dtype=np.float32)
    )
    if not plain and background is not None and background.opacity > 0:
        _blend_scalar(out, background, geometry)  # coloured, thresholded or translucent
    if layers.foreground is not None and layers.foreground.opacity > 0:
        _blend_scalar(out, layers.foreground, geometry)
    if layers.label is not None and layers.label.opacity > 0:
        lab = np.asarray(reslice_layer(layers.label, geometry))
        alpha = lab[..., 3].astype(np.float32)
        if layers.label.outline:
            alpha = np.where(_outline_mask(lab), alpha, 0.0)
        alpha = alpha[..., None] * (layers.label.opacity / 255.0)
        out += (lab[..., :3].astype(np.float32) - out) * alpha
    if layers.segments:
        from voxweb.render.segment_overlay import composite_segments

        composite_segments(out, geometry, layers.segments)
    image = Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))
    if layers.intersections:
        from voxweb.render.intersections import draw_intersections

        draw_intersections(image, geometry, layers.intersections)
    if layers.glyphs:
        draw_glyphs(image, geometry, layers.glyphs)
    if layers.markups:
        from voxweb.render.markups_overlay import draw_markups

        draw_markups(image, geometry, layers.markups)
    return image


def _plain(layer: Layer) -> bool:
    """A layer the fast path draws: opaque grey (or label colours), no threshold."""
    return layer.opacity >= 1.0 and layer.lut is None and layer.threshold is None


def _blend_scalar(out: np.ndarray, layer: Layer, geometry: SliceGeometry) -> None:
    """Blend a layer over ``out`` (h, w, 3 float) in place: its colour (grey or ramp) with its
    coverage (inside the volume and inside the threshold) times its opacity."""
    pixels = np.asarray(reslice_layer(layer, geometry))
    if pixels.shape[-1] == 2:
        grey = pixels[..., 0]
        colour = grey[..., None] if layer.lut is None else layer.lut[grey]
    else:
        colour = pixels[..., :3]
    alpha = pixels[..., -1:].astype(np.float32) * (layer.opacity / 255.0)
    out += (colour.astype(np.float32) - out) * alpha


def _outline_mask(rgba: np.ndarray) -> np.ndarray:
    """True on label pixels that touch a pixel of another colour (4-neighbourhood)."""
    packed = rgba.view(np.uint32)[..., 0] if rgba.flags["C_CONTIGUOUS"] else None
    if packed is None:
        packed = np.ascontiguousarray(rgba).view(np.uint32)[..., 0]
    edge = np.zeros(packed.shape, dtype=bool)
    edge[1:, :] |= packed[1:, :] != packed[:-1, :]
    edge[:-1, :] |= packed[:-1, :] != packed[1:, :]
    edge[:, 1:] |= packed[:, 1:] != packed[:, :-1]
    edge[:, :-1] |= packed[:, :-1] != packed[:, 1:]
    edge[0, :] = edge[-1, :] = True
    edge[:, 0] = edge[:, -1] = True
    return edge


def draw_glyphs(image: Image.Image, geometry: SliceGeometry, glyphs: Sequence[Glyph]) -> None:
    """Draw fiducials within half a glyph of the plane as circles with their labels."""
    if not glyphs:
        return
    draw = ImageDraw.Draw(image)
    pixels = geometry.ras_to_pixel(np.array([g.position for g in glyphs], dtype=float))
    s = geometry.spacing
    for glyph, (col, row, dist) in zip(glyphs, pixels, strict=True):
        radius_mm = glyph.size_mm / 2.0
        if abs(dist) > max(radius_mm, s / 2):
            continue
        r = max(2.0, (radius_mm**2 - min(dist**2, radius_mm**2)) ** 0.5 / s)
        rgb = tuple(int(round(c * 255)) for c in glyph.color)
        x, y = col + 0.5, row + 0.5
        draw.ellipse((x - r, y - r, x + r, y + r), outline=rgb, width=2)
        if glyph.label:
            draw.text((x + r + 2, y - r - 2), glyph.label, fill=rgb)
