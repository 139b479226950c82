"""Reslicing one volume layer on the view plane (the fast aligned path and the general one).

Fast path: when the plane is parallel to a voxel plane of a layer (every axial/sagittal/coronal
view of a non-oblique volume), one 2-D slab is taken from the array (two slabs blended when
interpolating between voxel planes), mapped through a 64K window/level lookup table and resampled
by Pillow's C affine transform. Otherwise scipy's ``map_coordinates`` reslices in 3-D; thick
slabs are ``slab``'s.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from voxweb.render.layers import (
    Layer,
    SliceGeometry,
    apply_window_level,
    label_colors,
    plane_in_ijk,
    threshold_alpha,
    window_level,
)
from voxweb.render.slab import slab_layer

_EPS = 1e-6


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
        return slab_layer(layer, geometry, alpha)
    m = plane_in_ijk(layer, geometry)
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
        pixels = apply_window_level(values, layer.window, layer.level)
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
    out[..., 0] = apply_window_level(values, layer.window, layer.level)
    out[..., 1] = np.where(inside, 255, 0)
    if layer.threshold is not None:
        out[..., 1] &= threshold_alpha(values, layer.threshold)
    out[..., 0][~inside] = 0
    image = Image.fromarray(out)
    if (cw, ch) != (w, h):
        resample = Image.Resampling.BILINEAR if layer.interpolate else Image.Resampling.NEAREST
        image = image.resize((w, h), resample)
    return image
