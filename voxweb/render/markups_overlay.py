"""Markups in rendered views: snapshots of markups nodes, 2-D overlays and 3-D surfaces.

:func:`markup_shapes` runs under the scene lock and copies what drawing needs (world
positions, polylines, ROI corners, plane rectangles, colours, sizes, labels) into frozen
:class:`MarkupShape` records; :func:`draw_markups` draws them on a slice image without the
lock, and :func:`markup_surfaces` turns them into triangle meshes for the 3-D renderers.

Slice views show control points near the plane as glyphs (``glyph_scale`` percent of the
view, or ``glyph_size`` mm), lines and curves as polylines that fade out with distance from
the plane (as Slicer's line colour fading: full within 1 mm, gone at 10 mm), an ROI as the
outline of its cut through the plane and a plane as its intersection line (its outline when
it lies in the view plane). Selected control points use the selected colour, others the
colour; opacity, visibility (2-D and 3-D) and label visibility are honoured. This module
never changes the scene.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from voxweb.render.layers import SliceGeometry
from voxweb.render.surfaces import Surface, sphere
from voxweb.scene.markups import MarkupsNode, MarkupsPlane, MarkupsROI

FADE_START_MM = 1.0
FADE_END_MM = 10.0
#: ROI edges as pairs of corner indices (corner index bits: x, y, z low/high).
ROI_EDGES = ((0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5),
             (2, 6), (3, 7))  # fmt: skip


@dataclass(frozen=True)
class MarkupShape:
    """One markups node as the renderers need it, in world RAS."""

    key: tuple
    name: str
    kind: str
    points: np.ndarray  # (N, 3) visible, defined control points
    labels: tuple[str, ...]
    selected: tuple[bool, ...]
    polyline: np.ndarray  # (M, 3), drawn as connected segments
    closed: bool
    outline: np.ndarray | None  # ROI: (8, 3) corners; plane: (4, 3) rectangle corners
    color: tuple[float, float, float]
    selected_color: tuple[float, float, float]
    opacity: float
    glyph_scale: float
    glyph_size: float
    use_glyph_scale: bool
    glyph_type: str
    text_scale: float
    line_thickness: float
    point_labels: bool
    properties_label: str  # "" when hidden
    show_2d: bool
    show_3d: bool

    @property
    def line_color(self) -> tuple[float, float, float]:
        """Lines take the selected colour while every control point is selected."""
        if self.selected and all(self.selected):
            return self.selected_color
        return self.color

    def point_color(self, index: int) -> tuple[float, float, float]:
        return self.selected_color if self.selected[index] else self.color


def markup_shapes(
    scene, world: Callable[[MarkupsNode], np.ndarray]
) -> tuple[list[MarkupShape], tuple]:
    """Snapshot every visible markups node (call under the scene lock): (shapes, stamp)."""
    shapes: list[MarkupShape] = []
    stamp = []
    for node in scene.nodes_of_class("vtkMRMLMarkupsNode"):
        if not isinstance(node, MarkupsNode) or not node.visible:
            continue
        matrix = np.asarray(world(node), dtype=float)
        stamp.append((node.id, node.mtime, matrix.tobytes()))
        try:
            shapes.append(_shape(node, matrix))
        except NotImplementedError:
            continue  # a curve type voxweb cannot draw: the rest of the scene still renders
    return shapes, tuple(stamp)


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    return points @ matrix[:3, :3].T + matrix[:3, 3]


def _shape(node: MarkupsNode, matrix: np.ndarray) -> MarkupShape:
    shown = [cp for cp in node.control_points if cp.defined and cp.visible]
    polyline, closed = node.polyline()
    outline = None
    if isinstance(node, MarkupsROI):
        outline = node.corners() if np.any(node.box_size() > 0) else None
    elif isinstance(node, MarkupsPlane):
        outline = node.corners() if len(node.defined_positions()) else None
    label = ""
    if node.properties_label_visible:
        enabled = [m for m in node.measurements() if m.enabled]
        label = node.name
        if enabled:
            label += f": {enabled[0].value:.4g} {enabled[0].units}"
    return MarkupShape(
        key=(node.id, node.mtime, matrix.tobytes()),
        name=node.name,
        kind=node.markup_type,
        points=_apply(matrix, [cp.position for cp in shown]),
        labels=tuple(cp.label for cp in shown),
        selected=tuple(bool(cp.selected) for cp in shown),
        polyline=_apply(matrix, polyline),
        closed=closed,
        outline=None if outline is None else _apply(matrix, outline),
        color=tuple(float(c) for c in node.color),  # type: ignore[arg-type]
        selected_color=tuple(float(c) for c in node.selected_color),  # type: ignore[arg-type]
        opacity=float(node.opacity),
        glyph_scale=float(node.glyph_scale),
        glyph_size=float(node.glyph_size),
        use_glyph_scale=bool(node.use_glyph_scale),
        glyph_type=str(node.glyph_type),
        text_scale=float(node.text_scale),
        line_thickness=float(node.line_thickness),
        point_labels=bool(node.point_labels_visible),
        properties_label=label if node.markup_type != "Fiducial" else "",
        show_2d=bool(node.visible_2d),
        show_3d=bool(node.visible_3d),
    )


# ----------------------------------------------------------------------------- slice views


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _rgba(color: Sequence[float], alpha: float) -> tuple[int, int, int, int]:
    r, g, b = (int(round(min(max(c, 0.0), 1.0) * 255)) for c in color)
    return (r, g, b, int(round(min(max(alpha, 0.0), 1.0) * 255)))


def glyph_diameter_px(shape: MarkupShape, geometry: SliceGeometry) -> float:
    """Glyph diameter in pixels: ``glyph_scale`` percent of the view (its geometric mean
    side) or ``glyph_size`` mm, as Slicer's relative and absolute glyph sizes."""
    w, h = geometry.size
    if shape.use_glyph_scale:
        return max(3.0, shape.glyph_scale / 100.0 * float(np.sqrt(w * h)))
    return max(3.0, shape.glyph_size / geometry.spacing)


