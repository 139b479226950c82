"""Volume -> classic DICOM series: geometry, pixel values, rescale; round trip through the DB."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest

from voxweb.dicom.export import (
    geometry_from_datasets,
    volume_to_datasets,
    volume_to_part10,
    write_series,
)

CH2 = Path("/usr/share/mricron/templates/ch2.nii.gz")


def _oblique_matrix() -> np.ndarray:
    a = np.deg2rad(20)
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    m = np.eye(4)
    m[:3, :3] = rot @ np.diag([0.8, 0.9, 2.5])
    m[:3, 3] = [-100.0, 20.5, -40.0]
    return m


def _read_back(datas: list[bytes]) -> list[pydicom.Dataset]:
    dss = [pydicom.dcmread(io.BytesIO(d)) for d in datas]
    return sorted(dss, key=lambda d: int(d.InstanceNumber))


def test_int16_round_trip_geometry_and_pixels():
    vol = (np.arange(5 * 6 * 7, dtype=np.int16).reshape(5, 6, 7) - 100).astype(np.int16)
    m = _oblique_matrix()
    dss = _read_back(
        volume_to_part10(vol, m, modality="MR", patient_name="Test^Vol", patient_id="V1")
    )
    assert len(dss) == 5
    ds0 = dss[0]
    assert (ds0.Rows, ds0.Columns) == (6, 7)
    assert ds0.SOPClassUID == "1.2.840.10008.5.1.4.1.1.4"
    assert (
        len({d.SOPInstanceUID for d in dss}) == 5 and len({d.SeriesInstanceUID for d in dss}) == 1
    )
    assert float(ds0.SliceThickness) == pytest.approx(2.5)
    assert [float(x) for x in ds0.PixelSpacing] == pytest.approx([0.9, 0.8])
    np.testing.assert_allclose(geometry_from_datasets(dss), m, atol=1e-5)
    # LPS: the RAS origin (-100, 20.5, -40) is (100, -20.5, -40)
    assert [float(x) for x in ds0.ImagePositionPatient] == pytest.approx([100.0, -20.5, -40.0])
    got = np.stack([d.pixel_array for d in dss])
    assert got.dtype == np.int16
    np.testing.assert_array_equal(got, vol)


def test_float_volume_uses_rescale_ct():
    vol = np.linspace(-1000.5, 2000.25, 4 * 3 * 2, dtype=np.float32).reshape(4, 3, 2)
    m = np.diag([1.0, 1.0, 3.0, 1.0])
    dss = _read_back(volume_to_part10(vol, m, modality="CT"))
    assert dss[0].SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    real = np.stack(
        [d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in dss]
    )
    np.testing.assert_allclose(real, vol, atol=(2001.25 + 1000.5) / 65535 * 0.51 + 1e-3)
    np.testing.assert_allclose(geometry_from_datasets(dss), m, atol=1e-6)


def test_uint8_and_bad_input(tmp_path):
    vol = np.zeros((2, 4, 4), np.uint8)
    dss = volume_to_datasets(vol, np.eye(4))
    assert dss[0].BitsAllocated == 8 and dss[0].PixelRepresentation == 0
    paths = write_series(tmp_path / "s", vol, np.eye(4), study_description="X")
    assert [p.name for p in paths] == ["IM00001.dcm", "IM00002.dcm"]
    with pytest.raises(ValueError):
        volume_to_datasets(np.zeros((2, 2)), np.eye(4))
    with pytest.raises(ValueError):
        volume_to_datasets(vol, np.eye(3))


def test_exported_series_in_database(db):
    vol = np.random.default_rng(0).integers(0, 4000, (6, 16, 12), dtype=np.uint16)
    m = _oblique_matrix()
    datas = volume_to_part10(vol, m, patient_name="Round^Trip", patient_id="RT1", study_description="Export",
                             series_description="Axial", accession_number="A1")  # fmt: skip
    for d in datas:
        assert db.ingest_bytes(d).status == "stored"
    st = db.search_studies({"PatientID": "RT1"})[0]
    assert st["00201208"]["Value"] == [6] and st["00081030"]["Value"] == ["Export"]
    study_uid = st["0020000D"]["Value"][0]
    [se] = db.search_series({}, study_uid=study_uid)
    series_uid = se["0020000E"]["Value"][0]
    meta = db.metadata(study_uid, series_uid)
    ipps = np.array([[float(v) for v in i["00200032"]["Value"]] for i in meta])
    step = np.diff(ipps, axis=0)
    lps_k = (np.diag([-1, -1, 1, 1.0]) @ m)[:3, 2]
    np.testing.assert_allclose(step, np.tile(lps_k, (5, 1)), atol=1e-5)
    for k, item in enumerate(meta):
        sop = item["00080018"]["Value"][0]
        [loc] = db.frame_ranges(study_uid, series_uid, sop, [1])
        frame = np.frombuffer(db.read_ranges(loc), "<u2").reshape(16, 12)
        np.testing.assert_array_equal(frame, vol[k])


@pytest.mark.slow
@pytest.mark.skipif(not CH2.exists(), reason="mricron-data (ch2.nii.gz) not installed")
def test_real_head_volume(db, tmp_path):
    nib = pytest.importorskip("nibabel")
    img = nib.load(str(CH2))
    data = np.asanyarray(img.dataobj)  # (i, j, k)
    vol = np.ascontiguousarray(np.transpose(data, (2, 1, 0)))  # -> (k, j, i)
    m = img.affine  # NIfTI affines are IJK -> RAS
    datas = volume_to_part10(vol, m, patient_name="Colin^27", patient_id="CH2", modality="MR")
    assert len(datas) == vol.shape[0]
    report = db.import_paths(
        write_series(tmp_path / "ch2", vol, m, patient_id="CH2", patient_name="Colin^27")
    )
    assert report.stored == vol.shape[0] and report.failed == 0
    [st] = db.search_studies({"PatientName": "colin*"})
    study_uid = st["0020000D"]["Value"][0]
    dss = [pydicom.dcmread(db.instance_path(i)) for i in db.instances(study_uid)]
    np.testing.assert_allclose(geometry_from_datasets(dss), m, atol=1e-4)
    mid = vol.shape[0] // 2
    back = dss[mid].pixel_array
    if "RescaleSlope" in dss[mid]:
        back = back * float(dss[mid].RescaleSlope) + float(dss[mid].RescaleIntercept)
    np.testing.assert_allclose(back, vol[mid], atol=np.ptp(vol) / 65535 + 1e-6)
