"""Slicer .seg.nrrd: round trip (segments, names, colors, masks, layers), legacy files, export."""

from __future__ import annotations

import nrrd as pynrrd
import numpy as np
import pytest

from tests.io.helpers import oblique_matrix
from voxweb.io import SegmentationFormatError
from voxweb.io import segmentation as sio
from voxweb.scene import LabelMapVolume, Segmentation


def make(overlap: bool) -> tuple[Segmentation, dict[str, np.ndarray]]:
    shape = (4, 5, 6)
    seg = Segmentation(shape, oblique_matrix(), name="seg")
    liver = np.zeros(shape, bool)
    liver[1:3, 1:4, 2:5] = True
    kidney = np.zeros(shape, bool)
    kidney[3, 0, 0] = True
    masks = {"liver": liver, "kidney": kidney}
    seg.add_segment("Liver", liver, (0.8, 0.4, 0.3))
    seg.add_segment("Kidney", kidney, (0.1, 0.2, 0.9))
    if overlap:
        tumor = np.zeros(shape, bool)
        tumor[2, 2, 3] = True  # inside the liver -> second layer
        seg.add_segment("Tumor", tumor, (1.0, 1.0, 0.0))
        masks["tumor"] = tumor
    seg.add_segment("Empty", None, (0.5, 0.5, 0.5))
    masks["empty"] = np.zeros(shape, bool)
    return seg, masks


@pytest.mark.parametrize("overlap", [False, True])
@pytest.mark.parametrize("compress", [True, False])
def test_roundtrip(tmp_path, overlap, compress):
    seg, masks = make(overlap)
    path = tmp_path / "s.seg.nrrd"
    sio.write_segmentation(seg, path, compress=compress)
    header = pynrrd.read_header(str(path))
    assert header["Segment0_ID"] == "Segment_1"
    assert header["Segment0_Name"] == "Liver"
    assert header["Segment0_Color"] == "0.8 0.4 0.3"
    assert header["Segment0_Extent"] == "2 4 1 3 1 2"
    assert header["Segment3_Extent" if overlap else "Segment2_Extent"] == "0 -1 0 -1 0 -1"
    assert header["Segmentation_MasterRepresentation"] == "Binary labelmap"
    assert header["dimension"] == (4 if overlap else 3)
    back = sio.read_segmentation(path)
    assert back.name == "s"
    assert back.segment_ids == seg.segment_ids
    assert [s.name for s in back.segments.values()] == [s.name for s in seg.segments.values()]
    for sid in seg.segment_ids:
        assert back.segment(sid).color == seg.segment(sid).color
        np.testing.assert_array_equal(back.mask(sid), seg.mask(sid))
    for sid, key in zip(seg.segment_ids, masks, strict=True):
        np.testing.assert_array_equal(back.mask(sid), masks[key])
    np.testing.assert_allclose(back.ijk_to_ras, seg.ijk_to_ras, atol=1e-12)


def test_legacy_one_layer_per_segment(tmp_path):
    data = np.zeros((2, 3, 4, 2), np.uint8)  # k, j, i, segment
    data[0, 0, 0, 0] = 1
    data[..., 1] = 1
    header = {
        "kinds": ["list", "domain", "domain", "domain"],
        "space": "left-posterior-superior",
        "space directions": np.array([[np.nan] * 3, [1, 0, 0], [0, 1, 0], [0, 0, 1]], float),
        "Segment0_ID": "a", "Segment0_Name": "A", "Segment0_Color": "1 0 0",
        "Segment1_ID": "b", "Segment1_Name": "B", "Segment1_Color": "0 1 0",
    }  # fmt: skip
    pynrrd.write(str(tmp_path / "old.seg.nrrd"), data, header, index_order="C")
    seg = sio.read_segmentation(tmp_path / "old.seg.nrrd")
    assert seg.segment("b").layer == 1
    assert seg.mask("a").sum() == 1 and seg.mask("b").all()


def test_plain_labelmap_nrrd_becomes_segments(tmp_path):
    data = np.zeros((2, 3, 4), np.uint8)
    data[0, 0, 0] = 3
    pynrrd.write(str(tmp_path / "lab.nrrd"), data, {"space": "RAS"}, index_order="C")
    seg = sio.read_segmentation(tmp_path / "lab.nrrd")
    assert seg.segment_ids == ["Segment_3"] and seg.mask("Segment_3").sum() == 1


def test_export_and_import_labelmap():
    seg, masks = make(overlap=True)
    lm = sio.segmentation_to_labelmap(seg)
    assert isinstance(lm, LabelMapVolume) and lm.name == "seg-label"
    assert lm.array[2, 2, 3] == 3  # tumor (later segment) wins the overlap
    assert lm.array[1, 1, 2] == 1 and lm.array[3, 0, 0] == 2
    assert lm.color_table.entries[1].name == "Liver"
    back = sio.labelmap_to_segmentation(lm)
    assert [s.name for s in back.segments.values()] == ["Liver", "Kidney", "Tumor"]


def test_float_segmentation_rejected(tmp_path):
    pynrrd.write(str(tmp_path / "f.seg.nrrd"), np.zeros((2, 2, 2), np.float32), index_order="C")
    with pytest.raises(SegmentationFormatError, match="integer"):
        sio.read_segmentation(tmp_path / "f.seg.nrrd")


def test_bad_layer_reference(tmp_path):
    header = {"Segment0_ID": "x", "Segment0_Layer": "3", "Segment0_Color": "1 0 0"}
    pynrrd.write(
        str(tmp_path / "b.seg.nrrd"), np.zeros((2, 2, 2), np.uint8), header, index_order="C"
    )
    with pytest.raises(SegmentationFormatError, match="Layer is 3"):
        sio.read_segmentation(tmp_path / "b.seg.nrrd")
