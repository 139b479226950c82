"""Geometry helpers: LPS<->RAS, IJK->RAS construction, bounds."""

from __future__ import annotations

import numpy as np
import pytest

from voxweb.scene import geometry


def test_lps_ras_roundtrip():
    m = np.arange(16, dtype=float).reshape(4, 4)
    m[3] = (0, 0, 0, 1)
    np.testing.assert_allclose(geometry.ras_to_lps_matrix(geometry.lps_to_ras_matrix(m)), m)
    p = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(geometry.lps_to_ras_points(p), [[-1, -2, 3]])
    t = np.eye(4)
    t[:3, 3] = (1, 2, 3)
    np.testing.assert_allclose(geometry.lps_to_ras_transform(t)[:3, 3], [-1, -2, 3])


def test_ijk_to_ras_and_back():
    d = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0]], dtype=float)
    m = geometry.ijk_to_ras_matrix((1, 2, 3), (4, 5, 6), d)
    np.testing.assert_allclose(geometry.spacing_of(m), [1, 2, 3])
    np.testing.assert_allclose(geometry.origin_of(m), [4, 5, 6])
    np.testing.assert_allclose(geometry.directions_of(m), d)
    with pytest.raises(ValueError):
        geometry.ijk_to_ras_matrix(directions=np.eye(2))


def test_bounds():
    m = geometry.ijk_to_ras_matrix((2, 2, 2), (0, 0, 0))
    b = geometry.ras_bounds(m, (3, 4, 5))  # k, j, i
    np.testing.assert_allclose(b, [-1, 9, -1, 7, -1, 5])
    np.testing.assert_allclose(
        geometry.ras_bounds(m, (3, 4, 5), voxel_edges=False), [0, 8, 0, 6, 0, 4]
    )
    np.testing.assert_allclose(geometry.ras_center(m, (3, 4, 5)), [4, 3, 2])


def test_orientation_presets_are_rotations():
    for name in ("Axial", "Sagittal", "Coronal"):
        r = geometry.orientation_matrix(name)
        np.testing.assert_allclose(r @ r.T, np.eye(3))
    with pytest.raises(ValueError, match="unknown slice orientation"):
        geometry.orientation_matrix("Oblique")