def draw_markups(
    image: Image.Image, geometry: SliceGeometry, shapes: Sequence[MarkupShape]
) -> Image.Image:
    """Draw ``shapes`` on ``image`` (RGB, changed in place) and return it."""
    shapes = [s for s in shapes if s.show_2d and s.opacity > 0]
    if not shapes:
        return image
    base = image.convert("RGBA")
    for shape in shapes:
        layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        _draw_shape(draw, geometry, shape)
        if shape.opacity < 1.0:
            alpha = np.asarray(layer.getchannel("A"), dtype=np.float32) * shape.opacity
            layer.putalpha(Image.fromarray(np.clip(alpha + 0.5, 0, 255).astype(np.uint8)))
        base = Image.alpha_composite(base, layer)
    image.paste(base.convert("RGB"))
    return image


def _draw_shape(draw: ImageDraw.ImageDraw, geometry: SliceGeometry, shape: MarkupShape) -> None:
    s = geometry.spacing
    diameter = glyph_diameter_px(shape, geometry)
    width = max(1, int(round(shape.line_thickness * diameter)))
    font = _font(
        max(8, int(round(shape.text_scale / 100.0 * np.sqrt(np.prod(geometry.size)) * 1.3)))
    )
    if len(shape.polyline) >= 2:
        _draw_polyline(draw, geometry, shape.polyline, shape.line_color, width)
    if shape.outline is not None and shape.kind == "ROI":
        for ring in _box_section(shape.outline, geometry):
            _draw_ring(draw, ring, shape.line_color, width)
    elif shape.outline is not None and shape.kind == "Plane":
        _draw_plane(draw, geometry, shape.outline, shape.line_color, width)
    # control points within reach of the plane, as glyphs with their labels
    radius_mm = diameter * s / 2.0
    anchor = None
    if len(shape.points):
        pixels = geometry.ras_to_pixel(shape.points)
        for index, (col, row, dist) in enumerate(pixels):
            if abs(dist) > max(radius_mm, s / 2):
                continue
            r = max(2.0, (radius_mm**2 - min(dist**2, radius_mm**2)) ** 0.5 / s)
            x, y = col + 0.5, row + 0.5
            rgba = _rgba(shape.point_color(index), 1.0)
            _glyph(draw, shape.glyph_type, x, y, r, rgba)
            if anchor is None:
                anchor = (x + r + 2, y - r - 2)
            if shape.point_labels and shape.labels[index]:
                draw.text((x + r + 2, y - r - 2), shape.labels[index], fill=rgba, font=font)
                anchor = (x + r + 2, y - r - 2 + font.size + 2) if hasattr(font, "size") else anchor
    if shape.properties_label and anchor is not None:
        draw.text(anchor, shape.properties_label, fill=_rgba(shape.line_color, 1.0), font=font)


