"""Model cross-sections in slice views (Slicer's "slice intersection" of a model).

Where a triangle surface crosses the slice plane it leaves a polyline; this module finds it
(each triangle whose corners lie on both sides of the plane contributes one segment) and draws
it in the model's colour. Pure numpy + Pillow, on a snapshot; no scene access.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw


@dataclass(frozen=True)
class ModelSection:
    """A model to cut with the slice plane: world (RAS) vertices, triangles, RGB 0-1."""

    vertices: np.ndarray
    faces: np.ndarray
    color: tuple[float, float, float]
    width: int = 2


def section_segments(pixels: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(M, 2, 2) segment end points in pixel coordinates, from vertices given as (column,
    row, distance to the plane) and triangles; the plane is distance 0."""
    if not len(faces):
        return np.zeros((0, 2, 2))
    dist = pixels[:, 2]
    d = dist[faces]  # (T, 3)
    side = d >= 0
    crossing = side.any(axis=1) & ~side.all(axis=1)
    faces, d = faces[crossing], d[crossing]
    if not len(faces):
        return np.zeros((0, 2, 2))
    side = d >= 0
    points = []
    for a, b in ((0, 1), (1, 2), (2, 0)):
        cut = side[:, a] != side[:, b]
        denom = np.where(cut, d[:, a] - d[:, b], 1.0)
        t = np.where(cut, d[:, a] / denom, 0.0)
        pa, pb = pixels[faces[:, a], :2], pixels[faces[:, b], :2]
        points.append((pa + (pb - pa) * t[:, None], cut))
    # exactly two of the three edges are cut: take them in order
    first = np.where(points[0][1][:, None], points[0][0], points[1][0])
    second = np.where(points[2][1][:, None], points[2][0], points[1][0])
    return np.stack([first, second], axis=1)


def draw_intersections(image: Image.Image, geometry, sections: Sequence[ModelSection]) -> None:
    """Draw each model's cross-section with the plane of ``geometry`` onto ``image``."""
    draw = ImageDraw.Draw(image)
    for section in sections:
        if not len(section.vertices) or not len(section.faces):
            continue
        pixels = geometry.ras_to_pixel(np.asarray(section.vertices, dtype=float))
        segments = section_segments(pixels, np.asarray(section.faces, dtype=np.int64)) + 0.5
        rgb = tuple(int(round(c * 255)) for c in section.color)
        for (x0, y0), (x1, y1) in segments:
            draw.line([(x0, y0), (x1, y1)], fill=rgb, width=section.width)


__all__ = ["ModelSection", "draw_intersections", "section_segments"]
