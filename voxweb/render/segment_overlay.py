"""Segmentations on slice and 3-D views: what is visible, with which colour and opacity.

A slice view draws every visible segmentation over its volume layers, as Slicer's
segmentation displayable manager does: each visible segment filled (2-D fill opacity) and
outlined (2-D outline opacity), both scaled by the segmentation's overall opacity, later
segments over earlier ones. :func:`segment_overlays` snapshots the scene under its lock
(array references, matrices, numbers); :func:`composite_segments` draws without it. 3-D views
ask :func:`visible_segments_3d` which closed surfaces to show. No scene changes, no HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from voxweb.render.layers import Layer, SliceGeometry
from voxweb.render.reslice import reslice_layer
from voxweb.scene.nodes import Segment, Segmentation


@dataclass(frozen=True)
class SegmentPaint:
    """One segment to draw: where its voxels are (layer, label value) and how (RGB 0-1, alphas)."""

    layer: int
    label_value: int
    color: tuple[float, float, float]
    fill: float
    outline: float


@dataclass(frozen=True)
class SegmentOverlay:
    """A segmentation's labelmap layers on one voxel grid, and the segments to draw from them."""

    layers: tuple[np.ndarray, ...]
    ijk_to_ras: np.ndarray
    segments: tuple[SegmentPaint, ...]


def segment_overlays(
    scene, world: Callable[[Segmentation], np.ndarray]
) -> tuple[tuple[SegmentOverlay, ...], tuple]:
    """Visible segmentations of ``scene`` for slice views, and a stamp for render caches.

    Call under the scene lock; ``world`` gives a node's to-world matrix.
    """
    overlays = []
    stamp = []
    for node in scene.nodes_of_class("vtkMRMLSegmentationNode"):
        if not isinstance(node, Segmentation) or not node.layers:
            continue
        display = node.display
        if not (display.visible and display.visible_2d):
            continue
        paints = []
        for segment in node.segments.values():
            props = display.of(segment.id)
            if not props.visible or segment.layer >= len(node.layers):
                continue
            fill = display.opacity * display.opacity_2d_fill * props.opacity_2d_fill
            outline = display.opacity * display.opacity_2d_outline * props.opacity_2d_outline
            fill = fill if display.visible_2d_fill and props.visible_2d_fill else 0.0
            outline = outline if display.visible_2d_outline and props.visible_2d_outline else 0.0
            if fill <= 0 and outline <= 0:
                continue
            color = _color(segment, props.override_color)
            paints.append(SegmentPaint(segment.layer, segment.label_value, color, fill, outline))
        if not paints:
            continue
        matrix = np.asarray(world(node), dtype=float) @ np.asarray(node.ijk_to_ras, dtype=float)
        overlays.append(SegmentOverlay(tuple(node.layers), matrix, tuple(paints)))
        stamp.append((node.id, node.mtime, matrix.tobytes(), tuple(paints)))
    return tuple(overlays), tuple(stamp)


def visible_segments_3d(node: Segmentation) -> list[tuple[Segment, tuple[float, ...], float]]:
    """(segment, RGB, opacity) of each segment a 3-D view shows (none without closed surfaces)."""
    display = node.display
    if not (node.closed_surface and display.visible and display.visible_3d):
        return []
    out = []
    for segment in node.segments.values():
        props = display.of(segment.id)
        if not (props.visible and props.visible_3d):
            continue
        opacity = display.opacity * display.opacity_3d * props.opacity_3d
        if opacity > 0:
            out.append((segment, _color(segment, props.override_color), float(opacity)))
    return out


def _color(segment: Segment, override: Sequence[float] | None) -> tuple[float, float, float]:
    rgb = override if override is not None else segment.color
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]))


# ----------------------------------------------------------------------------- drawing


def _value_lut(top: int) -> np.ndarray:
    """Label value v -> RGBA bytes that encode v (R = low byte, G = high byte, A = inside)."""
    values = np.arange(top + 1)
    lut = np.zeros((top + 1, 4), dtype=np.uint8)
    lut[:, 0] = values & 0xFF
    lut[:, 1] = (values >> 8) & 0xFF
    lut[1:, 3] = 255
    return lut


def layer_values(array: np.ndarray, ijk_to_ras: np.ndarray, geometry: SliceGeometry) -> np.ndarray:
    """Label values of one layer on the view plane, nearest neighbour (0 outside the grid)."""
    top = int(array.max()) if array.size else 0
    if top <= 0:
        return np.zeros((geometry.size[1], geometry.size[0]), dtype=np.int64)
    layer = Layer(array, ijk_to_ras, interpolate=False, colors=_value_lut(min(top, 65535)))
    rgba = np.asarray(reslice_layer(layer, geometry))
    values = rgba[..., 0].astype(np.int64) | (rgba[..., 1].astype(np.int64) << 8)
    return np.where(rgba[..., 3] > 0, values, 0)


def _edge(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` with a 4-neighbour outside it (its one-pixel outline)."""
    inner = mask.copy()
    inner[1:, :] &= mask[:-1, :]
    inner[:-1, :] &= mask[1:, :]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    return mask & ~inner


def composite_segments(
    out: np.ndarray, geometry: SliceGeometry, overlays: Sequence[SegmentOverlay]
) -> None:
    """Blend the segments into ``out`` (H, W, 3 float RGB 0-255) in place."""
    for overlay in overlays:
        values: dict[int, np.ndarray] = {}
        for paint in overlay.segments:
            if paint.layer not in values:
                values[paint.layer] = layer_values(
                    overlay.layers[paint.layer], overlay.ijk_to_ras, geometry
                )
            mask = values[paint.layer] == paint.label_value
            if not mask.any():
                continue
            rgb = np.array(paint.color, dtype=np.float32) * 255.0
            if paint.fill > 0:
                out[mask] += (rgb - out[mask]) * np.float32(paint.fill)
            if paint.outline > 0:
                edge = _edge(mask)
                out[edge] += (rgb - out[edge]) * np.float32(paint.outline)


__all__ = [
    "SegmentOverlay",
    "SegmentPaint",
    "composite_segments",
    "layer_values",
    "segment_overlays",
    "visible_segments_3d",
]
