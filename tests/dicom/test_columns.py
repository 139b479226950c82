"""The index columns are read from the cached JSON model, not from pydicom: they must agree."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.multival import MultiValue

from tests.dicom.helpers import make_instance
from voxweb.dicom.parse import (
    _DATE_COLUMNS,
    _INT_COLUMNS,
    _TEXT_COLUMNS,
    _TIME_COLUMNS,
    parse_instance,
)

# every Part-10 file pydicom ships that carries the UIDs an index row needs
_FILES = sorted(
    p for p in glob.glob(os.path.join(os.path.dirname(get_testdata_file("CT_small.dcm")), "*.dcm"))
)


def _expected_text(ds: pydicom.Dataset, tag: int) -> str:
    value = ds.get(tag)
    if value is None or value.value is None:
        return ""
    v = value.value
    if isinstance(v, MultiValue):
        return "\\".join(str(x) for x in v).strip()
    return str(v).strip()


def _expected_int(ds: pydicom.Dataset, tag: int) -> int | None:
    value = ds.get(tag)
    try:
        return None if value is None or value.value in (None, "") else int(value.value)
    except ValueError:  # e.g. IS "1A" in badVR.dcm: no usable number
        return None


def _usable(path: str) -> pydicom.Dataset | None:
    try:
        ds = pydicom.dcmread(path)
        if not all(k in ds for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")):
            return None
        parse_instance(Path(path).read_bytes())
        return ds
    except Exception:
        return None


@pytest.mark.parametrize("path", _FILES, ids=os.path.basename)
def test_columns_agree_with_pydicom(path):
    ds = _usable(path)
    if ds is None:
        pytest.skip("not indexable")
    rec = parse_instance(Path(path).read_bytes())
    for name, key in _TEXT_COLUMNS:
        assert getattr(rec, name) == _expected_text(ds, int(key, 16)), name
    for name, key in _DATE_COLUMNS:
        date = _expected_text(ds, int(key, 16)).replace(".", "").replace("-", "")
        assert getattr(rec, name) == date[:8], name
    for name, key in _TIME_COLUMNS:
        assert getattr(rec, name) == _expected_text(ds, int(key, 16)).replace(":", ""), name
    for name, key in _INT_COLUMNS:
        assert getattr(rec, name) == _expected_int(ds, int(key, 16)), name


def test_person_name_groups_and_multi_values():
    rec = parse_instance(
        make_instance(
            PatientName="Yamada^Tarou=山田^太郎=やまだ^たろう",
            ReferringPhysicianName="=Ideo^Only",
            SpecificCharacterSet=["", "ISO 2022 IR 87"],
            Modality="MR",
            StudyDate="2020.01.15",
            StudyTime="10:15:00",
        )
    )
    assert rec.patient_name == "Yamada^Tarou=山田^太郎=やまだ^たろう"
    assert rec.referring_physician_name == "=Ideo^Only"
    assert rec.specific_character_set == "\\ISO 2022 IR 87"
    assert (rec.study_date, rec.study_time) == ("20200115", "101500")
