"""Slice rendering: reslice volumes on a view plane, window/level, blend layers, draw fiducials.

Pure functions from a snapshot of scene state (arrays, matrices, display numbers) to a Pillow
image; no locks, no scene lookups, no HTTP. Pixel convention: output pixel (col X, row Y) has
its centre at slice coordinates ``x = (X + 0.5 - W/2)·s``, ``y = (H/2 - Y - 0.5)·s`` (row 0 at
the top, the slice y axis pointing up), where ``s = max(fov_w/W, fov_h/H)`` mm per pixel so the
whole field of view is visible whatever the aspect of the requested size. Reslicing is
``reslice``'s, the data it works on ``layers``'; this module composites the layers and draws
the overlays.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from voxweb.render.intersections import draw_intersections
from voxweb.render.layers import (
    MAX_SIZE,
    Glyph,
    Layer,
    SliceGeometry,
    SliceLayers,
    parse_size,
    window_level,
)
from voxweb.render.markups_overlay import draw_markups
from voxweb.render.reslice import reslice_layer
from voxweb.render.segment_overlay import composite_segments

__all__ = [
    "MAX_SIZE",
    "Glyph",
    "Layer",
    "SliceGeometry",
    "SliceLayers",
    "parse_size",
    "render_slice",
    "reslice_layer",
    "window_level",
]

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
        composite_segments(out, geometry, layers.segments)
    image = Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))
    if layers.intersections:
        draw_intersections(image, geometry, layers.intersections)
    if layers.glyphs:
        draw_glyphs(image, geometry, layers.glyphs)
    if layers.markups:
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
