"""sitkUtils through /slicer/exec: volumes to SimpleITK and back, geometry in LPS, results
served by /slicer/volume."""

from __future__ import annotations

import numpy as np
import pytest

from tests.scripting.support import properties, run, run_error, volume_array
from tests.support.server import VoxwebProcess

pytest.importorskip("SimpleITK")

# An oblique volume with anisotropic spacing and an origin off zero: a flip of the wrong axis,
# a transposed direction matrix or a swapped spacing would all show.
OBLIQUE = """
import math
k, j, i = np.indices((6, 7, 8))
data = (k * 100 + j * 10 + i).astype(np.int16)
angle = math.radians(30)
directions = np.array([[math.cos(angle), -math.sin(angle), 0],
                       [math.sin(angle), math.cos(angle), 0],
                       [0, 0, 1]])
ijkToRAS = np.eye(4)
ijkToRAS[:3, :3] = directions * [0.5, 0.75, 2.0]
ijkToRAS[:3, 3] = [10.0, -20.0, 30.0]
volume = addVolumeFromArray(data, ijkToRAS, name="Oblique")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with VoxwebProcess(
        tmp_path_factory.mktemp("script-sitk"),
        ["--auth", "none", "--enable-exec", "--no-sample-download"],
    ) as proc:
        run(proc, OBLIQUE)
        yield proc


def test_pulled_image_has_the_voxels_and_lps_geometry(server):
    result = run(
        server,
        """
import SimpleITK as sitk
import sitkUtils
image = sitkUtils.PullVolumeFromSlicer("Oblique")
__execResult = {
    "size": image.GetSize(), "spacing": image.GetSpacing(), "origin": image.GetOrigin(),
    "direction": image.GetDirection(), "type": image.GetPixelIDTypeAsString(),
    "voxel": image.GetPixel(3, 2, 1),
    "physical": image.TransformIndexToPhysicalPoint((3, 2, 1)),
}
""",
    )
    assert result["size"] == [8, 7, 6]
    assert result["type"] == "16-bit signed integer"
    assert result["voxel"] == 1 * 100 + 2 * 10 + 3
    assert np.allclose(result["spacing"], [0.5, 0.75, 2.0])
    assert np.allclose(result["origin"], [-10.0, 20.0, 30.0])  # LPS
    c, s = np.cos(np.radians(30)), np.sin(np.radians(30))
    assert np.allclose(
        np.reshape(result["direction"], (3, 3)), [[-c, s, 0], [-s, -c, 0], [0, 0, 1]]
    )
    # The same voxel in RAS, from the volume's own matrix, is the LPS point with x, y negated.
    node_id = run(server, "__execResult = getNode('Oblique').GetID()")
    matrix = np.array(properties(server, node_id)["IJKToRASMatrix"])
    ras = matrix @ [3, 2, 1, 1]
    assert np.allclose(result["physical"], [-ras[0], -ras[1], ras[2]])


def test_round_trip_keeps_voxels_and_geometry(server):
    result = run(
        server,
        """
import sitkUtils
image = sitkUtils.PullVolumeFromSlicer(getNode("Oblique"))
copy = sitkUtils.PushVolumeToSlicer(image, name="RoundTrip")
__execResult = [getNode("Oblique").GetID(), copy.GetID(), copy.GetName()]
""",
    )
    original_id, copy_id, name = result
    assert name == "RoundTrip"
    original, copy = properties(server, original_id), properties(server, copy_id)
    assert np.allclose(original["IJKToRASMatrix"], copy["IJKToRASMatrix"], rtol=0, atol=1e-12)
    assert copy["ImageData"]["ScalarType"] == "short"
    a, b = volume_array(server, original_id), volume_array(server, copy_id)
    assert a.dtype == b.dtype and np.array_equal(a, b)


def test_filtered_image_pushed_into_an_existing_node_shows_in_volume(server):
    node_id = run(
        server,
        """
import SimpleITK as sitk
import sitkUtils
target = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "Smoothed")
image = sitkUtils.PullVolumeFromSlicer("Oblique")
smoothed = sitk.DiscreteGaussian(sitk.Cast(image, sitk.sitkFloat32), 1.0)
result = sitkUtils.PushVolumeToSlicer(smoothed, targetNode=target)
assert result is target
__execResult = target.GetID()
""",
    )
    import SimpleITK as sitk

    k, j, i = np.indices((6, 7, 8))
    reference = sitk.GetImageFromArray((k * 100 + j * 10 + i).astype(np.float32))
    reference.SetSpacing([0.5, 0.75, 2.0])
    expected = sitk.GetArrayFromImage(sitk.DiscreteGaussian(reference, 1.0))
    served = volume_array(server, node_id)
    assert served.dtype == np.float32
    assert np.allclose(served, expected, atol=1e-3)
    assert properties(server, node_id)["Spacing"] == [0.5, 0.75, 2.0]


def test_label_map_push_and_the_older_calls(server):
    result = run(
        server,
        """
import SimpleITK as sitk
import sitkUtils
sitkUtils.EnsureRegistration()
image = sitkUtils.PullFromSlicer("Oblique")
mask = sitk.BinaryThreshold(image, 300, 10000, 1, 0)
label = sitkUtils.PushVolumeToSlicer(mask, None, "Mask", "vtkMRMLLabelMapVolumeNode")
shown = sitkUtils.PushToSlicer(image, "Shown", 0, False)
layers = slicer.app.layoutManager().sliceWidget("Red").mrmlSliceCompositeNode()
__execResult = [label.GetClassName(), label.GetID(), shown.GetID(),
                layers.GetBackgroundVolumeID(),
                sitkUtils.GetSlicerITKReadWriteAddress("Oblique")]
""",
    )
    class_name, label_id, shown_id, background, address = result
    assert class_name == "vtkMRMLLabelMapVolumeNode"
    mask = volume_array(server, label_id)
    k, j, i = np.indices((6, 7, 8))
    assert np.array_equal(mask, (k * 100 + j * 10 + i >= 300).astype(np.uint8))
    assert background == shown_id
    oblique_id = run(server, "__execResult = getNode('Oblique').GetID()")
    assert address.startswith("slicer:") and address.endswith("#" + oblique_id)


def test_vector_images_are_refused_clearly(server):
    message = run_error(
        server,
        """
import SimpleITK as sitk, sitkUtils
sitkUtils.PushVolumeToSlicer(sitk.Image([4, 4, 4], sitk.sitkVectorFloat32, 3))
""",
    )
    assert "3 components" in message
