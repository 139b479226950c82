"""NIfTI round trips (dtype, oblique geometry), scaling, displacement fields, errors."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from tests.io.helpers import DTYPES, oblique_matrix, ramp
from voxweb.io import VolumeFormatError
from voxweb.io import nifti as nifti_io
from voxweb.scene import GridTransform, LabelMapVolume, ScalarVolume


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ext", [".nii", ".nii.gz"])
def test_roundtrip(tmp_path, dtype, ext):
    a = ramp(dtype)
    m = oblique_matrix()
    path = tmp_path / f"vol{ext}"
    nifti_io.write_volume(ScalarVolume(a, m), path)
    v = nifti_io.read_volume(path)
    assert v.name == "vol"
    assert v.array.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(v.array, a)
    np.testing.assert_allclose(v.ijk_to_ras, m, atol=1e-5)  # sform is stored as float32


def test_axis_order_matches_nibabel(tmp_path):
    a = np.arange(24, dtype=np.int16).reshape(2, 3, 4)  # k, j, i
    path = tmp_path / "x.nii.gz"
    nifti_io.write_volume(ScalarVolume(a), path)
    img = nib.load(str(path))
    assert img.shape == (4, 3, 2)
    assert np.asarray(img.dataobj)[3, 2, 1] == a[1, 2, 3]


def test_scaling_applied_only_when_set(tmp_path):
    raw = np.arange(24, dtype=np.int16).reshape(4, 3, 2)
    img = nib.Nifti1Image(raw, np.eye(4))
    img.header.set_slope_inter(2.0, 10.0)
    nib.save(img, str(tmp_path / "scaled.nii"))
    v = nifti_io.read_volume(tmp_path / "scaled.nii")
    assert v.array.dtype.kind == "f"
    assert v.array[0, 0, 1] == raw[1, 0, 0] * 2 + 10
    nib.save(nib.Nifti1Image(raw, np.eye(4)), str(tmp_path / "plain.nii"))
    assert nifti_io.read_volume(tmp_path / "plain.nii").array.dtype == np.int16


def test_labelmap(tmp_path):
    nifti_io.write_volume(ScalarVolume(ramp("uint8")), tmp_path / "l.nii.gz")
    assert isinstance(nifti_io.read_volume(tmp_path / "l.nii.gz", labelmap=True), LabelMapVolume)


def test_displacement_field_roundtrip(tmp_path):
    d = np.random.default_rng(0).normal(size=(3, 4, 5, 3))
    g = GridTransform(d, oblique_matrix())
    nifti_io.write_displacement_field(g, tmp_path / "w.nii.gz")
    assert nib.load(str(tmp_path / "w.nii.gz")).shape == (5, 4, 3, 1, 3)
    g2 = nifti_io.read_displacement_field(tmp_path / "w.nii.gz")
    np.testing.assert_allclose(g2.displacement, d)
    np.testing.assert_allclose(g2.ijk_to_ras, g.ijk_to_ras, atol=1e-5)


def test_errors(tmp_path):
    with pytest.raises(VolumeFormatError, match="does not exist"):
        nifti_io.read_volume(tmp_path / "missing.nii")
    (tmp_path / "junk.nii").write_bytes(b"not a nifti file at all" * 20)
    with pytest.raises(VolumeFormatError, match="cannot read NIfTI"):
        nifti_io.read_volume(tmp_path / "junk.nii")
    nib.save(
        nib.Nifti1Image(np.zeros((2, 2, 2, 3), np.float32), np.eye(4)), str(tmp_path / "4d.nii")
    )
    with pytest.raises(VolumeFormatError, match="needs 3 axes"):
        nifti_io.read_volume(tmp_path / "4d.nii")
