"""Scene <-> database: load a series into a workspace, write a volume and a SEG back."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from voxweb.dicom import DicomDatabase, DicomFormatError
from voxweb.dicom.export import volume_to_part10
from voxweb.scene.nodes import Segmentation
from voxweb.services import dicom_bridge
from voxweb.services.workspace import Workspace


@pytest.fixture
def db(tmp_path, index_url):
    database = DicomDatabase(tmp_path / "data", index_url=index_url, fsync=False)
    yield database
    database.close()


def stored_series(db):
    k, j, i = np.mgrid[0:5, 0:10, 0:12]
    vol = (k * 20 + j + i).astype(np.int16)
    m = np.diag([0.8, 0.8, 2.0, 1.0])
    m[:3, 3] = [5, 6, 7]
    res = [db.ingest_bytes(p) for p in volume_to_part10(vol, m, series_description="Base")]
    return res[0].study_uid, res[0].series_uid, vol


def test_load_series_into_the_scene_and_show_it(db):
    study, series, vol = stored_series(db)
    ws = Workspace()
    volume = dicom_bridge.load_series(ws, db, study, series)
    assert volume.id in ws.scene and np.array_equal(volume.array, vol)
    assert ws.selection().active_volume_id == volume.id
    assert volume.name == "1: Base"  # Slicer's "<SeriesNumber>: <SeriesDescription>"
    (again,) = dicom_bridge.load_study(ws, db, study)
    assert again.name == "1: Base_1"  # loaded twice: unique, as Slicer makes it


def test_store_volume_and_segmentation_back(db):
    study, series, vol = stored_series(db)
    ws = Workspace()
    volume = dicom_bridge.load_series(ws, db, study, series)
    volume.name = "Edited"
    new_study, new_series = dicom_bridge.store_volume(db, volume, study_uid=study)
    assert new_study == study and new_series != series
    assert np.array_equal(dicom_bridge.load_series(ws, db, study, new_series).array, vol)

    seg = Segmentation(volume.array.shape, volume.ijk_to_ras, name="Tumour seg")
    mask = np.zeros(vol.shape, dtype=bool)
    mask[1:4, 2:6, 3:9] = True
    seg.add_segment("Tumour", mask)
    seg.add_segment("Edge", ~mask)
    seg_series, seg_sop = dicom_bridge.store_segmentation(db, seg, study, series)
    found = db.search_series({"Modality": "SEG"}, study_uid=study)
    assert [s["0020000E"]["Value"][0] for s in found] == [seg_series]
    path, _ = db.instance_file(seg_sop)
    ds = pydicom.dcmread(path)
    assert [s.SegmentLabel for s in ds.SegmentSequence] == ["Tumour", "Edge"]
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == series

    wrong = Segmentation((2, 2, 2), np.eye(4))
    wrong.add_segment("x")
    with pytest.raises(DicomFormatError):
        dicom_bridge.store_segmentation(db, wrong, study, series)
