"""Triangle surfaces for 3-D views and glTF: segment surfaces (marching cubes), fiducial spheres,
bounding boxes. Pure numpy/scikit-image; coordinates are RAS mm.

A :class:`Surface` is what every 3-D consumer draws: the VTK renderer, the numpy ray caster's
splats and the glTF exporter. ``key`` identifies its content for caches.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Surface:
    """A triangle mesh in RAS with a colour (RGB 0-1) and opacity; ``kind`` is model/segment/fiducial."""

    key: tuple
    name: str
    kind: str
    vertices: np.ndarray  # (N, 3) float
    faces: np.ndarray  # (M, 3) int
    normals: np.ndarray  # (N, 3) float, unit
    color: tuple[float, float, float]
    opacity: float = 1.0
    vertex_colors: np.ndarray | None = None  # (N, 3) float RGB 0-1: colour by scalars
    representation: str = "surface"  # surface | wireframe | points
    edge_color: tuple[float, float, float] | None = None  # draw triangle edges in this colour

    def bounds(self) -> np.ndarray:
        if len(self.vertices) == 0:
            return np.array([np.inf, -np.inf] * 3)
        lo, hi = self.vertices.min(axis=0), self.vertices.max(axis=0)
        return np.array([lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]])


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals of a triangle mesh (unit length; zero for lone vertices)."""
    normals = np.zeros_like(vertices, dtype=float)
    if len(faces):
        tri = vertices[faces]
        face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        for corner in range(3):
            np.add.at(normals, faces[:, corner], face_n)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return np.divide(normals, length, out=np.zeros_like(normals), where=length > 0)


def mask_surface(mask: np.ndarray, ijk_to_ras: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Marching cubes of a boolean (k, j, i) mask at 0.5 -> (vertices RAS, faces), outward."""
    from skimage.measure import marching_cubes

    if not mask.any():
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    # Crop to the mask's box (plus a margin so the surface closes) to keep it fast.
    index = np.argwhere(mask)
    lo = np.maximum(index.min(axis=0) - 1, 0)
    hi = index.max(axis=0) + 2
    crop = np.pad(mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]], 1).astype(np.uint8)
    verts_kji, faces, _, _ = marching_cubes(crop, level=0.5, allow_degenerate=False)
    verts_kji += lo - 1
    ijk = np.c_[verts_kji[:, ::-1], np.ones(len(verts_kji))]
    matrix = np.asarray(ijk_to_ras, dtype=float)
    ras = (matrix @ ijk.T).T[:, :3]
    faces = faces.astype(np.int64)
    # skimage orients faces for (k, j, i) space; reversing the axes (and a mirroring IJK->RAS)
    # flips handedness: make the normals point away from the mask.
    if np.linalg.det(matrix[:3, :3]) < 0:
        faces = faces[:, ::-1].copy()
    return ras, faces


@functools.lru_cache(maxsize=4)
def unit_sphere(subdivisions: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """An icosphere of radius 1: (vertices, faces)."""
    t = (1 + 5**0.5) / 2
    v = [[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t], [0, -1, -t],
         [0, 1, -t], [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]]  # fmt: skip
    f = [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4],
         [11, 10, 2], [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8],
         [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]]  # fmt: skip
    verts = [np.array(p, dtype=float) / np.linalg.norm(p) for p in v]
    faces = [tuple(x) for x in f]
    for _ in range(subdivisions):
        cache: dict[tuple[int, int], int] = {}

        def middle(a: int, b: int, cache: dict[tuple[int, int], int] = cache) -> int:
            key = (min(a, b), max(a, b))
            if key not in cache:
                m = verts[a] + verts[b]
                verts.append(m / np.linalg.norm(m))
                cache[key] = len(verts) - 1
            return cache[key]

        new_faces = []
        for a, b, c in faces:
            ab, bc, ca = middle(a, b), middle(b, c), middle(c, a)
            new_faces += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = new_faces
    return np.array(verts), np.array(faces, dtype=np.int64)


def sphere(centre, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vertices, faces, normals) of a sphere in RAS."""
    verts, faces = unit_sphere()
    return np.asarray(centre, dtype=float) + verts * radius, faces, verts.copy()


def box_lines(bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 8 corners and 12 edges (index pairs) of an axis-aligned RAS box."""
    b = np.asarray(bounds, dtype=float).reshape(3, 2)
    corners = np.array([[x, y, z] for x in b[0] for y in b[1] for z in b[2]])
    edges = [(0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5),
             (2, 6), (3, 7)]  # fmt: skip
    return corners, np.array(edges, dtype=np.int64)


def union_bounds(boxes) -> np.ndarray | None:
    """The box enclosing every finite box in ``boxes`` (6 values each), or None."""
    boxes = [np.asarray(b, dtype=float) for b in boxes]
    boxes = [b for b in boxes if np.all(np.isfinite(b)) and b[1] >= b[0]]
    if not boxes:
        return None
    stack = np.array(boxes)
    out = np.empty(6)
    out[0::2] = stack[:, 0::2].min(axis=0)
    out[1::2] = stack[:, 1::2].max(axis=0)
    return out