def _glyph(draw: ImageDraw.ImageDraw, kind: str, x: float, y: float, r: float, rgba) -> None:
    box = (x - r, y - r, x + r, y + r)
    if kind in ("Cross2D", "ThickCross2D", "StarBurst2D"):
        w = 3 if kind == "ThickCross2D" else 2
        draw.line((x - r, y, x + r, y), fill=rgba, width=w)
        draw.line((x, y - r, x, y + r), fill=rgba, width=w)
        if kind == "StarBurst2D":
            d = r * 0.7
            draw.line((x - d, y - d, x + d, y + d), fill=rgba, width=1)
            draw.line((x - d, y + d, x + d, y - d), fill=rgba, width=1)
    elif kind == "Square2D":
        draw.rectangle(box, outline=rgba, width=2)
    elif kind in ("Diamond2D", "Diamond3D"):
        draw.polygon([(x, y - r), (x + r, y), (x, y + r), (x - r, y)], outline=rgba, width=2)
    elif kind == "Triangle2D":
        draw.polygon([(x, y - r), (x + r, y + r), (x - r, y + r)], outline=rgba, width=2)
    elif kind == "Dash2D":
        draw.line((x - r, y, x + r, y), fill=rgba, width=2)
    elif kind == "Vertex2D":
        draw.ellipse((x - 1, y - 1, x + 1, y + 1), fill=rgba)
    else:  # Sphere3D, Circle2D and the arrows: a circle
        draw.ellipse(box, outline=rgba, width=2)


def _fade(distance: np.ndarray) -> np.ndarray:
    """Line opacity by distance from the plane: 1 within FADE_START_MM, 0 beyond FADE_END_MM."""
    d = np.abs(distance)
    return np.clip((FADE_END_MM - d) / (FADE_END_MM - FADE_START_MM), 0.0, 1.0)


def _draw_polyline(
    draw: ImageDraw.ImageDraw, geometry: SliceGeometry, points: np.ndarray, color, width: int
) -> None:
    pixels = geometry.ras_to_pixel(points)
    step = max(geometry.spacing, 0.25)  # pieces short enough to fade smoothly
    for (c0, r0, d0), (c1, r1, d1), p0, p1 in zip(
        pixels[:-1], pixels[1:], points[:-1], points[1:], strict=True
    ):
        if min(abs(d0), abs(d1)) > FADE_END_MM and d0 * d1 > 0:
            continue
        pieces = max(1, min(512, int(np.ceil(np.linalg.norm(p1 - p0) / step / 4))))
        t = np.linspace(0.0, 1.0, pieces + 1)
        cols, rows, dists = c0 + (c1 - c0) * t, r0 + (r1 - r0) * t, d0 + (d1 - d0) * t
        alpha = _fade((dists[:-1] + dists[1:]) / 2)
        for k in range(pieces):
            if alpha[k] <= 0:
                continue
            draw.line(
                (cols[k] + 0.5, rows[k] + 0.5, cols[k + 1] + 0.5, rows[k + 1] + 0.5),
                fill=_rgba(color, alpha[k]),
                width=width,
            )


def _draw_ring(draw: ImageDraw.ImageDraw, ring: np.ndarray, color, width: int) -> None:
    xy = [(float(c) + 0.5, float(r) + 0.5) for c, r in ring]
    draw.line(xy + xy[:1], fill=_rgba(color, 1.0), width=width)


def _plane_cut(corners: np.ndarray, edges, geometry: SliceGeometry) -> np.ndarray:
    """Pixel (col, row) points where ``edges`` of a solid cross the view plane."""
    pixels = geometry.ras_to_pixel(corners)
    tol = geometry.spacing / 2
    hits = []
    for a, b in edges:
        da, db = pixels[a, 2], pixels[b, 2]
        if abs(da) <= tol and abs(db) <= tol:
            hits += [pixels[a, :2], pixels[b, :2]]
        elif (da <= tol and db >= -tol) or (da >= -tol and db <= tol):
            t = 0.0 if da == db else float(np.clip(da / (da - db), 0.0, 1.0))
            hits.append(pixels[a, :2] + (pixels[b, :2] - pixels[a, :2]) * t)
    return np.array(hits).reshape(-1, 2)


def _box_section(corners: np.ndarray, geometry: SliceGeometry) -> list[np.ndarray]:
    """The outline (pixel polygon) of the box's cut through the view plane, if any."""
    hits = _plane_cut(corners, ROI_EDGES, geometry)
    if len(hits) < 3:
        return []
    hits = np.unique(np.round(hits, 6), axis=0)
    if len(hits) < 3:
        return []
    centre = hits.mean(axis=0)
    order = np.argsort(np.arctan2(hits[:, 1] - centre[1], hits[:, 0] - centre[0]))
    return [hits[order]]


