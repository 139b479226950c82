"""Nodes: volumes keep dtype and geometry, display defaults, fiducials, segmentations, views."""

from __future__ import annotations

import numpy as np
import pytest

from voxweb.scene import (
    LabelMapVolume,
    LinearTransform,
    MarkupsFiducial,
    ScalarVolume,
    Segmentation,
    SliceView,
    auto_window_level,
    geometry,
)


@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint16", "int32", "float32", "float64"])
def test_volume_keeps_dtype(dtype):
    a = np.arange(24).reshape(2, 3, 4).astype(dtype)
    v = ScalarVolume(a)
    assert v.array.dtype == np.dtype(dtype)
    assert v.shape_ijk == (4, 3, 2)


def test_volume_geometry_helpers():
    d = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
    v = ScalarVolume(np.zeros((2, 3, 4), np.int16))
    v.set_geometry((0.5, 2.0, 3.0), (1.0, 2.0, 3.0), d)
    np.testing.assert_allclose(v.spacing, [0.5, 2.0, 3.0])
    np.testing.assert_allclose(v.origin, [1, 2, 3])
    np.testing.assert_allclose(v.directions, d)
    b = v.ras_bounds()
    assert b.shape == (6,)
    assert np.all(b[0::2] <= b[1::2])


def test_volume_rejects_non_3d():
    with pytest.raises(ValueError, match="3-D"):
        ScalarVolume(np.zeros((3, 4)))


def test_auto_window_level():
    a = np.linspace(0, 1000, 10001).reshape(1, 1, -1)
    w, level = auto_window_level(a)
    assert 990 < w <= 1000 and abs(level - 500) < 1
    assert auto_window_level(np.zeros((1, 1, 1)))[0] > 0  # constant data: still a usable window
    v = ScalarVolume(a.astype(np.float32))
    assert v.display.auto_window_level and v.display.window > 0


def test_labelmap_color_table():
    lm = LabelMapVolume(np.array([[[0, 1, 2]]], dtype=np.uint8))
    assert lm.color_table.color_of(0)[3] == 0.0
    assert lm.color_table.color_of(7) == lm.color_table.color_of(7)


def test_linear_transform_inverse():
    m = np.eye(4)
    m[:3, 3] = (1, 2, 3)
    t = LinearTransform(m)
    np.testing.assert_allclose(t.matrix_from_parent[:3, 3], [-1, -2, -3])
    t.matrix_from_parent = m
    np.testing.assert_allclose(t.matrix_to_parent[:3, 3], [-1, -2, -3])


def test_fiducial_points():
    f = MarkupsFiducial(name="F")
    f.add_point((1, 2, 3))
    f.add_point((4, 5, 6), label="tip")
    assert [cp.label for cp in f.control_points] == ["F-1", "tip"]
    f.set_point_position(0, (7, 8, 9))
    np.testing.assert_allclose(f.positions(), [[7, 8, 9], [4, 5, 6]])
    with pytest.raises(IndexError, match="out of range"):
        f.set_point_position(5, (0, 0, 0))


def test_segmentation_layers_and_masks():
    seg = Segmentation((4, 5, 6), name="seg")
    a = np.zeros((4, 5, 6), bool)
    a[0:2] = True
    b = np.zeros((4, 5, 6), bool)
    b[2:] = True
    c = np.zeros((4, 5, 6), bool)
    c[1:3] = True  # overlaps both
    s1 = seg.add_segment("a", a, (1, 0, 0))
    s2 = seg.add_segment("b", b)
    s3 = seg.add_segment("c", c)
    assert (s1.id, s2.id, s3.id) == ("Segment_1", "Segment_2", "Segment_3")
    assert s1.layer == s2.layer == 0 and s1.label_value != s2.label_value
    assert s3.layer == 1
    for s, m in ((s1, a), (s2, b), (s3, c)):
        np.testing.assert_array_equal(seg.mask(s.id), m)
    merged, segs = seg.merged_labelmap()
    assert [s.id for s in segs] == ["Segment_1", "Segment_2", "Segment_3"]
    assert merged[1, 0, 0] == 3 and merged[0, 0, 0] == 1 and merged[3, 0, 0] == 2
    seg.remove_segment("Segment_2")
    assert seg.segment_ids == ["Segment_1", "Segment_3"]
    with pytest.raises(KeyError, match="no segment"):
        seg.mask("Segment_2")


def test_slice_view_orientation():
    red = SliceView("Red")
    red.offset = 12.5
    m = red.slice_to_ras()
    np.testing.assert_allclose(m[:3, 2], [0, 0, 1])
    np.testing.assert_allclose(m[:3, 3], [0, 0, 12.5])
    assert SliceView("Yellow").orientation == "Sagittal"
    np.testing.assert_allclose(geometry.orientation_matrix("coronal")[:, 2], [0, 1, 0])
