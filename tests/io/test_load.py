"""load_file / save_node dispatch on Slicer file types, extensions and properties."""

from __future__ import annotations

import numpy as np
import pytest

from tests.io.helpers import oblique_matrix, ramp
from voxweb.io import FileFormatError, UnsupportedFileTypeError, load_file, save_node, to_bool
from voxweb.scene import (
    GridTransform,
    LabelMapVolume,
    LinearTransform,
    MarkupsFiducial,
    Model,
    ScalarVolume,
    Scene,
    Segmentation,
)


def test_to_bool():
    assert to_bool("true") and to_bool("1") and to_bool("True") and to_bool(True)
    assert not to_bool("False") and not to_bool("0") and not to_bool("") and not to_bool(None)


@pytest.mark.parametrize("name", ["v.nrrd", "v.nhdr", "v.nii", "v.nii.gz"])
def test_volume_save_and_load(tmp_path, name):
    a = ramp("int16")
    save_node(ScalarVolume(a, oblique_matrix()), tmp_path / name)
    (v,) = load_file(tmp_path / name, "VolumeFile", {"name": "MRHead"})
    assert type(v) is ScalarVolume and v.name == "MRHead"
    np.testing.assert_array_equal(v.array, a)
    (lm,) = load_file(tmp_path / name, "VolumeFile", {"labelmap": "true"})
    assert isinstance(lm, LabelMapVolume)
    scene = Scene()
    assert scene.add(lm).id == "vtkMRMLLabelMapVolumeNode1"


def test_use_compression_property(tmp_path):
    v = ScalarVolume(np.zeros((10, 10, 10), np.int16))
    save_node(v, tmp_path / "raw.nrrd", {"useCompression": "False"})
    save_node(v, tmp_path / "gz.nrrd", {"useCompression": "1"})
    assert b"encoding: raw" in (tmp_path / "raw.nrrd").read_bytes()
    assert b"encoding: gzip" in (tmp_path / "gz.nrrd").read_bytes()
    save_node(v, tmp_path / "x.out", {"fileFormat": "NRRD (.nrrd)"})
    assert (tmp_path / "x.out").read_bytes().startswith(b"NRRD")


def test_center_property(tmp_path):
    save_node(ScalarVolume(np.zeros((3, 3, 3), np.uint8), oblique_matrix()), tmp_path / "c.nrrd")
    (v,) = load_file(tmp_path / "c.nrrd", "VolumeFile", {"center": "true"})
    b = v.ras_bounds()
    np.testing.assert_allclose((b[0::2] + b[1::2]) / 2, 0, atol=1e-9)


def test_other_node_types(tmp_path):
    seg = Segmentation((2, 3, 4))
    seg.add_segment("A", np.ones((2, 3, 4), bool))
    save_node(seg, tmp_path / "s.seg.nrrd")
    (s,) = load_file(tmp_path / "s.seg.nrrd", "SegmentationFile")
    assert isinstance(s, Segmentation) and s.segments["Segment_1"].name == "A"
    save_node(seg, tmp_path / "s.nii.gz")
    (s2,) = load_file(tmp_path / "s.nii.gz", "SegmentationFile")
    assert s2.mask(s2.segment_ids[0]).all()

    f = MarkupsFiducial(name="F")
    f.add_point((1, 2, 3))
    save_node(f, tmp_path / "f.mrk.json")
    (f2,) = load_file(tmp_path / "f.mrk.json", "MarkupsFile")
    assert f2.control_points[0].position == (1.0, 2.0, 3.0)

    save_node(LinearTransform(oblique_matrix()), tmp_path / "t.tfm")
    (t,) = load_file(tmp_path / "t.tfm", "TransformFile")
    np.testing.assert_allclose(t.matrix_to_parent, oblique_matrix(), atol=1e-12)

    save_node(GridTransform(np.zeros((2, 2, 2, 3))), tmp_path / "g.nrrd", {"useCompression": "0"})
    (g,) = load_file(tmp_path / "g.nrrd", "TransformFile")
    assert isinstance(g, GridTransform)


def test_clear_errors(tmp_path):
    save_node(ScalarVolume(np.zeros((1, 1, 1), np.int16)), tmp_path / "v.nrrd")
    with pytest.raises(UnsupportedFileTypeError, match="model files with extension '.nrrd'"):
        load_file(tmp_path / "v.nrrd", "ModelFile")
    with pytest.raises(UnsupportedFileTypeError, match="'SceneFile' is not supported"):
        load_file(tmp_path / "v.nrrd", "SceneFile")
    with pytest.raises(FileFormatError, match="does not exist"):
        load_file(tmp_path / "nope.nrrd", "VolumeFile")
    with pytest.raises(UnsupportedFileTypeError, match=".h5"):
        save_node(LinearTransform(), tmp_path / "t.h5")
    with pytest.raises(UnsupportedFileTypeError, match="cannot save a ScalarVolume as '.mrk.json'"):
        save_node(ScalarVolume(), tmp_path / "v.mrk.json")
    with pytest.raises(UnsupportedFileTypeError, match="models can be saved as"):
        save_node(Model(), tmp_path / "m.vtp")
    (tmp_path / "v.png").write_bytes(b"x")
    with pytest.raises(UnsupportedFileTypeError, match="'.png' are not supported"):
        load_file(tmp_path / "v.png", "VolumeFile")
    save_node(ScalarVolume(np.zeros((1, 1, 1), np.float32)), tmp_path / "f.nrrd")
    with pytest.raises(FileFormatError, match="label map needs integers"):
        load_file(tmp_path / "f.nrrd", "VolumeFile", {"labelmap": "1"})


def test_model_file(tmp_path):
    m = Model(np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], float), np.array([[0, 1, 2]]))
    save_node(m, tmp_path / "tri.vtk")
    (back,) = load_file(tmp_path / "tri.vtk", "ModelFile")
    np.testing.assert_allclose(back.vertices, m.vertices)
    save_node(m, tmp_path / "tri.stl", {"coordinateSystem": "RAS"})
    (ras,) = load_file(tmp_path / "tri.stl", "ModelFile", {"coordinateSystem": "RAS"})
    assert {tuple(v) for v in ras.vertices} == {tuple(v) for v in m.vertices}
