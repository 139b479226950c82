"""Synthetic volumes with bright markers at known voxels, and geometry to predict pixels."""

from __future__ import annotations

import numpy as np

from tests.support.volumes import oblique_ijk_to_ras

SHAPE_KJI = (40, 48, 56)
#: Marker voxel centres (i, j, k), away from the edges and from each other.
MARKERS_IJK = [(14, 12, 10), (40, 30, 20), (25, 36, 30)]
GEOMETRIES = {
    "identity": np.eye(4),
    "lps-nrrd": np.array(
        [[-0.9375, 0, 0, 30.0], [0, -0.9375, 0, 20.0], [0, 0, 1.3, -25.0], [0, 0, 0, 1]]
    ),
    "oblique": oblique_ijk_to_ras(),
}


def marker_volume(value: int = 1000, radius: int = 1) -> np.ndarray:
    """int16 zeros with a (2r+1)^3 cube of ``value`` around each marker."""
    array = np.zeros(SHAPE_KJI, dtype=np.int16)
    for i, j, k in MARKERS_IJK:
        array[
            k - radius : k + radius + 1, j - radius : j + radius + 1, i - radius : i + radius + 1
        ] = value
    return array


def marker_ras(ijk_to_ras: np.ndarray) -> list[np.ndarray]:
    return [(np.asarray(ijk_to_ras) @ np.array([i, j, k, 1.0]))[:3] for i, j, k in MARKERS_IJK]


def expected_pixel(point, axes, centre, spacing, size) -> tuple[float, float, float]:
    """(column, row, distance) of a RAS point in an image of ``size`` centred on ``centre``.

    Columns grow along the slice x axis, rows grow *against* the slice y axis (row 0 on top);
    pixel X has its centre at ``(X + 0.5 - W/2) * spacing`` mm from the centre.
    """
    local = np.asarray(axes, dtype=float).T @ (np.asarray(point) - np.asarray(centre))
    w, h = size
    return (local[0] / spacing + w / 2 - 0.5, h / 2 - 0.5 - local[1] / spacing, local[2])


def bright_centroid(
    image: np.ndarray, near: tuple[float, float], radius: int = 6, threshold: int = 100
):
    """Centroid (column, row) of bright pixels within ``radius`` of ``near``; None if none."""
    grey = image if image.ndim == 2 else image[..., :3].max(axis=-1)
    c0, r0 = int(round(near[0])), int(round(near[1]))
    rows = slice(max(r0 - radius, 0), r0 + radius + 1)
    cols = slice(max(c0 - radius, 0), c0 + radius + 1)
    window = grey[rows, cols].astype(float)
    mask = window > threshold
    if not mask.any():
        return None
    rr, cc = np.nonzero(mask)
    weights = window[mask]
    return (
        float((cc * weights).sum() / weights.sum()) + cols.start,
        float((rr * weights).sum() / weights.sum()) + rows.start,
    )


def rotation(axis: str, degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