def _draw_plane(
    draw: ImageDraw.ImageDraw, geometry: SliceGeometry, corners: np.ndarray, color, width: int
) -> None:
    edges = ((0, 1), (1, 2), (2, 3), (3, 0))
    pixels = geometry.ras_to_pixel(corners)
    if np.all(np.abs(pixels[:, 2]) <= geometry.spacing / 2):  # the plane is the view plane
        _draw_ring(draw, pixels[:, :2], color, width)
        return
    hits = _plane_cut(corners, edges, geometry)
    if len(hits) >= 2:
        far = np.linalg.norm(hits[:, None] - hits[None], axis=2)
        i, j = np.unravel_index(int(np.argmax(far)), far.shape)
        (c0, r0), (c1, r1) = hits[i], hits[j]
        draw.line((c0 + 0.5, r0 + 0.5, c1 + 0.5, r1 + 0.5), fill=_rgba(color, 1.0), width=width)


# ----------------------------------------------------------------------------- 3-D views


def glyph_radius_mm(shape: MarkupShape) -> float:
    """3-D glyph radius: ``glyph_size`` mm scaled by ``glyph_scale`` / 3 when relative (the
    default scale 3 gives the absolute default size)."""
    size = shape.glyph_size * (shape.glyph_scale / 3.0 if shape.use_glyph_scale else 1.0)
    return max(size, 1e-3) / 2.0


def tube(a: np.ndarray, b: np.ndarray, radius: float, sides: int = 8):
    """(vertices, faces, normals) of an open cylinder from ``a`` to ``b``."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    axis = b - a
    length = np.linalg.norm(axis)
    if length < 1e-9:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64), np.zeros((0, 3))
    axis /= length
    helper = np.array([1.0, 0, 0]) if abs(axis[0]) < 0.9 else np.array([0, 1.0, 0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    angles = np.arange(sides) * 2 * np.pi / sides
    ring = np.outer(np.cos(angles), u) + np.outer(np.sin(angles), v)
    verts = np.vstack([a + radius * ring, b + radius * ring])
    normals = np.vstack([ring, ring])
    faces = []
    for k in range(sides):
        n = (k + 1) % sides
        faces += [(k, n, sides + n), (k, sides + n, sides + k)]
    return verts, np.array(faces, dtype=np.int64), normals


def _tubes(segments, radius: float):
    verts, faces, normals = [], [], []
    offset = 0
    for a, b in segments:
        v, f, n = tube(a, b, radius)
        if len(v):
            verts.append(v)
            faces.append(f + offset)
            normals.append(n)
            offset += len(v)
    if not verts:
        return None
    return np.vstack(verts), np.vstack(faces), np.vstack(normals)


def markup_surfaces(shapes: Sequence[MarkupShape]) -> list[Surface]:
    """Triangle meshes for the 3-D views: spheres for control points, tubes for lines,
    curves and ROI edges, a translucent rectangle for planes."""
    out: list[Surface] = []
    for shape in shapes:
        if not shape.show_3d or shape.opacity <= 0:
            continue
        radius = glyph_radius_mm(shape)
        for index, point in enumerate(shape.points):
            verts, faces, normals = sphere(point, radius)
            out.append(
                Surface(
                    (*shape.key, "point", index),
                    f"{shape.name}: {shape.labels[index]}",
                    "fiducial",
                    verts,
                    faces,
                    normals,
                    shape.point_color(index),
                    shape.opacity,
                )
            )
        segments = list(zip(shape.polyline[:-1], shape.polyline[1:], strict=True))
        if shape.outline is not None and shape.kind == "ROI":
            segments += [(shape.outline[a], shape.outline[b]) for a, b in ROI_EDGES]
        elif shape.outline is not None and shape.kind == "Plane":
            ring = shape.outline
            segments += [(ring[k], ring[(k + 1) % 4]) for k in range(4)]
            normal = np.cross(ring[1] - ring[0], ring[3] - ring[0])
            normal = normal / max(np.linalg.norm(normal), 1e-12)
            out.append(
                Surface(
                    (*shape.key, "plane"),
                    f"{shape.name}: plane",
                    "markup",
                    ring.copy(),
                    np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int64),
                    np.tile(normal, (4, 1)),
                    shape.line_color,
                    shape.opacity * 0.5,
                )
            )
        mesh = _tubes(segments, max(radius * shape.line_thickness, 0.1))
        if mesh is not None:
            verts, faces, normals = mesh
            out.append(
                Surface(
                    (*shape.key, "lines"),
                    f"{shape.name}: lines",
                    "markup",
                    verts,
                    faces,
                    normals,
                    shape.line_color,
                    shape.opacity,
                )
            )
    return out


__all__ = ["MarkupShape", "draw_markups", "markup_shapes", "markup_surfaces", "tube"]
