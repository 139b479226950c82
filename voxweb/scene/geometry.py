"""Geometry helpers for the scene: IJK->RAS matrices, LPS<->RAS, slice orientation presets.

Everything inside voxweb is RAS (like Slicer); LPS only exists in files, so the io layer uses
these helpers at its boundary. Pure numpy functions; this module knows nothing about nodes,
files or HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Flips x and y: the same 4x4 matrix converts LPS->RAS and RAS->LPS.
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
RAS_TO_LPS = LPS_TO_RAS

#: Slicer's slice orientation presets: columns are the slice x axis, y axis and normal in RAS.
ORIENTATION_PRESETS: dict[str, np.ndarray] = {
    "Axial": np.array([[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
    "Sagittal": np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
    "Coronal": np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]),
}


def orientation_matrix(name: str) -> np.ndarray:
    """The 3x3 orientation preset (``Axial``, ``Sagittal``, ``Coronal``; case-insensitive)."""
    for key, value in ORIENTATION_PRESETS.items():
        if key.lower() == name.lower():
            return value.copy()
    raise ValueError(
        f"unknown slice orientation {name!r}; expected one of {', '.join(ORIENTATION_PRESETS)}"
    )


def lps_to_ras_matrix(matrix: np.ndarray) -> np.ndarray:
    """Convert a 4x4 matrix whose *output* is LPS into one whose output is RAS (IJK->LPS to IJK->RAS)."""
    return LPS_TO_RAS @ np.asarray(matrix, dtype=float)


ras_to_lps_matrix = lps_to_ras_matrix


def lps_to_ras_transform(matrix: np.ndarray) -> np.ndarray:
    """Convert a 4x4 point transform LPS->LPS into the equivalent RAS->RAS transform."""
    return LPS_TO_RAS @ np.asarray(matrix, dtype=float) @ LPS_TO_RAS


ras_to_lps_transform = lps_to_ras_transform


def lps_to_ras_points(points: np.ndarray) -> np.ndarray:
    """Flip x and y of points (..., 3); works both ways (LPS<->RAS). Returns a new float array."""
    out = np.array(points, dtype=float, copy=True)
    out[..., 0] *= -1.0
    out[..., 1] *= -1.0
    return out


ras_to_lps_points = lps_to_ras_points


def ijk_to_ras_matrix(
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    origin: Sequence[float] = (0.0, 0.0, 0.0),
    directions: np.ndarray | Sequence[Sequence[float]] | None = None,
) -> np.ndarray:
    """Build a 4x4 IJK->RAS matrix.

    ``directions`` is 3x3 with **columns** the unit RAS directions of the i, j and k axes
    (identity when None); ``spacing`` is (si, sj, sk) in mm; ``origin`` is the RAS position of
    voxel (0, 0, 0).
    """
    d = np.eye(3) if directions is None else np.asarray(directions, dtype=float)
    if d.shape != (3, 3):
        raise ValueError(f"directions must be 3x3, got shape {d.shape}")
    m = np.eye(4)
    m[:3, :3] = d * np.asarray(spacing, dtype=float)[np.newaxis, :]
    m[:3, 3] = np.asarray(origin, dtype=float)
    return m


def spacing_of(ijk_to_ras: np.ndarray) -> np.ndarray:
    """Voxel size (si, sj, sk): the lengths of the first three columns."""
    return np.linalg.norm(np.asarray(ijk_to_ras, dtype=float)[:3, :3], axis=0)


def origin_of(ijk_to_ras: np.ndarray) -> np.ndarray:
    """RAS position of voxel (0, 0, 0)."""
    return np.asarray(ijk_to_ras, dtype=float)[:3, 3].copy()


def directions_of(ijk_to_ras: np.ndarray) -> np.ndarray:
    """3x3 matrix whose columns are the unit RAS directions of i, j and k."""
    m = np.asarray(ijk_to_ras, dtype=float)[:3, :3]
    norms = np.linalg.norm(m, axis=0)
    norms[norms == 0] = 1.0
    return m / norms[np.newaxis, :]


def ras_bounds(
    ijk_to_ras: np.ndarray, shape_kji: Sequence[int], voxel_edges: bool = True
) -> np.ndarray:
    """RAS bounding box ``[rmin, rmax, amin, amax, smin, smax]`` of a volume.

    ``shape_kji`` is the numpy shape (k, j, i). With ``voxel_edges`` (Slicer's
    ``GetRASBounds``) the box encloses whole voxels, otherwise only voxel centres.
    """
    nk, nj, ni = (int(s) for s in shape_kji[:3])
    lo = -0.5 if voxel_edges else 0.0
    his = [n - 1 + (0.5 if voxel_edges else 0.0) for n in (ni, nj, nk)]
    corners = np.array(
        [[i, j, k, 1.0] for i in (lo, his[0]) for j in (lo, his[1]) for k in (lo, his[2])]
    )
    ras = (np.asarray(ijk_to_ras, dtype=float) @ corners.T)[:3]
    out = np.empty(6)
    out[0::2] = ras.min(axis=1)
    out[1::2] = ras.max(axis=1)
    return out


def ras_center(ijk_to_ras: np.ndarray, shape_kji: Sequence[int]) -> np.ndarray:
    """RAS position of the volume centre."""
    b = ras_bounds(ijk_to_ras, shape_kji)
    return (b[0::2] + b[1::2]) / 2.0
