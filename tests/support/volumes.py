"""Synthetic volumes with known geometry, written with pynrrd, for end-to-end tests."""

from __future__ import annotations

import numpy as np

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def ramp(shape_kji=(6, 5, 4), dtype="int16") -> np.ndarray:
    """A volume whose every voxel differs, so any reordering or cast shows."""
    count = int(np.prod(shape_kji))
    values = np.arange(count, dtype=np.float64)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    if info is not None:
        values = values % (info.max - max(info.min, 0) + 1) + max(info.min, -100)
    else:
        values = values * 0.5 - 7.25
    return values.astype(dtype).reshape(shape_kji)


def oblique_ijk_to_ras() -> np.ndarray:
    """An oblique IJK->RAS: rotated 30 degrees about S and 10 about R, anisotropic spacing."""
    a, b = np.radians(30), np.radians(10)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    m = np.eye(4)
    m[:3, :3] = rz @ rx @ np.diag([0.8, 1.25, 2.5])
    m[:3, 3] = [12.5, -30.0, 7.75]
    return m


def nrrd_header_for(ijk_to_ras: np.ndarray, space: str = "left-posterior-superior") -> dict:
    """pynrrd header fields placing a volume at ``ijk_to_ras`` in the given space."""
    m = np.asarray(ijk_to_ras, dtype=float)
    if space in ("left-posterior-superior", "LPS"):
        m = LPS_TO_RAS @ m
    return {"space": space, "space directions": m[:3, :3].T.copy(), "space origin": m[:3, 3].copy()}


def raw_nrrd(array: np.ndarray) -> bytes:
    """An attached raw NRRD of an int16 (k, j, i) array on a 1 mm LPS grid."""
    k, j, i = array.shape
    header = (
        f"NRRD0004\ntype: short\ndimension: 3\nsizes: {i} {j} {k}\nendian: little\n"
        "encoding: raw\nspace: left-posterior-superior\n"
        "space directions: (1,0,0) (0,1,0) (0,0,1)\nspace origin: (0,0,0)\n\n"
    )
    return header.encode() + array.astype("<i2").tobytes()
