"""ITK text transforms (LPS, from-parent) <-> LinearTransform (RAS, to-parent); grid files."""

from __future__ import annotations

import numpy as np
import pytest

from tests.io.helpers import oblique_matrix
from voxweb.io import TransformFormatError, UnsupportedFileTypeError
from voxweb.io import transforms as tio
from voxweb.scene import GridTransform, LinearTransform

ITK_TRANSLATION = """#Insight Transform File V1.0
#Transform 0
Transform: AffineTransform_double_3_3
Parameters: 1 0 0 0 1 0 0 0 1 10 20 30
FixedParameters: 0 0 0
"""


def test_known_itk_translation(tmp_path):
    path = tmp_path / "t.tfm"
    path.write_text(ITK_TRANSLATION)
    t = tio.read_transform(path)
    assert isinstance(t, LinearTransform) and t.name == "t"
    # from-parent LPS (10, 20, 30) -> from-parent RAS (-10, -20, 30) -> to-parent (10, 20, -30)
    np.testing.assert_allclose(t.matrix_to_parent[:3, 3], [10, 20, -30])
    np.testing.assert_allclose(t.matrix_to_parent[:3, :3], np.eye(3))


def test_center_of_rotation_and_crlf(tmp_path):
    # 90 degrees about z (LPS) around centre (1, 0, 0): the centre stays fixed
    text = (
        "#Insight Transform File V1.0\r\n#Transform 0\r\n"
        "Transform: MatrixOffsetTransformBase_double_3_3\r\n"
        "Parameters: 0 -1 0 1 0 0 0 0 1 0 0 0\r\nFixedParameters: 1 0 0\r\n"
    )
    (tmp_path / "r.txt").write_text(text)
    t = tio.read_transform(tmp_path / "r.txt")
    from_parent_ras = t.matrix_from_parent
    np.testing.assert_allclose(from_parent_ras @ [-1, 0, 0, 1], [-1, 0, 0, 1], atol=1e-12)


def test_composite_of_translations(tmp_path):
    text = (
        "#Insight Transform File V1.0\n#Transform 0\nTransform: CompositeTransform_double_3\n"
        "#Transform 1\nTransform: TranslationTransform_double_3_3\nParameters: 1 0 0\nFixedParameters:\n"
        "#Transform 2\nTransform: AffineTransform_float_3_3\nParameters: 2 0 0 0 2 0 0 0 2 0 0 5\n"
        "FixedParameters: 0 0 0\n"
    )
    m = tio.parse_itk_text(text)
    # last transform applied first: x -> 2x + (0,0,5) -> + (1,0,0)
    np.testing.assert_allclose(m @ [1, 1, 1, 1], [3, 2, 7, 1])


def test_euler_and_versor_match_rotation():
    angle = 0.4
    euler = tio.parse_itk_text(
        "#Insight Transform File V1.0\nTransform: Euler3DTransform_double_3_3\n"
        f"Parameters: 0 0 {angle} 1 2 3\nFixedParameters: 0 0 0 0\n"
    )
    s = np.sin(angle / 2)
    versor = tio.parse_itk_text(
        "#Insight Transform File V1.0\nTransform: VersorRigid3DTransform_double_3_3\n"
        f"Parameters: 0 0 {s} 1 2 3\nFixedParameters: 0 0 0\n"
    )
    np.testing.assert_allclose(euler, versor, atol=1e-12)
    np.testing.assert_allclose(
        euler[:2, :2], [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    )


@pytest.mark.parametrize("ext", [".tfm", ".txt"])
def test_linear_roundtrip(tmp_path, ext):
    m = oblique_matrix()
    t = LinearTransform(m, name="x")
    tio.write_transform(t, tmp_path / f"x{ext}")
    text = (tmp_path / f"x{ext}").read_text()
    assert text.startswith("#Insight Transform File V1.0\n")
    assert "Transform: AffineTransform_double_3_3" in text
    back = tio.read_transform(tmp_path / f"x{ext}")
    np.testing.assert_allclose(back.matrix_to_parent, m, atol=1e-12)


@pytest.mark.parametrize(
    "text,message",
    [
        ("hello", "not an ITK transform file"),
        (
            "#Insight Transform File V1.0\nTransform: BSplineTransform_double_3_3\nParameters: 1\n",
            "not supported",
        ),
        (
            "#Insight Transform File V1.0\nTransform: AffineTransform_double_3_3\nParameters: 1 2 3\n",
            "12 parameters",
        ),
        (
            "#Insight Transform File V1.0\nTransform: AffineTransform_double_3_3\nParameters: a b\n",
            "non-numeric",
        ),
        ("#Insight Transform File V1.0\n", "no transform"),
    ],
)
def test_bad_itk_text(tmp_path, text, message):
    (tmp_path / "bad.tfm").write_text(text)
    with pytest.raises(TransformFormatError, match=message):
        tio.read_transform(tmp_path / "bad.tfm")


@pytest.mark.parametrize("ext", [".nrrd", ".nii.gz"])
def test_grid_roundtrip(tmp_path, ext):
    d = np.random.default_rng(2).normal(size=(2, 3, 4, 3))
    g = GridTransform(d, oblique_matrix(), name="g")
    tio.write_transform(g, tmp_path / f"g{ext}")
    back = tio.read_transform(tmp_path / f"g{ext}")
    assert isinstance(back, GridTransform) and back.name == "g"
    np.testing.assert_allclose(back.displacement, d)
    np.testing.assert_allclose(back.ijk_to_ras, g.ijk_to_ras, atol=1e-5)


def test_unsupported(tmp_path):
    with pytest.raises(UnsupportedFileTypeError, match="not supported"):
        tio.read_transform(tmp_path / "x.h5")
    with pytest.raises(UnsupportedFileTypeError, match=".tfm or .txt"):
        tio.write_transform(LinearTransform(), tmp_path / "x.h5")
