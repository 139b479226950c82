"""Synthetic volumes with known geometry for the io tests."""

from __future__ import annotations

import numpy as np

DTYPES = [
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float32",
    "float64",
]


def ramp(dtype: str, shape: tuple[int, int, int] = (3, 4, 5)) -> np.ndarray:
    """Distinct values that fit every dtype, including the type's extremes where possible."""
    a = (np.arange(int(np.prod(shape))) % 100).reshape(shape).astype(dtype)
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        a.flat[0] = info.max
        a.flat[1] = info.min
    else:
        a.flat[0] = np.finfo(dtype).max
        a.flat[1] = -1.5
    return a


def oblique_matrix() -> np.ndarray:
    """An oblique IJK->RAS: rotation about S and R with anisotropic spacing and an offset."""
    c, s = np.cos(0.3), np.sin(0.3)
    rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    c2, s2 = np.cos(-0.2), np.sin(-0.2)
    rx = np.array([[1, 0, 0], [0, c2, -s2], [0, s2, c2]])
    m = np.eye(4)
    m[:3, :3] = rz @ rx @ np.diag([0.7, 1.1, 2.5])
    m[:3, 3] = (-12.5, 30.25, 7.0)
    return m
