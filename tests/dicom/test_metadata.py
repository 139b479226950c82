"""Cached DICOM JSON metadata: BulkDataURI placeholders, no inline pixels, bulk locators."""

from __future__ import annotations

import io
import json

import pydicom
import pytest
from pydicom.data import get_testdata_file

from tests.dicom.helpers import make_instance
from voxweb.dicom import NotFoundError
from voxweb.dicom.index import absolutize_bulkdata


def _ingest(db, name):
    with open(get_testdata_file(name), "rb") as f:
        res = db.ingest_bytes(f.read())
    assert res.status == "stored", res.reason
    return res


@pytest.mark.parametrize(
    "name",
    ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "emri_small.dcm", "MR_small_implicit.dcm"],
)
def test_pixel_data_is_bulk(db, name):
    res = _ingest(db, name)
    text = db.metadata_json_text(res.study_uid, res.series_uid, res.sop_uid)
    [item] = json.loads(text)
    assert item["7FE00010"]["BulkDataURI"] == "bulkdata/7FE00010"
    assert "InlineBinary" not in item["7FE00010"] and "Value" not in item["7FE00010"]
    assert len(text) < 20_000  # no pixel bytes in the metadata
    assert item["00080018"]["Value"] == [res.sop_uid]
    assert item["00083002"]["vr"] == "UI"
    ds = pydicom.dcmread(get_testdata_file(name))
    ref = ds.to_json_dict(
        bulk_data_threshold=1024, bulk_data_element_handler=lambda e: f"bulkdata/{e.tag:08X}"
    )
    for key, value in ref.items():
        if key.endswith("0000") or key == "7FE00010":
            continue
        assert item[key] == value, key


def test_metadata_levels_and_absolute_uris(db):
    study, series = "1.2.3.100", "1.2.3.100.1"
    for k in (3, 1, 2):
        db.ingest_bytes(
            make_instance(
                StudyInstanceUID=study,
                SeriesInstanceUID=series,
                InstanceNumber=k,
                SOPInstanceUID=f"{series}.{k}",
            )
        )
    db.ingest_bytes(
        make_instance(
            StudyInstanceUID=study,
            SeriesInstanceUID=study + ".2",
            SeriesNumber=2,
            SOPInstanceUID=study + ".2.1",
        )
    )
    items = db.metadata(study, series)
    assert [i["00200013"]["Value"][0] for i in items] == [1, 2, 3]
    assert len(db.metadata(study)) == 4
    assert len(db.metadata(study, series, f"{series}.2")) == 1
    base = "http://h:8/dicom"
    abs_items = db.metadata(study, series, base_url=base)
    assert (
        abs_items[0]["7FE00010"]["BulkDataURI"]
        == f"{base}/studies/{study}/series/{series}/instances/{series}.1/bulkdata/7FE00010"
    )
    with pytest.raises(NotFoundError):
        db.metadata("9.9.9")
    with pytest.raises(NotFoundError):
        db.metadata(study, "9.9")
    assert (
        absolutize_bulkdata('{"BulkDataURI":"bulkdata/X"}', "u") == '{"BulkDataURI":"u/bulkdata/X"}'
    )


def test_bulk_locators(db):
    big = bytes(range(256)) * 8  # 2 KiB
    ds = pydicom.dcmread(io.BytesIO(make_instance()))
    block = ds.private_block(0x0011, "VOXWEB TEST", create=True)
    block.add_new(0x01, "OB", big)
    block.add_new(0x02, "OB", b"tiny")
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    res = db.ingest_bytes(buf.getvalue())
    [item] = db.metadata(res.study_uid)
    assert item["00111001"] == {"vr": "OB", "BulkDataURI": "bulkdata/00111001"}
    assert item["00111002"]["InlineBinary"] == "dGlueQ=="
    loc = db.bulk_ranges(res.study_uid, res.series_uid, res.sop_uid, "00111001")
    assert db.read_ranges(loc) == big
    pix = db.bulk_ranges(None, None, res.sop_uid, "7fe00010")
    assert db.read_ranges(pix) == ds.PixelData
    with pytest.raises(NotFoundError):
        db.bulk_ranges(None, None, res.sop_uid, "00111003")
    with pytest.raises(NotFoundError):
        db.bulk_ranges("9.9", None, res.sop_uid, "7FE00010")


def test_no_pixel_data_instance(db):
    res = _ingest(db, "rtplan.dcm")
    with pytest.raises(NotFoundError):
        db.frame_ranges(None, None, res.sop_uid, [1])
    item = db.search_instances({}, study_uid=res.study_uid)[0]
    assert item["00280010"] == {"vr": "US"}


def test_nested_bulk_data(db):
    res = _ingest(db, "waveform_ecg.dcm")
    [item] = db.metadata(res.study_uid)
    nested = item["54000100"]["Value"][0]["54001010"]
    assert nested == {"vr": "OW", "BulkDataURI": "bulkdata/54000100/1/54001010"}
    loc = db.bulk_ranges(None, None, res.sop_uid, "54000100/1/54001010")
    ds = pydicom.dcmread(get_testdata_file("waveform_ecg.dcm"))
    assert db.read_ranges(loc) == ds.WaveformSequence[0].WaveformData
    assert len(db.metadata_json_text(res.study_uid)) < 60_000
