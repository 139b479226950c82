"""Crop volume and resampling modules through /slicer/exec: the output grids and voxels are
checked against numpy slicing and scipy sampling of the input, read back over HTTP."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from tests.scripting.support import properties, run, run_error, volume_array
from tests.support.server import VoxwebProcess

SPACING = np.array([2.0, 1.0, 1.5])
ORIGIN = np.array([-10.0, 5.0, 20.0])

SOURCE = """
k, j, i = np.indices((12, 14, 16))
data = (np.sin(i / 3.0) * 100 + np.cos(j / 4.0) * 50 + k * 7).astype(np.float32)
ijkToRAS = np.diag([2.0, 1.0, 1.5, 1.0])
ijkToRAS[:3, 3] = [-10.0, 5.0, 20.0]
volume = addVolumeFromArray(data, ijkToRAS, name="Source")
__execResult = volume.GetID()
"""


def _source() -> np.ndarray:
    k, j, i = np.indices((12, 14, 16))
    return (np.sin(i / 3.0) * 100 + np.cos(j / 4.0) * 50 + k * 7).astype(np.float32)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with VoxwebProcess(
        tmp_path_factory.mktemp("script-resample"),
        ["--auth", "none", "--enable-exec", "--no-sample-download"],
    ) as proc:
        proc.source_id = run(proc, SOURCE)
        yield proc


def _centre_range(low_ras, high_ras):
    """Index ranges (i, j, k) of the voxel centres inside [low, high] along each axis."""
    lo = np.ceil((np.asarray(low_ras) - ORIGIN) / SPACING - 1e-9).astype(int)
    hi = np.floor((np.asarray(high_ras) - ORIGIN) / SPACING + 1e-9).astype(int)
    return np.maximum(lo, 0), np.minimum(hi, [15, 13, 11])


def _check_voxel_crop(server, node_id, low_ras, high_ras):
    lo, hi = _centre_range(low_ras, high_ras)
    expected = _source()[lo[2] : hi[2] + 1, lo[1] : hi[1] + 1, lo[0] : hi[0] + 1]
    got = volume_array(server, node_id)
    assert got.dtype == np.float32 and np.array_equal(got, expected)
    props = properties(server, node_id)
    assert np.allclose(props["Origin"], ORIGIN + lo * SPACING)
    assert np.allclose(props["Spacing"], SPACING)


def test_apply_voxel_based_with_an_annotation_roi(server):
    node_id = run(
        server,
        """
roi = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLAnnotationROINode", "R")
roi.SetXYZ(0.0, 12.0, 28.0)
roi.SetRadiusXYZ(5.0, 4.0, 6.0)
params = slicer.vtkMRMLCropVolumeParametersNode()
params.SetScene(slicer.mrmlScene)
slicer.mrmlScene.AddNode(params)
params.SetInputVolumeNodeID(getNode("Source").GetID())
params.SetROINodeID(roi.GetID())
params.SetVoxelBased(True)
slicer.modules.cropvolume.logic().Apply(params)
out = slicer.mrmlScene.GetNodeByID(params.GetOutputVolumeNodeID())
assert out.GetName() == "Source cropped", out.GetName()
__execResult = out.GetID()
""",
    )
    _check_voxel_crop(server, node_id, [-5.0, 8.0, 22.0], [5.0, 16.0, 34.0])


def test_crop_voxel_based_with_a_markups_style_roi_into_a_given_node(server):
    node_id = run(
        server,
        """
class BoxROI:  # what a markups ROI node answers: centre and full size
    def GetCenter(self, out): out[:] = [4.0, 10.0, 25.0]
    def GetSize(self, out): out[:] = [100.0, 6.0, 3.0]   # wider than the volume in x
output = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "Cropped")
ok = slicer.modules.cropvolume.logic().CropVoxelBased(BoxROI(), getNode("Source"), output)
__execResult = output.GetID() if ok else None
""",
    )
    _check_voxel_crop(server, node_id, [-46.0, 7.0, 23.5], [54.0, 13.0, 26.5])


def test_interpolated_crop_isotropic_spacing_and_values(server):
    node_id = run(
        server,
        """
roi = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLAnnotationROINode", "R2")
roi.SetXYZ(4.0, 11.0, 27.0)
roi.SetRadiusXYZ(6.0, 3.0, 4.5)
params = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLCropVolumeParametersNode")
params.SetInputVolumeNodeID(getNode("Source").GetID())
params.SetROINodeID(roi.GetID())
params.SetIsotropicResampling(True)
params.SetSpacingScalingConst(0.5)
params.SetInterpolationMode(params.InterpolationLinear)
slicer.modules.cropvolume.logic().Apply(params)
__execResult = params.GetOutputVolumeNodeID()
""",
    )
    props = properties(server, node_id)
    assert props["Spacing"] == [0.5, 0.5, 0.5]  # min spacing 1.0 times 0.5
    assert props["ImageData"]["Dimensions"] == [24, 12, 18]  # 12 x 6 x 9 mm box
    got = volume_array(server, node_id)
    # Every output voxel centre, mapped into the source's IJK, sampled linearly by scipy.
    k, j, i = np.indices(got.shape)
    ras = np.array(props["IJKToRASMatrix"]) @ np.stack(
        [i.ravel(), j.ravel(), k.ravel(), np.ones(i.size)]
    )
    src = (ras[:3] - ORIGIN[:, None]) / SPACING[:, None]
    reference = ndimage.map_coordinates(_source().astype(float), src[::-1], order=1)
    assert np.allclose(got.ravel(), reference, atol=1e-3)


def test_resample_scalar_volume_cli(server):
    result = run(
        server,
        """
output = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "Resampled")
parameters = {"InputVolume": getNode("Source"), "OutputVolume": output.GetID(),
              "outputPixelSpacing": "1,2,0.75", "interpolationType": "linear"}
cliNode = slicer.cli.run(slicer.modules.resamplescalarvolume, None, parameters,
                         wait_for_completion=True)
__execResult = [output.GetID(), cliNode.GetStatus(), cliNode.GetStatusString(),
                cliNode.GetStatus() == cliNode.Completed,
                cliNode.GetParameterAsString("InputVolume")]
""",
    )
    node_id, status, status_text, completed, input_id = result
    assert (status, status_text, completed) == (32, "Completed", True)
    assert input_id == server.source_id
    props = properties(server, node_id)
    assert props["Spacing"] == [1.0, 2.0, 0.75]
    assert props["Origin"] == list(ORIGIN)
    assert props["ImageData"]["Dimensions"] == [32, 7, 24]  # same physical extent
    got = volume_array(server, node_id)
    k, j, i = np.indices(got.shape)
    coords = [k * 0.75 / 1.5, j * 2.0 / 1.0, i * 1.0 / 2.0]
    reference = ndimage.map_coordinates(_source().astype(float), coords, order=1, mode="nearest")
    inner = (slice(0, -2), slice(0, -1), slice(0, -2))  # away from the half-voxel border
    assert got.dtype == np.float32
    assert np.allclose(got[inner], reference[inner], atol=1e-3)
    # update_display: the output is shown, as Slicer does after a CLI run
    red = run(
        server,
        "__execResult = slicer.app.layoutManager().sliceWidget('Red')"
        ".mrmlSliceCompositeNode().GetBackgroundVolumeID()",
    )
    assert red == node_id


def test_brains_resample_onto_a_reference_through_a_transform(server):
    node_id = run(
        server,
        """
m = np.diag([2.0, 1.0, 1.5, 1.0]); m[:3, 3] = [-10.0, 5.0, 20.0]
reference = addVolumeFromArray(np.zeros((8, 8, 8), np.int16), m, name="Reference")
shift = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "Shift")
move = np.eye(4); move[:3, 3] = [-4.0, -2.0, -3.0]   # moves the input by -2 voxels on each axis
updateTransformMatrixFromArray(shift, move)
output = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "Warped")
slicer.cli.runSync(slicer.modules.brainsresample, None, {
    "inputVolume": getNode("Source").GetID(), "referenceVolume": reference.GetID(),
    "outputVolume": output.GetID(), "warpTransform": shift.GetID(),
    "interpolationMode": "NearestNeighbor", "pixelType": "float"})
__execResult = output.GetID()
""",
    )
    got = volume_array(server, node_id)
    # Output voxel v shows the moved input there: input voxel v + 2 on each axis.
    assert got.shape == (8, 8, 8) and got.dtype == np.float32
    assert np.array_equal(got, _source()[2:10, 2:10, 2:10])


def test_cli_errors_are_clear(server):
    message = run_error(server, "slicer.cli.run('NoSuchModule', None, {})")
    assert "ResampleScalarVolume" in message and "BRAINSResample" in message
    message = run_error(
        server,
        "slicer.cli.runSync(slicer.modules.resamplescalarvolume, None, {'bogus': 1})",
    )
    assert "bogus" in message and "outputPixelSpacing" in message
    result = run(
        server,
        """
node = slicer.cli.run(slicer.modules.resamplescalarvolume, None,
                      {"InputVolume": getNode("Source"), "outputPixelSpacing": "1,1,1"},
                      wait_for_completion=True)
__execResult = [node.GetStatusString(), node.GetErrorText()]
""",
    )
    assert result[0] == "CompletedWithErrors" and "OutputVolume" in result[1]
    message = run_error(
        server,
        """
out = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode")
slicer.cli.runSync(slicer.modules.resamplescalarvolume, None, {"InputVolume": getNode("Source"),
    "OutputVolume": out, "outputPixelSpacing": "1,1,1", "interpolationType": "lanczos"})
""",
    )
    assert "CLI execution failed" in message and "lanczos" in message


def test_a_tiny_output_spacing_is_refused_before_allocating(server):
    before = run(server, "__execResult = len(getNodesByClass('vtkMRMLScalarVolumeNode'))")
    result = run(
        server,
        """
out = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "Huge")
node = slicer.cli.run(slicer.modules.resamplescalarvolume, None,
                      {"InputVolume": getNode("Source"), "OutputVolume": out,
                       "outputPixelSpacing": "0.001,0.001,0.001"}, wait_for_completion=True)
__execResult = [node.GetStatusString(), node.GetErrorText(), arrayFromVolume(out).size]
""",
    )
    assert result[0] == "CompletedWithErrors"
    assert "more than the limit" in result[1] and "--max-volume-size" in result[1]
    assert result[2] <= 1  # the output node kept its empty voxels
    after = run(server, "__execResult = len(getNodesByClass('vtkMRMLScalarVolumeNode'))")
    assert after == before + 1  # only the node the script added
