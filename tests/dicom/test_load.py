"""Series -> ScalarVolume: voxel values, dtype and the IJK->RAS matrix survive the round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voxweb.dicom import DicomDatabase, DicomFormatError
from voxweb.dicom.export import volume_to_part10
from voxweb.dicom.load import image_series, load_series


@pytest.fixture
def db(tmp_path, index_url):
    database = DicomDatabase(tmp_path / "data", index_url=index_url, fsync=False)
    yield database
    database.close()


def oblique() -> np.ndarray:
    angle = np.deg2rad(20)
    rot = np.array(
        [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    )
    m = np.eye(4)
    m[:3, :3] = rot @ np.diag([0.8, 0.9, 2.5])
    m[:3, 3] = [-40.0, 12.5, 7.0]
    return m


def test_series_round_trip_keeps_voxels_and_geometry(db):
    k, j, i = np.mgrid[0:7, 0:12, 0:10]
    vol = (k * 100 + j * 10 + i - 300).astype(np.int16)
    parts = volume_to_part10(vol, oblique(), series_description="Round trip")
    results = [db.ingest_bytes(p) for p in reversed(parts)]  # order must not matter
    study, series = results[0].study_uid, results[0].series_uid
    assert image_series(db, study) == [series]
    volume = load_series(db, study, series)
    assert volume.name == "1: Round trip"  # Slicer's "<SeriesNumber>: <SeriesDescription>"
    assert volume.array.shape == vol.shape
    assert np.array_equal(volume.array, vol)
    np.testing.assert_allclose(volume.ijk_to_ras, oblique(), atol=1e-4)


def test_series_without_images_is_refused(db):
    from pydicom.data import get_testdata_file

    res = db.ingest_bytes(Path(get_testdata_file("test-SR.dcm")).read_bytes())
    with pytest.raises(DicomFormatError):
        load_series(db, res.study_uid, res.series_uid)


def test_series_larger_than_the_limit_is_refused_before_decoding(db):
    vol = np.zeros((7, 12, 10), dtype=np.int16)  # 7 x 12 x 10 x 2 = 1680 bytes
    results = [db.ingest_bytes(p) for p in volume_to_part10(vol, np.eye(4))]
    study, series = results[0].study_uid, results[0].series_uid
    assert load_series(db, study, series, max_bytes=1680).array.shape == (7, 12, 10)
    with pytest.raises(DicomFormatError, match=r"declares 1680 bytes .*limit of 1679 bytes"):
        load_series(db, study, series, max_bytes=1679)


def test_series_node_names_follow_slicer():
    from pydicom.dataset import Dataset

    from voxweb.dicom.load import series_node_name

    def ds(**attrs) -> Dataset:
        d = Dataset()
        for key, value in attrs.items():
            setattr(d, key, value)
        return d

    assert series_node_name(ds(SeriesNumber=3, SeriesDescription="T1 axial")) == "3: T1 axial"
    assert series_node_name(ds(SeriesDescription="T1 axial")) == "T1 axial"
    assert series_node_name(ds(SeriesNumber=7)) == "7: Unnamed Series"
    assert series_node_name(ds()) == "Unnamed Series"
